/**
 * Encodes messages into CommitLog records (layout in RecordLayout.ts) and patches the fields the
 * writer fills in at append time.
 *
 * The encoder works on any Uint8Array (a scratch buffer, a mapping, a SharedArrayBuffer ring): a
 * producer encodes once, leaving QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP zero, and the
 * writer patches them in place with patchRecord when it appends. Properties are written in a
 * fixed order: TAGS, KEYS, user properties, system properties, WAIT, UNIQ_KEY, then the optional
 * whole-record CRC entry.
 */
import { PetrelError } from '../common/errors.js';
import { crc32 } from './Crc32.js';
import { dataViewOf, setLong } from './Long.js';
import { MessageConst, NAME_VALUE_SEPARATOR_BYTE, PROPERTY_SEPARATOR_BYTE } from './MessageProperties.js';
import type { SocketAddress } from './MessageId.js';
import { validatePropertyValue, validateTopic, validateUserProperty } from './MessageValidator.js';
import {
  MAGIC_V1,
  MAGIC_V2,
  MAX_PROPERTIES_LENGTH,
  MAX_V1_TOPIC_LENGTH,
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
  SysFlag,
  bodyLengthOffset,
  storeTimestampOffset,
} from './RecordLayout.js';

/** A message as the store receives it (RocketMQ's MessageExtBrokerInner, before append). */
export interface MessageToStore {
  readonly topic: string;
  readonly queueId: number;
  readonly body: Uint8Array;
  /** Opaque producer int. Default 0. */
  readonly flag?: number | undefined;
  /** Compression and transaction bits; the IPv6 host bits are set by the encoder. Default 0. */
  readonly sysFlag?: number | undefined;
  /** Producer clock, ms. Default 0. */
  readonly bornTimestamp?: number | undefined;
  /** Producer address. Default: the store host. */
  readonly bornHost?: SocketAddress | undefined;
  readonly reconsumeTimes?: number | undefined;
  readonly preparedTransactionOffset?: number | undefined;
  /** TAGS: one tag string; its Java hash becomes the ConsumeQueue tag code. */
  readonly tags?: string | undefined;
  /** KEYS: indexed one by one; a string is split on spaces. */
  readonly keys?: string | readonly string[] | undefined;
  /** UNIQ_KEY, set by the client before its first attempt; the store makes one when absent. */
  readonly uniqKey?: string | undefined;
  /** WAIT (waitStoreMsgOK). Default true, written as RocketMQ clients write it. */
  readonly waitStoreMsgOK?: boolean | undefined;
  /** User properties; RocketMQ's reserved names are refused. */
  readonly properties?: Readonly<Record<string, string>> | undefined;
  /** Broker-set properties (DELAY, REAL_TOPIC, ...); reserved names allowed. */
  readonly systemProperties?: Readonly<Record<string, string>> | undefined;
}

export interface MessageEncoderOptions {
  readonly storeHost: SocketAddress;
  /** Largest body accepted (maxMessageSize). */
  readonly maxMessageSize: number;
  /** enabledAppendPropCRC: reserve the whole-record CRC entry at the end of the properties. */
  readonly appendPropertiesCrc?: boolean;
  /**
   * true (default): topics must pass RocketMQ's TopicValidator (what the store accepts).
   * false: every non-empty topic up to 32,767 UTF-8 bytes (the format's limit), for tools.
   */
  readonly strictTopics?: boolean;
}

/** A V2 record stores the topic length in a signed short. */
const MAX_V2_TOPIC_LENGTH = 32_767;

/** "__CRC32#" U+0001 + 10 digits + U+0002: RocketMQ's CRC32_RESERVED_LEN. */
export const PROPERTY_CRC_LENGTH = MessageConst.CRC32.length + 1 + 10 + 1;
const CRC_DIGITS_FROM_END = 11;

const utf8 = new TextEncoder();
const ASCII_ZERO = 0x30;

/** UTF-8 byte length, without allocating for ASCII. */
export function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return i + Buffer.byteLength(s.slice(i), 'utf8');
  return s.length;
}

