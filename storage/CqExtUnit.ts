/**
 * The unit of a ConsumeQueue extension (RocketMQ's CqExtUnit) and the addresses that point at it
 * from a ConsumeQueue unit's tag slot. ConsumeQueueExt.ts holds the files these units live in.
 *
 * Unit (big-endian, RocketMQ's CqExtUnit):
 *   offset  size  field
 *   0       2     size          short, the whole unit: 20 + bitMapSize (20 .. 32767)
 *   2       8     tagsCode      long, the message's tag hash
 *   10      8     msgStoreTime  long, store timestamp, ms
 *   18      2     bitMapSize    short, bytes of bitmap (0 when the message has none)
 *   20      n     bitmap        the bloom bits (filter/bloom/BloomFilter.ts documents the bit order)
 *
 * Addresses: a unit's address is its offset plus Long.MIN_VALUE, always <= Integer.MIN_VALUE - 1,
 * so the CQ tag slot tells an address (isExtAddress) from a tag hash, which is an int. Addresses
 * do not fit a double exactly, so they are bigint here; offsets (which are far below 2^53 in any
 * real store) are numbers.
 */
import { PetrelError } from '../common/errors.js';

/** RocketMQ's mappedFileSizeConsumeQueueExt: 48 MiB. */
export const DEFAULT_CQ_EXT_FILE_SIZE = 48 * 1024 * 1024;
/** Bytes at the end of each file reserved for the blank marker. */
export const CQ_EXT_END_BLANK_LENGTH = 4;
/** A unit without bitmap. */
export const CQ_EXT_MIN_UNIT_SIZE = 20;
/** A unit's size is a Java short. */
export const CQ_EXT_MAX_UNIT_SIZE = 32_767;

export const SIZE_OFFSET = 0;
export const TAGS_CODE_OFFSET = 2;
export const STORE_TIME_OFFSET = 10;
export const BITMAP_SIZE_OFFSET = 18;
export const BITMAP_OFFSET = 20;
export const BLANK_MARKER = -1;

const LONG_MIN = -(2n ** 63n);
export const TWO_POW_32 = 4_294_967_296;
/** Largest address: Integer.MIN_VALUE - 1. */
export const CQ_EXT_MAX_ADDRESS = -2_147_483_649n;

/** True when a CQ tag slot holds an extension address rather than a tag hash. */
export function isExtAddress(slot: bigint): boolean {
  return slot <= CQ_EXT_MAX_ADDRESS;
}

/** The address stored in the CQ tag slot for a unit at `offset`. */
export function encodeExtAddress(offset: number): bigint {
  return BigInt(offset) + LONG_MIN;
}

/** The offset of the unit at `address`. */
export function decodeExtAddress(address: bigint): number {
  return Number(address - LONG_MIN);
}

export interface CqExtUnit {
  /** The tag hash (a Java int in practice, stored as a long). */
  readonly tagsCode: bigint;
  /** Store timestamp, ms. */
  readonly storeTimestamp: number;
  /** The bloom bitmap, absent when the message has none. */
  readonly bitmap?: Uint8Array;
}

/** Encodes a unit (layout in the class comment). Throws ERR_INVALID_ARGUMENT when it is too large. */
export function encodeCqExtUnit(unit: CqExtUnit): Buffer {
  if (!Number.isSafeInteger(unit.storeTimestamp)) {
    throw new PetrelError('ERR_INVALID_ARGUMENT', `store timestamp ${unit.storeTimestamp} is not an integer number of ms`);
  }
  const bitmapSize = unit.bitmap?.length ?? 0;
  const size = CQ_EXT_MIN_UNIT_SIZE + bitmapSize;
  if (size > CQ_EXT_MAX_UNIT_SIZE) {
    throw new PetrelError('ERR_INVALID_ARGUMENT', `consume queue extension unit of ${size} bytes is over ${CQ_EXT_MAX_UNIT_SIZE}`);
  }
  const buf = Buffer.alloc(size);
  buf.writeInt16BE(size, SIZE_OFFSET);
  buf.writeBigInt64BE(BigInt.asIntN(64, unit.tagsCode), TAGS_CODE_OFFSET);
  buf.writeBigInt64BE(BigInt(unit.storeTimestamp), STORE_TIME_OFFSET);
  buf.writeInt16BE(bitmapSize, BITMAP_SIZE_OFFSET);
  if (unit.bitmap !== undefined) buf.set(unit.bitmap, BITMAP_OFFSET);
  return buf;
}
