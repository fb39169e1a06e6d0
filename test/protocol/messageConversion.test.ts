import test from 'ava';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { MessageExt } from '../../api/BrokerApi.js';
import { parseReceivedMessage, digestMatches, toOutgoingWire, newMessageId } from '../../protocol/ClientMessages.js';
import { parseInboundMessage, toBrokerMessage, toWireMessage, wrapNamespace, unwrapNamespace } from '../../protocol/MessageConversion.js';
import { DEFAULT_MESSAGE_LIMITS } from '../../protocol/MessageValidation.js';
import { parseDelayLevels, DEFAULT_DELAY_LEVELS } from '../../storage/DelayLevels.js';
import { PROP } from '../../protocol/propertyNames.js';
import { StatusError } from '../../protocol/status.js';
import { Code, DigestType, MessageType } from '../../protocol/wire.js';
import { messagingServiceDefinition } from '../../protocol/protos.js';

const levels = parseDelayLevels(DEFAULT_DELAY_LEVELS);
const NOW = 1_700_000_000_000;

function wire(overrides: { sys?: Record<string, unknown>; props?: Record<string, string>; body?: Buffer; topic?: string } = {}): unknown {
  return {
    topic: { name: overrides.topic ?? 'orders' },
    user_properties: overrides.props ?? { region: 'eu' },
    system_properties: { message_id: '0102FC000000013DA20B17C55500000000', keys: ['k1'], tag: 'TagA', born_host: 'vm', body_encoding: 1, ...overrides.sys },
    body: overrides.body ?? Buffer.from('hello'),
  };
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof StatusError ? err.wireCode : -1;
  }
  return undefined;
}

const parse = (raw: unknown) => parseInboundMessage(raw, '', DEFAULT_MESSAGE_LIMITS);

function ext(message: ReturnType<typeof toBrokerMessage>, over: Partial<MessageExt> = {}): MessageExt {
  return {
    topic: message.topic,
    body: message.body,
    tags: message.tags,
    keys: typeof message.keys === 'string' ? [message.keys] : [...(message.keys ?? [])],
    properties: message.properties ?? {},
    flag: 0,
    queueId: 2,
    queueOffset: 41,
    commitLogOffset: 9000,
    storeSize: 200,
    sysFlag: 0,
    bornTimestamp: NOW - 5,
    storeTimestamp: NOW,
    reconsumeTimes: 0,
    msgId: 'BROKER-UNIQ-KEY',
    offsetMsgId: '7F00000100002A9F0000000000002328',
    brokerName: 'broker-a',
    ...over,
  };
}

test('conversion - a normal message keeps tag, keys, user properties and the client message id', (t) => {
  const inbound = parse(wire());
  t.is(inbound.messageType, MessageType.NORMAL);
  const m = toBrokerMessage(inbound, NOW, levels);
  t.is(m.topic, 'orders');
  t.is(m.tags, 'TagA');
  t.deepEqual(m.keys, ['k1']);
  t.is(m.properties?.['region'], 'eu');
  t.is(m.properties?.[PROP.messageId], '0102FC000000013DA20B17C55500000000');
  t.is(m.uniqKey, '0102FC000000013DA20B17C55500000000', 'the client id is the UNIQ_KEY the index finds');
  t.is(m.delayLevel, undefined);
});

test('conversion - a delivered message has the client id, an uppercase MD5 digest and the delivery fields', (t) => {
  const stored = ext(toBrokerMessage(parse(wire()), NOW, levels));
  const w = toWireMessage(stored, { receiptHandle: 'RH', deliveryAttempt: 3, invisibleMs: 15_000 }, '');
  const md5 = createHash('md5').update('hello').digest('hex').toUpperCase();
  t.deepEqual(w.system_properties.body_digest, { type: DigestType.MD5, checksum: md5 });
  t.is(w.system_properties.message_id, '0102FC000000013DA20B17C55500000000');
  t.is(w.system_properties.receipt_handle, 'RH');
  t.is(w.system_properties.delivery_attempt, 3);
  t.is(w.system_properties.queue_id, 2);
  t.is(w.system_properties.queue_offset, 41);
  t.is(w.system_properties.born_host, 'vm');
  t.deepEqual(w.system_properties.invisible_duration, { seconds: 15, nanos: 0 });
  t.deepEqual(w.user_properties, { region: 'eu' });
  // Through the real serializer, and read back the way a client reads it.
  const receive = messagingServiceDefinition()['ReceiveMessage'];
  if (receive === undefined) throw new Error('no ReceiveMessage');
  const frame = receive.responseDeserialize(receive.responseSerialize({ message: w })) as { message: unknown };
  const back = parseReceivedMessage(frame.message);
  t.false(back.corrupted);
  t.is(back.body.toString(), 'hello');
  t.is(back.tag, 'TagA');
  t.deepEqual(back.keys, ['k1']);
  t.is(back.deliveryAttempt, 3);
  t.deepEqual(back.properties, { region: 'eu' });
});

