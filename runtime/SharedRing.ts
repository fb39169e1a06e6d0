/**
 * A multi-producer, single-consumer ring of variable-length records in a SharedArrayBuffer: the
 * hot path between threads (producers to the writer actor) without structured clone. Many
 * RingWriters on any threads, one RingReader; records are never split by the end of the buffer;
 * writers facing a full ring and an idle reader sleep on Atomics rather than spin.
 *
 * ```ts
 * const ring = SharedRing.create(1 << 20);         // pass ring.buffer to other threads
 * const w = SharedRing.attach(buffer).writer();    // on a producer thread
 * w.write(bytes, 100);                             // waits up to 100 ms for room
 * const r = ring.reader();                         // on the consumer thread
 * while (r.wait()) r.read((bytes, offset, length) => handle(bytes.subarray(offset, offset + length)));
 * ```
 *
 * The SharedArrayBuffer is the ring: whoever holds it may attach. The layout is in ringLayout.ts.
 */
import { PetrelError } from '../common/errors.js';
import { HEADER_BYTES, MAX_CAPACITY, MIN_CAPACITY, RING_MAGIC, RingSlot, flagBytes } from './ringLayout.js';
import { RingReader, type RingReaderOptions } from './RingReader.js';
import { RingWriter } from './RingWriter.js';

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export class SharedRing {
  /** The whole ring, header included: this is what crosses threads. */
  readonly buffer: SharedArrayBuffer;
  /** Data area size in bytes. */
  readonly capacity: number;
  /** @internal The header slots, for RingWriter and RingReader. */
  readonly int32: Int32Array;
  /** @internal One commit flag per chunk of data. */
  readonly flags: Int32Array;
  /** @internal The data area. */
  readonly data: Uint8Array;

  private constructor(buffer: SharedArrayBuffer, capacity: number) {
    this.buffer = buffer;
    this.capacity = capacity;
    this.int32 = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.flags = new Int32Array(buffer, HEADER_BYTES, flagBytes(capacity) / 4);
    this.data = new Uint8Array(buffer, HEADER_BYTES + flagBytes(capacity), capacity);
  }

  /** A new, empty ring whose data area holds `capacity` bytes (a power of two, 64 B to 1 GiB). */
  static create(capacity: number): SharedRing {
    if (!isPowerOfTwo(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `ring capacity must be a power of two from ${MIN_CAPACITY} to ${MAX_CAPACITY}, got ${capacity}`);
    }
    const buffer = new SharedArrayBuffer(HEADER_BYTES + flagBytes(capacity) + capacity);
    const i32 = new Int32Array(buffer);
    i32[RingSlot.CAPACITY] = capacity;
    i32[RingSlot.MAGIC] = RING_MAGIC;
    return new SharedRing(buffer, capacity);
  }

  /** The ring held in `buffer`, made by create() on any thread. */
  static attach(buffer: unknown): SharedRing {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_BYTES + MIN_CAPACITY) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', 'a ring is attached from the SharedArrayBuffer of SharedRing.create');
    }
    const i32 = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    const capacity = Atomics.load(i32, RingSlot.CAPACITY);
    const valid = Atomics.load(i32, RingSlot.MAGIC) === RING_MAGIC && isPowerOfTwo(capacity) && capacity >= MIN_CAPACITY;
    if (!valid || buffer.byteLength !== HEADER_BYTES + flagBytes(capacity) + capacity) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', 'this SharedArrayBuffer does not hold a ring');
    }
    return new SharedRing(buffer, capacity);
  }

  /** Largest payload a single record can have: the whole data area. */
  get maxRecordLength(): number {
    return this.capacity;
  }

  get closed(): boolean {
    return Atomics.load(this.int32, RingSlot.CLOSED) !== 0;
  }

  /** Bytes reserved and not yet consumed (records rounded up to whole chunks, and padding). */
  get usedBytes(): number {
    return (Atomics.load(this.int32, RingSlot.WRITE) - Atomics.load(this.int32, RingSlot.READ)) | 0;
  }

  /** A writer for this thread. */
  writer(): RingWriter {
    return new RingWriter(this);
  }

  /** The ring's one reader. Throws if another reader holds it, unless `takeOver`. */
  reader(options?: RingReaderOptions): RingReader {
    return new RingReader(this, options);
  }

  /**
   * Refuses further writes (ERR_RING_CLOSED) and wakes every sleeper. Records already committed
   * can still be read; RingReader.finished tells when they are all read.
   */
  close(): void {
    const i32 = this.int32;
    Atomics.store(i32, RingSlot.CLOSED, 1);
    Atomics.store(i32, RingSlot.READER_SLEEPING, 0);
    Atomics.notify(i32, RingSlot.READER_SLEEPING);
    Atomics.add(i32, RingSlot.SPACE_SEQ, 1);
    Atomics.notify(i32, RingSlot.SPACE_SEQ);
  }
}
