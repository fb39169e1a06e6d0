/**
 * The shared-memory layout of SharedRing, named once. RingWriter, RingReader and SharedRing read
 * and write the SharedArrayBuffer only through these indexes.
 *
 * Buffer = header (HEADER_BYTES), then the flags (one int32 per CHUNK bytes of data), then the
 * data area (capacity bytes, a power of two).
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
 * Data area: records back to back, each starting on a CHUNK boundary and taking a whole number
 * of chunks (at least one), never split by the end of the area. A record's payload is its bytes:
 * its length and its commit live out of band, in the flag of its first chunk:
 *
 *   flag value  meaning
 *   0           no record starts here yet (or it is reserved but not committed)
 *   PADDING     skip to the start of the data area
 *   n > 0       a committed record of n - 1 payload bytes starts at this chunk
 *
 * Only the flag of a record's first chunk is ever set, and the reader clears it when it frees
 * the record: every flag not belonging to a committed, unread record is 0, whatever bytes the
 * data area held before. So a payload is never scanned, zeroed or mistaken for a header.
 *
 * Cursors are positions in an endless byte stream; position p lives at data offset
 * p & (capacity - 1). Because the capacity divides 2^32, int32 cursors can wrap and stay exact:
 * differences are taken with `| 0`.
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
export const RING_MAGIC = 0x50524e48;

/** Bytes before the flags: five cache lines. */
export const HEADER_BYTES = 320;

/** Records start on CHUNK boundaries and take whole chunks; one flag per chunk. */
export const CHUNK = 16;
const CHUNK_SHIFT = 4;

/** Flag value of a skip-to-start marker. */
export const PADDING = -1;

/** Smallest and largest data areas accepted. */
export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 2 ** 30;

/** Bytes of flags for a data area of `capacity` bytes. */
export function flagBytes(capacity: number): number {
  return (capacity / CHUNK) * 4;
}

/** Bytes a record of `length` payload bytes takes in the data area: whole chunks, at least one. */
export function recordBytes(length: number): number {
  return length <= CHUNK ? CHUNK : (length + CHUNK - 1) & ~(CHUNK - 1);
}

/** Index in the flags of the chunk at a data offset. */
export function flagIndex(dataOffset: number): number {
  return dataOffset >> CHUNK_SHIFT;
}

/** The flag value that commits a record of `length` payload bytes. */
export function committedFlag(length: number): number {
  return length + 1;
}
