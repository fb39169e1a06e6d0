import test from 'ava';
import { BroadcastChannel } from 'node:worker_threads';
import { Producer } from '../../client/Producer.js';
import { PushConsumer } from '../../client/PushConsumer.js';
import type { MessageExt } from '../../api/BrokerApi.js';
import { isPetrelError } from '../../common/errors.js';
import { body, startBroker, text, until } from '../helpers/broker.js';

async function producer(t: Parameters<typeof startBroker>[0], broker: Awaited<ReturnType<typeof startBroker>>, group = 'pg'): Promise<Producer> {
  const p = new Producer({ groupName: group, instanceName: `i${Math.random()}`, broker });
  await p.start();
  t.teardown(() => p.shutdown());
  return p;
}

function consumer(t: Parameters<typeof startBroker>[0], opts: ConstructorParameters<typeof PushConsumer>[0]): PushConsumer {
  const c = new PushConsumer({ consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 200, ...opts });
  t.teardown(() => c.shutdown());
  return c;
}

test('pushConsumer - every message produced is consumed once, across queues', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'E2E', readQueueNums: 4, writeQueueNums: 4 });
  const p = await producer(t, broker);
  const seen = new Map<string, number>();
  const c = consumer(t, { groupName: 'cg', broker });
  c.subscribe('E2E', '*');
  c.registerMessageListener((msgs) => {
    for (const m of msgs) seen.set(text(m.body), (seen.get(text(m.body)) ?? 0) + 1);
    return 'CONSUME_SUCCESS';
  });
  await c.start();
  await Promise.all(Array.from({ length: 400 }, (_, i) => p.send({ topic: 'E2E', body: body(`m${i}`) })));
  await until(() => seen.size === 400, 10_000, '400 messages');
  t.true([...seen.values()].every((n) => n === 1));
});

test('pushConsumer - a function listener never sees more than consumeThreadMax batches nor consumeMessageBatchMaxSize messages', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Bounds', readQueueNums: 8, writeQueueNums: 8 });
  const p = await producer(t, broker);
  await Promise.all(Array.from({ length: 800 }, (_, i) => p.send({ topic: 'Bounds', body: body(`m${i}`) })));
  let active = 0;
  let maxActive = 0;
  let maxBatch = 0;
  let total = 0;
  const c = consumer(t, { groupName: 'bounds', broker, consumeThreadMin: 1, consumeThreadMax: 3, consumeMessageBatchMaxSize: 5 });
  c.subscribe('Bounds', '*');
  c.registerMessageListener(async (msgs) => {
    active += 1;
    maxActive = Math.max(maxActive, active);
    maxBatch = Math.max(maxBatch, msgs.length);
    await new Promise((r) => setTimeout(r, 2));
    total += msgs.length;
    active -= 1;
    return 'CONSUME_SUCCESS' as const;
  });
  await c.start();
  await until(() => total >= 800, 20_000, '800 consumed');
  t.log(`highest concurrency ${maxActive}, largest batch ${maxBatch}`);
  t.true(maxActive <= 3 && maxActive >= 2);
  t.true(maxBatch <= 5 && maxBatch >= 2);
  t.is(c.stats.maxConcurrentBatches, maxActive);
});

test('pushConsumer - a module listener runs in a pool within consumeThreadMin..Max threads, batches bounded', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Pool', readQueueNums: 8, writeQueueNums: 8 });
  const p = await producer(t, broker);
  await Promise.all(Array.from({ length: 600 }, (_, i) => p.send({ topic: 'Pool', body: body(`m${i}`) })));
  const channel = new BroadcastChannel('petrelmq-test-listener');
  t.teardown(() => channel.close());
  const threads = new Set<number>();
  const offsets = new Set<string>();
  let maxBatch = 0;
  let active = 0;
  let maxActive = 0;
  channel.onmessage = (ev: unknown) => {
    const d = (ev as { data: { type: string; threadId: number; size?: number; offsets?: string[] } }).data;
    if (d.type === 'start') {
      active += 1;
      maxActive = Math.max(maxActive, active);
      threads.add(d.threadId);
      maxBatch = Math.max(maxBatch, d.size ?? 0);
      for (const o of d.offsets ?? []) offsets.add(o);
    } else active -= 1;
  };
  const c = consumer(t, { groupName: 'pool', broker, consumeThreadMin: 1, consumeThreadMax: 2, consumeMessageBatchMaxSize: 4 });
  c.subscribe('Pool', '*');
  c.registerMessageListener({ module: new URL('../fixtures/recordingListener.js', import.meta.url) });
  await c.start();
  await until(() => offsets.size === 600, 30_000, '600 consumed in the pool');
  t.log(`pool threads used ${threads.size}, highest concurrency ${maxActive}, largest batch ${maxBatch}, peak pool size ${c.stats.poolThreads}`);
  t.true(threads.size >= 1 && threads.size <= 2);
  t.true(maxActive <= 2);
  t.true(maxBatch <= 4 && maxBatch >= 2);
});

