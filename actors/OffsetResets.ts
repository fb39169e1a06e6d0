/**
 * Offset resets while consumers run (RocketMQ's RESET_CONSUMER_CLIENT_OFFSET), on the broker's
 * main thread. A reset commits the new offsets and stamps each queue it moved with a new epoch
 * (ConsumerOffsets keeps and persists the epochs). From then on:
 *
 * - a commit that carries an older epoch than its queue's is refused (ERR_OFFSET_STALE): a
 *   consumer that pulled from the old position cannot write it back over the reset;
 * - a pull that carries an older epoch is answered with a notice (the epoch and the group's
 *   committed offset now), and a pull held for long polling is answered as soon as the reset
 *   happens, so the consumer drops what it holds and resumes from the new offset;
 * - awaitOffsetReset waiters (consumers that keep pulled messages between pulls) are woken.
 *
 * Commits and pulls that carry no epoch (operators, programs driving offsets themselves) are
 * not checked. Holds no state of its own besides the waiters.
 */
import { PetrelError } from '../common/errors.js';
import type { OffsetResetNotice, OffsetResetState } from '../api/BrokerApi.js';
import type { ConsumerOffsets } from './ConsumerOffsets.js';

type Listener = (queueIds: ReadonlySet<number>) => void;

export class OffsetResets {
  readonly #offsets: ConsumerOffsets;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #closers = new Set<() => void>();

  constructor(offsets: ConsumerOffsets) {
    this.#offsets = offsets;
  }

  /**
   * Commits the new offsets, stamps their queues with a new epoch, persists, and tells whoever
   * waits on the group's topic. Synchronous: no commit can land between the offsets and the epoch.
   */
  apply(group: string, topic: string, moves: readonly { readonly queueId: number; readonly offset: number }[], now: number): number {
    const epoch = this.#offsets.nextResetEpoch(now);
    for (const m of moves) {
      this.#offsets.commit(group, topic, m.queueId, m.offset);
      this.#offsets.markReset(group, topic, m.queueId, epoch);
    }
    this.#offsets.persist(true);
    const queueIds = new Set(moves.map((m) => m.queueId));
    for (const l of [...(this.#listeners.get(key(group, topic)) ?? [])]) l(queueIds);
    return epoch;
  }

  /** Refuses a commit whose epoch is older than its queue's last reset (no epoch: not checked). */
  checkCommit(group: string, topic: string, queueId: number, resetEpoch: number | undefined): void {
    if (resetEpoch === undefined) return;
    const current = this.#offsets.resetEpoch(group, topic, queueId);
    if (resetEpoch < current) {
      throw new PetrelError(
        'ERR_OFFSET_STALE',
        `group ${group}'s offset of ${topic} queue ${queueId} was reset at epoch ${current}; a commit from reset epoch ${resetEpoch} is refused (the consumer resumes from offset ${this.#offsets.query(group, topic, queueId)})`,
      );
    }
  }

  /** The notice for a pull that carries an older epoch than its queue's; undefined when current or unchecked. */
  noticeFor(group: string, topic: string, queueId: number, resetEpoch: number | undefined): OffsetResetNotice | undefined {
    if (resetEpoch === undefined) return undefined;
    const epoch = this.#offsets.resetEpoch(group, topic, queueId);
    if (resetEpoch >= epoch) return undefined;
    return { epoch, offset: Math.max(0, this.#offsets.query(group, topic, queueId)) };
  }

  state(group: string, topic: string): OffsetResetState {
    const queues: { queueId: number; epoch: number; offset: number }[] = [];
    for (const [queueId, epoch] of this.#offsets.resetEpochsOf(group, topic)) {
      queues.push({ queueId, epoch, offset: Math.max(0, this.#offsets.query(group, topic, queueId)) });
    }
    queues.sort((a, b) => a.queueId - b.queueId);
    return { epoch: queues.reduce((a, q) => Math.max(a, q.epoch), 0), queues };
  }

  /** Resolves with the state once its epoch passes knownEpoch, or after timeoutMs. */
  awaitReset(group: string, topic: string, knownEpoch: number, timeoutMs: number): Promise<OffsetResetState> {
    const now = this.state(group, topic);
    if (now.epoch > knownEpoch || timeoutMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#closers.delete(done);
        off();
        resolve(this.state(group, topic));
      };
      const off = this.onReset(group, topic, done);
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.#timers.add(timer);
      this.#closers.add(done);
    });
  }

  /** Calls `fn` with the queues of each reset of the group's topic until the returned function is called. */
  onReset(group: string, topic: string, fn: Listener): () => void {
    const k = key(group, topic);
    let set = this.#listeners.get(k);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(k, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#listeners.get(k) === set) this.#listeners.delete(k);
    };
  }

  /** Answers every waiter now (shutdown). */
  close(): void {
    for (const done of [...this.#closers]) done();
  }
}

function key(group: string, topic: string): string {
  return `${group}\0${topic}`;
}
