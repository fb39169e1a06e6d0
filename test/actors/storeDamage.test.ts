/**
 * Damaged CommitLog bytes at broker level (issue 10, defect 4): a broker stores messages, the test
 * flips bytes in its CommitLog with real writes, and a restarted broker must keep and serve every
 * record the damage did not touch, never serve one it did, report the damage (error log, the
 * storeCorrupt channel, petrelmq_store_corrupt_*) and answer look-ups of damaged records with
 * ERR_STORE_CORRUPT.
 */
import test, { type ExecutionContext } from 'ava';
import { Broker } from '../../actors/Broker.js';
import { Position } from '../../actors/BrokerPositions.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import type { MessageExt } from '../../api/BrokerApi.js';
import { BrokerMetrics, METRIC_NAMES } from '../../cli/metrics.js';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { commitLogFileAt, consumeAll, flipBytes, listen, pullEverything, recordsHit, sample, sendNumbered, type Sent } from '../helpers/damage.js';
import { startJsonChild } from '../helpers/jsonChild.js';
import { tempDir } from '../helpers/tmp.js';

const TOPIC = 'Damaged';
const GiB = 1024 * 1024 * 1024;

/** Flips 64 bytes straddling the boundary before the middle record (CommitLog order): the end of one record and the start of the next. */
function flipMiddle(root: string, sent: readonly Sent[], fileSize: number): { at: number; length: number } {
  const offsets = sent.map((s) => s.result.commitLogOffset).sort((a, b) => a - b);
  const middle = offsets[Math.floor(offsets.length / 2)] ?? 0;
  const at = middle - 32;
  const { file, position } = commitLogFileAt(root, fileSize, at);
  flipBytes(file, position, 64);
  return { at, length: 64 };
}

async function expectCorrupt(t: ExecutionContext, what: string, p: Promise<unknown>): Promise<void> {
  const err = await t.throwsAsync(p);
  t.is((err as { code?: unknown } | undefined)?.code, 'ERR_STORE_CORRUPT', `${what}: ${String(err)}`);
}

/**
 * After a restart over damaged bytes: exactly the intact messages are pulled, each with its own
 * body; the damaged ones are not, and look-ups of them by key, unique id and offset id answer
 * ERR_STORE_CORRUPT; the metric counts what recovery and the pulls found.
 */
async function auditRestart(t: ExecutionContext, broker: Broker, sent: readonly Sent[], hit: readonly Sent[], expectRecoveryRanges: number): Promise<void> {
  const pulled: MessageExt[] = await pullEverything(broker, TOPIC);
  const wanted = new Map(sent.filter((s) => !hit.includes(s)).map((s) => [s.key, s.body]));
  t.is(pulled.length, sent.length - hit.length, `pulled ${pulled.length} of ${sent.length} sent, ${hit.length} hit`);
  const bad = pulled.filter((m) => wanted.get(m.keys[0] ?? '') !== new TextDecoder().decode(m.body));
  t.deepEqual(bad.map((m) => m.keys[0]), [], 'every pulled body is the one sent under its key');
  t.is(new Set(pulled.map((m) => m.keys[0])).size, pulled.length, 'no message twice');

  for (const h of hit) {
    await expectCorrupt(t, `key ${h.key}`, broker.queryMessageByKey(TOPIC, h.key, 4, 0, Date.now() + 60_000));
    await expectCorrupt(t, `offset id of ${h.key}`, broker.queryMessageById(h.result.offsetMsgId));
    await expectCorrupt(t, `unique id of ${h.key}`, broker.queryMessageById(h.result.msgId));
  }
  // an intact neighbour is found every way
  const intact = sent.find((s) => !hit.includes(s));
  if (intact !== undefined) {
    t.is((await broker.queryMessageByKey(TOPIC, intact.key, 4, 0, Date.now() + 60_000)).length, 1);
    t.is((await broker.queryMessageById(intact.result.offsetMsgId))?.keys[0], intact.key);
  }

  const metrics = new BrokerMetrics(broker);
  t.teardown(() => metrics.close());
  const text = await metrics.text();
  const hitBytes = broker.recovery.damaged.reduce((n, d) => n + d.to - d.from, 0);
  t.is(sample(text, METRIC_NAMES.corruptRanges, 'found="recovery"'), expectRecoveryRanges);
  t.is(sample(text, METRIC_NAMES.corruptBytes, 'found="recovery"'), hitBytes);
  // the pulls met the units of both damaged records, each counted once however often it is hit
  t.is(sample(text, METRIC_NAMES.corruptRanges, 'found="read"'), hit.length);
  await pullEverything(broker, TOPIC);
  t.is(sample(await metrics.text(), METRIC_NAMES.corruptRanges, 'found="read"'), hit.length);
}

