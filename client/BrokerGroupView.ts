/**
 * One broker group (a brokerName: its master, brokerId 0, and its slaves) seen as one BrokerApi by
 * a cluster client. Writes (sends, topic and producer admin, send-backs, offset resets) go to the
 * master only. Reads and consumer offsets go to the master and, when it cannot be reached, to a
 * slave of the same group (RocketMQ's consumer fallback, ROCKETMQ.md 6.5):
 *
 * - After a failure to reach the master, requests go straight to the slaves for
 *   masterProbeIntervalMs, then the master is tried again; its return is noticed on that try.
 * - Pulls served by a slave never move a consumer's offset (RocketMQ's offsetCheckInSlave=false):
 *   a slave that lacks the requested offset (behind, or holding less history) answers "nothing
 *   yet", and its long polls are shortened so the consumer is back on the master soon.
 * - Offsets committed while the master is away go to a slave and are also kept here; before the
 *   master serves anything again they are committed to it where they are ahead of its own, so
 *   progress made on the slave is not lost and the master's table is authoritative afterwards.
 * - A pull the master answers with suggestPullingFromSlave (the consumer is far behind its
 *   CommitLog end) sends the next pulls of that queue to a slave, while the master stays up. The
 *   queue goes back to the master when a slave pull no longer suggests it (the slave judges
 *   against its own CommitLog end), when the slave cannot serve the offset or cannot be reached,
 *   or after masterProbeIntervalMs. Offsets are still committed to the master and only ever move
 *   by what a pull returned.
 *
 * Owned by one ClusterClient on its thread. The pending offsets live in memory: a client that dies
 * during an outage loses them and its group re-consumes from the master's offsets (at-least-once).
 */
import type { BrokerApi, Message, PullRequest, PullResult } from '../api/BrokerApi.js';
import { operationEntries } from '../api/operations.js';
import { PetrelError, isPetrelError } from '../common/errors.js';
import { systemClock, type Clock } from '../common/clock.js';

export interface BrokerGroupViewDeps {
  readonly brokerName: string;
  /** The group's addresses by brokerId, as the name server last told. */
  addrs(): Readonly<Record<number, string>>;
  /** The (shared, lazily connecting) link to one broker address. */
  connection(addr: string): BrokerApi;
  /** Asks for fresher routes, after a broker could not be reached. */
  onUnreachable(addr: string): void;
  /** How long reads skip a master that could not be reached, and longest a queue follows its suggestion to read from a slave, ms. */
  readonly masterProbeIntervalMs: number;
  /** Longest long poll held by a slave, ms. */
  readonly slaveLongPollMs: number;
  readonly clock?: Clock;
}

/** Errors that say "this broker did not answer", as opposed to "it answered no". */
export function isUnreachable(err: unknown): boolean {
  return isPetrelError(err) && (err.code === 'ERR_SERVICE_NOT_AVAILABLE' || err.code === 'ERR_REMOTE' || err.code === 'ERR_TIMEOUT');
}

/** Statuses a slave gives for offsets it cannot serve; they must not move the consumer. */
const SLAVE_CANNOT_SERVE = new Set(['NO_MESSAGE_IN_QUEUE', 'OFFSET_OVERFLOW_BADLY', 'OFFSET_TOO_SMALL']);

interface PendingOffset {
  readonly group: string;
  readonly topic: string;
  readonly queueId: number;
  readonly offset: number;
  /** The committing consumer's reset epoch: the master refuses the hand-back if a reset came since. */
  readonly resetEpoch: number | undefined;
}

// Every operation without a method of its own below is installed from the table (see the constructor).
export interface BrokerGroupView extends Omit<BrokerApi, 'brokerName'> {}

export class BrokerGroupView implements BrokerApi {
  readonly brokerName: string;
  readonly #d: BrokerGroupViewDeps;
  readonly #clock: Clock;
  readonly #pending = new Map<string, PendingOffset>();
  /** Queues (group@topic@queueId) the master suggested reading from a slave, until when (monotonic ms). */
  readonly #slaveSuggested = new Map<string, number>();
  #masterDownUntil = 0;

