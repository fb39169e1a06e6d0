/**
 * Time, injected. Everything that stamps, times out or sleeps takes a Clock so that tests can
 * drive flush intervals, timeouts and rebalances without sleeping.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (store timestamps, file names). */
  now(): number;
  /** Monotonic milliseconds with sub-millisecond precision (deadlines, latencies). */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A clock that moves only when told to: for deterministic tests. */
export class ManualClock implements Clock {
  #wall: number;
  #mono = 0;

  constructor(startWallMs = 1_700_000_000_000) {
    this.#wall = startWallMs;
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#mono;
  }

  advance(ms: number): void {
    this.#wall += ms;
    this.#mono += ms;
  }
}
