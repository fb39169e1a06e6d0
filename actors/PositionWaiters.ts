/**
 * Many sends waiting on one position (`flushed`, or a slave's ack): one Atomics.waitAsync loop
 * serves them all, resolving each as the position passes its target and timing each out at its
 * deadline. A send costs an array insert, not a waiter of its own. Main thread only.
 */
import type { BrokerPositions, PositionSlot } from './BrokerPositions.js';

interface Waiter {
  readonly target: number;
  readonly deadline: number;
  readonly resolve: (ok: boolean) => void;
}

/** Longest sleep between deadline checks, ms. */
const TICK_MS = 5;

export class PositionWaiters {
  readonly #positions: BrokerPositions;
  readonly #slot: PositionSlot;
  #waiters: Waiter[] = [];
  #looping = false;

  constructor(positions: BrokerPositions, slot: PositionSlot) {
    this.#positions = positions;
    this.#slot = slot;
  }

  /** True once the position is >= target; false when timeoutMs passes first. */
  wait(target: number, timeoutMs: number): Promise<boolean> {
    if (this.#positions.get(this.#slot) >= target) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.#waiters.push({ target, deadline: performance.now() + timeoutMs, resolve });
      if (!this.#looping) void this.#loop();
    });
  }

  async #loop(): Promise<void> {
    this.#looping = true;
    while (this.#waiters.length > 0) {
      await this.#positions.waitChange(this.#slot, TICK_MS);
      const pos = this.#positions.get(this.#slot);
      const now = performance.now();
      const still: Waiter[] = [];
      for (const w of this.#waiters) {
        if (pos >= w.target) w.resolve(true);
        else if (now >= w.deadline) w.resolve(false);
        else still.push(w);
      }
      this.#waiters = still;
    }
    this.#looping = false;
  }
}
