/**
 * Named, monotonically increasing 64-bit positions in one SharedArrayBuffer: what the writer has
 * written, what is flushed, what a slave has acked. One thread publishes each cell (publishing
 * only ever moves it forward); any thread reads it or waits until it reaches a value, blocking
 * (Atomics.wait, for worker threads) or not (Atomics.waitAsync, for threads with an event loop).
 * A publish wakes every waiter of that cell, and only calls notify when someone waits.
 *
 * Layout: one 64-byte line per cell, in the order of `names`, as BigInt64 words:
 *
 *   word  field
 *   0     position (int64, >= 0; exposed as a JS number, exact up to 2^53)
 *   1     waiters: threads sleeping (or about to) on word 0
 *   2..7  unused, keeps cells off each other's cache line
 *
 * Cross threads as `cells.handle()` (the buffer and the names) and `PositionCells.from(handle)`.
 */
import { PetrelError } from '../common/errors.js';
import { deadlineAfter, remainingMs, waitAsync } from './atomicsWait.js';

/** BigInt64 words per cell: one cache line. */
const CELL_WORDS = 8;
/** Word offsets inside a cell. */
const CellWord = { POSITION: 0, WAITERS: 1 } as const;

export interface PositionCellsHandle<N extends string> {
  readonly buffer: SharedArrayBuffer;
  readonly names: readonly N[];
}

export class PositionCell {
  readonly name: string;
  readonly #words: BigInt64Array;
  readonly #pos: number;
  readonly #waiters: number;

  /** @internal Made by PositionCells. */
  constructor(name: string, words: BigInt64Array, index: number) {
    this.name = name;
    this.#words = words;
    this.#pos = index * CELL_WORDS + CellWord.POSITION;
    this.#waiters = index * CELL_WORDS + CellWord.WAITERS;
  }

  /** The current position. */
  get(): number {
    return Number(Atomics.load(this.#words, this.#pos));
  }

  /** Moves the cell forward to `position`; false (and no change) if it is already there or past it. */
  publish(position: number): boolean {
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `a position must be a safe integer >= 0, got ${position}`);
    }
    const words = this.#words;
    const next = BigInt(position);
    let current = Atomics.load(words, this.#pos);
    while (current < next) {
      const seen = Atomics.compareExchange(words, this.#pos, current, next);
      if (seen === current) {
        if (Atomics.load(words, this.#waiters) > 0n) Atomics.notify(words, this.#pos);
        return true;
      }
      current = seen;
    }
    return false;
  }

  /**
   * Blocks until the cell reaches `target` (>=) or `timeoutMs` passes; true when reached.
   * Blocks the whole thread: for workers, not for a thread that serves an event loop.
   */
  waitFor(target: number, timeoutMs = Infinity): boolean {
    const words = this.#words;
    const goal = BigInt(target);
    const deadline = deadlineAfter(timeoutMs);
    for (;;) {
      const current = Atomics.load(words, this.#pos);
      if (current >= goal) return true;
      const left = remainingMs(deadline);
      if (left <= 0) return false;
      // Count ourselves first: a publish after this sees the count and notifies; one before it
      // changed the value, so the wait below returns at once instead of sleeping.
      Atomics.add(words, this.#waiters, 1n);
      Atomics.wait(words, this.#pos, current, left);
      Atomics.sub(words, this.#waiters, 1n);
    }
  }

  /** waitFor() without blocking the thread's event loop. */
  async waitForAsync(target: number, timeoutMs = Infinity): Promise<boolean> {
    const words = this.#words;
    const goal = BigInt(target);
    const deadline = deadlineAfter(timeoutMs);
    for (;;) {
      const current = Atomics.load(words, this.#pos);
      if (current >= goal) return true;
      const left = remainingMs(deadline);
      if (left <= 0) return false;
      Atomics.add(words, this.#waiters, 1n);
      try {
        await waitAsync(words, this.#pos, current, left);
      } finally {
        Atomics.sub(words, this.#waiters, 1n);
      }
    }
  }
}

export class PositionCells<N extends string> {
  readonly buffer: SharedArrayBuffer;
  readonly names: readonly N[];
  readonly #cells: ReadonlyMap<string, PositionCell>;

  private constructor(buffer: SharedArrayBuffer, names: readonly N[]) {
    this.buffer = buffer;
    this.names = Object.freeze([...names]);
    const words = new BigInt64Array(buffer);
    this.#cells = new Map(names.map((name, i) => [name, new PositionCell(name, words, i)]));
  }

  /** New cells, all at position 0. */
  static create<N extends string>(names: readonly N[]): PositionCells<N> {
    if (names.length === 0 || new Set(names).size !== names.length) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', 'position cells need one or more distinct names');
    }
    return new PositionCells(new SharedArrayBuffer(names.length * CELL_WORDS * 8), names);
  }

  /** The same cells on another thread. */
  static from<N extends string>(handle: PositionCellsHandle<N>): PositionCells<N> {
    const { buffer, names } = handle;
    const namesOk = Array.isArray(names) && (names as readonly unknown[]).every((n) => typeof n === 'string');
    if (!(buffer instanceof SharedArrayBuffer) || !namesOk || buffer.byteLength !== names.length * CELL_WORDS * 8) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', 'position cells are rebuilt from the handle() of PositionCells.create');
    }
    return new PositionCells(buffer, names);
  }

  /** What to send to another thread (structured-cloneable; the buffer is shared, not copied). */
  handle(): PositionCellsHandle<N> {
    return { buffer: this.buffer, names: this.names };
  }

  cell(name: N): PositionCell {
    const cell = this.#cells.get(name);
    if (cell === undefined) throw new PetrelError('ERR_INVALID_ARGUMENT', `no position cell named '${name}'`);
    return cell;
  }
}
