import test from 'ava';
import { Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { closeAfter, quietLogger, repeatUntil, sleep, startEndpoint } from './harness.js';

const COMMIT = 1;
const ROLLBACK = 2;

async function consumeFor(t: Parameters<typeof closeAfter>[0], address: string, topic: string, ms: number): Promise<string[]> {
  const consumer = new SimpleConsumer({ endpoints: address, namespace: '', logger: quietLogger, consumerGroup: `g-${topic}`, subscriptions: new Map([[topic, '*']]), awaitDuration: 1000 });
  closeAfter(t, consumer);
  await consumer.startup();
  const bodies: string[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    for (const m of await consumer.receive(16, 10_000)) {
      bodies.push(m.body.toString());
      await consumer.ack(m);
    }
  }
  return bodies.sort();
}

test('official transactions - a committed half message is delivered, a rolled back one never', async (t) => {
  const { address } = await startEndpoint(t);
  const producer = new Producer({ endpoints: address, namespace: '', logger: quietLogger, topic: 'TxTopic', checker: { check: async () => COMMIT } });
  closeAfter(t, producer);
  await producer.startup();
  const committed = producer.beginTransaction();
  const receipt = await producer.send({ topic: 'TxTopic', body: Buffer.from('commit-me') }, committed);
  t.truthy(receipt.transactionId);
  const rolledBack = producer.beginTransaction();
  await producer.send({ topic: 'TxTopic', body: Buffer.from('roll-me-back') }, rolledBack);
  // Half messages are invisible until resolved.
  t.deepEqual(await consumeFor(t, address, 'TxTopic', 1200), []);
  await committed.commit();
  await rolledBack.rollback();
  let got: string[] = [];
  await repeatUntil(async () => void (got = got.concat(await consumeFor(t, address, 'TxTopic', 1200))), () => got.length > 0, 10_000, 'the committed message');
  t.deepEqual(got, ['commit-me']);
});

test('official transactions - an orphaned half message is resolved through the producer checker', async (t) => {
  const { address } = await startEndpoint(t, {}, { transactions: { checkAfterMs: 300, checkIntervalMs: 300 } });
  const checked: string[] = [];
  const producer = new Producer({
    endpoints: address,
    namespace: '',
    logger: quietLogger,
    topic: 'TxOrphan',
    checker: {
      check: async (m: MessageView) => {
        checked.push(m.body.toString());
        return m.body.toString() === 'keep' ? COMMIT : ROLLBACK;
      },
    },
  });
  closeAfter(t, producer);
  await producer.startup();
  await producer.send({ topic: 'TxOrphan', body: Buffer.from('keep') }, producer.beginTransaction());
  await producer.send({ topic: 'TxOrphan', body: Buffer.from('drop') }, producer.beginTransaction());
  // Never committed by the application: the endpoint asks the checker.
  await repeatUntil(() => sleep(100), () => checked.length >= 2, 10_000, 'two checks');
  t.deepEqual([...checked].sort(), ['drop', 'keep']);
  let got: string[] = [];
  await repeatUntil(async () => void (got = got.concat(await consumeFor(t, address, 'TxOrphan', 1200))), () => got.length > 0, 10_000, 'the kept message');
  t.deepEqual(got, ['keep']);
});
