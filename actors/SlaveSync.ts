/**
 * A slave's copy of its master's configuration tables (RocketMQ's SlaveSynchronize), on the
 * slave broker's main thread: topic configs, consumer offsets, delay offsets and subscription
 * groups are read from the master's broker API (its remoting address, learned from the name
 * server's answer to the slave's registration, or set by the embedder) as soon as that address is
 * known, and again every slaveSynchronizeInterval. Each table lands in the slave's own config/
 * files, so the slave serves them from there while the master is down, and after a restart.
 *
 * How a copied table is applied:
 * - topics and subscription groups: the master's table replaces the slave's (entries the master
 *   lacks are removed), written only when something differs;
 * - delay offsets: the master's progress replaces the slave's config/delayOffset.json;
 * - consumer offsets: the master's offset is taken for every queue it lists (so a reset on the
 *   master reaches the slave), except where a client of this slave committed an offset ahead of
 *   it (the cluster client commits to a slave while it cannot reach the master, and pushes those
 *   offsets to the master when it answers again). Such a local offset is kept until the master's
 *   reaches it, so a sync never moves a group back past what it consumed through the slave; the
 *   record of local commits is in memory, so after a slave restart the master's offsets win
 *   (a group may then consume a few messages again, never skip one). Queues the master does not
 *   list are left as they are.
 *
 * A failed sync (master down, link lost) changes nothing and is tried again at the next period.
 * The period is measured on the injected Clock: tick() syncs only when one is due, so a test can
 * drive it; syncNow() syncs at once. Each finished sync is published on CHANNELS.slaveSynced.
 */
import type { Clock } from '../common/clock.js';
import { CHANNELS, channel, log } from '../common/diagnostics.js';
import type { BrokerApi, DelayOffset } from '../api/BrokerApi.js';
import type { ConsumerOffsets } from './ConsumerOffsets.js';
import type { JsonState } from './JsonState.js';
import type { SubscriptionGroups } from './SubscriptionGroups.js';
import type { TopicConfigs } from './TopicConfigs.js';

/** What a slave reads of its master. */
export type SlaveSyncSource = Pick<BrokerApi, 'listTopics' | 'allConsumerOffsets' | 'delayOffsets' | 'listSubscriptionGroups'> & { close(): void };

export interface SlaveSyncOptions {
  readonly brokerName: string;
  /** ms between syncs (RocketMQ's slave syncs every 10 s). */
  readonly periodMs: number;
  readonly clock: Clock;
  /** Opens the master's broker API at its remoting address. */
  readonly connect: (address: string) => Promise<SlaveSyncSource>;
  readonly topics: TopicConfigs;
  readonly offsets: ConsumerOffsets;
  readonly groups: SubscriptionGroups;
  /** config/delayOffset.json of the slave. */
  readonly delay: JsonState;
}

/** What one sync changed; published on CHANNELS.slaveSynced with the master's address. */
export interface SlaveSyncResult {
  readonly master: string;
  readonly topics: number;
  readonly offsets: number;
  /** Offsets kept because a client of this slave committed past the master's. */
  readonly keptLocal: number;
  readonly delayLevels: number;
  readonly groups: number;
  readonly topicsChanged: boolean;
  readonly groupsChanged: boolean;
}

/** delayOffset.json's content ({offsetTable: {"<level>": offset}}) as a list. */
export function readDelayOffsets(state: JsonState): DelayOffset[] {
  const saved = state.load() as { offsetTable?: Record<string, unknown> } | undefined;
  const out: DelayOffset[] = [];
  for (const [level, offset] of Object.entries(saved?.offsetTable ?? {})) {
    const l = Number(level);
    if (Number.isInteger(l) && l >= 1 && typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) out.push({ level: l, offset });
  }
  return out.sort((a, b) => a.level - b.level);
}

