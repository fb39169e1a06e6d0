/**
 * Messages across the gRPC edge, both ways.
 *
 * Inbound (SendMessage): a wire Message is parsed and validated into an InboundMessage, then
 * turned into the broker's Message. What the classic message has no field for is kept in
 * RocketMQ's own properties (propertyNames.ts): the client's message id, FIFO group, wanted
 * delivery time and born host.
 *
 * Outbound (ReceiveMessage): a stored MessageExt becomes a wire Message with everything the
 * official client's MessageView reads: the client's message id, the receipt handle, the delivery
 * attempt, and always a body digest (uppercase MD5: the client flags anything else as corrupted).
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { Message, MessageExt } from '../api/BrokerApi.js';
import { StatusError } from './status.js';
import { Code, DigestType, Encoding, MessageType, durationOf, timestampOf, type WireMessage } from './wire.js';
import { bytes, millis, num, optStr, rec, str, strList, strMap } from './parse.js';
import { PROP, ROCKETMQ_PROP, isReservedPropertyName } from './propertyNames.js';
import {
  validateBodySize,
  validateKey,
  validateMessageGroup,
  validateMessageId,
  validateTag,
  validateTopicName,
  validateUserProperties,
  type MessageLimits,
} from './MessageValidation.js';
import { delayLevelFor } from './DelayLevels.js';

export interface InboundMessage {
  /** The stored topic: the namespace, when there is one, wrapped in as RocketMQ does (ns%topic). */
  readonly topic: string;
  readonly messageId: string;
  readonly body: Buffer;
  readonly tag: string | undefined;
  readonly keys: readonly string[];
  readonly userProperties: Readonly<Record<string, string>>;
  readonly messageGroup: string | undefined;
  readonly deliverAtMs: number | undefined;
  readonly messageType: MessageType;
  readonly bornHost: string;
}

/** How one popped message is being delivered. */
export interface Delivery {
  readonly receiptHandle: string;
  readonly deliveryAttempt: number;
  readonly invisibleMs: number;
}

/** RocketMQ's NamespaceUtil: a namespaced resource is stored as "<namespace>%<name>". */
export function wrapNamespace(namespace: string, name: string): string {
  return namespace === '' || name.startsWith(`${namespace}%`) ? name : `${namespace}%${name}`;
}

export function unwrapNamespace(namespace: string, name: string): string {
  return namespace !== '' && name.startsWith(`${namespace}%`) ? name.slice(namespace.length + 1) : name;
}

/** Uppercase hex MD5, the digest the official client checks. */
export function md5Hex(body: Uint8Array): string {
  return createHash('md5').update(body).digest('hex').toUpperCase();
}

function declaredType(value: number): MessageType | undefined {
  if (value === MessageType.UNSPECIFIED) return undefined;
  const known = Object.values(MessageType).find((t) => t === value);
  // An unknown type is not guessed from the message's fields: the client meant something else.
  if (known === undefined) throw new StatusError(Code.BAD_REQUEST, `message type ${value} is not one of NORMAL, FIFO, DELAY, TRANSACTION, LITE, PRIORITY`);
  return known;
}

function decodeBody(raw: Buffer, encoding: number, limits: MessageLimits): Buffer {
  if (encoding !== Encoding.GZIP) return raw;
  try {
    return gunzipSync(raw, { maxOutputLength: limits.maxBodySize + 1 });
  } catch (err) {
    if (err instanceof RangeError) throw new StatusError(Code.MESSAGE_BODY_TOO_LARGE, `message body inflates past ${limits.maxBodySize} bytes`);
    throw new StatusError(Code.MESSAGE_CORRUPTED, 'message body is not valid gzip', { cause: err });
  }
}