/**
 * Writes `s` as UTF-8 at `pos` and returns the position after it. Bytes that do not fit are
 * dropped, but the returned position still counts them, so the caller detects the overflow.
 */
function writeString(target: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      const rest = s.slice(i);
      if (pos < target.length) utf8.encodeInto(rest, target.subarray(pos));
      return pos + Buffer.byteLength(rest, 'utf8');
    }
    target[pos++] = c;
  }
  return pos;
}

/** Copies a short constant byte sequence (a loop beats Uint8Array.set at this size). */
function writeBytes(target: Uint8Array, pos: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) target[pos + i] = bytes[i] as number;
  return pos + bytes.length;
}

const TAGS_PREFIX = utf8.encode(MessageConst.TAGS + '\u0001');
const KEYS_PREFIX = utf8.encode(MessageConst.KEYS + '\u0001');
const UNIQ_KEY_PREFIX = utf8.encode(MessageConst.UNIQ_KEY + '\u0001');
const WAIT_TRUE = utf8.encode(MessageConst.WAIT + '\u0001true\u0002');
const WAIT_FALSE = utf8.encode(MessageConst.WAIT + '\u0001false\u0002');
const CRC_PLACEHOLDER = utf8.encode(MessageConst.CRC32 + '\u00010000000000\u0002');

/** A well-known name (pre-encoded with its U+0001) and a value. */
function writeKnownPair(target: Uint8Array, pos: number, prefix: Uint8Array, value: string): number {
  pos = writeString(target, writeBytes(target, pos, prefix), value);
  target[pos] = PROPERTY_SEPARATOR_BYTE;
  return pos + 1;
}

function writePair(target: Uint8Array, pos: number, name: string, value: string): number {
  pos = writeString(target, pos, name);
  target[pos++] = NAME_VALUE_SEPARATOR_BYTE;
  pos = writeString(target, pos, value);
  target[pos++] = PROPERTY_SEPARATOR_BYTE;
  return pos;
}

function pairLength(name: string, value: string): number {
  return utf8Length(name) + utf8Length(value) + 2;
}

function keysString(keys: string | readonly string[] | undefined): string {
  if (keys === undefined) return '';
  return typeof keys === 'string' ? keys : keys.join(' ');
}

/** A host as stored: address bytes then a big-endian int port. */
function encodeHost(host: SocketAddress): Uint8Array {
  const out = new Uint8Array(host.address.length + 4);
  out.set(host.address);
  new DataView(out.buffer).setInt32(host.address.length, host.port);
  return out;
}

/** Masked body CRC, as RocketMQ stores it. */
export function bodyCrc(body: Uint8Array, start = 0, end = body.length): number {
  return crc32(body, start, end) & 0x7fffffff;
}

/**
 * Encodes messages for one store host. Owner: whichever thread encodes (the MessageStore's
 * writer now; producers encoding into the shared ring later); it holds only caches (validated
 * topics and tags), so a crash loses nothing and a new one starts empty.
 */
export class MessageEncoder {
  readonly #storeHost: SocketAddress;
  readonly #storeHostBytes: Uint8Array;
  readonly #maxMessageSize: number;
  /** Tags values already checked (most messages reuse a handful). */
  readonly #validTags = new Set<string>();
  readonly #appendCrc: boolean;
  readonly #strictTopics: boolean;
  /** Topic -> UTF-8 bytes, filled once a topic has passed validation. */
  readonly #topics = new Map<string, Uint8Array>();
  #lastTarget: Uint8Array | undefined;
  #lastView: DataView | undefined;

  constructor(options: MessageEncoderOptions) {
    this.#storeHost = options.storeHost;
    this.#storeHostBytes = encodeHost(options.storeHost);
    this.#maxMessageSize = options.maxMessageSize;
    this.#appendCrc = options.appendPropertiesCrc ?? false;
    this.#strictTopics = options.strictTopics ?? true;
  }

