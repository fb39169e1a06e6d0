/**
 * The writing side of a SharedRing. Any number of RingWriters, on any threads, write into one
 * ring at once: each reserves its bytes with a compare-exchange on the WRITE cursor, fills them,
 * and commits by storing the flag of the record's first chunk. Commits are independent: a writer
 * that won its space publishes at once, whatever the writers before it are doing (the reader
 * stops at the first record not yet committed and picks up from there when it is).
 *
 * Backpressure: when the ring is full a writer sleeps on SPACE_SEQ (Atomics.wait, or
 * Atomics.waitAsync in the async forms) until the reader frees space, the timeout passes
 * (ERR_RING_FULL) or the ring is closed (ERR_RING_CLOSED). `timeoutMs: 0` fails fast.
 *
 * Zero copy: `reserve(length)` returns where the payload goes in `writer.bytes` (16-byte
 * aligned); encode into it, then `commit(offset, length)`. Until committed the reader cannot see the record, and a writer
 * that reserves must commit (an abandoned reservation stops the reader at that record).
 *
 * A RingWriter is owned by the thread that made it; make one per thread from the ring's buffer.
 * See ringLayout.ts for the layout.
 */
import { PetrelError } from '../common/errors.js';
import { deadlineAfter, remainingMs, waitAsync } from './atomicsWait.js';
import { PADDING, RingSlot, committedFlag, flagIndex, recordBytes } from './ringLayout.js';
import type { SharedRing } from './SharedRing.js';

/** tryReserve's answer when the ring has no room now. */
export const RING_FULL = -1;

export class RingWriter {
  /** The data area: payload offsets from reserve() index into it. */
  readonly bytes: Uint8Array;
  readonly #ring: SharedRing;
  readonly #i32: Int32Array;
  readonly #flags: Int32Array;
  readonly #capacity: number;
  readonly #mask: number;
  /**
   * READ as last loaded, and WRITE at that moment. READ only grows, so an old value only
   * overstates how full the ring is; it is reloaded when it says "full" and once the stream has
   * moved a whole capacity past it (so that int32 differences never wrap).
   */
  #readSeen = 0;
  #readSeenAt = 0;

  constructor(ring: SharedRing) {
    this.#ring = ring;
    this.#i32 = ring.int32;
    this.#flags = ring.flags;
    this.bytes = ring.data;
    this.#capacity = ring.capacity;
    this.#mask = ring.capacity - 1;
  }

  /** Largest payload a record can have in this ring. */
  get maxRecordLength(): number {
    return this.#ring.maxRecordLength;
  }

  /** Copies `record` into the ring if there is room now; false when the ring is full. */
  tryWrite(record: Uint8Array): boolean {
    const at = this.tryReserve(record.length);
    if (at === RING_FULL) return false;
    this.bytes.set(record, at);
    this.commit(at, record.length);
    return true;
  }

  /** Copies `record` into the ring, waiting up to `timeoutMs` for room (0: fail fast). */
  write(record: Uint8Array, timeoutMs = Infinity): void {
    const at = this.reserve(record.length, timeoutMs);
    this.bytes.set(record, at);
    this.commit(at, record.length);
  }

  /** write() that waits without blocking the event loop. */
  async writeAsync(record: Uint8Array, timeoutMs = Infinity): Promise<void> {
    const at = await this.reserveAsync(record.length, timeoutMs);
    this.bytes.set(record, at);
    this.commit(at, record.length);
  }