  constructor(deps: BrokerGroupViewDeps) {
    this.brokerName = deps.brokerName;
    this.#d = deps;
    this.#clock = deps.clock ?? systemClock;
    // From the table: a 'master' operation is a write, an 'any' one a read whose long poll a slave holds shortly.
    const self = this as unknown as Record<string, unknown>;
    const own = BrokerGroupView.prototype as unknown as Record<string, unknown>;
    for (const [name, op] of operationEntries()) {
      if (name in own) continue;
      const call = (api: BrokerApi, args: unknown[]): Promise<unknown> =>
        Promise.resolve((api as unknown as Record<string, (...a: unknown[]) => unknown>)[name]?.(...args));
      self[name] =
        op.replica === 'master'
          ? (...args: unknown[]) => this.#write((b) => call(b, args))
          : (...args: unknown[]) => this.#read((b, onSlave) => call(b, onSlave && op.hold !== undefined ? op.hold.capped(args, this.#d.slaveLongPollMs) : args));
    }
  }

  /** Offsets committed to a slave that the master has not been given yet (tests, admin). */
  get pendingOffsets(): number {
    return this.#pending.size;
  }

  /** True while reads skip the master. */
  get onSlave(): boolean {
    return this.#clock.monotonic() < this.#masterDownUntil || this.#d.addrs()[0] === undefined;
  }

