import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { Broker } from '../../actors/Broker.js';
import type { MessageExt } from '../../api/BrokerApi.js';
import { NameServer } from '../../namesrv/NameServer.js';
import { ConsumeStatus, PushConsumer } from '../../client/PushConsumer.js';
import { serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { NameServerLink } from '../../protocol/remoting/NameServerProtocol.js';
import { RemoteBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { until } from '../helpers/broker.js';
import { sendMany, startMaster, startSlave, waitCaughtUp, waitConnected, waitDispatched } from '../helpers/replication.js';

const TOPIC = 'Backlog';
const QUEUES = 4;
const COUNT = 400;

/** Serves `broker` on a free port of 127.0.0.1 and registers it with the name server; both undone at teardown. */
async function serveAndRegister(t: ExecutionContext, broker: Broker, brokerId: number, namesrv: string): Promise<string> {
  const server = await serveBrokerApi(broker, { port: 0 });
  t.teardown(() => server.close());
  const addr = `127.0.0.1:${server.port}`;
  const link = new NameServerLink(namesrv);
  t.teardown(() => link.close());
  await link.registerBroker({
    clusterName: 'C', brokerName: broker.brokerName, brokerId, brokerAddr: addr,
    topics: [{ topic: TOPIC, readQueueNums: QUEUES, writeQueueNums: QUEUES, perm: 6 }],
  });
  return addr;
}

/** A master with accessMessageInMemoryMaxRatio 0 (any backlog is "far behind"), its slave caught up, a backlog on both. */
async function groupWithBacklog(t: ExecutionContext): Promise<{ master: Broker; slave: Broker }> {
  const master = await startMaster(t, { accessMessageInMemoryMaxRatio: 0 });
  const slave = await startSlave(t, master);
  await waitConnected(master);
  await sendMany(master, TOPIC, COUNT, 'm', QUEUES);
  await waitCaughtUp(master, slave);
  await waitDispatched(master, slave);
  return { master, slave };
}

test('suggestPullingFromSlave reaches PullResult, in process and over the remoting link', async (t) => {
  const { master, slave } = await groupWithBacklog(t);
  const req = { group: 'G', topic: TOPIC, queueId: 0, offset: 0, maxMsgNums: 4 };
  const behind = await master.pull(req);
  t.is(behind.status, 'FOUND');
  t.true(behind.suggestPullingFromSlave, 'ratio 0: a pull that leaves a backlog is far behind');
  t.not((await slave.pull(req)).suggestPullingFromSlave, true, 'the slave keeps the default ratio: 40 % of RAM is not exceeded');
  const caughtUp = await master.pull({ ...req, offset: await master.maxOffset(TOPIC, 0) });
  t.is(caughtUp.status, 'OFFSET_OVERFLOW_ONE');
  t.not(caughtUp.suggestPullingFromSlave, true, 'a consumer at the end of its queue is not sent to the slave');

  const ns = await NameServer.start({ port: 0 });
  t.teardown(() => ns.shutdown());
  const remote = await RemoteBrokerApi.connect(await serveAndRegister(t, master, 0, ns.address));
  t.teardown(() => remote.close());
  t.true((await remote.pull(req)).suggestPullingFromSlave, 'carried over TCP and accepted by the reply parser');
});

test('a consumer far behind pulls from the slave, commits to the master, and consumes every message once with no offset skipped', async (t) => {
  const { master, slave } = await groupWithBacklog(t);
  const ns = await NameServer.start({ port: 0 });
  t.teardown(() => ns.shutdown());
  await serveAndRegister(t, master, 0, ns.address);
  await serveAndRegister(t, slave, 1, ns.address);
  const masterPullsBefore = (await master.filterStats()).pulls;
  const slavePullsBefore = (await slave.filterStats()).pulls;

  const consumed = new Map<string, MessageExt[]>();
  const consumer = new PushConsumer({
    groupName: 'BacklogConsumers', namesrvAddr: ns.address, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    pullBatchSize: 8, pullLongPollMs: 200, consumeThreadMax: 4,
    cluster: { requestTimeoutMs: 2000, masterProbeIntervalMs: 60_000 },
  });
  consumer.subscribe(TOPIC);
  consumer.registerMessageListener(async (msgs) => {
    for (const m of msgs) {
      const key = `${m.queueId}@${m.queueOffset}`;
      consumed.set(key, [...(consumed.get(key) ?? []), m]);
    }
    return ConsumeStatus.CONSUME_SUCCESS;
  });
  await consumer.start();
  t.teardown(() => consumer.shutdown());
  await until(() => consumed.size >= COUNT, 20_000, 'the backlog consumed');

  const slavePulls = (await slave.filterStats()).pulls - slavePullsBefore;
  const masterPulls = (await master.filterStats()).pulls - masterPullsBefore;
  t.log(`pulls served: master ${masterPulls}, slave ${slavePulls}`);
  t.true(slavePulls > 0, 'some pulls were served by the slave');
  t.true(masterPulls > 0, 'the master was asked again after the slave said the consumer caught up');
  t.is(consumed.size, COUNT);
  t.true([...consumed.values()].every((ms) => ms.length === 1), 'every message consumed exactly once');
  for (let q = 0; q < QUEUES; q++) {
    const max = await master.maxOffset(TOPIC, q);
    const offsets = [...consumed.keys()].filter((k) => k.startsWith(`${q}@`)).map((k) => Number(k.split('@')[1])).sort((a, b) => a - b);
    t.deepEqual(offsets, Array.from({ length: max }, (_, i) => i), `queue ${q}: offsets 0..${max - 1}, none skipped`);
  }
  await t.notThrowsAsync(until(async () => {
    const committed = await Promise.all(Array.from({ length: QUEUES }, (_, q) => master.queryOffset('BacklogConsumers', TOPIC, q)));
    const maxes = await Promise.all(Array.from({ length: QUEUES }, (_, q) => master.maxOffset(TOPIC, q)));
    return committed.every((o, q) => o === maxes[q]);
  }, 15_000, 'offsets committed to the master'));
});
