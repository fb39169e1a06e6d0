/**
 * The CommitLog record, byte for byte as RocketMQ writes it (ROCKETMQ.md 1.1). Integers are
 * big-endian. Offsets below are for IPv4 hosts; a host flagged IPv6 in SYSFLAG takes 20 bytes
 * instead of 8 and moves every later field.
 *
 * | offset  | size      | field              | notes                                            |
 * |---------|-----------|--------------------|--------------------------------------------------|
 * | 0       | 4         | TOTALSIZE          | whole record, this field included                |
 * | 4       | 4         | MAGICCODE          | MAGIC_V1, MAGIC_V2 (2-byte topic length), BLANK  |
 * | 8       | 4         | BODYCRC            | zlib crc32 of the body & 0x7FFFFFFF              |
 * | 12      | 4         | QUEUEID            |                                                  |
 * | 16      | 4         | FLAG               | opaque producer int                              |
 * | 20      | 8         | QUEUEOFFSET        | patched by the writer at append                  |
 * | 28      | 8         | PHYSICALOFFSET     | patched by the writer at append                  |
 * | 36      | 4         | SYSFLAG            | MessageSysFlag bits                              |
 * | 40      | 8         | BORNTIMESTAMP      | producer clock, ms                               |
 * | 48      | 8 or 20   | BORNHOST           | address (4 or 16 bytes) + int port               |
 * | 56      | 8         | STORETIMESTAMP     | patched by the writer at append                  |
 * | 64      | 8 or 20   | STOREHOST          | address + int port                               |
 * | 72      | 4         | RECONSUMETIMES     |                                                  |
 * | 76      | 8         | PREPARED_TX_OFFSET |                                                  |
 * | 84      | 4 + B     | BODYLEN, BODY      | B may be 0                                       |
 * | 88+B    | 1|2 + T   | TOPICLEN, TOPIC    | 1-byte length (V1) or 2-byte (V2), UTF-8         |
 * | ...     | 2 + P     | PROPLEN, PROPERTIES| signed short length, see MessageProperties.ts    |
 *
 * The end of every CommitLog file holds one blank record: `int remaining` (all bytes left in the
 * file, at least 8) and `int BLANK_MAGIC`; the bytes after those 8 are not part of the log.
 */

export const MAGIC_V1 = 0xdaa320a7 | 0;
export const MAGIC_V2 = 0xdaa320ab | 0;
export const BLANK_MAGIC = 0xcbd43194 | 0;

export const OFF_TOTAL_SIZE = 0;
export const OFF_MAGIC = 4;
export const OFF_BODY_CRC = 8;
export const OFF_QUEUE_ID = 12;
export const OFF_FLAG = 16;
export const OFF_QUEUE_OFFSET = 20;
export const OFF_PHYSICAL_OFFSET = 28;
export const OFF_SYS_FLAG = 36;
export const OFF_BORN_TIMESTAMP = 40;
export const OFF_BORN_HOST = 48;

/** Bytes of an IPv4 host (address + port) and of an IPv6 one. */
export const HOST_V4_LENGTH = 8;
export const HOST_V6_LENGTH = 20;

/** Header bytes after the two hosts: STORETIMESTAMP precedes STOREHOST, then 4 + 8 + BODYLEN. */
export const STORE_TIMESTAMP_LENGTH = 8;
export const RECONSUME_TIMES_LENGTH = 4;
export const PREPARED_TX_OFFSET_LENGTH = 8;
export const BODY_LENGTH_LENGTH = 4;
export const PROPERTIES_LENGTH_LENGTH = 2;

/** The blank record at the end of a file: remaining size + BLANK_MAGIC. */
export const BLANK_RECORD_LENGTH = 8;

/** 91: the fixed overhead of a V1 record with IPv4 hosts, as ROCKETMQ.md 1.1 counts it. */
export const FIXED_OVERHEAD_V4 = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + HOST_V4_LENGTH + 8 + HOST_V4_LENGTH + 4 + 8 + 4 + 1 + 2;

/** Longest properties a record may carry: a signed short. */
export const MAX_PROPERTIES_LENGTH = 32_767;
/** Topics up to this many bytes use MAGIC_V1 (1-byte length); longer ones MAGIC_V2. */
export const MAX_V1_TOPIC_LENGTH = 127;

/** MessageSysFlag bits (ROCKETMQ.md 1.3). */
export const SysFlag = {
  COMPRESSED: 0x1,
  MULTI_TAGS: 0x2,
  TRANSACTION_NOT_TYPE: 0x0,
  TRANSACTION_PREPARED_TYPE: 0x4,
  TRANSACTION_COMMIT_TYPE: 0x8,
  TRANSACTION_ROLLBACK_TYPE: 0xc,
  BORNHOST_V6: 0x10,
  STOREHOST_V6: 0x20,
  NEED_UNWRAP: 0x40,
  INNER_BATCH: 0x80,
} as const;

const TRANSACTION_MASK = 0xc;

export function transactionType(sysFlag: number): number {
  return sysFlag & TRANSACTION_MASK;
}

export function bornHostLength(sysFlag: number): number {
  return (sysFlag & SysFlag.BORNHOST_V6) === 0 ? HOST_V4_LENGTH : HOST_V6_LENGTH;
}

export function storeHostLength(sysFlag: number): number {
  return (sysFlag & SysFlag.STOREHOST_V6) === 0 ? HOST_V4_LENGTH : HOST_V6_LENGTH;
}

/** Position of STORETIMESTAMP inside a record with these flags. */
export function storeTimestampOffset(sysFlag: number): number {
  return OFF_BORN_HOST + bornHostLength(sysFlag);
}

/** Position of STOREHOST inside a record with these flags. */
export function storeHostOffset(sysFlag: number): number {
  return storeTimestampOffset(sysFlag) + STORE_TIMESTAMP_LENGTH;
}

/** Position of BODYLEN inside a record with these flags. */
export function bodyLengthOffset(sysFlag: number): number {
  return storeHostOffset(sysFlag) + storeHostLength(sysFlag) + RECONSUME_TIMES_LENGTH + PREPARED_TX_OFFSET_LENGTH;
}

/** TOTALSIZE of a record from its variable parts (the length formula of ROCKETMQ.md 1.1). */
export function recordLength(sysFlag: number, bodyLength: number, topicLength: number, propertiesLength: number): number {
  const topicLengthSize = topicLength > MAX_V1_TOPIC_LENGTH ? 2 : 1;
  return (
    bodyLengthOffset(sysFlag) + BODY_LENGTH_LENGTH + bodyLength + topicLengthSize + topicLength + PROPERTIES_LENGTH_LENGTH + propertiesLength
  );
}