export class SlaveSync {
  readonly #o: SlaveSyncOptions;
  /** "group\ntopic\nqueueId" -> the offset a client of this slave committed. */
  readonly #localCommits = new Map<string, number>();
  #address: string | undefined;
  #link: SlaveSyncSource | undefined;
  #running: Promise<SlaveSyncResult | undefined> | undefined;
  #nextDue = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: SlaveSyncOptions) {
    this.#o = options;
    this.#timer = setInterval(() => void this.tick(), options.periodMs);
    this.#timer.unref();
  }

  get masterAddress(): string | undefined {
    return this.#address;
  }

  /** Follows the master at this remoting address from now on; syncs at once when it is new. */
  setMasterAddress(address: string): void {
    if (this.#stopped || address === this.#address) return;
    this.#link?.close();
    this.#link = undefined;
    this.#address = address;
    log('info', `slave ${this.#o.brokerName} syncs its config from master ${address}`);
    void this.syncNow();
  }

  /** A client of this slave committed an offset (kept against older offsets of the master). */
  noteLocalCommit(group: string, topic: string, queueId: number, offset: number): void {
    this.#localCommits.set(`${group}\n${topic}\n${queueId}`, offset);
  }

  /** Syncs when a period has passed on the clock since the last one. */
  async tick(): Promise<SlaveSyncResult | undefined> {
    if (this.#o.clock.monotonic() < this.#nextDue) return undefined;
    return this.syncNow();
  }

  /**
   * Syncs now; resolves with what changed, or undefined when there is no master address yet or it
   * could not be reached. A call during a sync runs another after it.
   */
  syncNow(): Promise<SlaveSyncResult | undefined> {
    if (this.#stopped) return Promise.resolve(undefined);
    if (this.#running !== undefined) {
      return this.#running.then(() => this.syncNow());
    }
    this.#running = this.#syncOnce().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
    this.#link?.close();
    this.#link = undefined;
  }

  async #syncOnce(): Promise<SlaveSyncResult | undefined> {
    const address = this.#address;
    if (address === undefined) return undefined;
    this.#nextDue = this.#o.clock.monotonic() + this.#o.periodMs;
    try {
      this.#link ??= await this.#o.connect(address);
      const link = this.#link;
      // Read everything before applying anything: a master lost mid-sync leaves the slave's tables as they were.
      const [topics, offsets, delay, groups] = await Promise.all([link.listTopics(), link.allConsumerOffsets(), link.delayOffsets(), link.listSubscriptionGroups()]);
      if (this.#stopped || address !== this.#address) return undefined;
      const topicsChanged = this.#o.topics.replaceAll(topics);
      let keptLocal = 0;
      for (const e of offsets) {
        const key = `${e.group}\n${e.topic}\n${e.queueId}`;
        const local = this.#localCommits.get(key);
        if (local !== undefined && local > e.offset) {
          keptLocal += 1;
          continue;
        }
        if (local !== undefined) this.#localCommits.delete(key);
        this.#o.offsets.commit(e.group, e.topic, e.queueId, e.offset);
      }
      this.#o.offsets.persist();
      const before = JSON.stringify(readDelayOffsets(this.#o.delay));
      if (JSON.stringify(delay) !== before) this.#o.delay.save({ offsetTable: Object.fromEntries(delay.map((d) => [String(d.level), d.offset])) });
      const groupsChanged = this.#o.groups.replaceAll(groups.groups);
      const result: SlaveSyncResult = {
        master: address, topics: topics.length, offsets: offsets.length, keptLocal, delayLevels: delay.length, groups: groups.groups.length, topicsChanged, groupsChanged,
      };
      const ch = channel(CHANNELS.slaveSynced);
      if (ch.hasSubscribers) ch.publish(result);
      log('debug', `slave ${this.#o.brokerName} synced its config from master ${address}`, { ...result });
      return result;
    } catch (err) {
      log('debug', `slave ${this.#o.brokerName} cannot sync its config from master ${address}: ${(err as Error).message}`);
      this.#link?.close();
      this.#link = undefined;
      return undefined;
    }
  }
}
