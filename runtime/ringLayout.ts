/**
 * The shared-memory layout of SharedRing, named once. RingWriter, RingReader and SharedRing read
 * and write the SharedArrayBuffer only through these indexes.
 *
 * Buffer = header (HEADER_BYTES) followed by the data area (capacity bytes, a power of two).
 *
 * Header, Int32 slots (hot slots each on their own 64-byte cache line, so writers reserving and
 * the reader releasing do not bounce one line between cores):
 *
 *   slot  name             meaning
 *   0     MAGIC            RING_MAGIC: the buffer really is a ring
 *   1     CAPACITY         data area size in bytes
 *   2     CLOSED           1 once closed: writes fail, waits return
 *   3     READER_CLAIMED   1 while a RingReader holds the ring (single reader)
 *   16    WRITE            reserve cursor: total bytes ever reserved, mod 2^32 (int32, wraps)
 *   32    READ             release cursor: total bytes ever consumed, mod 2^32
 *   48    READER_SLEEPING  1 while the reader sleeps (or is about to) waiting for a record
 *   64    WRITERS_WAITING  number of writers sleeping (or about to) waiting for space
 *   65    SPACE_SEQ        bumped by the reader each time it frees space while writers wait
 *
 * Data area: records back to back, each 4-byte aligned, never split by the end of the area:
 *
 *   offset  size          field
 *   0       4             header (int32, native order): 0 = reserved but not yet committed,
 *                         PADDING = skip to the start of the area, n > 0 = committed record of
 *                         n - 1 payload bytes
 *   4       n - 1         payload
 *   ...     0..3          alignment, to the next multiple of 4
 *
 * Cursors are positions in an endless byte stream; position p lives at data offset
 * p & (capacity - 1). Because the capacity divides 2^32, int32 cursors can wrap and stay exact:
 * differences are taken with `| 0`. The reader zeroes every byte it consumes before it moves
 * READ, so a header word not yet committed always reads 0, whatever the bytes held before.
 */

/** Int32 slot indexes in the header. */
export const RingSlot = {
  MAGIC: 0,
  CAPACITY: 1,
  CLOSED: 2,
  READER_CLAIMED: 3,
  WRITE: 16,
  READ: 32,
  READER_SLEEPING: 48,
  WRITERS_WAITING: 64,
  SPACE_SEQ: 65,
} as const;

/** 'PRNG' */
export const RING_MAGIC = 0x50524e47;

/** Bytes before the data area: five cache lines, a multiple of 8. */
export const HEADER_BYTES = 320;

/** Size of a record header. */
export const RECORD_HEADER_BYTES = 4;

/** Header value of a skip-to-start marker. */
export const PADDING = -1;

/** Smallest and largest data areas accepted. */
export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 2 ** 30;

/** Bytes a record of `length` payload bytes takes in the data area. */
export function recordBytes(length: number): number {
  return (RECORD_HEADER_BYTES + length + 3) & ~3;
}

/** Int32 index of the header word at a data offset. */
export function headerIndex(dataOffset: number): number {
  return (HEADER_BYTES + dataOffset) >> 2;
}

/** The header value that commits a record of `length` payload bytes. */
export function committedHeader(length: number): number {
  return length + 1;
}