test('pushConsumer - consumers beyond the read-queue count get no queue and stay idle', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Few', readQueueNums: 2, writeQueueNums: 2 });
  const consumed = new Map<string, number>();
  const cs = Array.from({ length: 4 }, (_, i) => {
    const c = consumer(t, { groupName: 'few', broker, instanceName: `c${i}` });
    c.subscribe('Few', '*');
    c.registerMessageListener((msgs) => {
      consumed.set(`c${i}`, (consumed.get(`c${i}`) ?? 0) + msgs.length);
      return 'CONSUME_SUCCESS';
    });
    return c;
  });
  for (const c of cs) await c.start();
  await until(() => cs.filter((c) => c.assignedQueues().some((q) => q.topic === 'Few')).length === 2, 5000, 'two owners');
  const p = await producer(t, broker);
  for (let i = 0; i < 100; i++) await p.send({ topic: 'Few', body: body(`m${i}`) });
  await until(() => [...consumed.values()].reduce((a, b) => a + b, 0) === 100, 10_000, '100 consumed');
  const idle = cs.filter((c) => !c.assignedQueues().some((q) => q.topic === 'Few'));
  t.is(idle.length, 2);
  t.is(consumed.size, 2, 'only the two owners consumed');
});

test('pushConsumer - a joining and a leaving consumer trigger rebalances; queues are never owned twice once settled', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Reb', readQueueNums: 4, writeQueueNums: 4 });
  const mk = (name: string): PushConsumer => {
    const c = consumer(t, { groupName: 'reb', broker, instanceName: name });
    c.subscribe('Reb', '*');
    c.registerMessageListener(() => 'CONSUME_SUCCESS');
    return c;
  };
  const owned = (c: PushConsumer): number[] => c.assignedQueues().filter((q) => q.topic === 'Reb').map((q) => q.queueId).sort();
  const a = mk('a');
  await a.start();
  await until(() => owned(a).length === 4, 5000, 'a owns 4');
  const b = mk('b');
  await b.start();
  await until(() => owned(a).length === 2 && owned(b).length === 2, 5000, 'split 2/2');
  t.deepEqual([...owned(a), ...owned(b)].sort(), [0, 1, 2, 3]);
  await b.shutdown();
  await until(() => owned(a).length === 4, 5000, 'a owns 4 again');
  t.deepEqual(owned(a), [0, 1, 2, 3]);
});

test('pushConsumer - RECONSUME_LATER retries through %RETRY% with delay levels, then %DLQ% after maxReconsumeTimes', async (t) => {
  const broker = await startBroker(t, { messageDelayLevel: '50ms 50ms 50ms 50ms 50ms 50ms' });
  await broker.createTopic({ topic: 'Fail', readQueueNums: 1, writeQueueNums: 1 });
  const p = await producer(t, broker);
  const deliveries: { reconsumeTimes: number; topic: string }[] = [];
  const c = consumer(t, { groupName: 'failing', broker, maxReconsumeTimes: 2 });
  c.subscribe('Fail', '*');
  c.registerMessageListener((msgs) => {
    for (const m of msgs) deliveries.push({ reconsumeTimes: m.reconsumeTimes, topic: m.topic });
    return 'RECONSUME_LATER';
  });
  await c.start();
  const sent = await p.send({ topic: 'Fail', body: body('poison'), keys: ['k-poison'] });
  await until(async () => (await broker.maxOffset('%DLQ%failing', 0)) === 1, 15_000, 'DLQ holds the message');
  t.deepEqual(deliveries.map((d) => d.reconsumeTimes), [0, 1, 2]);
  t.true(deliveries.every((d) => d.topic === 'Fail'), 'retried messages show their original topic');
  const dlq = await broker.pull({ group: 'dlq-reader', topic: '%DLQ%failing', queueId: 0, offset: 0, maxMsgNums: 10 });
  t.is(dlq.messages.length, 1);
  t.is(dlq.messages[0]?.msgId, sent.msgId, 'the unique id survives retries');
  t.is(text(dlq.messages[0]?.body ?? new Uint8Array()), 'poison');
});

