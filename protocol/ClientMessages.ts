/**
 * Messages as petrelmq's own gRPC client sends and receives them: the client-side mirror of
 * MessageConversion. Received messages are parsed from `unknown` and their body digest checked
 * the way the official client does (MD5/SHA1 uppercase hex, CRC32 decimal).
 */
import { createHash, randomBytes } from 'node:crypto';
import { crc32, gunzipSync } from 'node:zlib';
import { DigestType, Encoding, MessageType, timestampOf, type WireMessage } from './wire.js';
import { bytes, has, millis, num, optNum, optStr, rec, str, strList, strMap } from './parse.js';

export interface OutgoingMessage {
  readonly topic: string;
  readonly body: Uint8Array;
  readonly tag?: string;
  readonly keys?: readonly string[];
  readonly properties?: Readonly<Record<string, string>>;
  /** FIFO: messages of one group are stored and delivered in order. */
  readonly messageGroup?: string;
  /** DELAY: not delivered before this time (ms since the epoch). */
  readonly deliveryTimestamp?: number;
  /** Defaults to a fresh id in the official clients' format. */
  readonly messageId?: string;
}

export interface ReceivedMessage {
  readonly topic: string;
  readonly messageId: string;
  readonly body: Buffer;
  readonly tag: string | undefined;
  readonly keys: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
  readonly messageGroup: string | undefined;
  readonly deliveryTimestamp: number | undefined;
  readonly bornTimestamp: number | undefined;
  readonly deliveryAttempt: number;
  readonly receiptHandle: string;
  readonly queueId: number;
  readonly queueOffset: number;
  /** The body does not match its digest. */
  readonly corrupted: boolean;
}

const EPOCH_2021 = Date.UTC(2021, 0, 1);
let sequence = 0;
const machine = randomBytes(6);

/**
 * A message id in the official clients' layout: 17 bytes as 34 uppercase hex characters, version
 * 01, 6 machine bytes (random here), pid (2), seconds since 2021-01-01 (4), sequence (4).
 */
export function newMessageId(nowMs = Date.now()): string {
  const buf = Buffer.alloc(17);
  buf.writeUInt8(1, 0);
  machine.copy(buf, 1);
  buf.writeUInt16BE(process.pid & 0xffff, 7);
  buf.writeUInt32BE(Math.max(0, Math.floor((nowMs - EPOCH_2021) / 1000)) >>> 0, 9);
  sequence = (sequence + 1) >>> 0;
  buf.writeUInt32BE(sequence, 13);
  return buf.toString('hex').toUpperCase();
}

export function toOutgoingWire(m: OutgoingMessage, namespace: string, hostname: string, nowMs: number): WireMessage {
  const type = m.messageGroup !== undefined ? MessageType.FIFO : m.deliveryTimestamp !== undefined ? MessageType.DELAY : MessageType.NORMAL;
  return {
    topic: { name: m.topic, resource_namespace: namespace },
    user_properties: { ...m.properties },
    system_properties: {
      ...(m.tag === undefined ? {} : { tag: m.tag }),
      keys: [...(m.keys ?? [])],
      message_id: m.messageId ?? newMessageId(nowMs),
      body_encoding: Encoding.IDENTITY,
      message_type: type,
      born_timestamp: timestampOf(nowMs),
      born_host: hostname,
      queue_id: 0,
      ...(m.messageGroup === undefined ? {} : { message_group: m.messageGroup }),
      ...(m.deliveryTimestamp === undefined ? {} : { delivery_timestamp: timestampOf(m.deliveryTimestamp) }),
    },
    body: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength),
  };
}

/** Whether a body matches a digest; an unknown digest type is not checked. */
export function digestMatches(body: Uint8Array, type: number, checksum: string): boolean {
  switch (type) {
    case DigestType.MD5:
      return createHash('md5').update(body).digest('hex').toUpperCase() === checksum;
    case DigestType.SHA1:
      return createHash('sha1').update(body).digest('hex').toUpperCase() === checksum;
    case DigestType.CRC32:
      return String(crc32(body)) === checksum;
    default:
      return true;
  }
}

export function parseReceivedMessage(raw: unknown): ReceivedMessage {
  const m = rec(raw, 'message');
  const sys = rec(m['system_properties'], 'system_properties');
  let body = bytes(m, 'body');
  const digest = has(sys, 'body_digest') ? rec(sys['body_digest'], 'body_digest') : undefined;
  const corrupted = digest === undefined || !digestMatches(body, num(digest, 'type'), str(digest, 'checksum'));
  if (num(sys, 'body_encoding') === Encoding.GZIP) body = gunzipSync(body);
  return {
    topic: str(rec(m['topic'], 'topic'), 'name'),
    messageId: str(sys, 'message_id'),
    body,
    tag: optStr(sys, 'tag'),
    keys: strList(sys, 'keys'),
    properties: strMap(m, 'user_properties'),
    messageGroup: optStr(sys, 'message_group'),
    deliveryTimestamp: millis(sys, 'delivery_timestamp'),
    bornTimestamp: millis(sys, 'born_timestamp'),
    deliveryAttempt: optNum(sys, 'delivery_attempt') ?? 0,
    receiptHandle: str(sys, 'receipt_handle'),
    queueId: num(sys, 'queue_id'),
    queueOffset: num(sys, 'queue_offset'),
    corrupted,
  };
}
