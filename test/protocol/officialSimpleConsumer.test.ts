import test from 'ava';
import { FilterExpression, Producer, SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { closeAfter, quietLogger, repeatUntil, sleep, startEndpoint, type Harness } from './harness.js';

const SQL92 = 2;

async function producerFor(t: Parameters<typeof closeAfter>[0], address: string, topic: string): Promise<Producer> {
  const producer = new Producer({ endpoints: address, namespace: '', logger: quietLogger, topic });
  closeAfter(t, producer);
  await producer.startup();
  return producer;
}

async function consumerFor(
  t: Parameters<typeof closeAfter>[0],
  address: string,
  group: string,
  topic: string,
  filter: FilterExpression | string,
): Promise<SimpleConsumer> {
  const consumer = new SimpleConsumer({
    endpoints: address,
    namespace: '',
    logger: quietLogger,
    consumerGroup: group,
    subscriptions: new Map([[topic, filter]]),
    awaitDuration: 1000,
  });
  closeAfter(t, consumer);
  await consumer.startup();
  return consumer;
}

test('official simple consumer - every message sent is received once acked, and never again', async (t) => {
  const { address } = await startEndpoint(t);
  const producer = await producerFor(t, address, 'SimpleAll');
  const sent = new Map<string, string>();
  for (let i = 0; i < 30; i++) {
    const receipt = await producer.send({ topic: 'SimpleAll', tag: i % 2 === 0 ? 'even' : 'odd', keys: [`k${i}`], body: Buffer.from(`m${i}`) });
    sent.set(receipt.messageId, `m${i}`);
  }
  const consumer = await consumerFor(t, address, 'g-all', 'SimpleAll', '*');
  const received = new Map<string, string>();
  await repeatUntil(
    async () => {
      for (const m of await consumer.receive(16, 10_000)) {
        t.not(m.corrupted, true);
        t.false(received.has(m.messageId), `delivered twice before its invisible time: ${m.messageId}`);
        received.set(m.messageId, m.body.toString());
        await consumer.ack(m);
      }
    },
    () => received.size >= sent.size,
    20_000,
    'all 30 messages',
  );
  t.deepEqual([...received].sort(), [...sent].sort());
  // Acked: nothing comes back, even after the invisible time would have passed.
  await sleep(700);
  t.deepEqual(await consumer.receive(16, 10_000), []);
});

test('official simple consumer - a tag filter delivers only its tags', async (t) => {
  const { address } = await startEndpoint(t);
  const producer = await producerFor(t, address, 'SimpleTags');
  for (let i = 0; i < 12; i++) await producer.send({ topic: 'SimpleTags', tag: ['A', 'B', 'C'][i % 3] ?? 'A', body: Buffer.from(`m${i}`) });
  const consumer = await consumerFor(t, address, 'g-tags', 'SimpleTags', new FilterExpression('A||C'));
  const tags: string[] = [];
  await repeatUntil(
    async () => {
      for (const m of await consumer.receive(16, 10_000)) {
        tags.push(m.tag ?? '');
        await consumer.ack(m);
      }
    },
    () => tags.length >= 8,
    15_000,
    '8 messages tagged A or C',
  );
  t.is(tags.length, 8);
  t.true(tags.every((tag) => tag === 'A' || tag === 'C'));
  t.deepEqual(await consumer.receive(16, 10_000), []);
});

test('official simple consumer - a SQL92 filter is evaluated on user properties', async (t) => {
  const { address } = await startEndpoint(t);
  const producer = await producerFor(t, address, 'SimpleSql');
  for (let i = 0; i < 10; i++) {
    await producer.send({ topic: 'SimpleSql', tag: 'T', body: Buffer.from(`m${i}`), properties: new Map([['n', String(i)], ['region', i % 2 ? 'eu' : 'us']]) });
  }
  const consumer = await consumerFor(t, address, 'g-sql', 'SimpleSql', new FilterExpression("n >= 4 AND region = 'eu'", SQL92));
  const got: string[] = [];
  await repeatUntil(
    async () => {
      for (const m of await consumer.receive(16, 10_000)) {
        got.push(m.properties.get('n') ?? '?');
        await consumer.ack(m);
      }
    },
    () => got.length >= 3,
    15_000,
    'messages 5, 7, 9',
  );
  t.deepEqual(got.sort(), ['5', '7', '9']);
  t.deepEqual(await consumer.receive(16, 10_000), []);
});

async function committed(broker: Harness['broker'], group: string, topic: string): Promise<number> {
  let total = 0;
  for (let q = 0; q < 8; q++) total += Math.max(0, await broker.queryOffset(group, topic, q));
  return total;
}

test('official simple consumer - an unacked message comes back with a higher delivery attempt', async (t) => {
  const { address, broker } = await startEndpoint(t);
  const producer = await producerFor(t, address, 'SimpleRetry');
  const { messageId } = await producer.send({ topic: 'SimpleRetry', body: Buffer.from('again') });
  const consumer = await consumerFor(t, address, 'g-retry', 'SimpleRetry', '*');
  let first: MessageView | undefined;
  await repeatUntil(async () => void (first = (await consumer.receive(1, 2500))[0]), () => first !== undefined, 10_000, 'first delivery');
  t.is(first?.messageId, messageId);
  t.is(first?.deliveryAttempt, 1);
  // Not acked: invisible for 2.5 s (a receive long-polls 1 s), then delivered again.
  t.deepEqual(await consumer.receive(1, 2500), []);
  let second: MessageView | undefined;
  await repeatUntil(async () => void (second = (await consumer.receive(1, 5000))[0]), () => second !== undefined, 10_000, 'redelivery');
  t.is(second?.messageId, messageId);
  t.is(second?.deliveryAttempt, 2);
  // The first delivery's handle is stale now.
  const err = await t.throwsAsync(consumer.ack(first as MessageView));
  t.is((err as Error & { code?: number }).code, 40013);
  // The group's offset has not moved past the unacked message; the ack moves it.
  t.is(await committed(broker, 'g-retry', 'SimpleRetry'), 0);
  await consumer.ack(second as MessageView);
  await sleep(50);
  t.is(await committed(broker, 'g-retry', 'SimpleRetry'), 1);
});

test('official simple consumer - changeInvisibleDuration gives a usable handle; 0 makes it visible now', async (t) => {
  const { address } = await startEndpoint(t);
  const producer = await producerFor(t, address, 'SimpleInvisible');
  await producer.send({ topic: 'SimpleInvisible', body: Buffer.from('x') });
  const consumer = await consumerFor(t, address, 'g-inv', 'SimpleInvisible', '*');
  let m: MessageView | undefined;
  await repeatUntil(async () => void (m = (await consumer.receive(1, 60_000))[0]), () => m !== undefined, 10_000, 'delivery');
  if (m === undefined) return;
  const oldHandle = m.receiptHandle;
  await consumer.changeInvisibleDuration(m, 0);
  t.not(m.receiptHandle, oldHandle);
  let again: MessageView | undefined;
  await repeatUntil(async () => void (again = (await consumer.receive(1, 60_000))[0]), () => again !== undefined, 5_000, 'visible again');
  t.is(again?.messageId, m.messageId);
  t.is(again?.deliveryAttempt, 2);
  if (again === undefined) return;
  // Extending keeps it invisible, and the returned handle acks it.
  await consumer.changeInvisibleDuration(again, 60_000);
  t.deepEqual(await consumer.receive(1, 60_000), []);
  await consumer.ack(again);
});

test('official simple consumer - a delay message arrives no earlier than asked, with its delivery timestamp', async (t) => {
  const { address } = await startEndpoint(t);
  const producer = await producerFor(t, address, 'SimpleDelay');
  const sentAt = Date.now();
  const { messageId } = await producer.send({ topic: 'SimpleDelay', body: Buffer.from('later'), delay: 900 });
  const consumer = await consumerFor(t, address, 'g-delay', 'SimpleDelay', '*');
  let m: MessageView | undefined;
  await repeatUntil(async () => void (m = (await consumer.receive(1, 10_000))[0]), () => m !== undefined, 15_000, 'the delayed message');
  t.is(m?.messageId, messageId);
  t.true(Date.now() - sentAt >= 900);
  t.true((m?.deliveryTimestamp?.getTime() ?? 0) >= sentAt + 900);
  if (m !== undefined) await consumer.ack(m);
});

test('official simple consumer - FIFO messages of one group come in send order', async (t) => {
  const { address } = await startEndpoint(t, {}, { groups: { 'g-simple-fifo': { fifo: true } } });
  const producer = await producerFor(t, address, 'SimpleFifo');
  for (let i = 0; i < 8; i++) await producer.send({ topic: 'SimpleFifo', messageGroup: 'one', body: Buffer.from(String(i)) });
  const consumer = await consumerFor(t, address, 'g-simple-fifo', 'SimpleFifo', '*');
  const order: string[] = [];
  await repeatUntil(
    async () => {
      for (const m of await consumer.receive(3, 10_000)) {
        t.is(m.messageGroup, 'one');
        order.push(m.body.toString());
        await consumer.ack(m);
      }
    },
    () => order.length >= 8,
    15_000,
    'eight FIFO messages',
  );
  t.deepEqual(order, ['0', '1', '2', '3', '4', '5', '6', '7']);
});
