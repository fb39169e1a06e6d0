/**
 * Reads CommitLog records (layout in RecordLayout.ts): a full decode for data that leaves the
 * store, a cheap decode of what dispatchers need, and the validity check recovery relies on.
 * All functions take a plain Uint8Array (a mapping, a copy, or a SharedArrayBuffer view) and a
 * record offset inside it; none keeps a reference to the bytes, except decodeMessage when asked
 * for a body view.
 */
import { getLong } from './Long.js';
import { MessageConst, PROPERTY_SEPARATOR_BYTE, findProperty, parseProperties } from './MessageProperties.js';
import { formatSocketAddress, offsetMessageIdAt, offsetMessageIdPrefix } from './MessageId.js';
import { bodyCrc, hasPropertiesCrc, recordCrc, storedPropertiesCrc } from './MessageCodec.js';
import { isTopicByte } from './MessageValidator.js';
import { tagsCodeOf, type DispatchRequest } from './CommitLogDispatcher.js';
import {
  BLANK_MAGIC,
  BLANK_RECORD_LENGTH,
  MAGIC_V1,
  MAGIC_V2,
  OFF_BODY_CRC,
  OFF_BORN_HOST,
  OFF_BORN_TIMESTAMP,
  OFF_FLAG,
  OFF_MAGIC,
  OFF_PHYSICAL_OFFSET,
  OFF_QUEUE_ID,
  OFF_QUEUE_OFFSET,
  OFF_SYS_FLAG,
  OFF_TOTAL_SIZE,
  bodyLengthOffset,
  bornHostLength,
  storeHostLength,
  storeHostOffset,
  storeTimestampOffset,
} from './RecordLayout.js';

/** A stored message, decoded (RocketMQ's MessageExt). The body is a copy unless asked for as a view. */
export interface MessageExt {
  readonly storeSize: number;
  readonly bodyCRC: number;
  readonly queueId: number;
  readonly flag: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly sysFlag: number;
  readonly bornTimestamp: number;
  readonly bornHost: string;
  readonly storeTimestamp: number;
  readonly storeHost: string;
  readonly reconsumeTimes: number;
  readonly preparedTransactionOffset: number;
  readonly body: Uint8Array;
  readonly topic: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly tags: string | undefined;
  readonly keys: string | undefined;
  /** UNIQ_KEY when the record has one, else the offset message id (as RocketMQ's getMsgId). */
  readonly msgId: string;
  readonly offsetMsgId: string;
}

const utf8 = new TextDecoder();

/** A DataView over `bytes`; callers that decode many records of one mapping pass theirs in. */
function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

/** A host as a record stores it (address then port), with the strings made from it. */
interface HostEntry {
  readonly raw: Uint8Array;
  /** "1.2.3.4:10911" */
  readonly text: string;
  /** The head of offset message ids of records stored on this host. */
  readonly idPrefix: string;
}

/**
 * The last few hosts decoded. A stream of records names the same one or two hosts over and over,
 * so their strings are made once, not per record.
 */
const hosts: HostEntry[] = [];
const KEPT_HOSTS = 4;

function hostAt(bytes: Uint8Array, view: DataView, at: number, length: number): HostEntry {
  for (const h of hosts) {
    if (h.raw.length !== length) continue;
    let same = true;
    for (let i = 0; i < length; i++) {
      if (bytes[at + i] !== h.raw[i]) {
        same = false;
        break;
      }
    }
    if (same) return h;
  }
  const addrLen = length - 4;
  const raw = copyOf(bytes, at, at + length);
  const host = { address: raw.subarray(0, addrLen), port: view.getInt32(at + addrLen) };
  const entry = { raw, text: formatSocketAddress(host), idPrefix: offsetMessageIdPrefix(host) };
  hosts.unshift(entry);
  if (hosts.length > KEPT_HOSTS) hosts.pop();
  return entry;
}

/** Where the variable part of a record lies. */
interface RecordShape {
  sysFlag: number;
  bodyAt: number;
  bodyLength: number;
  topicAt: number;
  topicLength: number;
  propertiesAt: number;
  propertiesLength: number;
}

