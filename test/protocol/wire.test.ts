import test from 'ava';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ClientType, Code } from '../../protocol/wire.js';
import { RawRpc, statusCode, type Rec } from './rawRpc.js';
import { startEndpoint, type Harness } from './harness.js';

function raw(t: Parameters<typeof startEndpoint>[0], address: string): RawRpc {
  const rpc = new RawRpc(address);
  t.teardown(() => rpc.close());
  return rpc;
}

const message = (topic: string, body: Buffer, id = '0102FC000000013DA20B17C55500000001'): object => ({
  topic: { name: topic },
  system_properties: { message_id: id, body_encoding: 1, message_type: 1, queue_id: 0 },
  body,
});

async function stored(h: Harness, topic: string): Promise<number> {
  const config = await h.broker.getTopic(topic);
  let n = 0;
  for (let q = 0; q < (config?.writeQueueNums ?? 0); q++) n += await h.broker.maxOffset(topic, q);
  return n;
}

async function stillServing(t: Parameters<typeof startEndpoint>[0], rpc: RawRpc): Promise<void> {
  const route = await rpc.unary('QueryRoute', { topic: { name: 'Alive' }, endpoints: { scheme: 1, addresses: [{ host: '127.0.0.1', port: 1 }] } });
  t.is(statusCode(route), Code.OK, 'the endpoint still serves');
}

test('endpoint wire - a route has queue 0 READ_WRITE, every message type and one advertised address', async (t) => {
  const h = await startEndpoint(t);
  const route = await raw(t, h.address).unary('QueryRoute', { topic: { name: 'RouteTopic' } });
  t.is(statusCode(route), Code.OK);
  const queues = route['message_queues'] as Rec[];
  t.is(queues.length, 8);
  const q0 = queues.find((q) => (q['id'] ?? 0) === 0);
  t.like(q0, { permission: 4, accept_message_types: [1, 2, 3, 4], broker: { name: 'broker-a', endpoints: { addresses: [{ host: '127.0.0.1', port: Number(h.address.split(':')[1]) }] } } });
});

