/**
 * Committed consumer offsets (RocketMQ's ConsumerOffsetManager), on the broker's main thread:
 * "topic@group" -> queueId -> next offset to consume. Commits land in memory at once and are
 * persisted to config/consumerOffset.json every flushConsumerOffsetInterval and at shutdown, in
 * RocketMQ's JSON shape. After a crash the group resumes from the last persisted offsets, so a
 * few seconds of progress may be consumed again (at-least-once), never skipped.
 *
 * Next to the offsets it keeps each queue's reset epoch: the epoch of the last offset reset that
 * moved the group's offset there (OffsetResets), 0 when none did. The epochs are persisted with
 * the offsets, under `resetEpochTable` (a key RocketMQ's readers of the file do not know and
 * skip), so a restart does not forget a reset its consumers have not all seen yet.
 */
import { PetrelError } from '../common/errors.js';
import type { JsonState } from './JsonState.js';

export class ConsumerOffsets {
  readonly #table = new Map<string, Map<number, number>>();
  /** "topic@group" -> queueId -> reset epoch. */
  readonly #epochs = new Map<string, Map<number, number>>();
  #lastEpoch = 0;
  readonly #state: JsonState;
  #dirty = false;

  constructor(state: JsonState) {
    this.#state = state;
    const saved = state.load();
    if (saved === undefined) return;
    const table = (saved as { offsetTable?: unknown }).offsetTable;
    if (typeof table !== 'object' || table === null) {
      throw new PetrelError('ERR_STORE_CORRUPT', 'consumerOffset.json has no offsetTable object');
    }
    for (const [key, queues] of Object.entries(table)) {
      const m = new Map<number, number>();
      for (const [qid, off] of Object.entries(queues as Record<string, unknown>)) {
        if (typeof off === 'number' && Number.isInteger(off) && off >= 0) m.set(Number(qid), off);
      }
      this.#table.set(key, m);
    }
    const epochs = (saved as { resetEpochTable?: unknown }).resetEpochTable;
    if (typeof epochs !== 'object' || epochs === null) return;
    for (const [key, queues] of Object.entries(epochs)) {
      const m = new Map<number, number>();
      for (const [qid, epoch] of Object.entries(queues as Record<string, unknown>)) {
        if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch <= 0) continue;
        m.set(Number(qid), epoch);
        this.#lastEpoch = Math.max(this.#lastEpoch, epoch);
      }
      this.#epochs.set(key, m);
    }
  }

  /**
   * A new reset epoch: the wall clock in ms, or one more than the last epoch when the clock did
   * not move past it (so epochs only grow, on this broker and across its restarts).
   */
  nextResetEpoch(now: number): number {
    this.#lastEpoch = Math.max(Math.trunc(now), this.#lastEpoch + 1);
    return this.#lastEpoch;
  }

  /** Records that a reset of this epoch moved the group's offset of the queue. */
  markReset(group: string, topic: string, queueId: number, epoch: number): void {
    const key = `${topic}@${group}`;
    let m = this.#epochs.get(key);
    if (m === undefined) {
      m = new Map();
      this.#epochs.set(key, m);
    }
    m.set(queueId, epoch);
    this.#lastEpoch = Math.max(this.#lastEpoch, epoch);
    this.#dirty = true;
  }

  /** The epoch of the last reset of the group's offset of the queue; 0 when it was never reset. */
  resetEpoch(group: string, topic: string, queueId: number): number {
    return this.#epochs.get(`${topic}@${group}`)?.get(queueId) ?? 0;
  }

  /** queueId -> reset epoch, for every queue of the topic whose offset the group had reset. */
  resetEpochsOf(group: string, topic: string): ReadonlyMap<number, number> {
    return this.#epochs.get(`${topic}@${group}`) ?? new Map();
  }

  commit(group: string, topic: string, queueId: number, offset: number): void {
    const key = `${topic}@${group}`;
    let m = this.#table.get(key);
    if (m === undefined) {
      m = new Map();
      this.#table.set(key, m);
    }
    if (m.get(queueId) !== offset) {
      m.set(queueId, offset);
      this.#dirty = true;
    }
  }

  /** -1 when the group has no offset for the queue. */
  query(group: string, topic: string, queueId: number): number {
    return this.#table.get(`${topic}@${group}`)?.get(queueId) ?? -1;
  }

  /** Every group with at least one committed offset, sorted. */
  groups(): string[] {
    const out = new Set<string>();
    for (const key of this.#table.keys()) out.add(key.slice(key.lastIndexOf('@') + 1));
    return [...out].sort();
  }

  /** Every (topic, queueId, offset) the group has committed. */
  ofGroup(group: string): { topic: string; queueId: number; offset: number }[] {
    const out: { topic: string; queueId: number; offset: number }[] = [];
    const suffix = `@${group}`;
    for (const [key, m] of this.#table) {
      if (!key.endsWith(suffix)) continue;
      const topic = key.slice(0, -suffix.length);
      for (const [queueId, offset] of m) out.push({ topic, queueId, offset });
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.queueId - b.queueId : a.topic < b.topic ? -1 : 1));
  }

  /** Lowers every committed offset above a queue's recovered max (RocketMQ #8239's lesson). */
  clampTo(maxOffset: (topic: string, queueId: number) => number): void {
    for (const [key, m] of this.#table) {
      const topic = key.slice(0, key.lastIndexOf('@'));
      for (const [qid, off] of m) {
        const max = maxOffset(topic, qid);
        if (off > max) {
          m.set(qid, max);
          this.#dirty = true;
        }
      }
    }
  }

  persist(force = false): void {
    if (!this.#dirty && !force) return;
    const offsetTable: Record<string, Record<string, number>> = {};
    for (const [key, m] of this.#table) offsetTable[key] = Object.fromEntries([...m].map(([q, o]) => [String(q), o]));
    const resetEpochTable: Record<string, Record<string, number>> = {};
    for (const [key, m] of this.#epochs) if (m.size > 0) resetEpochTable[key] = Object.fromEntries([...m].map(([q, e]) => [String(q), e]));
    this.#state.save(Object.keys(resetEpochTable).length === 0 ? { offsetTable } : { offsetTable, resetEpochTable });
    this.#dirty = false;
  }
}