test('conversion - a digest that does not match marks the message corrupted', (t) => {
  t.true(digestMatches(Buffer.from('x'), DigestType.MD5, createHash('md5').update('x').digest('hex').toUpperCase()));
  t.false(digestMatches(Buffer.from('x'), DigestType.MD5, createHash('md5').update('x').digest('hex')));
  t.true(digestMatches(Buffer.from('x'), DigestType.CRC32, '2363233923'));
  t.true(digestMatches(Buffer.from('x'), 0, 'whatever'));
});

test('conversion - FIFO group and delay survive the round trip', (t) => {
  const fifo = toBrokerMessage(parse(wire({ sys: { message_group: 'order-7', message_type: MessageType.FIFO } })), NOW, levels);
  const fifoOut = toWireMessage(ext(fifo), { receiptHandle: 'r', deliveryAttempt: 1, invisibleMs: 1 }, '');
  t.is(fifoOut.system_properties.message_group, 'order-7');
  t.is(fifoOut.system_properties.message_type, MessageType.FIFO);

  const at = NOW + 7_000;
  const delayed = toBrokerMessage(parse(wire({ sys: { delivery_timestamp: { seconds: at / 1000, nanos: 0 } } })), NOW, levels);
  t.is(delayed.delayLevel, 3); // 7 s -> the 10 s level
  const delayedOut = toWireMessage(ext(delayed), { receiptHandle: 'r', deliveryAttempt: 1, invisibleMs: 1 }, '');
  t.deepEqual(delayedOut.system_properties.delivery_timestamp, { seconds: at / 1000, nanos: 0 });
  t.is(delayedOut.system_properties.message_type, MessageType.DELAY);
});

test('conversion - endpoint and RocketMQ property names are never shown as user properties', (t) => {
  const m = toBrokerMessage(parse(wire({ sys: { message_group: 'g' } })), NOW, levels);
  const out = toWireMessage(ext(m, { properties: { ...m.properties, UNIQ_KEY: 'x', TAGS: 'TagA' } }), { receiptHandle: 'r', deliveryAttempt: 1, invisibleMs: 1 }, '');
  t.deepEqual(Object.keys(out.user_properties), ['region']);
});

test('conversion - without the endpoint property the broker msgId is the message id', (t) => {
  const m = ext({ topic: 't', body: Buffer.from('b'), properties: {} });
  t.is(toWireMessage(m, { receiptHandle: 'r', deliveryAttempt: 1, invisibleMs: 1 }, '').system_properties.message_id, 'BROKER-UNIQ-KEY');
});

test('conversion - bad tags, keys, property names and ids get the proxy codes', (t) => {
  t.is(codeOf(() => parse(wire({ sys: { tag: '' } }))), Code.ILLEGAL_MESSAGE_TAG);
  t.is(codeOf(() => parse(wire({ sys: { tag: 'a|b' } }))), Code.ILLEGAL_MESSAGE_TAG);
  t.is(codeOf(() => parse(wire({ sys: { tag: 'a\u0001' } }))), Code.ILLEGAL_MESSAGE_TAG);
  t.is(codeOf(() => parse(wire({ sys: { keys: ['ok', ' '] } }))), Code.ILLEGAL_MESSAGE_KEY);
  t.is(codeOf(() => parse(wire({ props: { UNIQ_KEY: 'x' } }))), Code.ILLEGAL_MESSAGE_PROPERTY_KEY);
  t.is(codeOf(() => parse(wire({ props: { [PROP.messageGroup]: 'x' } }))), Code.ILLEGAL_MESSAGE_PROPERTY_KEY);
  t.is(codeOf(() => parse(wire({ props: { 'a\nb': 'x' } }))), Code.ILLEGAL_MESSAGE_PROPERTY_KEY);
  t.is(codeOf(() => parse(wire({ sys: { message_id: '' } }))), Code.ILLEGAL_MESSAGE_ID);
  t.is(codeOf(() => parse(wire({ topic: 'no spaces' }))), Code.ILLEGAL_TOPIC);
  t.is(codeOf(() => parse(wire({ topic: '' }))), Code.ILLEGAL_TOPIC);
  t.is(codeOf(() => parse(wire({ sys: { message_group: '' } }))), Code.ILLEGAL_MESSAGE_GROUP);
  t.is(codeOf(() => parse(wire({ sys: { message_group: 'g'.repeat(65) } }))), Code.ILLEGAL_MESSAGE_GROUP);
  t.is(
    codeOf(() => parse(wire({ sys: { message_group: 'g', delivery_timestamp: { seconds: NOW / 1000 + 5, nanos: 0 } } }))),
    Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE,
  );
  t.is(codeOf(() => parse(wire({ sys: { message_type: MessageType.FIFO } }))), Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE);
  t.is(codeOf(() => parse(wire({ sys: { message_type: MessageType.TRANSACTION } }))), undefined);
});