test.serial('storeDamage - 64 flipped bytes in the middle of a 1 GiB CommitLog after a clean stop: every intact message is kept and served, the damage reported', async (t) => {
  t.timeout(240_000);
  const root = tempDir(t);
  const config: BrokerConfigInput = { storePathRootDir: root, flushDiskType: 'SYNC_FLUSH' };
  const N = 20_000;
  let broker = await Broker.start(config);
  t.is(broker.storeConfig.mappedFileSizeCommitLog, GiB);
  await broker.createTopic({ topic: TOPIC, readQueueNums: 4, writeQueueNums: 4 });
  const sent = await sendNumbered(broker, TOPIC, N);
  const end = broker.positions.get(Position.WROTE);
  await broker.shutdown();

  const { at, length } = flipMiddle(root, sent, GiB);
  const hit = recordsHit(sent, at, length, end);
  t.is(hit.length, 2, 'the flip ends one record and starts the next');

  const heard = listen(t);
  broker = await Broker.start(config);
  t.teardown(() => broker.shutdown());
  const r = broker.recovery;
  t.false(r.abnormal);
  t.is(r.to, end, 'nothing after the damage is cut');
  t.is(r.lostTail, undefined);
  t.is(r.damaged.length, 1);
  const first = hit[0]?.result.commitLogOffset ?? -1;
  t.is(r.damaged[0]?.from, first, 'the damaged range starts at the first record hit');
  t.is(r.damaged[0]?.to, sent.find((s) => s.result.commitLogOffset > (hit[1]?.result.commitLogOffset ?? 0))?.result.commitLogOffset, '... and ends at the next sound record');
  t.like(heard.corrupt[0], { where: 'recovery', file: 'commitlog', from: r.damaged[0]?.from, to: r.damaged[0]?.to, kept: true });
  t.like(heard.logs.find((l) => l['msg'] === 'CommitLog damage found at recovery'), { level: 'error', ranges: 1, skipped: 1, cutTail: false });

  await auditRestart(t, broker, sent, hit, 1);
  t.true(heard.logs.some((l) => l['msg'] === 'a pull skipped damaged CommitLog records' && l['level'] === 'error'), 'the pulls that stepped over the damage logged it');
});

test.serial('storeDamage - after SIGKILL of a broker process, acknowledged messages after 64 flipped bytes survive abnormal recovery', async (t) => {
  t.timeout(240_000);
  const root = tempDir(t);
  const config: BrokerConfigInput = { storePathRootDir: root, flushDiskType: 'SYNC_FLUSH' };
  const child = await startJsonChild('servedBrokerProcess', { config, port: 0 });
  t.teardown(() => child.kill());
  const api = await connectBrokerApi(String(child.ready['address']));
  await api.createTopic({ topic: TOPIC, readQueueNums: 4, writeQueueNums: 4 });
  const sent = await sendNumbered(api, TOPIC, 20_000);
  // more sends in flight when the process dies: only the acknowledged ones are owed
  const late: Sent[] = [];
  await sendNumbered(api, TOPIC, 100, 20_000, 50, late);
  const inFlight = sendNumbered(api, TOPIC, 2_000, 20_100, 50, late).catch(() => undefined);
  await child.kill();
  await inFlight;
  api.close();
  const acked = [...sent, ...late];

  const end = Math.max(...acked.map((s) => s.result.commitLogOffset)) + 1;
  const { at, length } = flipMiddle(root, sent, GiB);
  const hit = recordsHit(acked, at, length, end);
  t.is(hit.length, 2);

  const heard = listen(t);
  const broker = await Broker.start(config);
  t.teardown(() => broker.shutdown());
  t.true(broker.recovery.abnormal, 'the abort file was left behind');
  t.is(broker.recovery.damaged.length, 1);
  t.true(broker.recovery.to >= end, 'the log still ends after the last acknowledged record');
  t.true(heard.logs.some((l) => l['msg'] === 'CommitLog damage found at recovery' && l['level'] === 'error'));
  t.log(`${acked.length} acknowledged (${late.length} of them sent after the first 20,000, a batch still in flight at the kill), ${hit.length} hit`);

  const pulled = await pullEverything(broker, TOPIC);
  const got = new Map(pulled.map((m) => [m.keys[0] ?? '', new TextDecoder().decode(m.body)]));
  const missing = acked.filter((s) => !hit.includes(s) && got.get(s.key) !== s.body);
  t.deepEqual(missing.map((s) => s.key), [], 'every acknowledged intact message is pulled with its body');
  for (const h of hit) t.false(got.has(h.key), `damaged ${h.key} is not served`);
  t.true(pulled.length >= acked.length - hit.length);
});

