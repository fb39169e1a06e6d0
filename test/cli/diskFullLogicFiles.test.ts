import test from 'ava';
import type { ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import type { Message, SendResult } from '../../api/BrokerApi.js';
import { METRIC_NAMES } from '../../cli/metrics.js';
import { isPetrelError } from '../../common/errors.js';
import { connectBrokerApi, type RemoteBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { decodeMessage } from '../../storage/MessageDecoder.js';
import { offsetToFileName } from '../../storage/StorePaths.js';
import { body, text, until, untilQueued } from '../helpers/broker.js';
import { mountTmpfsAt, resizeTmpfs } from '../helpers/smallFs.js';
import { bodiesOf, pullAll } from '../helpers/storeAudit.js';
import { tempDir } from '../helpers/tmp.js';
import { readyString, startCli, type Running } from './cliHarness.js';

const QUEUES = 8;
const HELD = 'dispatch held: a store write failed; retrying';
const RESUMED = 'dispatch resumed';
const FULL_LOG = 'store disk full: sends are refused with ERR_DISK_FULL until space is freed';
const FREE_LOG = 'store disk space available again: sends resume';
const COMMITLOG_FILE = 1024 * 1024 * 1024;

function logged(r: Running, msg: string): Record<string, unknown>[] {
  return r.stderr().split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function alive(r: Running): boolean {
  return r.child.exitCode === null && r.child.signalCode === null;
}

/**
 * A broker process on `store` (default store settings: 1 GiB CommitLog files, 300,000-unit
 * ConsumeQueues), with /metrics and the broker.conf lines `conf`.
 */
async function startBroker(t: ExecutionContext, store: string, conf: readonly string[] = []): Promise<{ running: Running; api: RemoteBrokerApi; scrape: () => Promise<string> }> {
  const confFile = path.join(tempDir(t), 'broker.conf');
  fs.writeFileSync(confFile, conf.map((l) => `${l}\n`).join(''));
  const running = await startCli(t, ['start', '--conf', confFile, '--store', store, '--grpc-port', '0', '--remoting-port', '0', '--metrics-port', '0', '--json', '--log-level', 'info']);
  const api = await connectBrokerApi(readyString(running, 'remoting'));
  t.teardown(() => api.close());
  const metricsUrl = readyString(running, 'metrics');
  return { running, api, scrape: async () => (await fetch(metricsUrl)).text() };
}

/** The value of the first sample line of `name` whose labels include `having`. */
function sample(metrics: string, name: string, having = ''): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(having)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Reads the record at `offset` straight from the CommitLog files, as a message. */
function fromCommitLog(store: string, offset: number): { body: string; keys: string | undefined } {
  const from = offset - (offset % COMMITLOG_FILE);
  const fd = fs.openSync(path.join(store, 'commitlog', offsetToFileName(from)), 'r');
  try {
    const head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, offset - from);
    const bytes = Buffer.alloc(head.readInt32BE(0));
    fs.readSync(fd, bytes, 0, bytes.length, offset - from);
    const m = decodeMessage(bytes, 0);
    return { body: text(m.body), keys: m.keys };
  } finally {
    fs.closeSync(fd);
  }
}

/** Sends the named messages in batches, each batch to the next queue; every send must be SEND_OK. */
async function sendAll(t: ExecutionContext, api: RemoteBrokerApi, topic: string, names: readonly string[], batch = 1): Promise<Map<string, SendResult>> {
  const out = new Map<string, SendResult>();
  for (let i = 0, q = 0; i < names.length; i += batch, q = (q + 1) % QUEUES) {
    const part = names.slice(i, i + batch);
    const results = await api.send(part.map((name): Message => ({ topic, keys: name, body: body(name) })), q);
    for (const [j, r] of results.entries()) {
      t.is(r.sendStatus, 'SEND_OK');
      out.set(part[j] ?? '', r);
    }
  }
  return out;
}

/**
 * Sends the named messages like sendAll until a send is refused (the whole batch); returns the
 * acknowledged ones, the refusal and the names not acknowledged, in order.
 */
async function sendUntilRefused(
  api: RemoteBrokerApi, topic: string, names: readonly string[], batch = 1,
): Promise<{ acked: Map<string, SendResult>; refusal: { code: string; message: string } | undefined; rest: string[] }> {
  const acked = new Map<string, SendResult>();
  for (let i = 0, q = 0; i < names.length; i += batch, q = (q + 1) % QUEUES) {
    const part = names.slice(i, i + batch);
    let results: SendResult[];
    try {
      results = await api.send(part.map((name): Message => ({ topic, keys: name, body: body(name) })), q);
    } catch (err) {
      const refusal = { code: isPetrelError(err) ? err.code : String(err), message: err instanceof Error ? err.message : String(err) };
      return { acked, refusal, rest: names.slice(i) };
    }
    for (const [j, r] of results.entries()) {
      if (r.sendStatus !== 'SEND_OK') throw new Error(`${part[j]}: ${r.sendStatus}`);
      acked.set(part[j] ?? '', r);
    }
  }
  return { acked, refusal: undefined, rest: [] };
}

/** Every acknowledged message is in the CommitLog, as sent. */
function assertInCommitLog(t: ExecutionContext, store: string, acked: ReadonlyMap<string, SendResult>): void {
  let wrong = 0;
  for (const [name, r] of acked) {
    const m = fromCommitLog(store, r.commitLogOffset);
    if (m.body !== name || m.keys !== name) wrong++;
  }
  t.is(wrong, 0, `all ${acked.size} acknowledged messages are in the CommitLog`);
}

/** Pulls find exactly the acknowledged messages, and each of `keys` is found once. */
async function assertReadable(t: ExecutionContext, api: RemoteBrokerApi, topic: string, acked: ReadonlyMap<string, SendResult>, keys: readonly string[]): Promise<void> {
  await untilQueued(api, topic, acked.size, 30_000);
  t.deepEqual(bodiesOf(await pullAll(api, topic)), [...acked.keys()].sort(), 'pulled exactly the acknowledged messages');
  const end = Date.now() + 60_000;
  for (const key of keys) {
    const found = await api.queryMessageByKey(topic, key, 8, 0, end);
    t.deepEqual(found.map((m) => [text(m.body), m.commitLogOffset]), [[key, acked.get(key)?.commitLogOffset]], `key ${key} found once`);
    t.deepEqual((await api.queryMessageByKey(topic, found[0]?.msgId ?? '', 8, 0, end)).length, 1, `${key}'s unique key found once`);
  }
}

test('start - consumequeue/ on a tmpfs that fills while messages are dispatched: no SIGBUS, the held dispatch is logged, sends are refused with ERR_DISK_FULL naming consumequeue (log and /metrics show it once per change), SEND_OK messages are all in the CommitLog, and once space is added sends resume and all are pullable', async (t: ExecutionContext) => {
  const store = tempDir(t);
  // room for the first 1 MiB of three queues' files (each queue has a 5.7 MiB file of its own)
  const cq = mountTmpfsAt(t, path.join(store, 'consumequeue'), 3);
  if ('skip' in cq) {
    t.log(cq.skip);
    t.pass();
    return;
  }
  const topic = 'DiskFullCq';
  // the used shares are measured every 200 ms, so the ratio follows the resize quickly
  const conf = ['cleanResourceInterval=200'];
  let { running, api, scrape } = await startBroker(t, store, conf);
  await api.createTopic({ topic, readQueueNums: QUEUES, writeQueueNums: QUEUES });
  t.is(sample(await scrape(), METRIC_NAMES.diskFull), 0);
  t.is(sample(await scrape(), METRIC_NAMES.logicDiskFull), 0);
  const names = Array.from({ length: 10_000 }, (_, i) => `cq-${i}`);
  // one message per queue in turn: the fourth queue's file finds no room and dispatch holds there
  const { acked, refusal, rest } = await sendUntilRefused(api, topic, names);
  t.log(`acknowledged ${acked.size}, then:`, JSON.stringify(refusal));
  t.is(refusal?.code, 'ERR_DISK_FULL');
  t.regex(refusal?.message ?? '', /consumequeue/);
  t.true(acked.size >= 3 && rest.length > 0);

  await until(() => !alive(running) || logged(running, HELD).length > 0, 20_000, 'dispatch held and logged');
  t.true(alive(running), `the broker lives (code ${running.child.exitCode}, signal ${running.child.signalCode}): ${running.stderr().slice(-2000)}`);
  const held = logged(running, HELD)[0] ?? {};
  t.like(held, { level: 50, actor: 'dispatcher', folder: 'consumequeue' });
  t.regex(String(held['error']), /consumequeue.*no space left on device/);
  t.log('logged:', held['error']);
  let queued = 0;
  for (let q = 0; q < QUEUES; q++) queued += await api.maxOffset(topic, q);
  t.log(`queued while held: ${queued} of ${acked.size}`);
  t.true(queued < acked.size, 'dispatch stopped where the ConsumeQueue had no room');
  assertInCommitLog(t, store, acked);

  // more sends while held are refused as well; the flag is shown and logged once
  for (let i = 0; i < 4; i++) {
    const more = await sendUntilRefused(api, topic, [`cq-refused-${i}`]);
    t.is(more.refusal?.code, 'ERR_DISK_FULL');
  }
  let metrics = await scrape();
  t.is(sample(metrics, METRIC_NAMES.diskFull), 1);
  t.is(sample(metrics, METRIC_NAMES.logicDiskFull), 1);
  // The held dispatch sets the flag at once; the folders' shares are measured every
  // cleanResourceInterval, so the full consumequeue/ shows in the next measurement.
  const cqAboveRoot = (m: string): boolean =>
    (sample(m, METRIC_NAMES.folderDiskUsedRatio, 'folder="consumequeue"') ?? 0) > (sample(m, METRIC_NAMES.folderDiskUsedRatio, 'folder="root"') ?? 1);
  await until(async () => cqAboveRoot((metrics = await scrape())), 30_000, 'consumequeue/ measured fuller than the root').catch(() => undefined);
  t.log(`${METRIC_NAMES.folderDiskUsedRatio} while held:`, ['root', 'commitlog', 'consumequeue', 'index'].map((f) => `${f}=${sample(metrics, METRIC_NAMES.folderDiskUsedRatio, `folder="${f}"`)}`).join(' '));
  t.true(cqAboveRoot(metrics));
  await until(() => logged(running, FULL_LOG).length > 0, 10_000, 'the change to full logged');
  t.is(logged(running, FULL_LOG).length, 1, 'one warn line for the change to full, not one per send');
  t.like(logged(running, FULL_LOG)[0], { level: 40, full: true, logicFull: true });
  t.regex(String(logged(running, FULL_LOG)[0]?.['reason']), /consumequeue/);

  resizeTmpfs(cq.dir, 64);
  await until(async () => sample((metrics = await scrape()), METRIC_NAMES.diskFull) === 0, 30_000, 'petrelmq_store_disk_full 0');
  t.is(sample(metrics, METRIC_NAMES.logicDiskFull), 0);
  t.true((sample(metrics, METRIC_NAMES.folderDiskUsedRatio, 'folder="consumequeue"') ?? 1) < 0.9);
  for (const [name, r] of await sendAll(t, api, topic, rest.slice(0, 64))) acked.set(name, r);
  await assertReadable(t, api, topic, acked, [...acked.keys()].slice(0, 80));
  const end = Date.now() + 60_000;
  for (let i = 0; i < 4; i++) t.deepEqual(await api.queryMessageByKey(topic, `cq-refused-${i}`, 8, 0, end), [], `refused cq-refused-${i} left nothing`);
  await until(() => logged(running, RESUMED).length > 0 && logged(running, FREE_LOG).length > 0, 10_000, 'dispatch resumed and the flag cleared logged');
  t.is(logged(running, HELD).length, 1, 'the held dispatch is logged once, not once per retry');
  t.is(logged(running, FULL_LOG).length, 1);
  t.is(logged(running, FREE_LOG).length, 1);

  api.close();
  const stopped = await running.stop();
  t.deepEqual([stopped.code, stopped.signal], [0, null], stopped.stderr.slice(-2000));
  t.false(fs.existsSync(path.join(store, 'abort')), 'a clean stop leaves no abort file');
  ({ running, api, scrape } = await startBroker(t, store, conf));
  await assertReadable(t, api, topic, acked, [...acked.keys()].slice(0, 16));
  t.is((await running.stop()).code, 0);
});

test('start - index/ on a tmpfs smaller than one IndexFile, then one that fills at an entry: no SIGBUS, the failure is logged, sends are refused with ERR_DISK_FULL naming index while dispatch is held, SEND_OK messages are all in the CommitLog, and once space is added all are pullable and found by key once', async (t: ExecutionContext) => {
  const store = tempDir(t);
  // A default IndexFile is 420 MB, 20 MB of it the header and slot table reserved at creation:
  // 8 MiB cannot hold even that, so its creation fails.
  const index = mountTmpfsAt(t, path.join(store, 'index'), 8);
  if ('skip' in index) {
    t.log(index.skip);
    t.pass();
    return;
  }
  const topic = 'DiskFullIndex';
  // The used shares are measured at start only (an hour's cleanResourceInterval): index/ at 20
  // MiB is used to the last block as soon as its IndexFile is made, which the check would flag
  // at once (test/actors/diskFull covers that); here index/ fills at an entry and the held
  // dispatch alone refuses sends.
  const conf = ['cleanResourceInterval=3600000'];
  let { running, api } = await startBroker(t, store, conf);
  await api.createTopic({ topic, readQueueNums: QUEUES, writeQueueNums: QUEUES });
  const first = Array.from({ length: 10_000 }, (_, i) => `ix-${i}`);
  const one = await sendUntilRefused(api, topic, first);
  t.log(`acknowledged ${one.acked.size}, then:`, JSON.stringify(one.refusal));
  t.is(one.refusal?.code, 'ERR_DISK_FULL');
  t.regex(one.refusal?.message ?? '', /dispatch is held because a write to index\/ failed/);
  const acked = one.acked;
  t.true(acked.size >= 1);
  await until(() => !alive(running) || logged(running, HELD).length > 0, 20_000, 'dispatch held and logged');
  t.true(alive(running), `the broker lives (code ${running.child.exitCode}, signal ${running.child.signalCode}): ${running.stderr().slice(-2000)}`);
  t.like(logged(running, HELD)[0], { folder: 'index' });
  t.regex(String(logged(running, HELD)[0]?.['error']), /index.*no space left on device/);
  t.deepEqual(fs.readdirSync(index.dir), [], 'the IndexFile the disk had no room for is not left behind');
  assertInCommitLog(t, store, acked);

  // 20 MiB: exactly the header, the slot table and the entries up to the next 1 MiB chunk
  // (48,573 entries, two a message: the key of message 24,286 is the first that finds no room)
  resizeTmpfs(index.dir, 20);
  await untilQueued(api, topic, acked.size, 30_000);
  const more = [...one.rest, ...Array.from({ length: 24_400 - one.rest.length - acked.size }, (_, i) => `iy-${i}`)];
  // dispatch resumes at its next retry (every second); the held flag is cleared before it says so
  await until(() => logged(running, RESUMED).length === 1, 10_000, 'dispatch resumed');
  const two = await sendUntilRefused(api, topic, more, 500);
  for (const [name, r] of two.acked) acked.set(name, r);
  t.log(`acknowledged ${acked.size} in all, then:`, JSON.stringify(two.refusal));
  await until(() => !alive(running) || logged(running, HELD).length > 1, 30_000, 'dispatch held again and logged');
  t.true(alive(running), `the broker lives (code ${running.child.exitCode}, signal ${running.child.signalCode}): ${running.stderr().slice(-2000)}`);
  t.true(acked.size >= 24_286, 'every message up to the one whose key found no room was taken');
  t.true((await pullAll(api, topic)).length < acked.size, 'dispatch stopped where the IndexFile had no room');
  const refused = await sendUntilRefused(api, topic, ['iz-refused']);
  t.is(refused.refusal?.code, 'ERR_DISK_FULL', 'a send while dispatch is held is refused');
  t.regex(refused.refusal?.message ?? '', /dispatch is held because a write to index\/ failed/);
  assertInCommitLog(t, store, acked);

  resizeTmpfs(index.dir, 64);
  await until(() => logged(running, RESUMED).length === 2, 10_000, 'dispatch resumed');
  for (const [name, r] of await sendAll(t, api, topic, [...two.rest, 'iz-refused'], 500)) acked.set(name, r);
  // the keys on both sides of the entry that found no room, and the first 8
  const names = [...acked.keys()];
  const around = names.slice(24_280, 24_295);
  await assertReadable(t, api, topic, acked, [...names.slice(0, 8), ...around]);
  t.is(logged(running, RESUMED).length, 2);

  api.close();
  const stopped = await running.stop();
  t.deepEqual([stopped.code, stopped.signal], [0, null], stopped.stderr.slice(-2000));
  t.false(fs.existsSync(path.join(store, 'abort')), 'a clean stop leaves no abort file');
  ({ running, api } = await startBroker(t, store, conf));
  await assertReadable(t, api, topic, acked, around);
  t.is((await running.stop()).code, 0);
});
