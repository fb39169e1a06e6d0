/**
 * Offset resets while an official rocketmq-client-nodejs SimpleConsumer pops through the gRPC
 * endpoint: the endpoint's pop state adopts the reset (what it had pulled or handed out before is
 * dropped), receives continue from the reset offset, and acks of messages received before the
 * reset succeed without moving the committed offset back over it.
 */
import test from 'ava';
import { SimpleConsumer, type MessageView } from 'rocketmq-client-nodejs';
import type { Broker } from '../../actors/Broker.js';
import { body, until, untilQueued } from '../helpers/broker.js';
import { closeAfter, quietLogger, repeatUntil, startEndpoint } from './harness.js';

/** The broker's default file sizes: 1 GiB CommitLog files (sparse), 300,000-unit ConsumeQueues. */
const DEFAULTS = { mappedFileSizeCommitLog: 1 << 30, mappedFileSizeConsumeQueue: 300_000 * 20 } as const;

async function fill(broker: Broker, topic: string, from: number, to: number): Promise<void> {
  for (const q of [0, 1]) await broker.send(Array.from({ length: to - from }, (_, i) => ({ topic, body: body(`${q}-${from + i}`) })), q);
}

async function committed(broker: Broker, group: string, topic: string): Promise<number[]> {
  return [await broker.queryOffset(group, topic, 0), await broker.queryOffset(group, topic, 1)];
}

/** Queue and offset of a message, from its body ("queue-offset"). */
function where(m: MessageView): { queueId: number; offset: number } {
  const [q, o] = m.body.toString().split('-');
  return { queueId: Number(q), offset: Number(o) };
}

async function consumerFor(t: Parameters<typeof closeAfter>[0], address: string, group: string, topic: string): Promise<SimpleConsumer> {
  const consumer = new SimpleConsumer({ endpoints: address, namespace: '', logger: quietLogger, consumerGroup: group, subscriptions: new Map([[topic, '*']]), awaitDuration: 1000 });
  closeAfter(t, consumer);
  await consumer.startup();
  return consumer;
}

test('official offset reset - a reset to an earlier offset while a SimpleConsumer runs delivers again from there', async (t) => {
  const { broker, address } = await startEndpoint(t, DEFAULTS);
  await broker.createTopic({ topic: 'PopEarlier', readQueueNums: 2, writeQueueNums: 2 });
  await fill(broker, 'PopEarlier', 0, 20);
  await untilQueued(broker, 'PopEarlier', 40);
  const consumer = await consumerFor(t, address, 'g-pop-earlier', 'PopEarlier');
  let first = 0;
  await repeatUntil(
    async () => {
      for (const m of await consumer.receive(16, 10_000)) {
        await consumer.ack(m);
        first++;
      }
    },
    () => first >= 40,
    20_000,
    'all 40 messages once',
  );
  await until(async () => (await committed(broker, 'g-pop-earlier', 'PopEarlier')).join() === '20,20', 10_000, 'everything committed');

  const result = await broker.resetOffset({ group: 'g-pop-earlier', topic: 'PopEarlier', target: { type: 'OFFSET', offset: 5 } });
  t.deepEqual(result.queues.map((q) => [q.queueId, q.oldOffset, q.newOffset]), [[0, 20, 5], [1, 20, 5]]);
  t.deepEqual(await committed(broker, 'g-pop-earlier', 'PopEarlier'), [5, 5]);

  const again = new Set<string>();
  const early: string[] = [];
  await repeatUntil(
    async () => {
      for (const m of await consumer.receive(16, 10_000)) {
        const w = where(m);
        if (w.offset < 5) early.push(m.body.toString());
        again.add(`${w.queueId}-${w.offset}`);
        await consumer.ack(m);
      }
    },
    () => again.size >= 30,
    20_000,
    'offsets 5..19 of both queues delivered again',
  );
  t.deepEqual(early, [], 'nothing before the reset offset');
  await until(async () => (await committed(broker, 'g-pop-earlier', 'PopEarlier')).join() === '20,20', 10_000, 'committed to the end again');
});

test('official offset reset - a reset to the latest offset sticks: acks from before it do not move the offset back, and nothing older is delivered', async (t) => {
  const { broker, address } = await startEndpoint(t);
  await broker.createTopic({ topic: 'PopLater', readQueueNums: 2, writeQueueNums: 2 });
  await fill(broker, 'PopLater', 0, 30);
  await untilQueued(broker, 'PopLater', 60);
  const consumer = await consumerFor(t, address, 'g-pop-later', 'PopLater');
  // Messages received and not acked yet when the reset comes; more are pulled and buffered.
  const held: MessageView[] = [];
  await repeatUntil(
    async () => {
      held.push(...(await consumer.receive(4, 10_000)));
    },
    () => held.length >= 8,
    20_000,
    'eight messages in hand',
  );

  await broker.resetOffsetToLatest('g-pop-later', 'PopLater');
  t.deepEqual(await committed(broker, 'g-pop-later', 'PopLater'), [30, 30]);
  for (const m of held) await consumer.ack(m);
  await fill(broker, 'PopLater', 30, 31);

  const after: { queueId: number; offset: number }[] = [];
  await repeatUntil(
    async () => {
      for (const m of await consumer.receive(16, 10_000)) {
        after.push(where(m));
        await consumer.ack(m);
      }
    },
    () => [0, 1].every((q) => after.some((w) => w.queueId === q && w.offset === 30)),
    20_000,
    'offset 30 of both queues received',
  );
  t.deepEqual(after.filter((w) => w.offset < 30), [], 'nothing from before the reset is delivered after it');
  await until(async () => (await committed(broker, 'g-pop-later', 'PopLater')).join() === '31,31', 10_000, 'committed past the new messages');
});