  #masterAddr(): string {
    const addr = this.#d.addrs()[0];
    if (addr === undefined) throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `broker group ${this.brokerName} has no master now`);
    return addr;
  }

  /** A write: master only. A failure to reach it is reported and rethrown. */
  async #write<T>(op: (api: BrokerApi) => Promise<T>): Promise<T> {
    const addr = this.#masterAddr();
    try {
      return await op(this.#d.connection(addr));
    } catch (err) {
      if (isUnreachable(err)) this.#masterUnreachable(addr);
      throw err;
    }
  }

  /** A read: the master, else each slave in brokerId order. */
  async #read<T>(op: (api: BrokerApi, onSlave: boolean) => Promise<T>): Promise<T> {
    const addrs = this.#d.addrs();
    const master = addrs[0];
    let last: unknown;
    if (master !== undefined && this.#clock.monotonic() >= this.#masterDownUntil) {
      try {
        const api = this.#d.connection(master);
        await this.#handBackOffsets(api);
        return await op(api, false);
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        this.#masterUnreachable(master);
        last = err;
      }
    }
    const slaves = Object.keys(addrs).map(Number).filter((id) => id !== 0).sort((a, b) => a - b);
    for (const id of slaves) {
      const addr = addrs[id];
      if (addr === undefined) continue;
      try {
        return await op(this.#d.connection(addr), true);
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        this.#d.onUnreachable(addr);
        last = err;
      }
    }
    if (last instanceof Error) throw last;
    throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `no broker of group ${this.brokerName} can be reached`);
  }

  #masterUnreachable(addr: string): void {
    this.#masterDownUntil = this.#clock.monotonic() + this.#d.masterProbeIntervalMs;
    this.#d.onUnreachable(addr);
  }

  /** Gives the master the offsets committed to a slave while it was away, where they are ahead. */
  async #handBackOffsets(master: BrokerApi): Promise<void> {
    for (const [key, p] of [...this.#pending]) {
      const current = await master.queryOffset(p.group, p.topic, p.queueId);
      try {
        if (p.offset > current) await master.commitOffset(p.group, p.topic, p.queueId, p.offset, p.resetEpoch);
      } catch (err) {
        // the master's offset was reset since: the reset wins over progress made on the slave
        if (!isPetrelError(err) || err.code !== 'ERR_OFFSET_STALE') throw err;
      }
      if (this.#pending.get(key) === p) this.#pending.delete(key);
    }
  }

  sendOneway(message: Message, queueId?: number): void {
    const addr = this.#d.addrs()[0];
    if (addr !== undefined) this.#d.connection(addr).sendOneway(message, queueId);
  }

  async pull(request: PullRequest): Promise<PullResult> {
    const key = `${request.group}@${request.topic}@${request.queueId}`;
    const fromSlave = await this.#pullSuggestedSlave(key, request);
    if (fromSlave !== undefined) return fromSlave;
    return this.#read(async (b, onSlave) => {
      if (onSlave) return this.#slavePull(b, request);
      const r = await b.pull(request);
      if (r.suggestPullingFromSlave === true && this.#slaveAddrs().length > 0) {
        this.#slaveSuggested.set(key, this.#clock.monotonic() + this.#d.masterProbeIntervalMs);
      } else {
        this.#slaveSuggested.delete(key);
      }
      return r;
    });
  }

  /**
   * The pull of a queue the master sent to a slave, or undefined when the master should serve it
   * (no suggestion, or it expired, or no slave could serve the offset). Each outcome that ends the
   * suggestion clears it, so the next pull of the queue asks the master again.
   */
  async #pullSuggestedSlave(key: string, request: PullRequest): Promise<PullResult | undefined> {
    const until = this.#slaveSuggested.get(key);
    if (until === undefined) return undefined;
    if (this.#clock.monotonic() >= until || this.onSlave) {
      this.#slaveSuggested.delete(key);
      return undefined;
    }
    for (const addr of this.#slaveAddrs()) {
      let r: PullResult;
      try {
        // a backlog is expected there: no long poll, and an empty answer hands the queue back at once
        r = await this.#d.connection(addr).pull({ ...request, longPollMs: 0 });
      } catch (err) {
        if (!isUnreachable(err)) throw err;
        this.#d.onUnreachable(addr);
        continue;
      }
      if (SLAVE_CANNOT_SERVE.has(r.status) || r.status === 'OFFSET_OVERFLOW_ONE') break;
      if (r.suggestPullingFromSlave !== true) this.#slaveSuggested.delete(key);
      return r;
    }
    this.#slaveSuggested.delete(key);
    return undefined;
  }

  /** A pull served by a slave: its long poll shortened, an offset it lacks answered "nothing yet". */
  async #slavePull(api: BrokerApi, request: PullRequest): Promise<PullResult> {
    const longPollMs = Math.min(request.longPollMs ?? 0, this.#d.slaveLongPollMs);
    const r = await api.pull({ ...request, longPollMs });
    if (!SLAVE_CANNOT_SERVE.has(r.status)) return r;
    return { ...r, status: 'OFFSET_OVERFLOW_ONE', messages: [], nextBeginOffset: request.offset };
  }

  /** The group's slave addresses in brokerId order. */
  #slaveAddrs(): string[] {
    const addrs = this.#d.addrs();
    return Object.keys(addrs).map(Number).filter((id) => id !== 0).sort((a, b) => a - b).flatMap((id) => {
      const addr = addrs[id];
      return addr === undefined ? [] : [addr];
    });
  }

  async commitOffset(group: string, topic: string, queueId: number, offset: number, resetEpoch?: number): Promise<void> {
    await this.#read(async (b, onSlave) => {
      await (resetEpoch === undefined ? b.commitOffset(group, topic, queueId, offset) : b.commitOffset(group, topic, queueId, offset, resetEpoch));
      const key = `${group}@${topic}@${queueId}`;
      if (onSlave) this.#pending.set(key, { group, topic, queueId, offset, resetEpoch });
      else this.#pending.delete(key);
    });
  }

  queryOffset(group: string, topic: string, queueId: number): Promise<number> {
    return this.#read(async (b, onSlave) => {
      const stored = await b.queryOffset(group, topic, queueId);
      const kept = onSlave ? this.#pending.get(`${group}@${topic}@${queueId}`) : undefined;
      return kept === undefined ? stored : Math.max(stored, kept.offset);
    });
  }
}