test.serial('storeDamage - damage in a CommitLog file older than the last three is found when read: skipped, logged, counted and ERR_STORE_CORRUPT on look-up', async (t) => {
  t.timeout(240_000);
  const root = tempDir(t);
  const MiB = 1024 * 1024;
  const config: BrokerConfigInput = { storePathRootDir: root, flushDiskType: 'SYNC_FLUSH', mappedFileSizeCommitLog: MiB };
  let broker = await Broker.start(config);
  await broker.createTopic({ topic: TOPIC, readQueueNums: 4, writeQueueNums: 4 });
  const sent = await sendNumbered(broker, TOPIC, 6_000, 0, 200, [], 1000);
  const end = broker.positions.get(Position.WROTE);
  await broker.shutdown();
  t.true(end > 5 * MiB, `${Math.ceil(end / MiB)} CommitLog files`);

  // the middle of the first file: recovery looks at the last three only
  const inFirst = sent.filter((s) => s.result.commitLogOffset < MiB);
  const middle = inFirst[Math.floor(inFirst.length / 2)]?.result.commitLogOffset ?? 0;
  const { file, position } = commitLogFileAt(root, MiB, middle - 32);
  flipBytes(file, position, 64);
  const hit = recordsHit(sent, middle - 32, 64, end);
  t.is(hit.length, 2);

  const heard = listen(t);
  broker = await Broker.start(config);
  t.teardown(() => broker.shutdown());
  t.deepEqual(broker.recovery.damaged, [], 'a clean restart does not read files older than the last three');

  const got = await consumeAll(t, broker, TOPIC, sent.length - hit.length);
  t.is(got.size, sent.length - hit.length);
  t.deepEqual(sent.filter((s) => !hit.includes(s) && got.get(s.key) !== s.body).map((s) => s.key), [], 'every intact message consumed with its body');
  for (const h of hit) t.false(got.has(h.key), `damaged ${h.key} is not served`);
  const pullLog = heard.logs.find((l) => l['msg'] === 'a pull skipped damaged CommitLog records');
  t.like(pullLog, { level: 'error', topic: TOPIC });

  for (const h of hit) {
    await expectCorrupt(t, `key ${h.key}`, broker.queryMessageByKey(TOPIC, h.key, 4, 0, Date.now() + 60_000));
    await expectCorrupt(t, `offset id of ${h.key}`, broker.queryMessageById(h.result.offsetMsgId));
  }
  const metrics = new BrokerMetrics(broker);
  t.teardown(() => metrics.close());
  const text = await metrics.text();
  t.is(sample(text, METRIC_NAMES.corruptRanges, 'found="recovery"'), 0);
  t.is(sample(text, METRIC_NAMES.corruptRanges, 'found="read"'), 2);
  t.true((sample(text, METRIC_NAMES.corruptBytes, 'found="read"') ?? 0) >= 2 * 1000, 'the bytes of both records');
});
