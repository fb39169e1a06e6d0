/**
 * A slave's copy of its master's tables, across real processes on 127.0.0.1 at the default store
 * configuration (1 GiB CommitLog files, 300,000-unit ConsumeQueues): a name server, a master and
 * its slave, each a child process. A push consumer consumes and commits on the master and stops;
 * once the slave has synced, the master is SIGKILLed. A new consumer of the same group, reaching
 * the group through the name server, starts on the slave where the first one stopped, and
 * `petrelmq topic describe` on the slave answers with the topic.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import { Producer } from '../../client/Producer.js';
import { PushConsumer, ConsumeStatus } from '../../client/PushConsumer.js';
import { ClusterClient } from '../../client/ClusterClient.js';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { body, text, until } from '../helpers/broker.js';
import { freePort, startJsonChild, type JsonChild } from '../helpers/jsonChild.js';
import { tempDir } from '../helpers/tmp.js';
import { runCli } from '../cli/cliHarness.js';

const TOPIC = 'SlaveSynced';
const GROUP = 'SyncedConsumers';
const QUEUES = [0, 1, 2, 3];
const TUNING = { pollNameServerInterval: 300, requestTimeoutMs: 2000, masterProbeIntervalMs: 1000, slaveLongPollMs: 300, failureIsolationMs: 3000 };

async function member(t: ExecutionContext, config: BrokerConfigInput): Promise<JsonChild> {
  const child = await startJsonChild('servedBrokerProcess', { config, port: await freePort() });
  t.teardown(() => child.kill());
  return child;
}

function consumerOf(namesrvAddr: string, seen: string[]): PushConsumer {
  const c = new PushConsumer({
    groupName: GROUP, namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 500, consumeThreadMin: 1, consumeThreadMax: 1, cluster: TUNING,
  });
  c.subscribe(TOPIC);
  c.registerMessageListener(async (msgs) => {
    for (const m of msgs) seen.push(text(m.body));
    return ConsumeStatus.CONSUME_SUCCESS;
  });
  return c;
}

test('slave sync - after the master is SIGKILLed, a new consumer starts on the slave where the group stopped, and the slave describes the topic', async (t) => {
  t.timeout(90_000);
  const ns = await startJsonChild('nameServerProcess', { port: 0 });
  t.teardown(() => ns.kill());
  const namesrvAddr = String(ns.ready['address']);
  // Default CommitLog and ConsumeQueue sizes; only the periods are short.
  const common: BrokerConfigInput = { brokerName: 'broker-s', namesrvAddr, registerNameServerPeriod: 500, slaveSynchronizeInterval: 300, haHeartbeatInterval: 500 };
  const haPort = await freePort();
  const master = await member(t, { ...common, brokerRole: 'ASYNC_MASTER', brokerId: 0, haListenPort: haPort, storePathRootDir: tempDir(t, 'petrelmq-sync-m-') });
  const slave = await member(t, { ...common, brokerRole: 'SLAVE', brokerId: 1, haMasterAddress: `127.0.0.1:${haPort}`, storePathRootDir: tempDir(t, 'petrelmq-sync-s-') });
  const masterLink = await connectBrokerApi(String(master.ready['address']));
  t.teardown(() => masterLink.close());
  const slaveLink = await connectBrokerApi(String(slave.ready['address']));
  t.teardown(() => slaveLink.close());

  await masterLink.createTopic({ topic: TOPIC, readQueueNums: 4, writeQueueNums: 4 });
  const admin = new ClusterClient({ namesrvAddr, ...TUNING });
  t.teardown(() => admin.close());
  await until(async () => (await admin.readQueues(TOPIC).then((q) => q.length === 4, () => false)), 20_000, 'the topic routed');

  const producer = new Producer({ groupName: 'SyncProducers', namesrvAddr, cluster: TUNING });
  await producer.start();
  t.teardown(() => producer.shutdown());
  for (let i = 0; i < 200; i++) await producer.send({ topic: TOPIC, body: body(`first-${i}`) });

  const firstSeen: string[] = [];
  const first = consumerOf(namesrvAddr, firstSeen);
  await first.start();
  await until(() => new Set(firstSeen).size === 200, 30_000, 'the first 200 consumed');
  await first.shutdown(); // commits its offsets to the master
  const committed = await Promise.all(QUEUES.map((q) => masterLink.queryOffset(GROUP, TOPIC, q)));
  t.is(committed.reduce((a, b) => a + b, 0), 200, 'the group committed all 200 on the master');

  // 50 more the group has not consumed, replicated to the slave.
  for (let i = 0; i < 50; i++) await producer.send({ topic: TOPIC, body: body(`second-${i}`) });
  await until(async () => (await Promise.all(QUEUES.map((q) => slaveLink.maxOffset(TOPIC, q)))).reduce((a, b) => a + b, 0) === 250, 20_000, 'all 250 on the slave');
  // The slave copies the master's offsets within one sync period.
  await until(async () => (await Promise.all(QUEUES.map((q) => slaveLink.queryOffset(GROUP, TOPIC, q)))).every((o, i) => o === committed[i]), 10_000, "the group's offsets on the slave");

  await master.kill();
  await until(async () => (await admin.readQueues(TOPIC).then(() => true, () => false)) && !(await masterLink.listTopics().then(() => true, () => false)), 20_000, 'the master gone');

  const secondSeen: string[] = [];
  const second = consumerOf(namesrvAddr, secondSeen);
  await second.start();
  t.teardown(() => second.shutdown());
  await until(() => new Set(secondSeen).size >= 50, 30_000, 'the 50 new messages consumed from the slave');
  t.deepEqual([...new Set(secondSeen)].sort(), Array.from({ length: 50 }, (_, i) => `second-${i}`).sort(), 'the new consumer started where the group stopped: no message consumed again');

  const described = await runCli(['topic', 'describe', TOPIC, '--broker', String(slave.ready['address']), '--json']);
  t.is(described.code, 0, described.stderr);
  const shown = JSON.parse(described.stdout) as { topic: { topic: string; readQueueNums: number }; queues: { maxOffset: number }[] };
  t.is(shown.topic.topic, TOPIC);
  t.is(shown.topic.readQueueNums, 4);
  t.is(shown.queues.reduce((a, q) => a + q.maxOffset, 0), 250);
});