test('pushConsumer - without maxReconsumeTimes the group\'s retryMaxTimes on the broker decides when a message goes to %DLQ%', async (t) => {
  const broker = await startBroker(t, { messageDelayLevel: '50ms 50ms 50ms 50ms 50ms 50ms' });
  await broker.createTopic({ topic: 'FailGroup', readQueueNums: 1, writeQueueNums: 1 });
  await broker.updateSubscriptionGroup({ groupName: 'retry-once', retryMaxTimes: 1 });
  const p = await producer(t, broker);
  const deliveries: number[] = [];
  const c = consumer(t, { groupName: 'retry-once', broker });
  c.subscribe('FailGroup', '*');
  c.registerMessageListener((msgs) => {
    for (const m of msgs) deliveries.push(m.reconsumeTimes);
    return 'RECONSUME_LATER';
  });
  await c.start();
  await p.send({ topic: 'FailGroup', body: body('poison') });
  await until(async () => (await broker.maxOffset('%DLQ%retry-once', 0)) === 1, 15_000, 'DLQ holds the message');
  // retryMaxTimes 1: the first delivery and one retry, where the client default would have made 17
  t.deepEqual(deliveries, [0, 1]);
});

test('pushConsumer - tags: the broker matches hash codes, the consumer drops the colliding tag ("Aa" vs "BB")', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Tags', readQueueNums: 1, writeQueueNums: 1 });
  const p = await producer(t, broker);
  for (const tag of ['Aa', 'BB', 'Aa', 'Other', 'BB']) await p.send({ topic: 'Tags', body: body(tag), tags: tag });
  await p.send({ topic: 'Tags', body: body('none') });
  await until(async () => (await broker.maxOffset('Tags', 0)) === 6, 5000, 'all six dispatched');
  const pulled = await broker.pull({ group: 'raw', topic: 'Tags', queueId: 0, offset: 0, maxMsgNums: 32, filter: { type: 'TAG', expression: 'Aa' } });
  t.deepEqual(pulled.messages.map((m) => m.tags), ['Aa', 'BB', 'Aa', 'BB'], 'broker-side: hashes collide');
  const got: (string | undefined)[] = [];
  const c = consumer(t, { groupName: 'tagged', broker });
  c.subscribe('Tags', 'Aa || Missing');
  c.registerMessageListener((msgs) => {
    got.push(...msgs.map((m) => m.tags));
    return 'CONSUME_SUCCESS';
  });
  await c.start();
  await until(async () => (await broker.queryOffset('tagged', 'Tags', 0)) === 6, 5000, 'offset past all six');
  t.deepEqual(got, ['Aa', 'Aa']);
});

test('pushConsumer - lag is visible per queue and group; reset to latest and the skip policy clear it', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Lag', readQueueNums: 2, writeQueueNums: 2 });
  const p = await producer(t, broker);
  await broker.commitOffset('lagging', 'Lag', 0, 0);
  await broker.commitOffset('lagging', 'Lag', 1, 0);
  for (let i = 0; i < 60; i++) await p.send({ topic: 'Lag', body: body(`m${i}`) });
  await until(async () => (await broker.maxOffset('Lag', 0)) + (await broker.maxOffset('Lag', 1)) === 60, 5000, 'all 60 dispatched');
  const progress = await broker.consumerProgress('lagging');
  t.is(progress.totalLag, 60);
  t.deepEqual(progress.queues.map((q) => q.lag), [30, 30]);
  await broker.resetOffsetToLatest('lagging', 'Lag');
  t.is((await broker.consumerProgress('lagging')).totalLag, 0);

  await broker.commitOffset('skipper', 'Lag', 0, 0);
  await broker.commitOffset('skipper', 'Lag', 1, 0);
  let consumed = 0;
  const c = consumer(t, { groupName: 'skipper', broker, skipLagThreshold: 10 });
  c.subscribe('Lag', '*');
  c.registerMessageListener((msgs) => {
    consumed += msgs.length;
    return 'CONSUME_SUCCESS';
  });
  await c.start();
  await until(() => c.skippedMessages === 60, 5000, 'skip 60');
  t.is(consumed, 0);
  const lags = await c.lag();
  t.true(lags.every((l) => l.lag === 0));
});

