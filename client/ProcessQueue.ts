/**
 * One assigned queue inside a consumer: where the next pull starts, and which pulled offsets are
 * still being consumed. The committable offset is the smallest offset still in flight (or one
 * past the last pulled when none is), as RocketMQ's ProcessQueue computes it: a slow message pins
 * the committed offset, so a crash re-delivers, never skips. Owned by one consumer on one thread.
 */
import type { MessageExt, MessageQueue } from '../api/BrokerApi.js';

export class ProcessQueue {
  readonly mq: MessageQueue;
  /** The group's reset epoch this queue's position comes from; pulls and commits carry it. */
  readonly resetEpoch: number;
  nextPullOffset: number;
  dropped = false;
  /**
   * Set with `dropped` when an offset reset replaced this queue: its messages not yet handed to
   * the listener are dropped, and nothing of it is committed.
   */
  superseded = false;
  /** Messages skipped by the lag policy. */
  skipped = 0;
  /** In-flight offsets in pull order; `done` marks those finished out of order. */
  readonly #offsets: number[] = [];
  readonly #done = new Set<number>();
  #head = 0;
  #committable: number;
  /** Orderly mode: messages waiting for the queue's single consumer, in queue order. */
  readonly pending: MessageExt[] = [];
  /** Orderly mode: set while a batch of this queue is with the listener. */
  consuming = false;

  constructor(mq: MessageQueue, startOffset: number, resetEpoch = 0) {
    this.mq = mq;
    this.resetEpoch = resetEpoch;
    this.nextPullOffset = startOffset;
    this.#committable = startOffset;
  }

  get inFlight(): number {
    return this.#offsets.length - this.#head;
  }

  /** Registers pulled messages (ascending offsets) and moves the next pull past them. */
  track(offsets: readonly number[], nextBeginOffset: number): void {
    for (const o of offsets) this.#offsets.push(o);
    this.nextPullOffset = nextBeginOffset;
    if (this.inFlight === 0) this.#committable = nextBeginOffset;
  }

  /** Marks offsets consumed; returns the new committable offset if it moved. */
  complete(offsets: readonly number[]): number | undefined {
    for (const o of offsets) this.#done.add(o);
    const before = this.#committable;
    while (this.#head < this.#offsets.length) {
      const o = this.#offsets[this.#head] as number;
      if (!this.#done.has(o)) break;
      this.#done.delete(o);
      this.#head += 1;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#offsets.length) {
      this.#offsets.splice(0, this.#head);
      this.#head = 0;
    }
    const first = this.#offsets[this.#head];
    this.#committable = first ?? this.nextPullOffset;
    return this.#committable !== before ? this.#committable : undefined;
  }

  get committableOffset(): number {
    return this.#committable;
  }

  /** Jumps over a backlog (lag policy or reset): nothing in flight is waited for any more. */
  skipTo(offset: number): void {
    this.skipped += Math.max(0, offset - this.nextPullOffset);
    this.#offsets.length = 0;
    this.#head = 0;
    this.#done.clear();
    this.pending.length = 0;
    this.nextPullOffset = offset;
    this.#committable = offset;
  }
}
