import test from 'ava';
import { ConsumeResult, Producer, PushConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { closeAfter, quietLogger, sleep, startEndpoint } from './harness.js';
import { until } from '../helpers/broker.js';

async function producerFor(t: Parameters<typeof closeAfter>[0], address: string, topic: string): Promise<Producer> {
  const producer = new Producer({ endpoints: address, namespace: '', logger: quietLogger, topic });
  closeAfter(t, producer);
  await producer.startup();
  return producer;
}

async function pushConsumer(
  t: Parameters<typeof closeAfter>[0],
  address: string,
  group: string,
  topic: string,
  consume: (m: MessageView) => ConsumeResult,
): Promise<PushConsumer> {
  const consumer = new PushConsumer({
    endpoints: address,
    namespace: '',
    logger: quietLogger,
    consumerGroup: group,
    subscriptions: new Map([[topic, '*']]),
    messageListener: { consume: async (m: MessageView) => consume(m) },
  });
  closeAfter(t, consumer);
  await consumer.startup();
  return consumer;
}

test('official push consumer - every message sent is consumed, and the group offset covers them all', async (t) => {
  const { address, broker } = await startEndpoint(t);
  const producer = await producerFor(t, address, 'PushAll');
  const sent = new Set<string>();
  for (let i = 0; i < 40; i++) sent.add((await producer.send({ topic: 'PushAll', body: Buffer.from(`m${i}`) })).messageId);
  const seen = new Map<string, number>();
  await pushConsumer(t, address, 'g-push', 'PushAll', (m) => {
    seen.set(m.messageId, (seen.get(m.messageId) ?? 0) + 1);
    return ConsumeResult.SUCCESS;
  });
  await until(() => seen.size >= sent.size, 20_000, 'all 40 messages consumed');
  t.deepEqual([...seen.keys()].sort(), [...sent].sort());
  t.true([...seen.values()].every((n) => n === 1));
  let total = 0;
  await until(
    async () => {
      total = 0;
      for (let q = 0; q < 8; q++) total += Math.max(0, await broker.queryOffset('g-push', 'PushAll', q));
      return total === 40;
    },
    5_000,
    'committed offsets past all 40 acked messages',
  );
  t.is(total, 40);
});

test('official push consumer - a failed message is delivered again with a higher attempt', async (t) => {
  const { address } = await startEndpoint(t);
  const producer = await producerFor(t, address, 'PushRetry');
  const { messageId } = await producer.send({ topic: 'PushRetry', body: Buffer.from('flaky') });
  const attempts: number[] = [];
  await pushConsumer(t, address, 'g-push-retry', 'PushRetry', (m) => {
    if (m.messageId === messageId) attempts.push(m.deliveryAttempt ?? 0);
    return attempts.length < 3 ? ConsumeResult.FAILURE : ConsumeResult.SUCCESS;
  });
  await until(() => attempts.length >= 3, 15_000, 'three deliveries');
  t.deepEqual(attempts.slice(0, 3), [1, 2, 3]);
  await sleep(1500);
  t.is(attempts.length, 3, 'consumed successfully: not delivered again');
});

test('official push consumer - past the group max attempts a message goes to %DLQ%<group>', async (t) => {
  const { address, broker } = await startEndpoint(t, {}, { groups: { 'g-dlq': { maxDeliveryAttempts: 2 } } });
  const producer = await producerFor(t, address, 'PushDlq');
  await producer.send({ topic: 'PushDlq', body: Buffer.from('poison') });
  let deliveries = 0;
  await pushConsumer(t, address, 'g-dlq', 'PushDlq', () => {
    deliveries++;
    return ConsumeResult.FAILURE;
  });
  await until(async () => (await broker.getTopic('%DLQ%g-dlq')) !== undefined && (await broker.maxOffset('%DLQ%g-dlq', 0)) === 1, 15_000, 'the DLQ copy');
  const [dead] = (await broker.pull({ group: 'inspect', topic: '%DLQ%g-dlq', queueId: 0, offset: 0, maxMsgNums: 1 })).messages;
  t.is(dead === undefined ? '' : Buffer.from(dead.body).toString(), 'poison');
  t.is(dead?.properties['RETRY_TOPIC'], 'PushDlq');
  await sleep(1000);
  t.is(deliveries, 2);
});

test('official push consumer - a FIFO group gets each message group in send order', async (t) => {
  const { address } = await startEndpoint(t, {}, { groups: { 'g-fifo': { fifo: true } } });
  const producer = await producerFor(t, address, 'PushFifo');
  for (let i = 0; i < 30; i++) await producer.send({ topic: 'PushFifo', messageGroup: `order-${i % 3}`, body: Buffer.from(String(i)) });
  const byGroup = new Map<string, number[]>();
  let failedOnce = false;
  await pushConsumer(t, address, 'g-fifo', 'PushFifo', (m) => {
    const n = Number(m.body.toString());
    // One failure in the middle: FIFO retries it in place before anything after it.
    if (n === 10 && !failedOnce) {
      failedOnce = true;
      return ConsumeResult.FAILURE;
    }
    const list = byGroup.get(m.messageGroup ?? '') ?? [];
    list.push(n);
    byGroup.set(m.messageGroup ?? '', list);
    return ConsumeResult.SUCCESS;
  });
  await until(() => [...byGroup.values()].reduce((a, l) => a + l.length, 0) >= 30, 20_000, 'all 30 FIFO messages');
  for (let g = 0; g < 3; g++) {
    const expected = Array.from({ length: 10 }, (_, i) => i * 3 + g);
    t.deepEqual(byGroup.get(`order-${g}`), expected, `order-${g} in send order`);
  }
});
