import test from 'ava';
import { Worker } from 'node:worker_threads';
import { brokerHandle } from '../../protocol/BrokerLink.js';
import { PushConsumer } from '../../client/PushConsumer.js';
import { startBroker, text, until } from '../helpers/broker.js';

const WORKERS = 4;
const PRODUCERS_PER_WORKER = 2;
const PER_PRODUCER = 1500;

test('stress - 8 producers on 4 threads and 4 consumers over 16 queues: every acknowledged message consumed, duplicates counted', async (t) => {
  t.timeout(90_000);
  const broker = await startBroker(t, { flushDiskType: 'SYNC_FLUSH', mappedFileSizeCommitLog: 256 * 1024 });
  await broker.createTopic({ topic: 'Stress', readQueueNums: 16, writeQueueNums: 16 });
  const seen = new Map<string, number>();
  const consumers: PushConsumer[] = [];
  for (let i = 0; i < 4; i++) {
    const c = new PushConsumer({ groupName: 'stress', broker, instanceName: `c${i}`, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', consumeMessageBatchMaxSize: 8, pullLongPollMs: 200 });
    c.subscribe('Stress', '*');
    c.registerMessageListener((msgs) => {
      for (const m of msgs) seen.set(text(m.body), (seen.get(text(m.body)) ?? 0) + 1);
      return 'CONSUME_SUCCESS';
    });
    consumers.push(c);
    t.teardown(() => c.shutdown());
  }
  for (const c of consumers) await c.start();

  const results = await Promise.all(
    Array.from({ length: WORKERS }, (_, w) => {
      const handle = brokerHandle(broker);
      const worker = new Worker(new URL('../fixtures/producerWorker.js', import.meta.url), {
        workerData: { handle, worker: w, producers: PRODUCERS_PER_WORKER, perProducer: PER_PRODUCER, topic: 'Stress' },
        transferList: [handle.port],
      });
      t.teardown(() => worker.terminate());
      return new Promise<{ acked: string[]; failed: string[] }>((resolve, reject) => {
        worker.once('message', (m: { acked: string[]; failed: string[] }) => resolve(m));
        worker.once('error', reject);
      });
    }),
  );
  const acked = results.flatMap((r) => r.acked);
  const failed = results.flatMap((r) => r.failed);
  t.is(failed.length, 0);
  t.is(acked.length, WORKERS * PRODUCERS_PER_WORKER * PER_PRODUCER);
  await until(() => acked.every((id) => seen.has(id)), 60_000, 'every acknowledged message consumed');
  const duplicates = [...seen.values()].reduce((a, n) => a + (n - 1), 0);
  t.log(`acknowledged ${acked.length}, consumed ${seen.size} distinct, duplicates ${duplicates}`);
  t.is(seen.size, acked.length, 'nothing consumed that was not acknowledged');
  t.is(duplicates, 0, 'no crash and no rebalance during the run: no duplicates');
  const progress = await broker.consumerProgress('stress');
  await until(async () => (await broker.consumerProgress('stress')).totalLag === 0, 10_000, 'lag 0');
  // The group's retry topic (%RETRY%stress, one queue) is listed beside the topic's 16 queues.
  t.is(progress.queues.filter((q) => q.topic === 'Stress').length, 16);
});