/** Parses and validates one wire Message of a SendMessage request. */
export function parseInboundMessage(raw: unknown, namespace: string, limits: MessageLimits): InboundMessage {
  const m = rec(raw, 'messages[]');
  const topicRes = rec(m['topic'], 'topic');
  const topicName = str(topicRes, 'name');
  validateTopicName(topicName);
  const sys = rec(m['system_properties'], 'system_properties');
  const messageId = str(sys, 'message_id');
  validateMessageId(messageId);
  const rawBody = bytes(m, 'body');
  if (rawBody.length > limits.maxBodySize && num(sys, 'body_encoding') !== Encoding.GZIP) validateBodySize(rawBody.length, limits);
  const body = decodeBody(rawBody, num(sys, 'body_encoding'), limits);
  validateBodySize(body.length, limits);
  const tag = optStr(sys, 'tag');
  if (tag !== undefined) validateTag(tag);
  const keys = strList(sys, 'keys');
  keys.forEach(validateKey);
  const userProperties = strMap(m, 'user_properties');
  validateUserProperties(userProperties, limits);
  const messageGroup = optStr(sys, 'message_group');
  if (messageGroup !== undefined) validateMessageGroup(messageGroup, limits);
  const deliverAtMs = millis(sys, 'delivery_timestamp');
  if (deliverAtMs !== undefined && deliverAtMs < 0) throw new StatusError(Code.ILLEGAL_DELIVERY_TIME, 'delivery timestamp is before the epoch');
  const declared = declaredType(num(sys, 'message_type'));
  if (messageGroup !== undefined && deliverAtMs !== undefined) {
    throw new StatusError(Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, 'a message cannot have both a message group and a delivery timestamp');
  }
  const inferred = messageGroup !== undefined ? MessageType.FIFO : deliverAtMs !== undefined ? MessageType.DELAY : MessageType.NORMAL;
  const messageType = declared ?? inferred;
  const consistent =
    messageType === inferred ||
    (messageType === MessageType.TRANSACTION && inferred === MessageType.NORMAL) ||
    messageType === MessageType.PRIORITY ||
    messageType === MessageType.LITE;
  if (!consistent) throw new StatusError(Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE, `message type ${messageType} does not match its group/delivery timestamp`);
  return {
    topic: wrapNamespace(namespace || str(topicRes, 'resource_namespace'), topicName),
    messageId,
    body,
    tag,
    keys,
    userProperties,
    messageGroup,
    deliverAtMs,
    messageType,
    bornHost: str(sys, 'born_host').slice(0, 255),
  };
}

/** What the broker takes as a client's UNIQ_KEY (Message.uniqKey). */
const UNIQ_KEY_SHAPE = /^[A-Za-z0-9_-]{1,128}$/;

/** The broker message for an inbound one; the delay level is chosen from the wanted delivery time. */
export function toBrokerMessage(inbound: InboundMessage, nowMs: number, delayLevels: readonly number[]): Message {
  const properties: Record<string, string> = { ...inbound.userProperties, [PROP.messageId]: inbound.messageId };
  if (inbound.messageGroup !== undefined) properties[PROP.messageGroup] = inbound.messageGroup;
  if (inbound.bornHost !== '') properties[PROP.bornHost] = inbound.bornHost;
  if (inbound.messageType === MessageType.TRANSACTION) properties[PROP.transaction] = 'true';
  let delayLevel: number | undefined;
  if (inbound.deliverAtMs !== undefined) {
    properties[PROP.deliverAtMs] = String(inbound.deliverAtMs);
    delayLevel = delayLevelFor(inbound.deliverAtMs, nowMs, delayLevels);
  }
  return {
    topic: inbound.topic,
    body: inbound.body,
    // The client's id is the message's UNIQ_KEY, as RocketMQ's proxy stores it: the index then
    // finds the message by the id the client's SendReceipt reports. An id the broker's key rules
    // refuse is kept in the property only, and the broker makes the UNIQ_KEY.
    ...(UNIQ_KEY_SHAPE.test(inbound.messageId) ? { uniqKey: inbound.messageId } : {}),
    ...(inbound.tag === undefined ? {} : { tags: inbound.tag }),
    ...(inbound.keys.length === 0 ? {} : { keys: inbound.keys }),
    properties,
    ...(delayLevel === undefined ? {} : { delayLevel }),
  };
}

