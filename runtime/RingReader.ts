/**
 * The reading side of a SharedRing: one per ring at a time (it claims the ring; a new reader
 * after a crashed one passes `takeOver`). `read` hands over every committed record in order, in
 * one batch, then clears their commit flags and moves READ once. It stops at the first record not
 * yet committed. An idle reader sleeps: `wait` blocks the thread (Atomics.wait, for a worker
 * that has nothing else to do), `waitAsync` keeps its event loop turning. Either polls for a
 * few microseconds first (spinUs), never longer.
 *
 * A record's bytes are valid only during the callback: once the batch is released, writers may
 * reuse them. After a reader thread dies mid-batch, a reader that takes over reads that batch
 * again.
 * Owned by the thread that made it. See ringLayout.ts for the layout.
 */
import { PetrelError } from '../common/errors.js';
import { deadlineAfter, remainingMs, waitAsync } from './atomicsWait.js';
import { PADDING, RingSlot, flagIndex, recordBytes } from './ringLayout.js';
import type { SharedRing } from './SharedRing.js';

/** Called for each record: its payload is bytes[offset, offset + length). */
export type RecordCallback = (bytes: Uint8Array, offset: number, length: number) => void;

export interface RingReaderOptions {
  /** Claim the ring even if another reader holds it (that reader must be gone). Default false. */
  readonly takeOver?: boolean;
  /**
   * Microseconds to keep polling for the next record before sleeping in wait/waitAsync: a
   * record that comes sooner is picked up without the cost of a sleep and a wake-up (tens of
   * microseconds each). Default 0: look once, then sleep. On a machine with more busy threads
   * than cores a spinning reader loses the scheduler's favour that sleepers get, and its
   * latency grows from tens of microseconds to milliseconds (bench/ring.ts --spin-us shows it);
   * spin only on a core of its own.
   */
  readonly spinUs?: number;
}

export class RingReader {
  readonly #ring: SharedRing;
  readonly #i32: Int32Array;
  readonly #flags: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #capacity: number;
  readonly #mask: number;
  readonly #spinMs: number;
  /** Bytes a batch consumes before it frees them, mid-batch. */
  readonly #releaseEvery: number;
  #pos: number;
  #released = false;

