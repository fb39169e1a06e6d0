/**
 * Committed consumer offsets (RocketMQ's ConsumerOffsetManager), on the broker's main thread:
 * "topic@group" -> queueId -> next offset to consume. Commits land in memory at once and are
 * persisted to config/consumerOffset.json every flushConsumerOffsetInterval and at shutdown, in
 * RocketMQ's JSON shape. After a crash the group resumes from the last persisted offsets, so a
 * few seconds of progress may be consumed again (at-least-once), never skipped.
 */
import { PetrelError } from '../common/errors.js';
import type { JsonState } from './JsonState.js';

export class ConsumerOffsets {
  readonly #table = new Map<string, Map<number, number>>();
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
    this.#state.save({ offsetTable });
    this.#dirty = false;
  }
}