  /** The topic's bytes, validating it the first time it is seen. */
  topicBytes(topic: string): Uint8Array {
    let bytes = this.#topics.get(topic);
    if (bytes === undefined) {
      if (this.#strictTopics) validateTopic(topic);
      bytes = utf8.encode(topic);
      if (bytes.length === 0 || bytes.length > MAX_V2_TOPIC_LENGTH) {
        throw new PetrelError('ERR_TOPIC_INVALID', `a topic must be 1 to ${MAX_V2_TOPIC_LENGTH} UTF-8 bytes`);
      }
      this.#topics.set(topic, bytes);
    }
    return bytes;
  }

  /** The exact record size `encode` will write; validates like `encode`. */
  encodedSize(msg: MessageToStore, uniqKey: string | undefined = msg.uniqKey): number {
    const topic = this.#validate(msg, uniqKey);
    const props = this.#propertiesLength(msg, uniqKey);
    if (props > MAX_PROPERTIES_LENGTH) throw propertiesTooLarge(props);
    return this.#headerLength(msg) + 4 + msg.body.length + (topic.length > MAX_V1_TOPIC_LENGTH ? 2 : 1) + topic.length + 2 + props;
  }

  /**
   * Encodes `msg` at `target[offset]` and returns the record size. QUEUEOFFSET, PHYSICALOFFSET
   * and STORETIMESTAMP are written as 0 for the writer to patch. Throws a PetrelError (and
   * leaves nothing the caller should publish) on bad input or when the target is too small.
   * A `uniqKey` passed apart from `msg.uniqKey` is taken to come from the caller's own
   * generator and is not checked again. `validated` skips the checks for a message that has
   * just passed `encodedSize` unchanged (the broker's send path sizes, then encodes).
   */
  encode(msg: MessageToStore, target: Uint8Array, offset: number, uniqKey: string | undefined = msg.uniqKey, validated = false): number {
    const topic = validated ? this.topicBytes(msg.topic) : this.#validate(msg, uniqKey);
    const view = this.#viewOf(target);
    const body = msg.body;
    const bornHost = msg.bornHost ?? this.#storeHost;
    let sysFlag = (msg.sysFlag ?? 0) & ~(SysFlag.BORNHOST_V6 | SysFlag.STOREHOST_V6);
    if (bornHost.address.length === 16) sysFlag |= SysFlag.BORNHOST_V6;
    if (this.#storeHost.address.length === 16) sysFlag |= SysFlag.STOREHOST_V6;

    const bodyLenAt = offset + bodyLengthOffset(sysFlag);
    const topicAt = bodyLenAt + 4 + body.length;
    const v2 = topic.length > MAX_V1_TOPIC_LENGTH;
    const propLenAt = topicAt + (v2 ? 2 : 1) + topic.length;
    const propsAt = propLenAt + 2;
    if (propsAt > target.length) throw targetTooSmall(propsAt - offset, target.length - offset);

    const propsEnd = this.#writeProperties(msg, uniqKey, target, propsAt);
    const propsLength = propsEnd - propsAt;
    if (propsLength > MAX_PROPERTIES_LENGTH) throw propertiesTooLarge(propsLength);
    const size = propsEnd - offset;
    if (propsEnd > target.length) throw targetTooSmall(size, target.length - offset);

    view.setInt32(offset + OFF_TOTAL_SIZE, size);
    view.setInt32(offset + OFF_MAGIC, v2 ? MAGIC_V2 : MAGIC_V1);
    view.setInt32(offset + OFF_BODY_CRC, bodyCrc(body));
    view.setInt32(offset + OFF_QUEUE_ID, msg.queueId);
    view.setInt32(offset + OFF_FLAG, msg.flag ?? 0);
    setLong(view, offset + OFF_QUEUE_OFFSET, 0);
    setLong(view, offset + OFF_PHYSICAL_OFFSET, 0);
    view.setInt32(offset + OFF_SYS_FLAG, sysFlag);
    setLong(view, offset + OFF_BORN_TIMESTAMP, msg.bornTimestamp ?? 0);
    const bornHostBytes = msg.bornHost === undefined ? this.#storeHostBytes : encodeHost(msg.bornHost);
    let pos = writeBytes(target, offset + OFF_BORN_HOST, bornHostBytes);
    setLong(view, pos, 0);
    pos = writeBytes(target, pos + 8, this.#storeHostBytes);
    view.setInt32(pos, msg.reconsumeTimes ?? 0);
    setLong(view, pos + 4, msg.preparedTransactionOffset ?? 0);
    view.setInt32(bodyLenAt, body.length);
    target.set(body, bodyLenAt + 4);
    if (v2) view.setInt16(topicAt, topic.length);
    else target[topicAt] = topic.length;
    target.set(topic, topicAt + (v2 ? 2 : 1));
    view.setInt16(propLenAt, propsLength);
    return size;
  }

  #viewOf(target: Uint8Array): DataView {
    if (target !== this.#lastTarget || this.#lastView === undefined) {
      this.#lastTarget = target;
      this.#lastView = dataViewOf(target);
    }
    return this.#lastView;
  }

  #headerLength(msg: MessageToStore): number {
    const born = (msg.bornHost ?? this.#storeHost).address.length === 16 ? SysFlag.BORNHOST_V6 : 0;
    const store = this.#storeHost.address.length === 16 ? SysFlag.STOREHOST_V6 : 0;
    return bodyLengthOffset(born | store);
  }

  #validate(msg: MessageToStore, uniqKey: string | undefined): Uint8Array {
    const topic = this.topicBytes(msg.topic);
    const body: unknown = msg.body;
    if (!(body instanceof Uint8Array)) throw new PetrelError('ERR_MESSAGE_ILLEGAL', 'the message body must be a Uint8Array');
    if (msg.body.length > this.#maxMessageSize) {
      throw new PetrelError('ERR_MESSAGE_TOO_LARGE', `the body is ${msg.body.length} bytes; maxMessageSize is ${this.#maxMessageSize}`);
    }
    if (!Number.isInteger(msg.queueId) || msg.queueId < 0 || msg.queueId > 0x7fffffff) {
      throw new PetrelError('ERR_QUEUE_ID_INVALID', `queue id ${msg.queueId} is not a non-negative int32`);
    }
    const tags = msg.tags;
    if (tags !== undefined && !this.#validTags.has(tags)) {
      validatePropertyValue(MessageConst.TAGS, tags);
      if (this.#validTags.size >= 1024) this.#validTags.clear();
      this.#validTags.add(tags);
    }
    if (msg.keys !== undefined) validatePropertyValue(MessageConst.KEYS, keysString(msg.keys));
    // A key passed apart from the message comes from the caller's own generator.
    if (uniqKey !== undefined && uniqKey === msg.uniqKey) validatePropertyValue(MessageConst.UNIQ_KEY, uniqKey);
    if (msg.properties !== undefined) for (const name in msg.properties) validateUserProperty(name, msg.properties[name], false);
    if (msg.systemProperties !== undefined) {
      for (const name in msg.systemProperties) validateUserProperty(name, msg.systemProperties[name], true);
    }
    return topic;
  }

  #propertiesLength(msg: MessageToStore, uniqKey: string | undefined): number {
    let n = 0;
    if (msg.tags) n += pairLength(MessageConst.TAGS, msg.tags);
    const keys = keysString(msg.keys);
    if (keys) n += pairLength(MessageConst.KEYS, keys);
    if (msg.properties !== undefined) for (const name in msg.properties) n += pairLength(name, msg.properties[name] ?? '');
    if (msg.systemProperties !== undefined) {
      for (const name in msg.systemProperties) n += pairLength(name, msg.systemProperties[name] ?? '');
    }
    n += pairLength(MessageConst.WAIT, msg.waitStoreMsgOK === false ? 'false' : 'true');
    if (uniqKey) n += pairLength(MessageConst.UNIQ_KEY, uniqKey);
    if (this.#appendCrc) n += PROPERTY_CRC_LENGTH;
    return n;
  }

  #writeProperties(msg: MessageToStore, uniqKey: string | undefined, target: Uint8Array, pos: number): number {
    if (msg.tags) pos = writeKnownPair(target, pos, TAGS_PREFIX, msg.tags);
    const keys = keysString(msg.keys);
    if (keys) pos = writeKnownPair(target, pos, KEYS_PREFIX, keys);
    if (msg.properties !== undefined) for (const name in msg.properties) pos = writePair(target, pos, name, msg.properties[name] ?? '');
    if (msg.systemProperties !== undefined) {
      for (const name in msg.systemProperties) pos = writePair(target, pos, name, msg.systemProperties[name] ?? '');
    }
    pos = writeBytes(target, pos, msg.waitStoreMsgOK === false ? WAIT_FALSE : WAIT_TRUE);
    if (uniqKey) pos = writeKnownPair(target, pos, UNIQ_KEY_PREFIX, uniqKey);
    if (this.#appendCrc) pos = writeBytes(target, pos, CRC_PLACEHOLDER);
    return pos;
  }
}

function propertiesTooLarge(length: number): PetrelError {
  return new PetrelError('ERR_PROPERTIES_TOO_LARGE', `the properties encode to ${length} bytes; at most ${MAX_PROPERTIES_LENGTH} are allowed`);
}

function targetTooSmall(needed: number, room: number): PetrelError {
  return new PetrelError('ERR_INVALID_ARGUMENT', `the record needs ${needed} bytes but the target has ${room}`);
}

/**
 * The writer's part of an append: fills QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP of the
 * record at `recordOffset`, in place.
 */
export function patchRecord(view: DataView, recordOffset: number, queueOffset: number, physicalOffset: number, storeTimestamp: number): void {
  setLong(view, recordOffset + OFF_QUEUE_OFFSET, queueOffset);
  setLong(view, recordOffset + OFF_PHYSICAL_OFFSET, physicalOffset);
  setLong(view, recordOffset + storeTimestampOffset(view.getInt32(recordOffset + OFF_SYS_FLAG)), storeTimestamp);
}

/** True when the record ends with the whole-record CRC entry (enabledAppendPropCRC). */
export function hasPropertiesCrc(bytes: Uint8Array, recordOffset: number, size: number, propertiesLength: number): boolean {
  if (propertiesLength < PROPERTY_CRC_LENGTH) return false;
  const at = recordOffset + size - PROPERTY_CRC_LENGTH;
  const name = MessageConst.CRC32;
  for (let i = 0; i < name.length; i++) if (bytes[at + i] !== name.charCodeAt(i)) return false;
  return bytes[at + name.length] === NAME_VALUE_SEPARATOR_BYTE && bytes[at + PROPERTY_CRC_LENGTH - 1] === PROPERTY_SEPARATOR_BYTE;
}

/** CRC of the record without its CRC entry, masked as RocketMQ masks it. */
export function recordCrc(bytes: Uint8Array, recordOffset: number, size: number): number {
  return crc32(bytes, recordOffset, recordOffset + size - PROPERTY_CRC_LENGTH) & 0x7fffffff;
}

/**
 * Writes the whole-record CRC into the reserved entry, after patchRecord (the CRC covers the
 * patched fields). The 10 digits go least-significant first, zero-padded, as RocketMQ writes them.
 */
export function patchPropertiesCrc(bytes: Uint8Array, recordOffset: number, size: number): void {
  let crc = recordCrc(bytes, recordOffset, size);
  const at = recordOffset + size - CRC_DIGITS_FROM_END;
  for (let i = 0; i < 10; i++) {
    bytes[at + i] = ASCII_ZERO + (crc % 10);
    crc = Math.floor(crc / 10);
  }
}

/** The CRC stored in the reserved entry (digits least-significant first). */
export function storedPropertiesCrc(bytes: Uint8Array, recordOffset: number, size: number): number {
  const at = recordOffset + size - CRC_DIGITS_FROM_END;
  let crc = 0;
  for (let i = 9; i >= 0; i--) {
    const d = (bytes[at + i] ?? 0) - ASCII_ZERO;
    if (d < 0 || d > 9) return -1;
    crc = crc * 10 + d;
  }
  return crc;
}