test('conversion - body and property sizes are bounded', (t) => {
  t.is(codeOf(() => parse(wire({ body: Buffer.alloc(0) }))), Code.MESSAGE_BODY_EMPTY);
  const limits = { ...DEFAULT_MESSAGE_LIMITS, maxBodySize: 10 };
  t.is(codeOf(() => parseInboundMessage(wire({ body: Buffer.alloc(10, 1) }), '', limits)), undefined);
  t.is(codeOf(() => parseInboundMessage(wire({ body: Buffer.alloc(11, 1) }), '', limits)), Code.MESSAGE_BODY_TOO_LARGE);
  // A gzip body is measured inflated.
  t.is(codeOf(() => parseInboundMessage(wire({ body: gzipSync(Buffer.alloc(1000)), sys: { body_encoding: 2 } }), '', limits)), Code.MESSAGE_BODY_TOO_LARGE);
  t.is(parseInboundMessage(wire({ body: gzipSync(Buffer.from('hi')), sys: { body_encoding: 2 } }), '', limits).body.toString(), 'hi');
  t.is(codeOf(() => parse(wire({ body: Buffer.from('not gzip'), sys: { body_encoding: 2 } }))), Code.MESSAGE_CORRUPTED);
  const many: Record<string, string> = {};
  for (let i = 0; i < 129; i++) many[`p${i}`] = 'v';
  t.is(codeOf(() => parse(wire({ props: many }))), Code.MESSAGE_PROPERTIES_TOO_LARGE);
  t.is(codeOf(() => parse(wire({ props: { big: 'x'.repeat(16 * 1024) } }))), Code.MESSAGE_PROPERTIES_TOO_LARGE);
});

test('conversion - a namespace wraps the stored topic and is unwrapped on the way out', (t) => {
  t.is(wrapNamespace('ns1', 'orders'), 'ns1%orders');
  t.is(wrapNamespace('', 'orders'), 'orders');
  t.is(unwrapNamespace('ns1', 'ns1%orders'), 'orders');
  const inbound = parseInboundMessage(wire(), 'ns1', DEFAULT_MESSAGE_LIMITS);
  t.is(inbound.topic, 'ns1%orders');
  const out = toWireMessage(ext(toBrokerMessage(inbound, NOW, levels)), { receiptHandle: 'r', deliveryAttempt: 1, invisibleMs: 1 }, 'ns1');
  t.deepEqual(out.topic, { name: 'orders', resource_namespace: 'ns1' });
});

test('conversion - petrelmq client messages parse on the server side unchanged', (t) => {
  const id = newMessageId(NOW);
  t.regex(id, /^01[0-9A-F]{32}$/);
  t.not(newMessageId(NOW), id);
  const w = toOutgoingWire({ topic: 'orders', body: Buffer.from('x'), tag: 'T', keys: ['k'], properties: { a: 'b' }, messageGroup: 'g' }, '', 'host', NOW);
  const send = messagingServiceDefinition()['SendMessage'];
  if (send === undefined) throw new Error('no SendMessage');
  const decoded = send.requestDeserialize(send.requestSerialize({ messages: [w] })) as { messages: unknown[] };
  const inbound = parse(decoded.messages[0]);
  t.like(inbound, { topic: 'orders', tag: 'T', messageGroup: 'g', messageType: MessageType.FIFO, bornHost: 'host' });
  t.deepEqual(inbound.keys, ['k']);
  t.is(inbound.body.toString(), 'x');
});
