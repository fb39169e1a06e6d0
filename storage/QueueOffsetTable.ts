/**
 * The writer's table of next queue offsets, "topic-queueId" -> next offset (RocketMQ's
 * topicQueueTable). Only the writer assigns queue offsets, so only it owns this table.
 *
 * Owner: the writer (the MessageStore in one thread; the writer actor later). It is not
 * persisted: after any restart it is rebuilt from the ConsumeQueues' max offsets
 * (ROCKETMQ.md 4.4 step 6).
 */
import type { ConsumeQueueStore } from './ConsumeQueueStore.js';

export class QueueOffsetTable {
  /** topic -> next offset per queue id (a dense array: queue ids are small). */
  readonly #table = new Map<string, number[]>();

  /** The offsets of one topic, for callers that cache them per topic. */
  offsetsOf(topic: string): number[] {
    let offsets = this.#table.get(topic);
    if (offsets === undefined) {
      offsets = [];
      this.#table.set(topic, offsets);
    }
    return offsets;
  }

  get(topic: string, queueId: number): number {
    return this.#table.get(topic)?.[queueId] ?? 0;
  }

  set(topic: string, queueId: number, next: number): void {
    this.offsetsOf(topic)[queueId] = next;
  }

  /** Advances the queue by `count` (after a successful append) and returns the new next offset. */
  increase(topic: string, queueId: number, count = 1): number {
    const offsets = this.offsetsOf(topic);
    const next = (offsets[queueId] ?? 0) + count;
    offsets[queueId] = next;
    return next;
  }

  /** Rebuilds the table from every ConsumeQueue's max offset. */
  rebuild(queues: ConsumeQueueStore): void {
    this.#table.clear();
    for (const cq of queues.queues()) this.set(cq.topic, cq.queueId, cq.maxOffsetInQueue);
  }

  entries(): Array<{ topic: string; queueId: number; nextOffset: number }> {
    const out: Array<{ topic: string; queueId: number; nextOffset: number }> = [];
    for (const [topic, offsets] of this.#table) {
      offsets.forEach((nextOffset, queueId) => out.push({ topic, queueId, nextOffset }));
    }
    return out;
  }
}
