/**
 * One timer for every invisible message of the endpoint: a binary min-heap of deadlines and a
 * single setTimeout armed for the earliest. Entries are never removed early; each carries the
 * generation it was scheduled for and the owner ignores an entry whose message has moved on
 * (acked, renewed, redelivered). Time comes from the injected Clock, and sweep() can be called
 * directly, so tests drive expiry without sleeping.
 */
import type { Clock } from '../common/clock.js';

export interface TimerEntry<T> {
  readonly at: number;
  readonly item: T;
  readonly generation: number;
}

/** Longest setTimeout delay Node accepts. */
const MAX_DELAY = 2_147_483_647;

export class InvisibleTimer<T> {
  readonly #heap: TimerEntry<T>[] = [];
  readonly #clock: Clock;
  readonly #onExpired: (item: T, generation: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #armedAt = Infinity;
  #stopped = false;

  constructor(clock: Clock, onExpired: (item: T, generation: number) => void) {
    this.#clock = clock;
    this.#onExpired = onExpired;
  }

  get size(): number {
    return this.#heap.length;
  }

  schedule(at: number, item: T, generation: number): void {
    if (this.#stopped) return;
    const heap = this.#heap;
    heap.push({ at, item, generation });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent];
      const c = heap[i];
      if (p === undefined || c === undefined || p.at <= c.at) break;
      heap[parent] = c;
      heap[i] = p;
      i = parent;
    }
    this.#arm();
  }

  /** Fires every entry due at the clock's now; returns how many fired. */
  sweep(): number {
    const now = this.#clock.now();
    let fired = 0;
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || top.at > now) break;
      this.#pop();
      fired++;
      this.#onExpired(top.item, top.generation);
    }
    this.#arm();
    return fired;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#heap.length = 0;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if ((heap[l]?.at ?? Infinity) < (heap[min]?.at ?? Infinity)) min = l;
      if ((heap[r]?.at ?? Infinity) < (heap[min]?.at ?? Infinity)) min = r;
      if (min === i) break;
      const a = heap[i];
      const b = heap[min];
      if (a === undefined || b === undefined) break;
      heap[i] = b;
      heap[min] = a;
      i = min;
    }
  }

  #arm(): void {
    if (this.#stopped) return;
    const next = this.#heap[0]?.at ?? Infinity;
    if (next === this.#armedAt && this.#timer !== undefined) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = next;
    if (next === Infinity) return;
    const delay = Math.min(MAX_DELAY, Math.max(0, next - this.#clock.now()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#armedAt = Infinity;
      this.sweep();
    }, delay);
    this.#timer.unref();
  }
}