  constructor(ring: SharedRing, options: RingReaderOptions = {}) {
    this.#ring = ring;
    this.#i32 = ring.int32;
    this.#flags = ring.flags;
    this.#bytes = ring.data;
    this.#capacity = ring.capacity;
    this.#mask = ring.capacity - 1;
    this.#spinMs = (options.spinUs ?? 0) / 1000;
    this.#releaseEvery = ring.capacity / 8;
    const claimed = Atomics.compareExchange(this.#i32, RingSlot.READER_CLAIMED, 0, 1) === 0;
    if (!claimed && options.takeOver !== true) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', 'this ring already has a reader (pass takeOver if that reader is gone)');
    }
    Atomics.store(this.#i32, RingSlot.READER_CLAIMED, 1);
    this.#pos = Atomics.load(this.#i32, RingSlot.READ);
  }

  /** True when the next record (or a skip marker) is committed. */
  get ready(): boolean {
    return Atomics.load(this.#flags, flagIndex(this.#pos & this.#mask)) !== 0;
  }

  /** True once the ring is closed and every record in it has been read. */
  get finished(): boolean {
    return this.#ring.closed && !this.ready && ((Atomics.load(this.#i32, RingSlot.WRITE) - this.#pos) | 0) === 0;
  }

  /**
   * Hands every committed record, up to `maxRecords`, to `onRecord`, then frees their space with
   * one move of READ (one per eighth of the ring in a very long batch). Returns how many records
   * were read (0 when none is ready). If the callback throws, the records before it and the one
   * it threw on count as read.
   */
  read(onRecord: RecordCallback, maxRecords = Infinity): number {
    if (this.#released) throw new PetrelError('ERR_INVALID_ARGUMENT', 'this ring reader is closed');
    const flags = this.#flags;
    const bytes = this.#bytes;
    const capacity = this.#capacity;
    const mask = this.#mask;
    let start = this.#pos;
    let pos = start;
    let n = 0;
    const releaseEvery = this.#releaseEvery;
    try {
      // At most one lap: the flags behind `start` are cleared only when released.
      while (n < maxRecords && ((pos - start) | 0) < capacity) {
        // A long batch hands space back as it goes, so writers waiting for room resume early.
        if (((pos - start) | 0) >= releaseEvery) {
          this.#release(start, pos);
          start = pos;
        }
        const off = pos & mask;
        const flag = Atomics.load(flags, flagIndex(off));
        if (flag === 0) break;
        if (flag === PADDING) {
          pos = (pos + capacity - off) | 0;
          continue;
        }
        const length = flag - 1;
        pos = (pos + recordBytes(length)) | 0;
        n++;
        onRecord(bytes, off, length);
      }
    } finally {
      if (pos !== start) this.#release(start, pos);
    }
    return n;
  }

  /**
   * Blocks the thread until a record is ready, the timeout passes or the ring is closed; true
   * when a record is ready. For threads with nothing else to do.
   */
  wait(timeoutMs = Infinity): boolean {
    if (this.#spinForRecord()) return true;
    const i32 = this.#i32;
    const deadline = deadlineAfter(timeoutMs);
    // A wake-up may come from a writer whose record is not the next one (the next is still being
    // written): sleep again until the next record itself is there.
    for (;;) {
      // Announce the sleep, then look once more: a writer that committed before it could see the
      // flag is caught by this look; one that commits after sees the flag and wakes us.
      Atomics.store(i32, RingSlot.READER_SLEEPING, 1);
      const left = remainingMs(deadline);
      if (!this.ready && !this.#ring.closed && left > 0) Atomics.wait(i32, RingSlot.READER_SLEEPING, 1, left);
      Atomics.store(i32, RingSlot.READER_SLEEPING, 0);
      if (this.ready) return true;
      if (this.#ring.closed || remainingMs(deadline) <= 0) return false;
    }
  }

  /** wait() without blocking: the thread's event loop keeps running while the reader sleeps. */
  async waitAsync(timeoutMs = Infinity): Promise<boolean> {
    if (this.#spinForRecord()) return true;
    const i32 = this.#i32;
    const deadline = deadlineAfter(timeoutMs);
    for (;;) {
      Atomics.store(i32, RingSlot.READER_SLEEPING, 1);
      const left = remainingMs(deadline);
      if (!this.ready && !this.#ring.closed && left > 0) await waitAsync(i32, RingSlot.READER_SLEEPING, 1, left);
      Atomics.store(i32, RingSlot.READER_SLEEPING, 0);
      if (this.ready) return true;
      if (this.#ring.closed || remainingMs(deadline) <= 0) return false;
    }
  }

  /** Gives the ring up so another reader may claim it. Records not read stay in the ring. */
  close(): void {
    if (this.#released) return;
    this.#released = true;
    Atomics.store(this.#i32, RingSlot.READER_CLAIMED, 0);
  }

  /** Polls for the next record for at most spinUs; the clock is read once per 32 polls. */
  #spinForRecord(): boolean {
    if (this.ready) return true;
    if (this.#spinMs <= 0) return false;
    const until = performance.now() + this.#spinMs;
    do {
      for (let i = 0; i < 32; i++) if (this.ready) return true;
    } while (performance.now() < until);
    return false;
  }

  /**
   * Clears the flag of every record in [from, to) of the stream and publishes READ; wakes
   * writers waiting for space. Flags are cleared here, not as records are read, so that a
   * reader taking over after this one died reads an unreleased batch again.
   */
  #release(from: number, to: number): void {
    const flags = this.#flags;
    const capacity = this.#capacity;
    const mask = this.#mask;
    for (let pos = from; pos !== to; ) {
      const off = pos & mask;
      const index = flagIndex(off);
      const flag = flags[index] ?? 0;
      flags[index] = 0;
      pos = (pos + (flag === PADDING ? capacity - off : recordBytes(flag - 1))) | 0;
    }
    this.#pos = to;
    const i32 = this.#i32;
    // Publishes the cleared flags too: a writer reserves this space only after loading READ.
    Atomics.store(i32, RingSlot.READ, to);
    if (Atomics.load(i32, RingSlot.WRITERS_WAITING) > 0) {
      Atomics.add(i32, RingSlot.SPACE_SEQ, 1);
      Atomics.notify(i32, RingSlot.SPACE_SEQ);
    }
  }
}
