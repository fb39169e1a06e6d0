/**
 * Many sends waiting on one position (`flushed`, or a slave's ack): one Atomics.waitAsync loop
 * serves them all. A send costs an array insert, not a waiter of its own.
 *
 * The loop sleeps until the position is published again or the earliest deadline comes, nothing
 * in between: a send wakes on the publish it needs, not on a timer. A deadline is decided on the
 * injected Clock and is exact: once it has passed, the send has timed out, even if the position
 * it waited for arrives a moment later (the status then says what the client saw: no durable
 * answer within its timeout). Main thread only.
 */
import { systemClock, type Clock } from '../common/clock.js';
import type { PositionSlot } from './BrokerPositions.js';

/** What the waiters read: BrokerPositions fits. */
export interface WaitablePositions {
  get(slot: PositionSlot): number;
  /** Resolves when the slot no longer holds `seenValue` (at once if it already does) or after timeoutMs. */
  waitChangeFrom(slot: PositionSlot, seenValue: number, timeoutMs: number): Promise<void>;
}

interface Waiter {
  readonly target: number;
  readonly deadline: number;
  readonly resolve: (ok: boolean) => void;
}

export class PositionWaiters {
  readonly #positions: WaitablePositions;
  readonly #slot: PositionSlot;
  readonly #clock: Clock;
  #waiters: Waiter[] = [];
  #looping = false;
  #turns = 0;
  /** The deadline the loop sleeps until now, and how to wake it for an earlier one. */
  #sleepsUntil = Infinity;
  #kick: (() => void) | undefined;

  constructor(positions: WaitablePositions, slot: PositionSlot, clock: Clock = systemClock) {
    this.#positions = positions;
    this.#slot = slot;
    this.#clock = clock;
  }

  /** Times the loop woke up (a publish or a deadline): for tests that show it does not poll. */
  get turns(): number {
    return this.#turns;
  }

  /** Sends waiting now. */
  get pending(): number {
    return this.#waiters.length;
  }

  /** True once the position is >= target; false when timeoutMs passes first. */
  wait(target: number, timeoutMs: number): Promise<boolean> {
    if (this.#positions.get(this.#slot) >= target) return Promise.resolve(true);
    if (!(timeoutMs > 0)) return Promise.resolve(false);
    return new Promise((resolve) => {
      const deadline = this.#clock.monotonic() + timeoutMs;
      this.#waiters.push({ target, deadline, resolve });
      if (!this.#looping) void this.#loop();
      else if (deadline < this.#sleepsUntil) this.#kick?.();
    });
  }

  async #loop(): Promise<void> {
    this.#looping = true;
    try {
      while (this.#waiters.length > 0) {
        const pos = this.#positions.get(this.#slot);
        const now = this.#clock.monotonic();
        const still: Waiter[] = [];
        let earliest = Infinity;
        for (const w of this.#waiters) {
          // The deadline first: a position that came after it does not undo the timeout.
          if (now >= w.deadline) w.resolve(false);
          else if (pos >= w.target) w.resolve(true);
          else {
            still.push(w);
            earliest = Math.min(earliest, w.deadline);
          }
        }
        this.#waiters = still;
        if (still.length === 0) break;
        // A publish after `pos` was read wakes this at once (the wait compares with `pos`); a
        // send with an earlier deadline than any so far kicks it.
        this.#sleepsUntil = earliest;
        const kicked = new Promise<void>((r) => {
          this.#kick = r;
        });
        await Promise.race([this.#positions.waitChangeFrom(this.#slot, pos, earliest - now), kicked]);
        this.#kick = undefined;
        this.#sleepsUntil = Infinity;
        this.#turns++;
      }
    } finally {
      this.#looping = false;
    }
  }
}
