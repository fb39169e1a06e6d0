/**
 * A reset of a group's offsets while its PushConsumers run: the consumers adopt the new offsets
 * (dropping what they had pulled from the old position), and their commits never write the old
 * position back over the reset. Real broker, real consumers; the broker is reached in-process,
 * through a BrokerHandle (the comlink bridge) and over the remoting transport.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { Broker } from '../../actors/Broker.js';
import type { BrokerApi } from '../../api/BrokerApi.js';
import { brokerHandle, connectBroker } from '../../protocol/BrokerLink.js';
import { NameServer } from '../../namesrv/NameServer.js';
import { ClusterClient } from '../../client/ClusterClient.js';
import { PullConsumer } from '../../client/PullConsumer.js';
import { isPetrelError } from '../../common/errors.js';
import { PushConsumer } from '../../client/PushConsumer.js';
import { serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { body, startBroker, until, untilQueued } from '../helpers/broker.js';

/** The broker's default file sizes: 1 GiB CommitLog files (sparse), 300,000-unit ConsumeQueues. */
const DEFAULTS = { mappedFileSizeCommitLog: 1 << 30, mappedFileSizeConsumeQueue: 300_000 * 20 } as const;

type Via = 'in-process' | 'bridge' | 'remoting';

/** The BrokerApi a consumer is given: the broker itself, a BrokerHandle's bridge, or a remoting link. */
async function reach(t: ExecutionContext, broker: Broker, via: Via): Promise<BrokerApi> {
  if (via === 'in-process') return broker;
  if (via === 'bridge') {
    const api = connectBroker(brokerHandle(broker));
    t.teardown(() => api.close());
    return api;
  }
  const server = await serveBrokerApi(broker);
  t.teardown(() => server.close());
  const remote = await connectBrokerApi(server.address);
  t.teardown(() => remote.close());
  return remote;
}

async function fill(broker: Broker, topic: string, queues: number, perQueue: number, tag: string): Promise<void> {
  for (let q = 0; q < queues; q++) {
    await broker.send(Array.from({ length: perQueue }, (_, i) => ({ topic, body: body(`${tag}-${q}-${i}`) })), q);
  }
}

async function committed(broker: Broker, group: string, topic: string, queues: number): Promise<number[]> {
  const out: number[] = [];
  for (let q = 0; q < queues; q++) out.push(await broker.queryOffset(group, topic, q));
  return out;
}

function consumer(t: ExecutionContext, opts: ConstructorParameters<typeof PushConsumer>[0]): PushConsumer {
  const c = new PushConsumer({ consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 15_000, ...opts });
  t.teardown(() => c.shutdown());
  return c;
}

