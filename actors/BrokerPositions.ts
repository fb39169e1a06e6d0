/**
 * The broker's shared positions: one SharedArrayBuffer that every actor thread maps. Each slot is
 * written by exactly one actor and only moves forward; the others read it or wait until it passes
 * a value. A value is a BigInt64 (CommitLog offsets outgrow int32) and each slot has an int32
 * sequence beside it that is bumped and notified on every publish: Atomics.wait works on the
 * sequence, so a waiter sleeps until something changes instead of spinning.
 *
 * Layout: values at BigInt64 index `slot`; sequences at Int32 index SEQ_BASE + slot.
 */

export const Position = {
  /** End of what WriterActor appended (page cache). */
  WROTE: 0,
  /** End of what FlushActor made durable. */
  FLUSHED: 1,
  /** End of what DispatcherActor turned into ConsumeQueue units and index entries. */
  DISPATCHED: 2,
  /**
   * Master: the furthest offset any slave acknowledged (ReplicationActor). Forward only, so a
   * send waits on it; an ack is never counted past what the master sent on that link.
   */
  SLAVE_ACKED: 3,
  /** Master: slaves connected now that have reported (ReplicationActor; a gauge, set). */
  SLAVE_CONNECTED: 4,
  /**
   * Master: the best ack among the slaves connected now (ReplicationActor; a gauge, set). The
   * in-sync gap of a send ending at `end` is `end - SLAVE_LIVE_ACK`.
   */
  SLAVE_LIVE_ACK: 5,
  /**
   * Why dispatch is held (DispatcherActor; a gauge, set): DISPATCH_HELD_BY's index of the logic
   * folder whose write failed, 0 while dispatch runs. The main thread refuses sends meanwhile.
   */
  DISPATCH_HELD: 6,
} as const;
export type PositionSlot = (typeof Position)[keyof typeof Position];

/** The values of Position.DISPATCH_HELD: the folder whose ConsumeQueue or IndexFile write failed. */
export const DISPATCH_HELD_BY = [undefined, 'consumequeue', 'index'] as const;
export type DispatchHeldBy = Exclude<(typeof DISPATCH_HELD_BY)[number], undefined>;

/** The folder Position.DISPATCH_HELD names, undefined while dispatch runs. */
export function dispatchHeldBy(positions: BrokerPositions): DispatchHeldBy | undefined {
  return DISPATCH_HELD_BY[positions.get(Position.DISPATCH_HELD)];
}

const SLOTS = 8;
const SEQ_BASE = SLOTS * 2; // int32 index just past the BigInt64 values

export class BrokerPositions {
  readonly buffer: SharedArrayBuffer;
  readonly #values: BigInt64Array;
  readonly #seq: Int32Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(SLOTS * 8 + SLOTS * 4)) {
    this.buffer = buffer;
    this.#values = new BigInt64Array(buffer, 0, SLOTS);
    this.#seq = new Int32Array(buffer);
  }

  get(slot: PositionSlot): number {
    return Number(Atomics.load(this.#values, slot));
  }

  /** Moves the slot forward (never back) and wakes every waiter. */
  publish(slot: PositionSlot, value: number): void {
    const v = BigInt(value);
    if (v <= Atomics.load(this.#values, slot)) return;
    Atomics.store(this.#values, slot, v);
    Atomics.add(this.#seq, SEQ_BASE + slot, 1);
    Atomics.notify(this.#seq, SEQ_BASE + slot);
  }

  /** Sets a slot outright (recovery, before any waiter exists). */
  reset(slot: PositionSlot, value: number): void {
    Atomics.store(this.#values, slot, BigInt(value));
    Atomics.add(this.#seq, SEQ_BASE + slot, 1);
    Atomics.notify(this.#seq, SEQ_BASE + slot);
  }

  /**
   * Sets a slot to `value` even if that moves it back, and wakes every waiter: gauges (connected
   * slaves) and a slave's positions after it cut a diverged tail.
   */
  set(slot: PositionSlot, value: number): void {
    const v = BigInt(value);
    if (v === Atomics.load(this.#values, slot)) return;
    Atomics.store(this.#values, slot, v);
    Atomics.add(this.#seq, SEQ_BASE + slot, 1);
    Atomics.notify(this.#seq, SEQ_BASE + slot);
  }

  /** Resolves true once the slot is >= target, false after timeoutMs. Keeps the event loop free. */
  async waitFor(slot: PositionSlot, target: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seq = Atomics.load(this.#seq, SEQ_BASE + slot);
      if (this.get(slot) >= target) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      const w = Atomics.waitAsync(this.#seq, SEQ_BASE + slot, seq, left);
      if (w.async) await w.value;
    }
  }

  /** Resolves when the slot changes from what it was when called, or after timeoutMs. */
  async waitChange(slot: PositionSlot, timeoutMs: number): Promise<void> {
    const seq = Atomics.load(this.#seq, SEQ_BASE + slot);
    const w = Atomics.waitAsync(this.#seq, SEQ_BASE + slot, seq, timeoutMs);
    if (w.async) await w.value;
  }

  /**
   * Resolves at once when the slot no longer holds `seenValue`, else when it next changes or
   * after timeoutMs. The sequence is read before the value, so a publish between the caller's
   * read of `seenValue` and this call still wakes it (waitChange would sleep through it).
   */
  async waitChangeFrom(slot: PositionSlot, seenValue: number, timeoutMs: number): Promise<void> {
    const seq = Atomics.load(this.#seq, SEQ_BASE + slot);
    if (this.get(slot) !== seenValue) return;
    const w = Atomics.waitAsync(this.#seq, SEQ_BASE + slot, seq, timeoutMs);
    if (w.async) await w.value;
  }

  /** Blocking form for a thread with nothing else to do: true once the slot changed. */
  waitChangeSync(slot: PositionSlot, seenValue: number, timeoutMs: number): boolean {
    const seq = Atomics.load(this.#seq, SEQ_BASE + slot);
    if (this.get(slot) !== seenValue) return true;
    return Atomics.wait(this.#seq, SEQ_BASE + slot, seq, timeoutMs) !== 'timed-out';
  }
}