test('pushConsumer - orderly consumption handles one queue at a time, in queue order', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Ordered', readQueueNums: 2, writeQueueNums: 2, order: true });
  const p = await producer(t, broker);
  for (let i = 0; i < 50; i++) {
    await p.send({ topic: 'Ordered', body: body(String(i)), keys: [`order-${i % 2}`] }, (qs, _m, key: number) => qs[key % qs.length] as (typeof qs)[number], i);
  }
  const perQueue = new Map<number, number[]>();
  const busy = new Set<number>();
  let overlap = false;
  let suspended = false;
  const c = consumer(t, { groupName: 'ordered', broker, consumeMessageBatchMaxSize: 3, suspendCurrentQueueTimeMillis: 20 });
  c.subscribe('Ordered', '*');
  c.registerMessageListener({
    orderly: async (msgs, ctx) => {
      const q = ctx.messageQueue.queueId;
      if (busy.has(q)) overlap = true;
      busy.add(q);
      await new Promise((r) => setTimeout(r, 1));
      busy.delete(q);
      if (!suspended && q === 0) {
        suspended = true;
        return 'SUSPEND_CURRENT_QUEUE_A_MOMENT';
      }
      perQueue.set(q, [...(perQueue.get(q) ?? []), ...msgs.map((m: MessageExt) => Number(text(m.body)))]);
      return 'SUCCESS';
    },
  });
  await c.start();
  await until(() => (perQueue.get(0)?.length ?? 0) + (perQueue.get(1)?.length ?? 0) === 50, 10_000, '50 in order');
  t.false(overlap);
  t.deepEqual(perQueue.get(0), Array.from({ length: 25 }, (_, i) => i * 2));
  t.deepEqual(perQueue.get(1), Array.from({ length: 25 }, (_, i) => i * 2 + 1));
});

test('pushConsumer - BROADCASTING hands every message to every consumer', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'News', readQueueNums: 2, writeQueueNums: 2 });
  const counts = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const c = consumer(t, { groupName: 'all', broker, messageModel: 'BROADCASTING', instanceName: `b${i}` });
    c.subscribe('News', '*');
    c.registerMessageListener((msgs) => {
      counts[i] = (counts[i] ?? 0) + msgs.length;
      return 'CONSUME_SUCCESS';
    });
    await c.start();
  }
  const p = await producer(t, broker);
  for (let i = 0; i < 20; i++) await p.send({ topic: 'News', body: body(`n${i}`) });
  await until(() => counts.every((n) => n === 20), 5000, 'each got 20');
  t.deepEqual(counts, [20, 20, 20]);
});

test('pushConsumer - bad options are refused with typed errors', (t) => {
  const broker = {} as ConstructorParameters<typeof PushConsumer>[0]['broker'];
  for (const bad of [{ consumeThreadMin: 0 }, { consumeMessageBatchMaxSize: 2000 }, { consumeThreadMin: 5, consumeThreadMax: 2 }, { pullBatchSize: 0 }]) {
    t.true(isPetrelError(t.throws(() => new PushConsumer({ groupName: 'g', broker, ...bad })), 'ERR_INVALID_ARGUMENT'));
  }
  t.true(isPetrelError(t.throws(() => new PushConsumer({ groupName: 'bad group!', broker })), 'ERR_GROUP_INVALID'));
});

test('pushConsumer - shutdown does not wait out a long poll, and a message that arrives after it goes to the next consumer', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Quiet', readQueueNums: 2, writeQueueNums: 2 });
  const first = consumer(t, { groupName: 'quiet', broker, pullLongPollMs: 30_000 });
  first.subscribe('Quiet', '*');
  first.registerMessageListener(() => 'CONSUME_SUCCESS');
  await first.start();
  await until(() => first.assignedQueues().filter((q) => q.topic === 'Quiet').length === 2, 10_000, 'both queues assigned');
  const started = performance.now();
  await first.shutdown();
  t.true(performance.now() - started < 10_000, `shutdown took ${Math.round(performance.now() - started)} ms with 30 s long polls held`);

  // the pulls the broker still holds for the first consumer must not swallow what comes next
  const p = await producer(t, broker);
  await p.send({ topic: 'Quiet', body: body('after the first left') });
  const got: string[] = [];
  const second = consumer(t, { groupName: 'quiet', broker, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' });
  second.subscribe('Quiet', '*');
  second.registerMessageListener((msgs) => {
    got.push(...msgs.map((m) => text(m.body)));
    return 'CONSUME_SUCCESS';
  });
  await second.start();
  await until(() => got.length >= 1, 15_000, 'the message reaches the second consumer');
  t.deepEqual(got, ['after the first left']);
});