test('endpoint wire - bytes that are not a protobuf message are refused and the server keeps serving', async (t) => {
  const h = await startEndpoint(t);
  const rpc = raw(t, h.address);
  const err = await t.throwsAsync<ServiceError>(rpc.unaryBytes('SendMessage', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
  t.not(err?.code, grpcStatus.OK);
  await stillServing(t, rpc);
});

test('endpoint wire - a body over maxBodySize gets MESSAGE_BODY_TOO_LARGE and nothing is stored', async (t) => {
  const h = await startEndpoint(t, {}, { maxBodySize: 1024 });
  const rpc = raw(t, h.address);
  const res = await rpc.unary('SendMessage', { messages: [message('Big', Buffer.alloc(1025, 1))] });
  t.is(statusCode(res), Code.MESSAGE_BODY_TOO_LARGE);
  t.is(statusCode((res['entries'] as Rec[])[0] ?? {}), Code.MESSAGE_BODY_TOO_LARGE);
  t.is(await stored(h, 'Big'), 0);
  const ok = await rpc.unary('SendMessage', { messages: [message('Big', Buffer.alloc(1024, 1))] });
  t.is(statusCode(ok), Code.OK);
  t.is(await stored(h, 'Big'), 1);
});

test('endpoint wire - a request over the receive limit is refused by gRPC and the server keeps serving', async (t) => {
  const h = await startEndpoint(t, {}, { maxBodySize: 1024 });
  const rpc = raw(t, h.address);
  const err = await t.throwsAsync<ServiceError>(rpc.unary('SendMessage', { messages: [message('Huge', Buffer.alloc(2 * 1024 * 1024, 1))] }));
  t.is(err?.code, grpcStatus.RESOURCE_EXHAUSTED);
  await stillServing(t, rpc);
});

test('endpoint wire - one entry per message, with the client message id; bad entries get their own status', async (t) => {
  const h = await startEndpoint(t);
  const rpc = raw(t, h.address);
  const res = await rpc.unary('SendMessage', {
    messages: [message('Mixed', Buffer.from('a'), 'ID-OK'), { ...message('Mixed', Buffer.from('b'), 'ID-BAD'), user_properties: { UNIQ_KEY: 'x' } }],
  });
  t.is(statusCode(res), Code.MULTIPLE_RESULTS);
  const entries = res['entries'] as Rec[];
  t.deepEqual(entries.map((e) => [e['message_id'], statusCode(e)]), [['ID-OK', Code.OK], ['ID-BAD', Code.ILLEGAL_MESSAGE_PROPERTY_KEY]]);
  t.is(statusCode(await rpc.unary('SendMessage', { messages: [] })), Code.BAD_REQUEST);
});

test('endpoint wire - unknown, forged and garbage receipt handles get INVALID_RECEIPT_HANDLE', async (t) => {
  const h = await startEndpoint(t);
  const rpc = raw(t, h.address);
  for (const handle of ['', 'nonsense', 'AQAAAAAAAAAAAAAAAAAAAAIAAgAAAaIQbHfyc3w_Zg04eNNHNjqsYQFGkg', 'x'.repeat(10_000)]) {
    const ack = await rpc.unary('AckMessage', { group: { name: 'g' }, topic: { name: 'T' }, entries: [{ message_id: 'm', receipt_handle: handle }] });
    t.is(statusCode(ack), Code.INVALID_RECEIPT_HANDLE);
    t.is(statusCode((ack['entries'] as Rec[])[0] ?? {}), Code.INVALID_RECEIPT_HANDLE);
    const change = await rpc.unary('ChangeInvisibleDuration', { group: { name: 'g' }, topic: { name: 'T' }, receipt_handle: handle, invisible_duration: { seconds: 1 } });
    t.is(statusCode(change), Code.INVALID_RECEIPT_HANDLE);
    const dlq = await rpc.unary('ForwardMessageToDeadLetterQueue', { group: { name: 'g' }, topic: { name: 'T' }, receipt_handle: handle });
    t.is(statusCode(dlq), Code.INVALID_RECEIPT_HANDLE);
  }
  await stillServing(t, rpc);
});

test('endpoint wire - a receive with nothing to deliver ends with MESSAGE_NOT_FOUND before its deadline', async (t) => {
  const h = await startEndpoint(t, {}, { longPollingTimeoutMs: 20_000 });
  const rpc = raw(t, h.address);
  await rpc.unary('QueryRoute', { topic: { name: 'Empty' } });
  const request = {
    group: { name: 'g-empty' },
    message_queue: { topic: { name: 'Empty' }, id: 0 },
    filter_expression: { type: 1, expression: '*' },
    batch_size: 16,
    invisible_duration: { seconds: 30 },
    long_polling_timeout: { seconds: 20 },
  };
  const { frames, endedAfterMs } = await rpc.stream('ReceiveMessage', request, { deadlineMs: 1500 });
  t.true(endedAfterMs < 1500, `ended after ${endedAfterMs} ms`);
  t.is(frames.length, 2);
  t.is(statusCode(frames[0] ?? {}), Code.MESSAGE_NOT_FOUND);
  t.truthy(frames[1]?.['delivery_timestamp']);
});

test('endpoint wire - a receive delivers status OK, one frame per message, then delivery_timestamp', async (t) => {
  const h = await startEndpoint(t);
  const rpc = raw(t, h.address);
  for (let i = 0; i < 3; i++) await rpc.unary('SendMessage', { messages: [message('Shape', Buffer.from(`m${i}`), `ID-${i}`)] });
  const { frames } = await rpc.stream('ReceiveMessage', {
    group: { name: 'g-shape' },
    message_queue: { topic: { name: 'Shape' }, id: 0 },
    filter_expression: { type: 1, expression: '*' },
    batch_size: 3,
    invisible_duration: { seconds: 30 },
    long_polling_timeout: { seconds: 1 },
  });
  // The pop may return before every queue was pulled: the first frame is a status, the last a time.
  t.is(statusCode(frames[0] ?? {}), Code.OK);
  t.truthy(frames[frames.length - 1]?.['delivery_timestamp']);
  const messages = frames.slice(1, -1).map((f) => f['message'] as Rec);
  t.true(messages.length >= 1);
  for (const m of messages) {
    const sys = m['system_properties'] as Rec;
    t.regex(String(sys['message_id']), /^ID-\d$/);
    t.like(sys, { delivery_attempt: 1, body_digest: { type: 2 } });
    t.regex(String((sys['body_digest'] as Rec)['checksum']), /^[0-9A-F]{32}$/);
    t.is(typeof sys['receipt_handle'], 'string');
  }
});

test('endpoint wire - bad receive requests get one status and an ended stream', async (t) => {
  const h = await startEndpoint(t);
  const rpc = raw(t, h.address);
  await rpc.unary('QueryRoute', { topic: { name: 'BadRecv' } });
  const base = { group: { name: 'g' }, message_queue: { topic: { name: 'BadRecv' }, id: 0 }, batch_size: 1, invisible_duration: { seconds: 30 } };
  const cases: [object, number][] = [
    [{ ...base, batch_size: 0 }, Code.BAD_REQUEST],
    [{ ...base, invisible_duration: { nanos: 1_000_000 } }, Code.ILLEGAL_INVISIBLE_TIME],
    [{ ...base, invisible_duration: undefined }, Code.ILLEGAL_INVISIBLE_TIME],
    [{ ...base, group: { name: '' } }, Code.ILLEGAL_CONSUMER_GROUP],
    [{ ...base, message_queue: { topic: { name: 'bad topic!' } } }, Code.ILLEGAL_TOPIC],
    [{ ...base, filter_expression: { type: 2, expression: 'a >' } }, Code.ILLEGAL_FILTER_EXPRESSION],
    [{ ...base, message_queue: { topic: { name: 'NeverCreated' } } }, Code.TOPIC_NOT_FOUND],
  ];
  for (const [request, code] of cases) {
    const { frames } = await rpc.stream('ReceiveMessage', request);
    t.is(frames.length, 1);
    t.is(statusCode(frames[0] ?? {}), code);
  }
});

test('endpoint wire - calls without x-mq-client-id, or with oversized metadata, are refused', async (t) => {
  const h = await startEndpoint(t);
  const rpc = raw(t, h.address);
  t.is(statusCode(await rpc.unary('QueryRoute', { topic: { name: 'T' } }, { clientId: '' })), Code.CLIENT_ID_REQUIRED);
  t.is(statusCode(await rpc.unary('QueryRoute', { topic: { name: 'T' } }, { extra: { 'x-pad': 'x'.repeat(9000) } })), Code.REQUEST_HEADER_FIELDS_TOO_LARGE);
  await stillServing(t, rpc);
});

test('endpoint wire - Heartbeat before Settings is UNRECOGNIZED_CLIENT_TYPE; termination is always OK', async (t) => {
  const h = await startEndpoint(t);
  const rpc = raw(t, h.address);
  t.is(statusCode(await rpc.unary('Heartbeat', { client_type: ClientType.PRODUCER }, { clientId: 'hb@1' })), Code.UNRECOGNIZED_CLIENT_TYPE);
  t.is(statusCode(await rpc.unary('NotifyClientTermination', {}, { clientId: 'nobody@1' })), Code.OK);
});

test('endpoint wire - Telemetry answers Settings, or a status-only command for a client it refuses', async (t) => {
  const h = await startEndpoint(t);
  const rpc = raw(t, h.address);
  const reply = await rpc.telemetryOnce({ settings: { client_type: ClientType.PRODUCER, publishing: { topics: [{ name: 'Tele' }] } } });
  t.is(statusCode(reply), Code.OK);
  t.like(reply['settings'], { publishing: { max_body_size: 4 * 1024 * 1024 }, backoff_policy: { max_attempts: 3 } });
  const refused = await rpc.telemetryOnce({ settings: { client_type: ClientType.PULL_CONSUMER } });
  t.is(statusCode(refused), Code.UNRECOGNIZED_CLIENT_TYPE);
  t.is(refused['settings'], undefined);
  const badFilter = await rpc.telemetryOnce({
    settings: { client_type: ClientType.SIMPLE_CONSUMER, subscription: { group: { name: 'g' }, subscriptions: [{ topic: { name: 'Tele' }, expression: { type: 2, expression: '((' } }] } },
  });
  t.is(statusCode(badFilter), Code.ILLEGAL_FILTER_EXPRESSION);
  await stillServing(t, rpc);
});

test('endpoint wire - ForwardMessageToDeadLetterQueue moves a delivered message to %DLQ%<group>', async (t) => {
  const h = await startEndpoint(t);
  const rpc = raw(t, h.address);
  await rpc.unary('SendMessage', { messages: [message('ToDlq', Buffer.from('dead'), 'ID-DLQ')] });
  let delivered: Rec | undefined;
  for (let i = 0; i < 10 && delivered === undefined; i++) {
    const { frames } = await rpc.stream('ReceiveMessage', {
      group: { name: 'g-dlq-rpc' },
      message_queue: { topic: { name: 'ToDlq' } },
      batch_size: 1,
      invisible_duration: { seconds: 30 },
      long_polling_timeout: { seconds: 1 },
    });
    delivered = frames.map((f) => f['message'] as Rec | undefined).find((m) => m !== undefined);
  }
  const sys = (delivered?.['system_properties'] ?? {}) as Rec;
  const forward = { group: { name: 'g-dlq-rpc' }, topic: { name: 'ToDlq' }, receipt_handle: sys['receipt_handle'], message_id: 'ID-DLQ', delivery_attempt: 1, max_delivery_attempts: 1 };
  t.is(statusCode(await rpc.unary('ForwardMessageToDeadLetterQueue', forward)), Code.OK);
  t.is(await h.broker.maxOffset('%DLQ%g-dlq-rpc', 0), 1);
  // Consumed for the group: the same handle cannot be acked or forwarded again.
  t.is(statusCode(await rpc.unary('ForwardMessageToDeadLetterQueue', forward)), Code.INVALID_RECEIPT_HANDLE);
  // Read back over gRPC, the DLQ copy names where it came from.
  const { frames } = await rpc.stream('ReceiveMessage', {
    group: { name: 'g-dlq-reader' },
    message_queue: { topic: { name: '%DLQ%g-dlq-rpc' } },
    batch_size: 1,
    invisible_duration: { seconds: 30 },
    long_polling_timeout: { seconds: 1 },
  });
  const copy = frames.map((f) => f['message'] as Rec | undefined).find((m) => m !== undefined);
  t.like(copy?.['system_properties'], { message_id: 'ID-DLQ', dead_letter_queue: { topic: 'ToDlq', message_id: 'ID-DLQ' } });
});