  /**
   * Writes several records with one reservation and one publication: cheaper per record than
   * write() in a loop. The records are committed together; their total size must fit the ring.
   */
  writeBatch(records: readonly Uint8Array[], timeoutMs = Infinity): void {
    let total = 0;
    for (const r of records) total += recordBytes(r.length);
    const first = records[0];
    if (first === undefined) return;
    // One reservation for the whole batch (total is whole chunks), then the records inside it.
    const at = this.reserve(total, timeoutMs);
    let off = at;
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as Uint8Array;
      this.bytes.set(r, off);
      // Plain stores for all but the first flag: the reader reaches them only after it has seen
      // the first one, whose Atomics.store in commit() publishes everything written before it.
      if (i > 0) this.#flags[flagIndex(off)] = committedFlag(r.length);
      off += recordBytes(r.length);
    }
    this.commit(at, first.length);
  }

  /**
   * Reserves room for a record of `length` payload bytes; returns the payload's offset in
   * `bytes`. Waits up to `timeoutMs` for room (0: fail fast with ERR_RING_FULL).
   */
  reserve(length: number, timeoutMs = Infinity): number {
    this.#throwIfClosed();
    const need = this.#need(length);
    let at = this.#claim(need);
    if (at !== RING_FULL) return at;
    const deadline = deadlineAfter(timeoutMs);
    const i32 = this.#i32;
    for (;;) {
      this.#throwIfClosed();
      const left = remainingMs(deadline);
      if (left <= 0) throw this.#full(length, timeoutMs);
      // Announce the wait before the last look at READ: a reader that frees space after this
      // sees the count and bumps SPACE_SEQ, so the wait below cannot miss it.
      Atomics.add(i32, RingSlot.WRITERS_WAITING, 1);
      const seq = Atomics.load(i32, RingSlot.SPACE_SEQ);
      at = this.#claim(need);
      if (at === RING_FULL && Atomics.load(i32, RingSlot.CLOSED) === 0) Atomics.wait(i32, RingSlot.SPACE_SEQ, seq, left);
      Atomics.sub(i32, RingSlot.WRITERS_WAITING, 1);
      if (at !== RING_FULL) return at;
    }
  }

  /** reserve() that waits with Atomics.waitAsync, for a thread that keeps its event loop. */
  async reserveAsync(length: number, timeoutMs = Infinity): Promise<number> {
    this.#throwIfClosed();
    const need = this.#need(length);
    let at = this.#claim(need);
    if (at !== RING_FULL) return at;
    const deadline = deadlineAfter(timeoutMs);
    const i32 = this.#i32;
    for (;;) {
      this.#throwIfClosed();
      const left = remainingMs(deadline);
      if (left <= 0) throw this.#full(length, timeoutMs);
      Atomics.add(i32, RingSlot.WRITERS_WAITING, 1);
      const seq = Atomics.load(i32, RingSlot.SPACE_SEQ);
      at = this.#claim(need);
      try {
        if (at === RING_FULL && Atomics.load(i32, RingSlot.CLOSED) === 0) await waitAsync(i32, RingSlot.SPACE_SEQ, seq, left);
      } finally {
        Atomics.sub(i32, RingSlot.WRITERS_WAITING, 1);
      }
      if (at !== RING_FULL) return at;
    }
  }

  /** Reserves if there is room now: the payload offset, or RING_FULL. */
  tryReserve(length: number): number {
    this.#throwIfClosed();
    return this.#claim(this.#need(length));
  }

  /**
   * Publishes a reserved record. `offset` is what reserve returned and `length` the length it
   * was given. Wakes the reader if it sleeps.
   */
  commit(offset: number, length: number): void {
    Atomics.store(this.#flags, flagIndex(offset), committedFlag(length));
    this.#wakeReader();
  }

  /** Notifies only when the reader announced it sleeps; the exchange makes one writer do it. */
  #wakeReader(): void {
    const i32 = this.#i32;
    if (Atomics.load(i32, RingSlot.READER_SLEEPING) !== 0 && Atomics.compareExchange(i32, RingSlot.READER_SLEEPING, 1, 0) === 1) {
      Atomics.notify(i32, RingSlot.READER_SLEEPING, 1);
    }
  }

  #need(length: number): number {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `a record length must be an integer >= 0, got ${length}`);
    }
    if (length > this.#ring.maxRecordLength) {
      throw new PetrelError(
        'ERR_RECORD_TOO_LARGE',
        `a record of ${length} bytes can never fit a ring of ${this.#capacity} bytes (at most ${this.#ring.maxRecordLength})`,
      );
    }
    return recordBytes(length);
  }

  #full(length: number, timeoutMs: number): PetrelError {
    const waited = timeoutMs === 0 ? 'and the writer asked not to wait' : `after waiting ${timeoutMs} ms`;
    return new PetrelError('ERR_RING_FULL', `no room for a ${length}-byte record in the ring ${waited}`);
  }

  #throwIfClosed(): void {
    if (Atomics.load(this.#i32, RingSlot.CLOSED) !== 0) {
      throw new PetrelError('ERR_RING_CLOSED', 'the ring is closed');
    }
  }

  /**
   * One attempt to reserve `need` bytes (whole chunks, at most the capacity) in one piece.
   * Returns the data offset of the record, or RING_FULL. When the record does not fit
   * before the end of the area, the rest of the area is claimed and marked as padding first.
   */
  #claim(need: number): number {
    const i32 = this.#i32;
    const capacity = this.#capacity;
    for (;;) {
      const w = Atomics.load(i32, RingSlot.WRITE);
      const off = w & this.#mask;
      const contiguous = capacity - off;
      const take = need <= contiguous ? need : contiguous;
      if (((w - this.#readSeen) | 0) + take > capacity || ((w - this.#readSeenAt) | 0) >= capacity) {
        // Reloading READ costs a cache miss whenever the reader has moved it: only when needed.
        this.#readSeen = Atomics.load(i32, RingSlot.READ);
        this.#readSeenAt = w;
        if (((w - this.#readSeen) | 0) + take > capacity) return RING_FULL;
      }
      if (Atomics.compareExchange(i32, RingSlot.WRITE, w, (w + take) | 0) !== w) continue;
      if (take === need) return off;
      // Won the tail of the area as padding: publish it so the reader skips it, then try again
      // at the start of the area. The reader may be asleep at this very chunk: wake it, or a
      // full ring would leave it waiting for data and this writer waiting for room.
      Atomics.store(this.#flags, flagIndex(off), PADDING);
      this.#wakeReader();
    }
  }
}
