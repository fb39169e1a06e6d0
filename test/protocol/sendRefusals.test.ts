import test from 'ava';
import { Code } from '../../protocol/wire.js';
import { untilQueued } from '../helpers/broker.js';
import { startEndpoint } from './harness.js';
import { RawRpc, statusCode, type Rec } from './rawRpc.js';

let n = 0;
const message = (topic: string, messageType?: number): object => ({
  topic: { name: topic },
  system_properties: { message_id: `REFUSED${n++}`, body_encoding: 1, ...(messageType === undefined ? {} : { message_type: messageType }) },
  body: Buffer.from('x'),
});

function entryCode(r: Rec): number | undefined {
  const [entry] = (r['entries'] ?? []) as Rec[];
  return entry === undefined ? undefined : statusCode(entry);
}

test('send refusals - gRPC sends into topics only the broker writes are FORBIDDEN and store nothing', async (t) => {
  const { broker, address } = await startEndpoint(t);
  const rpc = new RawRpc(address);
  t.teardown(() => rpc.close());
  const scheduleBefore = await broker.maxOffset('SCHEDULE_TOPIC_XXXX', 0);
  for (const topic of ['SCHEDULE_TOPIC_XXXX', '%RETRY%orders-group', '%DLQ%orders-group', 'RMQ_SYS_TRANS_HALF_TOPIC']) {
    for (const type of [1, 4]) {
      const r = await rpc.unary('SendMessage', { messages: [message(topic, type)] });
      t.is(statusCode(r), Code.FORBIDDEN, `${topic}, message type ${type}`);
      t.is(entryCode(r), Code.FORBIDDEN, `${topic}, message type ${type}`);
    }
  }
  t.is(await broker.getTopic('%RETRY%orders-group'), undefined, 'no retry topic was made');
  t.is(await broker.getTopic('RMQ_SYS_TRANS_HALF_TOPIC'), undefined, 'no half topic was made');
  t.is(await broker.maxOffset('SCHEDULE_TOPIC_XXXX', 0), scheduleBefore);

  // The broker keeps taking ordinary sends.
  t.is(statusCode(await rpc.unary('SendMessage', { messages: [message('Orders', 1)] })), Code.OK);
  await untilQueued(broker, 'Orders', 1);
});

test('send refusals - a gRPC message_type the protocol does not define is a BAD_REQUEST and nothing is stored', async (t) => {
  const { broker, address } = await startEndpoint(t);
  await broker.createTopic({ topic: 'Typed', readQueueNums: 1, writeQueueNums: 1 });
  const rpc = new RawRpc(address);
  t.teardown(() => rpc.close());
  const r = await rpc.unary('SendMessage', { messages: [message('Typed', 99)] });
  t.is(statusCode(r), Code.BAD_REQUEST);
  t.is(entryCode(r), Code.BAD_REQUEST);
  t.is(statusCode(await rpc.unary('SendMessage', { messages: [message('Typed', 1)] })), Code.OK);
  await untilQueued(broker, 'Typed', 1);
  t.is(await broker.maxOffset('Typed', 0), 1, 'only the well-typed message was stored');
});

test('send refusals - the embedded API refuses the same topics with ERR_NO_PERMISSION', async (t) => {
  const { broker } = await startEndpoint(t);
  for (const topic of ['SCHEDULE_TOPIC_XXXX', '%RETRY%g', '%DLQ%g', 'RMQ_SYS_TRANS_HALF_TOPIC']) {
    const err = await t.throwsAsync(broker.send([{ topic, body: Buffer.from('x') }]));
    t.is((err as { code?: string } | undefined)?.code, 'ERR_NO_PERMISSION', topic);
  }
});
