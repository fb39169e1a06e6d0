import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { Broker } from '../../actors/Broker.js';
import type { ConsumeFromWhere } from '../../api/BrokerApi.js';
import { BrokerMetrics, METRIC_NAMES } from '../../cli/metrics.js';
import { body, startBroker, untilQueued } from '../helpers/broker.js';

/** The default store layout: 1 GiB CommitLog files (sparse), 300,000-unit ConsumeQueues. */
const DEFAULTS = { mappedFileSizeCommitLog: 1 << 30, mappedFileSizeConsumeQueue: 300_000 * 20 } as const;

/** Topic Backlog: 100, 100, 100 and 77 messages on queues 0..3 (377 in all). */
async function backlog(t: ExecutionContext, config: Parameters<typeof startBroker>[1] = {}): Promise<Broker> {
  const broker = await startBroker(t, config);
  await broker.createTopic({ topic: 'Backlog', readQueueNums: 4, writeQueueNums: 4 });
  for (const [queueId, n] of [[0, 100], [1, 100], [2, 100], [3, 77]] as const) {
    await broker.send(Array.from({ length: n }, (_, i) => ({ topic: 'Backlog', body: body(`q${queueId}-${i}`) })), queueId);
  }
  await untilQueued(broker, 'Backlog', 377);
  return broker;
}

function member(group: string, consumeFromWhere?: ConsumeFromWhere): Parameters<Broker['registerConsumer']>[0] {
  return {
    group,
    clientId: `${group}@client`,
    messageModel: 'CLUSTERING',
    subscriptions: [{ topic: 'Backlog', filter: { type: 'TAG', expression: '*' } }],
    ...(consumeFromWhere === undefined ? {} : { consumeFromWhere }),
  };
}

test('consumerProgress - queues without a committed offset count from the queue min offset', async (t) => {
  const broker = await backlog(t, DEFAULTS);
  // committed on two queues only: those two hold 100 + 77 = 177 of the 377
  await broker.commitOffset('partial', 'Backlog', 0, 0);
  await broker.commitOffset('partial', 'Backlog', 3, 0);
  const p = await broker.consumerProgress('partial');
  t.deepEqual(
    p.queues.map((q) => [q.queueId, q.brokerOffset, q.consumerOffset, q.lag]),
    [[0, 100, 0, 100], [1, 100, -1, 100], [2, 100, -1, 100], [3, 77, 0, 77]],
  );
  t.is(p.totalLag, 377);
});

test('consumerProgress - a group that never committed shows its whole backlog', async (t) => {
  const broker = await backlog(t);
  await broker.registerConsumer(member('fresh'));
  const p = await broker.consumerProgress('fresh');
  t.is(p.totalLag, 377);
  t.deepEqual(p.queues.map((q) => q.consumerOffset), [-1, -1, -1, -1]);
});

test('consumerProgress - the members consumeFromWhere decides where uncommitted queues count from', async (t) => {
  const broker = await backlog(t);
  await broker.registerConsumer(member('fromFirst', 'CONSUME_FROM_FIRST_OFFSET'));
  await broker.registerConsumer(member('fromLast', 'CONSUME_FROM_LAST_OFFSET'));
  await broker.commitOffset('fromLast', 'Backlog', 1, 40);
  t.is((await broker.consumerProgress('fromFirst')).totalLag, 377);
  const last = await broker.consumerProgress('fromLast');
  t.deepEqual(last.queues.map((q) => q.lag), [0, 60, 0, 0]);
  t.is(last.totalLag, 60);
});

test('consumerProgress - the lag metric reports uncommitted queues too', async (t) => {
  const broker = await backlog(t);
  await broker.registerConsumer(member('metered'));
  await broker.commitOffset('metered', 'Backlog', 0, 90);
  const metrics = new BrokerMetrics(broker);
  t.teardown(() => metrics.close());
  const gauge = (await metrics.registry.getSingleMetric(METRIC_NAMES.consumerLag)?.get())?.values ?? [];
  const byQueue = gauge.filter((v) => v.labels['group'] === 'metered').map((v) => [v.labels['queue'], v.value]);
  t.deepEqual(byQueue, [['0', 10], ['1', 100], ['2', 100], ['3', 77]]);
});