function shapeOf(bytes: Uint8Array, view: DataView, offset: number, into: RecordShape): RecordShape {
  const sysFlag = view.getInt32(offset + OFF_SYS_FLAG);
  const bodyLenAt = offset + bodyLengthOffset(sysFlag);
  const bodyLength = view.getInt32(bodyLenAt);
  const topicLenAt = bodyLenAt + 4 + bodyLength;
  const v2 = view.getInt32(offset + OFF_MAGIC) === MAGIC_V2;
  const topicLength = v2 ? view.getInt16(topicLenAt) : (bytes[topicLenAt] ?? 0);
  const topicAt = topicLenAt + (v2 ? 2 : 1);
  const propLenAt = topicAt + topicLength;
  into.sysFlag = sysFlag;
  into.bodyAt = bodyLenAt + 4;
  into.bodyLength = bodyLength;
  into.topicAt = topicAt;
  into.topicLength = topicLength;
  into.propertiesAt = propLenAt + 2;
  into.propertiesLength = view.getInt16(propLenAt);
  return into;
}

function newShape(): RecordShape {
  return { sysFlag: 0, bodyAt: 0, bodyLength: 0, topicAt: 0, topicLength: 0, propertiesAt: 0, propertiesLength: 0 };
}

/**
 * Decodes the whole record at `offset`; the caller has checked it is a message record. The body
 * is a copy, or with `bodyView` a view of `bytes` (for a buffer the caller owns and keeps as it
 * is, such as a pull's reply: one buffer per batch instead of one per message).
 */
export function decodeMessage(bytes: Uint8Array, offset: number, bodyView = false): MessageExt {
  const view = viewOf(bytes);
  const s = shapeOf(bytes, view, offset, newShape());
  const bornHost = hostAt(bytes, view, offset + OFF_BORN_HOST, bornHostLength(s.sysFlag));
  const storeAt = storeHostOffset(s.sysFlag);
  const storeHost = hostAt(bytes, view, offset + storeAt, storeHostLength(s.sysFlag));
  const afterHost = offset + storeAt + storeHostLength(s.sysFlag);
  const commitLogOffset = getLong(view, offset + OFF_PHYSICAL_OFFSET);
  const propsText = utf8.decode(bytes.subarray(s.propertiesAt, s.propertiesAt + s.propertiesLength));
  const properties = parseProperties(propsText);
  const offsetMsgId = offsetMessageIdAt(storeHost.idPrefix, commitLogOffset);
  return {
    storeSize: view.getInt32(offset + OFF_TOTAL_SIZE),
    bodyCRC: view.getInt32(offset + OFF_BODY_CRC),
    queueId: view.getInt32(offset + OFF_QUEUE_ID),
    flag: view.getInt32(offset + OFF_FLAG),
    queueOffset: getLong(view, offset + OFF_QUEUE_OFFSET),
    commitLogOffset,
    sysFlag: s.sysFlag,
    bornTimestamp: getLong(view, offset + OFF_BORN_TIMESTAMP),
    bornHost: bornHost.text,
    storeTimestamp: getLong(view, offset + storeTimestampOffset(s.sysFlag)),
    storeHost: storeHost.text,
    reconsumeTimes: view.getInt32(afterHost),
    preparedTransactionOffset: getLong(view, afterHost + 4),
    body: bodyView ? bytes.subarray(s.bodyAt, s.bodyAt + s.bodyLength) : copyOf(bytes, s.bodyAt, s.bodyAt + s.bodyLength),
    topic: utf8.decode(bytes.subarray(s.topicAt, s.topicAt + s.topicLength)),
    properties,
    tags: properties[MessageConst.TAGS],
    keys: properties[MessageConst.KEYS],
    msgId: properties[MessageConst.UNIQ_KEY] ?? offsetMsgId,
    offsetMsgId,
  };
}