for (const via of ['in-process', 'bridge', 'remoting'] as const) {
  test(`offset reset (${via}) - a reset to an earlier offset while a PushConsumer runs re-delivers from there and sticks`, async (t) => {
    const broker = await startBroker(t, DEFAULTS);
    const api = await reach(t, broker, via);
    await broker.createTopic({ topic: 'Earlier', readQueueNums: 2, writeQueueNums: 2 });
    await fill(broker, 'Earlier', 2, 25, 'a');
    await untilQueued(broker, 'Earlier', 50);
    const resetAt = Date.now() + 1;
    await until(() => Date.now() > resetAt, 1000, 'the clock to pass the reset time');
    await fill(broker, 'Earlier', 2, 25, 'b');
    await untilQueued(broker, 'Earlier', 100);

    const delivered: { queueId: number; offset: number }[] = [];
    const c = consumer(t, { groupName: 'reset_earlier', broker: api });
    c.subscribe('Earlier', '*');
    c.registerMessageListener((msgs) => {
      for (const m of msgs) delivered.push({ queueId: m.queueId, offset: m.queueOffset });
      return 'CONSUME_SUCCESS';
    });
    await c.start();
    await until(async () => (await committed(broker, 'reset_earlier', 'Earlier', 2)).join() === '50,50', 15_000, 'everything consumed and committed');

    // The consumer is idle, long-polling the end of both queues; the reset moves the group back.
    await broker.resetOffsetByTime('reset_earlier', 'Earlier', resetAt);
    t.deepEqual(await committed(broker, 'reset_earlier', 'Earlier', 2), [25, 25], 'the reset took effect');
    const before = delivered.length;
    await fill(broker, 'Earlier', 2, 5, 'c');

    // It delivers again from offset 25 of each queue, and ends committed past the new messages.
    const again = (): Set<string> => new Set(delivered.slice(before).map((d) => `${d.queueId}/${d.offset}`));
    await until(() => {
      const seen = again();
      for (let q = 0; q < 2; q++) for (let o = 25; o < 55; o++) if (!seen.has(`${q}/${o}`)) return false;
      return true;
    }, 20_000, 'offsets 25..54 of both queues delivered again');
    t.false(delivered.slice(before).some((d) => d.offset < 25), 'nothing before the reset offset is delivered again');
    await until(async () => (await committed(broker, 'reset_earlier', 'Earlier', 2)).join() === '55,55', 15_000, 'committed past the new messages');
  });

  test(`offset reset (${via}) - a reset to the latest offset while a PushConsumer is busy is not overwritten by its commits`, async (t) => {
    const broker = await startBroker(t);
    const api = await reach(t, broker, via);
    await broker.createTopic({ topic: 'Later', readQueueNums: 2, writeQueueNums: 2 });
    await fill(broker, 'Later', 2, 150, 'a');
    await untilQueued(broker, 'Later', 300);

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let gated = false;
    let resetDone = false;
    let firstCall!: () => void;
    const started = new Promise<void>((resolve) => (firstCall = resolve));
    const afterReset: { queueId: number; offset: number }[] = [];
    // A consumer that holds few messages at a time, whose listener is stuck on its first batch.
    const c = consumer(t, { groupName: 'reset_later', broker: api, pullBatchSize: 4, pullThresholdForQueue: 4, consumeThreadMax: 1, consumeMessageBatchMaxSize: 1 });
    c.subscribe('Later', '*');
    c.registerMessageListener(async (msgs) => {
      if (!gated) {
        gated = true;
        firstCall();
        await gate;
      }
      if (resetDone) for (const m of msgs) afterReset.push({ queueId: m.queueId, offset: m.queueOffset });
      return 'CONSUME_SUCCESS' as const;
    });
    await c.start();
    await started;

    await broker.resetOffsetToLatest('reset_later', 'Later');
    resetDone = true;
    t.deepEqual(await committed(broker, 'reset_later', 'Later', 2), [150, 150], 'the reset took effect');
    release();
    await fill(broker, 'Later', 2, 1, 'b');

    // The messages sent after the reset arrive; what was pulled before it is not consumed on.
    await until(() => [0, 1].every((q) => afterReset.some((d) => d.queueId === q && d.offset === 150)), 20_000, 'offset 150 of both queues delivered');
    const late = afterReset.filter((d) => d.offset < 150);
    t.log(`${late.length} messages from before the reset consumed after it`);
    t.true(late.length <= 8, `${late.length} messages from before the reset consumed after it (at most the 8 already pulled)`);
    await until(async () => (await committed(broker, 'reset_later', 'Later', 2)).join() === '151,151', 15_000, 'committed past the new messages');
    await c.shutdown();
    t.deepEqual(await committed(broker, 'reset_later', 'Later', 2), [151, 151], 'shutdown commits nothing older');
  });

  test(`offset reset (${via}) - a PushConsumer shut down right after a reset does not commit its old position over it`, async (t) => {
    const broker = await startBroker(t);
    const api = await reach(t, broker, via);
    await broker.createTopic({ topic: 'Stop', readQueueNums: 2, writeQueueNums: 2 });
    await fill(broker, 'Stop', 2, 100, 'a');
    await untilQueued(broker, 'Stop', 200);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let firstCall!: () => void;
    const started = new Promise<void>((resolve) => (firstCall = resolve));
    let calls = 0;
    const c = consumer(t, { groupName: 'reset_stop', broker: api, pullBatchSize: 4, pullThresholdForQueue: 4, consumeThreadMax: 1, consumeMessageBatchMaxSize: 1 });
    c.subscribe('Stop', '*');
    c.registerMessageListener(async () => {
      calls += 1;
      if (calls === 1) {
        firstCall();
        await gate;
      }
      return 'CONSUME_SUCCESS' as const;
    });
    await c.start();
    await started;
    await broker.resetOffsetToLatest('reset_stop', 'Stop');
    const stopping = c.shutdown();
    release();
    await stopping;
    t.deepEqual(await committed(broker, 'reset_stop', 'Stop', 2), [100, 100]);
  });
}

