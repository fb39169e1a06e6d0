/**
 * IndexFiles missing or damaged at start (issue 10, item 6): a broker indexes messages by key and
 * unique id, the test deletes, damages or truncates index files while it is stopped, and after a
 * restart every key and id look-up must still find its message. A file missing between others is
 * indexed again into new files where it was; a damaged one is dropped (logged) and indexed again;
 * the last file's records are dispatched again as after any start.
 */
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Broker } from '../../actors/Broker.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import { BrokerMetrics, METRIC_NAMES } from '../../cli/metrics.js';
import { flipBytes, listen, sample, sendNumbered, type Sent } from '../helpers/damage.js';
import { tempDir } from '../helpers/tmp.js';

const TOPIC = 'Indexed';

type Harm = 'delete a middle file' | 'damage a middle file\'s header' | 'truncate a middle file' | 'delete the last file' | 'delete every file';

function indexFiles(root: string): string[] {
  return fs.readdirSync(path.join(root, 'index')).filter((n) => /^\d{17}$/.test(n)).sort().map((n) => path.join(root, 'index', n));
}

function harm(root: string, kind: Harm): void {
  const files = indexFiles(root);
  const middle = files[Math.floor(files.length / 2)] ?? '';
  switch (kind) {
    case 'delete a middle file':
      fs.rmSync(middle);
      break;
    case 'damage a middle file\'s header':
      flipBytes(middle, 0, 64);
      break;
    case 'truncate a middle file':
      fs.truncateSync(middle, 4096);
      break;
    case 'delete the last file':
      fs.rmSync(files[files.length - 1] ?? '');
      break;
    case 'delete every file':
      for (const f of files) fs.rmSync(f);
      break;
  }
}

async function everyLookUp(t: ExecutionContext, broker: Broker, sent: readonly Sent[]): Promise<void> {
  const wrong: string[] = [];
  for (const s of sent) {
    const byKey = await broker.queryMessageByKey(TOPIC, s.key, 4, 0, Date.now() + 60_000);
    if (byKey.length !== 1 || byKey[0]?.commitLogOffset !== s.result.commitLogOffset) wrong.push(`${s.key}: ${byKey.length} by key`);
  }
  for (const s of sent.filter((_, i) => i % 50 === 0)) {
    const byId = await broker.queryMessageById(s.result.msgId);
    if (byId?.keys[0] !== s.key) wrong.push(`${s.key}: not by unique id`);
  }
  t.deepEqual(wrong.slice(0, 10), [], `${wrong.length} look-ups wrong`);
}

for (const kind of ['delete a middle file', 'damage a middle file\'s header', 'truncate a middle file', 'delete the last file', 'delete every file'] as const) {
  test.serial(`indexDamage - ${kind} (2,000-entry files): every message is found by key and id after a restart`, async (t) => {
    t.timeout(120_000);
    const root = tempDir(t);
    const config: BrokerConfigInput = { storePathRootDir: root, flushDiskType: 'SYNC_FLUSH', maxIndexNum: 2000, maxHashSlotNum: 500 };
    let broker = await Broker.start(config);
    await broker.createTopic({ topic: TOPIC, readQueueNums: 4, writeQueueNums: 4 });
    const sent = await sendNumbered(broker, TOPIC, 5_000);
    await broker.shutdown();
    t.true(indexFiles(root).length >= 5, `${indexFiles(root).length} index files`);
    harm(root, kind);

    const heard = listen(t);
    broker = await Broker.start(config);
    t.teardown(() => broker.shutdown());
    const dropped = heard.logs.filter((l) => l['msg'] === 'IndexFile damaged: dropped, its records are indexed again');
    const rebuilt = heard.logs.filter((l) => l['msg'] === 'IndexFiles rebuilt from the CommitLog');
    const middle = kind.includes('middle');
    t.is(dropped.length, middle && kind !== 'delete a middle file' ? 1 : 0, JSON.stringify(dropped));
    t.is(rebuilt.length, middle ? 1 : 0, JSON.stringify(rebuilt));
    if (middle) t.like(rebuilt[0], { level: 'error' });
    await everyLookUp(t, broker, sent);
    const metrics = new BrokerMetrics(broker);
    t.teardown(() => metrics.close());
    const files = sample(await metrics.text(), METRIC_NAMES.rebuilt, 'file="index"') ?? -1;
    t.true(middle ? files >= 1 : files === 0, `${files} index files rebuilt`);
  });
}

test.serial('indexDamage - the damaged header of the only IndexFile at default size (5,000,000 slots, 20,000,000 entries): it is dropped and every message found again', async (t) => {
  t.timeout(180_000);
  const root = tempDir(t);
  const config: BrokerConfigInput = { storePathRootDir: root, flushDiskType: 'SYNC_FLUSH' };
  let broker = await Broker.start(config);
  t.is(broker.storeConfig.maxIndexNum, 20_000_000);
  await broker.createTopic({ topic: TOPIC, readQueueNums: 4, writeQueueNums: 4 });
  const sent = await sendNumbered(broker, TOPIC, 20_000);
  await broker.shutdown();
  t.is(indexFiles(root).length, 1);
  flipBytes(indexFiles(root)[0] ?? '', 0, 64);

  const heard = listen(t);
  broker = await Broker.start(config);
  t.teardown(() => broker.shutdown());
  t.like(heard.logs.find((l) => l['msg'] === 'IndexFile damaged: dropped, its records are indexed again'), { level: 'error' });
  t.is(broker.recovery.droppedIndexFiles.length, 1);
  await everyLookUp(t, broker, sent);
});
