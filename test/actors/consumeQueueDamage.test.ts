/**
 * ConsumeQueue files missing or damaged at broker level (issue 10, defect 5): a broker stores
 * messages in one queue, the test deletes or damages ConsumeQueue files while it is stopped, and
 * after a restart a PushConsumer must consume every message, the rebuild must be logged and
 * counted, and the next message must get the next queue offset (never one handed out before).
 */
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Broker } from '../../actors/Broker.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import { BrokerMetrics, METRIC_NAMES } from '../../cli/metrics.js';
import { serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { consumeAll, consumeQueueFileAt, flipBytes, listen, sample, sendNumbered, type Sent } from '../helpers/damage.js';
import { tempDir } from '../helpers/tmp.js';

const TOPIC = 'OneQueue';
const OTHER = 'WrittenLast';

type Harm = 'delete a middle file' | 'damage a middle file' | 'delete the last file' | 'delete the queue folder';

function harm(root: string, kind: Harm, cqFileSize: number, count: number): void {
  const unitsPerFile = cqFileSize / 20;
  const files = Math.ceil(count / unitsPerFile);
  const middle = consumeQueueFileAt(root, TOPIC, 0, cqFileSize, Math.floor(files / 2) * unitsPerFile);
  switch (kind) {
    case 'delete a middle file':
      fs.rmSync(middle);
      break;
    case 'damage a middle file':
      flipBytes(middle, cqFileSize / 2, 64);
      break;
    case 'delete the last file':
      fs.rmSync(consumeQueueFileAt(root, TOPIC, 0, cqFileSize, count - 1));
      break;
    case 'delete the queue folder':
      fs.rmSync(path.join(root, 'consumequeue', TOPIC, '0'), { recursive: true });
      break;
  }
}

/** Restarted over the harmed queue: all consumed, rebuild logged and counted, the next offset right. */
async function audit(t: ExecutionContext, config: BrokerConfigInput, sent: readonly Sent[], remote: boolean): Promise<void> {
  const heard = listen(t);
  const broker = await Broker.start(config);
  t.teardown(() => broker.shutdown());
  const rebuilt = heard.logs.filter((l) => l['msg'] === 'ConsumeQueue files rebuilt from the CommitLog');
  t.is(rebuilt.length, 1, JSON.stringify(heard.logs));
  t.like(rebuilt[0], { level: 'error', topic: TOPIC, queueId: 0 });
  t.true(broker.recovery.repairedQueues.every((q) => q.topic === TOPIC));
  t.is(await broker.maxOffset(TOPIC, 0), sent.length, 'the queue is whole again');

  let api = broker as Parameters<typeof consumeAll>[1];
  if (remote) {
    const server = await serveBrokerApi(broker, { port: 0 });
    t.teardown(() => server.close());
    const client = await connectBrokerApi(server.address);
    t.teardown(() => client.close());
    api = client;
  }
  const got = await consumeAll(t, api, TOPIC, sent.length);
  t.deepEqual(sent.filter((s) => got.get(s.key) !== s.body).map((s) => s.key), [], 'every message consumed with its body');

  const next = await broker.send([{ topic: TOPIC, body: new TextEncoder().encode('after') }]);
  t.is(next[0]?.queueOffset, sent.length, 'the next message gets the next queue offset');
  const metrics = new BrokerMetrics(broker);
  t.teardown(() => metrics.close());
  t.is(sample(await metrics.text(), METRIC_NAMES.rebuilt, 'file="consumequeue"'), 1);
}

for (const kind of ['delete a middle file', 'damage a middle file', 'delete the last file', 'delete the queue folder'] as const) {
  test.serial(`consumeQueueDamage - ${kind} of a queue (1,000-unit files): a PushConsumer gets every message after a restart`, async (t) => {
    t.timeout(120_000);
    const root = tempDir(t);
    const cqFileSize = 20 * 1000;
    const config: BrokerConfigInput = { storePathRootDir: root, flushDiskType: 'SYNC_FLUSH', mappedFileSizeConsumeQueue: cqFileSize };
    const broker = await Broker.start(config);
    await broker.createTopic({ topic: TOPIC, readQueueNums: 1, writeQueueNums: 1 });
    const sent = await sendNumbered(broker, TOPIC, 5_500);
    // another queue written last, so the CommitLog's dispatched end is not this queue's
    await sendNumbered(broker, OTHER, 100);
    await broker.shutdown();
    harm(root, kind, cqFileSize, sent.length);
    await audit(t, config, sent, false);
  });
}

test.serial('consumeQueueDamage - the deleted only (last) ConsumeQueue file of a default 300,000-unit queue is rebuilt; consumed over the remoting link', async (t) => {
  t.timeout(180_000);
  const root = tempDir(t);
  const config: BrokerConfigInput = { storePathRootDir: root, flushDiskType: 'SYNC_FLUSH' };
  const broker = await Broker.start(config);
  t.is(broker.storeConfig.mappedFileSizeConsumeQueue, 300_000 * 20);
  await broker.createTopic({ topic: TOPIC, readQueueNums: 1, writeQueueNums: 1 });
  const sent = await sendNumbered(broker, TOPIC, 20_000);
  await sendNumbered(broker, OTHER, 100);
  await broker.shutdown();
  harm(root, 'delete the last file', 300_000 * 20, sent.length);
  await audit(t, config, sent, true);
});