test('offset reset - a PullConsumer iterating a queue goes on from the reset offset and commits nothing older', async (t) => {
  const broker = await startBroker(t, DEFAULTS);
  await broker.createTopic({ topic: 'Iter', readQueueNums: 1, writeQueueNums: 1 });
  await fill(broker, 'Iter', 1, 20, 'a');
  await untilQueued(broker, 'Iter', 20);
  const pc = new PullConsumer({ groupName: 'reset_iter', broker, pullLongPollMs: 200 });
  await pc.start();
  t.teardown(() => pc.shutdown());
  const [mq] = await pc.fetchMessageQueues('Iter');
  if (mq === undefined) throw new Error('no queue');
  const seen: number[] = [];
  const stop = new AbortController();
  for await (const m of pc.messages(mq, { from: 'first', signal: stop.signal })) {
    seen.push(m.queueOffset);
    // Holding offset 9 (0..8 committed), the group is moved back to offset 3.
    if (m.queueOffset === 9 && seen.length === 10) {
      const reset = await broker.resetOffset({ group: 'reset_iter', topic: 'Iter', target: { type: 'OFFSET', offset: 3 } });
      t.deepEqual(reset.queues.map((q) => [q.oldOffset, q.newOffset]), [[9, 3]]);
    }
    if (m.queueOffset === 19) break;
  }
  t.deepEqual(seen, [...Array(10).keys(), ...Array.from({ length: 17 }, (_, i) => i + 3)]);
  // The loop ended on offset 19 (not committed): the group is at 19.
  t.is(await broker.queryOffset('reset_iter', 'Iter', 0), 19);
});

test('offset reset - through a ClusterClient: every broker group of the topic is reset, and a PushConsumer spanning them delivers again from there', async (t) => {
  const ns = await NameServer.start({ port: 0 });
  t.teardown(() => ns.shutdown());
  const brokers: Broker[] = [];
  for (const brokerName of ['broker-a', 'broker-b']) {
    const broker = await startBroker(t, { brokerName, namesrvAddr: ns.address, registerNameServerPeriod: 1000 });
    const server = await serveBrokerApi(broker);
    t.teardown(() => server.close());
    await broker.advertise(server.address);
    await broker.createTopic({ topic: 'Spread', readQueueNums: 1, writeQueueNums: 1 });
    await fill(broker, 'Spread', 1, 10, brokerName);
    await untilQueued(broker, 'Spread', 10);
    brokers.push(broker);
  }
  const [a, b] = brokers as [Broker, Broker];
  await until(() => ns.routeOf('Spread')?.brokers.length === 2, 5000, 'both groups registered');
  const admin = new ClusterClient({ namesrvAddr: ns.address, pollNameServerInterval: 1000 });
  t.teardown(() => admin.close());

  const delivered: string[] = [];
  const c = new PushConsumer({ groupName: 'reset_cluster', namesrvAddr: ns.address, cluster: { pollNameServerInterval: 1000 }, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 15_000 });
  t.teardown(() => c.shutdown());
  c.subscribe('Spread', '*');
  c.registerMessageListener((msgs) => {
    for (const m of msgs) delivered.push(`${m.brokerName}/${m.queueOffset}`);
    return 'CONSUME_SUCCESS';
  });
  await c.start();
  const both = async (): Promise<string> => `${await a.queryOffset('reset_cluster', 'Spread', 0)},${await b.queryOffset('reset_cluster', 'Spread', 0)}`;
  await until(async () => (await both()) === '10,10', 15_000, 'everything consumed on both groups');

  const r = await admin.resetOffset({ group: 'reset_cluster', topic: 'Spread', target: { type: 'OFFSET', offset: 4 } });
  t.deepEqual(r.queues.map((q) => `${q.brokerName}/${q.queueId}: ${q.oldOffset} -> ${q.newOffset}`).sort(), ['broker-a/0: 10 -> 4', 'broker-b/0: 10 -> 4']);
  const before = delivered.length;
  await until(() => {
    const again = new Set(delivered.slice(before));
    return ['broker-a', 'broker-b'].every((g) => [4, 5, 6, 7, 8, 9].every((o) => again.has(`${g}/${o}`)));
  }, 20_000, 'offsets 4..9 of both groups delivered again');
  t.false(delivered.slice(before).some((d) => Number(d.split('/')[1]) < 4));
  await until(async () => (await both()) === '10,10', 15_000, 'committed to the end again');

  // Known to no group: refused. Known to one: both are reset, and neither gets an entry made.
  t.true(isPetrelError(await t.throwsAsync(admin.resetOffset({ group: 'cluster_nobody', topic: 'Spread', target: { type: 'LATEST' } })), 'ERR_GROUP_NOT_EXIST'));
  await a.commitOffset('cluster_half', 'Spread', 0, 1);
  const half = await admin.resetOffset({ group: 'cluster_half', topic: 'Spread', target: { type: 'LATEST' } });
  t.deepEqual(half.queues.map((q) => `${q.brokerName}: ${q.oldOffset} -> ${q.newOffset}`).sort(), ['broker-a: 1 -> 10', 'broker-b: -1 -> 10']);
  t.false(half.groupCreated);
  t.is(await b.getSubscriptionGroup('cluster_half'), undefined);
});