/** The client's message id of a stored message. */
export function messageIdOf(ext: MessageExt): string {
  return ext.properties[PROP.messageId] ?? ext.msgId;
}

export function messageGroupOf(ext: MessageExt): string | undefined {
  return ext.properties[PROP.messageGroup] ?? ext.properties[ROCKETMQ_PROP.messageGroup];
}

function deliverAtOf(ext: MessageExt): number | undefined {
  const raw = ext.properties[PROP.deliverAtMs] ?? ext.properties[ROCKETMQ_PROP.deliverAtMs];
  const at = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(at) ? at : undefined;
}

function storedType(ext: MessageExt): MessageType {
  if (ext.properties[PROP.transaction] === 'true' || ext.properties[ROCKETMQ_PROP.transaction] === 'true') return MessageType.TRANSACTION;
  if (messageGroupOf(ext) !== undefined) return MessageType.FIFO;
  if (deliverAtOf(ext) !== undefined) return MessageType.DELAY;
  return MessageType.NORMAL;
}

/** A stored message as the wire Message a consumer receives. */
export function toWireMessage(ext: MessageExt, delivery: Delivery, namespace: string): WireMessage {
  const userProperties: Record<string, string> = {};
  for (const [k, v] of Object.entries(ext.properties)) if (!isReservedPropertyName(k)) userProperties[k] = v;
  const body = Buffer.from(ext.body.buffer, ext.body.byteOffset, ext.body.byteLength);
  const group = messageGroupOf(ext);
  const deliverAt = deliverAtOf(ext);
  const dlq = ext.topic.startsWith('%DLQ%');
  const originTopic = dlq ? ext.properties[ROCKETMQ_PROP.retryTopic] : undefined;
  const originId = dlq ? (ext.properties[PROP.messageId] ?? ext.properties[ROCKETMQ_PROP.originMessageId]) : undefined;
  return {
    topic: { name: unwrapNamespace(namespace, ext.topic), resource_namespace: namespace },
    user_properties: userProperties,
    system_properties: {
      ...(ext.tags === undefined || ext.tags === '' ? {} : { tag: ext.tags }),
      keys: [...ext.keys],
      message_id: messageIdOf(ext),
      body_digest: { type: DigestType.MD5, checksum: md5Hex(body) },
      body_encoding: Encoding.IDENTITY,
      message_type: storedType(ext),
      born_timestamp: timestampOf(ext.bornTimestamp),
      born_host: ext.properties[PROP.bornHost] ?? '',
      store_timestamp: timestampOf(ext.storeTimestamp),
      store_host: ext.brokerName,
      ...(deliverAt === undefined ? {} : { delivery_timestamp: timestampOf(deliverAt) }),
      receipt_handle: delivery.receiptHandle,
      queue_id: ext.queueId,
      queue_offset: ext.queueOffset,
      invisible_duration: durationOf(delivery.invisibleMs),
      delivery_attempt: delivery.deliveryAttempt,
      ...(group === undefined ? {} : { message_group: group }),
      ...(originTopic !== undefined && originId !== undefined ? { dead_letter_queue: { topic: originTopic, message_id: originId } } : {}),
    },
    body,
  };
}

/** A held (not yet stored) message as the wire Message a transaction check shows the producer. */
export function inboundToWire(inbound: InboundMessage, namespace: string, nowMs: number): WireMessage {
  return {
    topic: { name: unwrapNamespace(namespace, inbound.topic), resource_namespace: namespace },
    user_properties: { ...inbound.userProperties },
    system_properties: {
      ...(inbound.tag === undefined ? {} : { tag: inbound.tag }),
      keys: [...inbound.keys],
      message_id: inbound.messageId,
      body_digest: { type: DigestType.MD5, checksum: md5Hex(inbound.body) },
      body_encoding: Encoding.IDENTITY,
      message_type: inbound.messageType,
      born_timestamp: timestampOf(nowMs),
      born_host: inbound.bornHost,
      queue_id: 0,
    },
    body: inbound.body,
  };
}
