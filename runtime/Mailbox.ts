/**
 * A one-message-at-a-time queue: the heart of "no re-entrancy". Items are handed to `process` in
 * arrival order; when `process` returns a promise, the next item waits until it settles. Owned
 * by one actor host on one thread; nothing in it survives the thread.
 */
/** Handles one item. It must not throw: errors are the processor's to report (the host does). */
export type Processor<T> = (item: T) => void | PromiseLike<void>;

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Compact the backing array once this many consumed slots sit in front of the head. */
const COMPACT_AFTER = 1024;

export class Mailbox<T> {
  readonly #process: Processor<T>;
  #queue: T[] = [];
  #head = 0;
  #paused = true;
  /** true while `process` runs or its promise is pending: the no-re-entrancy guard. */
  #busy = false;
  #idleWaiters: (() => void)[] = [];

  /** Starts paused: the host resumes it once the actor's `start` hook has finished. */
  constructor(process: Processor<T>) {
    this.#process = process;
  }

  get size(): number {
    return this.#queue.length - this.#head;
  }

  get paused(): boolean {
    return this.#paused;
  }

  push(item: T): void {
    this.#queue.push(item);
    if (!this.#busy && !this.#paused) this.#drain();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (!this.#busy) this.#drain();
  }

  /** Removes and returns every queued item (not the one in progress). */
  takeAll(): T[] {
    const rest = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    return rest;
  }

  /** Resolves when nothing is in progress and the queue is empty or paused. */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return !this.#busy && (this.#paused || this.size === 0);
  }

  /** Only called when size > 0. */
  #next(): T {
    const item = this.#queue[this.#head] as T;
    this.#head++;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  #drain(): void {
    this.#busy = true;
    while (!this.#paused && this.size > 0) {
      const result = this.#process(this.#next());
      if (isPromiseLike(result)) {
        const done = (): void => {
          this.#busy = false;
          if (!this.#paused) this.#drain();
          else this.#notifyIdle();
        };
        result.then(done, done);
        return;
      }
    }
    this.#busy = false;
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (!this.#isIdle() || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
