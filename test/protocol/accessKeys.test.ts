import test from 'ava';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { Code } from '../../protocol/wire.js';
import { closeAfter, quietLogger, repeatUntil, startEndpoint } from './harness.js';
import { RawRpc, statusCode } from './rawRpc.js';

const acl = {
  accounts: [
    { accessKey: 'app', secretKey: 'app-secret-1', defaultTopicPerm: 'DENY' as const, topicPerms: { Orders: 'PUB|SUB' as const, Audit: 'SUB' as const } },
  ],
};
const good = { accessKey: 'app', accessSecret: 'app-secret-1' };

test('access keys - the official client with the right key produces and consumes', async (t) => {
  const { address } = await startEndpoint(t, {}, { acl });
  const producer = new Producer({ endpoints: address, namespace: '', logger: quietLogger, topic: 'Orders', sessionCredentials: good });
  closeAfter(t, producer);
  await producer.startup();
  const { messageId } = await producer.send({ topic: 'Orders', body: Buffer.from('signed') });
  const consumer = new SimpleConsumer({
    endpoints: address,
    namespace: '',
    logger: quietLogger,
    sessionCredentials: good,
    consumerGroup: 'g-acl',
    subscriptions: new Map([['Orders', '*']]),
    awaitDuration: 1000,
  });
  closeAfter(t, consumer);
  await consumer.startup();
  const got: string[] = [];
  await repeatUntil(
    async () => {
      for (const m of await consumer.receive(8, 10_000)) {
        got.push(m.messageId);
        await consumer.ack(m);
      }
    },
    () => got.length > 0,
    10_000,
    'the signed message',
  );
  t.deepEqual(got, [messageId]);
});

test('access keys - a wrong secret fails startup with UNAUTHORIZED and stores nothing', async (t) => {
  const h = await startEndpoint(t, {}, { acl });
  const producer = new Producer({
    endpoints: h.address,
    namespace: '',
    logger: quietLogger,
    topic: 'Orders',
    requestTimeout: 1000,
    sessionCredentials: { accessKey: 'app', accessSecret: 'not-the-secret' },
  });
  closeAfter(t, producer);
  await t.throwsAsync(producer.startup());
  const rpc = new RawRpc(h.address);
  t.teardown(() => rpc.close());
  const wrong = { accessKey: 'app', secretKey: 'not-the-secret' };
  const send = await rpc.unary('SendMessage', {
    messages: [{ topic: { name: 'Orders' }, system_properties: { message_id: 'X1', body_encoding: 1 }, body: Buffer.from('no') }],
  }, { credentials: wrong });
  t.is(statusCode(send), Code.UNAUTHORIZED);
  const unsigned = await rpc.unary('QueryRoute', { topic: { name: 'Orders' } });
  t.is(statusCode(unsigned), Code.UNAUTHORIZED);
  // No side effect: the topic was never even created.
  t.is(await h.broker.getTopic('Orders'), undefined);
  const telemetry = await rpc.telemetryOnce({ settings: { client_type: 1 } }, { credentials: wrong });
  t.is(statusCode(telemetry), Code.UNAUTHORIZED);
});

test('access keys - a topic the key may not use is FORBIDDEN', async (t) => {
  const h = await startEndpoint(t, {}, { acl });
  const rpc = new RawRpc(h.address);
  t.teardown(() => rpc.close());
  const creds = { accessKey: 'app', secretKey: 'app-secret-1' };
  const message = (topic: string): object => ({ topic: { name: topic }, system_properties: { message_id: 'X2', body_encoding: 1 }, body: Buffer.from('x') });
  t.is(statusCode(await rpc.unary('SendMessage', { messages: [message('Audit')] }, { credentials: creds })), Code.FORBIDDEN);
  t.is(statusCode(await rpc.unary('SendMessage', { messages: [message('Secret')] }, { credentials: creds })), Code.FORBIDDEN);
  t.is(statusCode(await rpc.unary('QueryRoute', { topic: { name: 'Secret' } }, { credentials: creds })), Code.FORBIDDEN);
  t.is(statusCode(await rpc.unary('QueryRoute', { topic: { name: 'Audit' } }, { credentials: creds })), Code.OK);
  t.is(statusCode(await rpc.unary('SendMessage', { messages: [message('Orders')] }, { credentials: creds })), Code.OK);
  const consumer = new SimpleConsumer({
    endpoints: h.address,
    namespace: '',
    logger: quietLogger,
    requestTimeout: 1000,
    sessionCredentials: good,
    consumerGroup: 'g-forbidden',
    subscriptions: new Map([['Secret', '*']]),
    awaitDuration: 1000,
  });
  closeAfter(t, consumer);
  await t.throwsAsync(consumer.startup());
});