/** The properties of the record at `offset`, parsed (for filters that look at the record). */
export function decodeProperties(bytes: Uint8Array, offset: number): Record<string, string> {
  const s = shapeOf(bytes, viewOf(bytes), offset, newShape());
  return parseProperties(utf8.decode(bytes.subarray(s.propertiesAt, s.propertiesAt + s.propertiesLength)));
}

/** STORETIMESTAMP of the record at `offset`. */
export function readStoreTimestamp(bytes: Uint8Array, offset: number, view: DataView = viewOf(bytes)): number {
  return getLong(view, offset + storeTimestampOffset(view.getInt32(offset + OFF_SYS_FLAG)));
}

const cheapShape = newShape();
let lastTopic = '';
let lastTopicBytes: Uint8Array = new Uint8Array(0);

function topicOf(bytes: Uint8Array, at: number, length: number): string {
  if (length === lastTopicBytes.length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (bytes[at + i] !== lastTopicBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastTopic;
  }
  lastTopicBytes = copyOf(bytes, at, at + length);
  lastTopic = utf8.decode(lastTopicBytes);
  return lastTopic;
}

/**
 * Fills `out` from the record at `offset` without decoding the body or building a property map:
 * what the ConsumeQueue and IndexFile dispatchers need. No CRC check (ROCKETMQ.md 2.6).
 */
export function decodeDispatchRequest(
  bytes: Uint8Array,
  offset: number,
  delayLevelsMs: readonly number[],
  out: DispatchRequest,
  view: DataView = viewOf(bytes),
): DispatchRequest {
  const s = shapeOf(bytes, view, offset, cheapShape);
  const props = s.propertiesLength > 0 ? utf8.decode(bytes.subarray(s.propertiesAt, s.propertiesAt + s.propertiesLength)) : '';
  const storeTimestamp = getLong(view, offset + storeTimestampOffset(s.sysFlag));
  out.topic = topicOf(bytes, s.topicAt, s.topicLength);
  out.queueId = view.getInt32(offset + OFF_QUEUE_ID);
  out.commitLogOffset = getLong(view, offset + OFF_PHYSICAL_OFFSET);
  out.msgSize = view.getInt32(offset + OFF_TOTAL_SIZE);
  out.storeTimestamp = storeTimestamp;
  out.queueOffset = getLong(view, offset + OFF_QUEUE_OFFSET);
  out.keys = findProperty(props, MessageConst.KEYS) ?? '';
  out.uniqKey = findProperty(props, MessageConst.UNIQ_KEY) ?? '';
  out.sysFlag = s.sysFlag;
  out.bornTimestamp = getLong(view, offset + OFF_BORN_TIMESTAMP);
  out.tagsCode = tagsCodeOf(out.topic, findProperty(props, MessageConst.TAGS), findProperty(props, MessageConst.DELAY), storeTimestamp, delayLevelsMs);
  return out;
}

/** What checkRecord found at a position. */
export const RecordCheck = {
  /** A blank record: the rest of this file is not part of the log. */
  END_OF_FILE: 0,
  /** Not a valid record: a torn or corrupt tail starts here. */
  INVALID: -1,
} as const;

export interface RecordCheckOptions {
  /** checkCRCOnRecover: verify the body CRC. */
  readonly checkCrc: boolean;
  /** forceVerifyPropCRC: require and verify the whole-record CRC entry. */
  readonly requirePropertiesCrc: boolean;
}

/**
 * Recovery's validity check (ROCKETMQ.md 4.2), with a few more guards that cost nothing. Returns
 * the record's size when valid, RecordCheck.END_OF_FILE for a blank record whose size is exactly
 * `remaining`, or RecordCheck.INVALID. `remaining` is the number of bytes from `offset` to the
 * end of the file. A whole-record CRC entry, when present, is always verified.
 */
export function checkRecord(
  bytes: Uint8Array,
  offset: number,
  remaining: number,
  options: RecordCheckOptions,
  view: DataView = viewOf(bytes),
): number {
  if (remaining < BLANK_RECORD_LENGTH) return RecordCheck.INVALID;
  const size = view.getInt32(offset + OFF_TOTAL_SIZE);
  const magic = view.getInt32(offset + OFF_MAGIC);
  if (magic === BLANK_MAGIC) return size === remaining ? RecordCheck.END_OF_FILE : RecordCheck.INVALID;
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return RecordCheck.INVALID;
  // A record must leave room for the blank record of its file after it.
  if (size < OFF_BORN_HOST || size > remaining - BLANK_RECORD_LENGTH) return RecordCheck.INVALID;
  // Each length is checked against TOTALSIZE before the field after it is read.
  const end = offset + size;
  const sysFlag = view.getInt32(offset + OFF_SYS_FLAG);
  const bodyLenAt = offset + bodyLengthOffset(sysFlag);
  if (bodyLenAt + 4 > end) return RecordCheck.INVALID;
  const bodyLength = view.getInt32(bodyLenAt);
  const topicLenAt = bodyLenAt + 4 + bodyLength;
  const v2 = magic === MAGIC_V2;
  if (bodyLength < 0 || topicLenAt + (v2 ? 2 : 1) > end) return RecordCheck.INVALID;
  const topicLength = v2 ? view.getInt16(topicLenAt) : (bytes[topicLenAt] ?? 0);
  const topicAt = topicLenAt + (v2 ? 2 : 1);
  if (topicLength <= 0 || topicAt + topicLength + 2 > end) return RecordCheck.INVALID;
  const propertiesLength = view.getInt16(topicAt + topicLength);
  const propertiesAt = topicAt + topicLength + 2;
  if (propertiesLength < 0 || propertiesAt + propertiesLength !== end) return RecordCheck.INVALID;
  for (let i = 0; i < topicLength; i++) if (!isTopicByte(bytes[topicAt + i] ?? 0)) return RecordCheck.INVALID;
  // Every stored properties string ends with U+0002; a zeroed tail does not.
  if (propertiesLength > 0 && bytes[end - 1] !== PROPERTY_SEPARATOR_BYTE) return RecordCheck.INVALID;
  if (options.checkCrc && bodyCrc(bytes, bodyLenAt + 4, topicLenAt) !== view.getInt32(offset + OFF_BODY_CRC)) {
    return RecordCheck.INVALID;
  }
  const withCrc = hasPropertiesCrc(bytes, offset, size, propertiesLength);
  if (withCrc && storedPropertiesCrc(bytes, offset, size) !== recordCrc(bytes, offset, size)) return RecordCheck.INVALID;
  if (!withCrc && options.requirePropertiesCrc) return RecordCheck.INVALID;
  return size;
}

const SERVE_CHECK: RecordCheckOptions = { checkCrc: true, requirePropertiesCrc: false };
const SERVE_CHECK_PROP_CRC: RecordCheckOptions = { checkCrc: true, requirePropertiesCrc: true };

/**
 * The check every read that serves a record makes (pulls, look-ups): the bytes at `offset` are
 * one whole record of exactly `size` bytes (what its ConsumeQueue unit or index entry says), it
 * stores `physicalOffset` as its own, and its body CRC (and whole-record CRC, when present)
 * match. A body that fails this is never served. `requirePropertiesCrc` (forceVerifyPropCRC): a
 * record without its whole-record CRC entry fails too.
 */
export function isServableRecord(
  bytes: Uint8Array,
  offset: number,
  size: number,
  physicalOffset: number,
  requirePropertiesCrc = false,
  view: DataView = viewOf(bytes),
): boolean {
  if (offset + size > bytes.length || size < OFF_BORN_HOST) return false;
  if (view.getInt32(offset + OFF_TOTAL_SIZE) !== size) return false;
  if (getLong(view, offset + OFF_PHYSICAL_OFFSET) !== physicalOffset) return false;
  return checkRecord(bytes, offset, size + BLANK_RECORD_LENGTH, requirePropertiesCrc ? SERVE_CHECK_PROP_CRC : SERVE_CHECK, view) === size;
}
