/**
 * Issue 5's failover run, across processes on 127.0.0.1: a name server and two broker groups, each a
 * SYNC_MASTER and a SLAVE under SYNC_FLUSH, every one a child process. A producer and a push
 * consumer in this process reach them through the name server. Mid-run the master of broker-a is
 * SIGKILLed: sends go on to broker-b, consumption of broker-a's queues goes on from its slave;
 * after the master restarts on its own files, every message that got SEND_OK is stored and has
 * been consumed at least once.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import type { MessageExt, SendResult } from '../../api/BrokerApi.js';
import { ClusterClient } from '../../client/ClusterClient.js';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { Producer } from '../../client/Producer.js';
import { PushConsumer, ConsumeStatus } from '../../client/PushConsumer.js';
import { body, text, until } from '../helpers/broker.js';
import { freePort, startJsonChild, type JsonChild } from '../helpers/jsonChild.js';
import { tempDir } from '../helpers/tmp.js';

const TOPIC = 'Failover';
const CLIENT_TUNING = { pollNameServerInterval: 500, requestTimeoutMs: 2000, masterProbeIntervalMs: 1000, slaveLongPollMs: 500, failureIsolationMs: 3000 };

interface Member {
  child: JsonChild;
  readonly arg: { config: BrokerConfigInput; port: number };
}

async function startMember(t: ExecutionContext, arg: Member['arg']): Promise<Member> {
  const child = await startJsonChild('servedBrokerProcess', arg);
  const m: Member = { child, arg };
  t.teardown(() => m.child.kill());
  return m;
}

async function startGroup(t: ExecutionContext, namesrvAddr: string, brokerName: string): Promise<{ master: Member; slave: Member }> {
  const common: BrokerConfigInput = {
    brokerName, namesrvAddr, registerNameServerPeriod: 1000, flushDiskType: 'SYNC_FLUSH',
    mappedFileSizeCommitLog: 1024 * 1024, mappedFileSizeConsumeQueue: 20 * 4000, haHeartbeatInterval: 500,
  };
  const haPort = await freePort();
  const master = await startMember(t, {
    config: { ...common, brokerRole: 'SYNC_MASTER', brokerId: 0, haListenPort: haPort, storePathRootDir: tempDir(t, `petrelmq-${brokerName}-m-`) },
    port: await freePort(),
  });
  const slave = await startMember(t, {
    config: { ...common, brokerRole: 'SLAVE', brokerId: 1, haMasterAddress: `127.0.0.1:${haPort}`, storePathRootDir: tempDir(t, `petrelmq-${brokerName}-s-`) },
    port: 0,
  });
  return { master, slave };
}

test('cluster failover - a master SIGKILLed mid-run: sends go on to the other group, consumption goes on from its slave, and nothing acknowledged is lost', async (t) => {
  t.timeout(110_000);
  const ns = await startJsonChild('nameServerProcess', { port: 0 });
  t.teardown(() => ns.kill());
  const namesrvAddr = String(ns.ready['address']);
  const [a] = await Promise.all([startGroup(t, namesrvAddr, 'broker-a'), startGroup(t, namesrvAddr, 'broker-b')]);

  const admin = new ClusterClient({ namesrvAddr, ...CLIENT_TUNING });
  t.teardown(() => admin.close());
  await until(async () => (await admin.createTopic({ topic: TOPIC, readQueueNums: 4, writeQueueNums: 4 }).then(() => true, () => false))
    && (await admin.readQueues(TOPIC).then((q) => q.length === 8, () => false)), 20_000, 'the topic on both groups');

  // The listener consumes the first messages, then stalls until the kill: broker-a is sure to hold
  // a backlog larger than the consumer's cache when its master dies.
  const consumed = new Map<string, MessageExt[]>();
  const consumedAt: { brokerName: string; at: number }[] = [];
  let openGate: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    openGate = r;
  });
  const consumer = new PushConsumer({
    groupName: 'FailoverConsumers', namesrvAddr, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 1000,
    consumeThreadMin: 1, consumeThreadMax: 2, pullBatchSize: 8, pullThresholdForQueue: 8, cluster: CLIENT_TUNING,
  });
  consumer.subscribe(TOPIC);
  consumer.registerMessageListener(async (msgs) => {
    if (consumed.size >= 60) await gate;
    for (const m of msgs) {
      const key = text(m.body);
      consumed.set(key, [...(consumed.get(key) ?? []), m]);
      consumedAt.push({ brokerName: m.brokerName, at: Date.now() });
    }
    return ConsumeStatus.CONSUME_SUCCESS;
  });
  await consumer.start();
  t.teardown(() => consumer.shutdown());

  const producer = new Producer({ groupName: 'FailoverProducers', namesrvAddr, cluster: CLIENT_TUNING, retryTimesWhenSendFailed: 2, sendMsgTimeout: 10_000 });
  await producer.start();
  t.teardown(() => producer.shutdown());
  const acked = new Map<string, SendResult>();
  const statuses = new Map<string, number>();
  const stores: { brokerName: string; at: number }[] = [];
  const failures: string[] = [];
  let seq = 0;
  let producing = true;
  let paused = false;
  const sendLoop = async (): Promise<void> => {
    while (producing) {
      if (paused) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const key = `m-${seq++}`;
      try {
        const r = await producer.send({ topic: TOPIC, body: body(key), keys: [key] });
        statuses.set(r.sendStatus, (statuses.get(r.sendStatus) ?? 0) + 1);
        stores.push({ brokerName: r.messageQueue.brokerName, at: Date.now() });
        if (r.sendStatus === 'SEND_OK') acked.set(key, r);
      } catch (err) {
        failures.push(`${key}: ${(err as Error).message}`);
      }
    }
  };
  const loops = Array.from({ length: 6 }, () => sendLoop());

  const backlogOfA = (): string[] => [...acked.entries()].filter(([k, r]) => r.messageQueue.brokerName === 'broker-a' && !consumed.has(k)).map(([k]) => k);
  // More of broker-a's messages unconsumed than its 4 queues can hold in the consumer's cache (pullThresholdForQueue + one batch each).
  await until(() => acked.size >= 300 && backlogOfA().length > 100, 30_000, 'a backlog on broker-a');
  const backlogA = backlogOfA();
  t.log(`killing the broker-a master with ${acked.size} sends acknowledged, ${consumed.size} consumed, ${backlogA.length} of broker-a's not yet consumed`);
  const killedAt = Date.now();
  await a.master.child.kill();
  openGate();

  // Producers go on to broker-b.
  const ackedAtKill = acked.size;
  await until(() => acked.size >= ackedAtKill + 300, 30_000, '300 more acknowledged sends after the kill');
  t.deepEqual(failures, [], 'every send in flight when the master died was retried on the other group');
  paused = true;

  // Consumers go on from broker-a's slave: they drain more of its backlog than they had cached, and commit their offsets there.
  await until(() => backlogA.every((k) => consumed.has(k)), 30_000, "broker-a's backlog consumed from its slave");
  const fromSlave = consumedAt.filter((c) => c.brokerName === 'broker-a' && c.at > killedAt).length;
  t.true(consumer.assignedQueues().filter((q) => q.brokerName === 'broker-a').length === 4, "broker-a's queues stay assigned while its slave serves them");
  const slaveLink = await connectBrokerApi(String(a.slave.child.ready['address']));
  t.teardown(() => slaveLink.close());
  const offsetsOnSlave = await Promise.all([0, 1, 2, 3].map((q) => slaveLink.queryOffset('FailoverConsumers', TOPIC, q)));
  t.true(offsetsOnSlave.some((o) => o > 0), `offsets committed to the slave: ${offsetsOnSlave.join(', ')}`);

  // The master restarts on its own files (abnormal recovery); the slave follows it again.
  a.master.child = await startJsonChild('servedBrokerProcess', a.master.arg);
  const restartedAt = Date.now();
  paused = false;
  await until(() => stores.some((r) => r.brokerName === 'broker-a' && r.at > restartedAt), 30_000, 'sends reach broker-a again');
  producing = false;
  await Promise.all(loops);
  t.log(`send statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${failures.length} failed after retries; ${fromSlave} messages of broker-a consumed while its master was down`);

  // Every acknowledged message is stored on its group's master. A send returns once the CommitLog
  // holds it; the ConsumeQueue unit a pull reads comes just after, so the audit waits for dispatch.
  const unstored = async (): Promise<string[]> => {
    const stored = new Set<string>();
    for (const brokerName of ['broker-a', 'broker-b']) {
      const g = admin.group(brokerName);
      for (let q = 0; q < 4; q++) {
        for (let offset = 0; ;) {
          const r = await g.pull({ group: 'audit', topic: TOPIC, queueId: q, offset, maxMsgNums: 32 });
          if (r.status !== 'FOUND') break;
          for (const m of r.messages) stored.add(text(m.body));
          offset = r.nextBeginOffset;
        }
      }
    }
    return [...acked.keys()].filter((k) => !stored.has(k));
  };
  let missing = await unstored();
  await until(async () => (missing = await unstored()).length === 0, 10_000, 'every acknowledged message dispatched').catch(() => undefined);
  t.deepEqual(missing, [], 'every SEND_OK message is stored');
  t.true(readsOnMasters(admin), 'the audit read from the masters');

  // ...and consumed at least once.
  await until(() => [...acked.keys()].every((k) => consumed.has(k)), 40_000, 'every acknowledged message consumed');
  const duplicates = [...consumed.values()].filter((v) => v.length > 1).length;
  const masterLink = await connectBrokerApi(String(a.master.child.ready['address']));
  t.teardown(() => masterLink.close());
  // The consumer hands the offsets it committed to the slave back to the master on its first read
  // there, once masterProbeIntervalMs has passed since the master failed it: wait for that.
  let offsetsOnMaster: number[] = [];
  const masterHasThem = async (): Promise<boolean> => {
    offsetsOnMaster = await Promise.all([0, 1, 2, 3].map((q) => masterLink.queryOffset('FailoverConsumers', TOPIC, q)));
    return offsetsOnMaster.every((o, q) => o >= (offsetsOnSlave[q] ?? 0));
  };
  await until(masterHasThem, 20_000, 'the master has the offsets committed to the slave').catch(() => undefined);
  t.true(await masterHasThem(), `the master took back the progress made on the slave: ${offsetsOnMaster.join(', ')} vs ${offsetsOnSlave.join(', ')}`);
  t.log(`${consumed.size} distinct messages consumed, ${duplicates} more than once`);
});

function readsOnMasters(admin: ClusterClient): boolean {
  return !admin.group('broker-a').onSlave && !admin.group('broker-b').onSlave;
}
