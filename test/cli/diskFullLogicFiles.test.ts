import test from 'ava';
import type { ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import type { Message, SendResult } from '../../api/BrokerApi.js';
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
const COMMITLOG_FILE = 1024 * 1024 * 1024;

function logged(r: Running, msg: string): Record<string, unknown>[] {
  return r.stderr().split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function alive(r: Running): boolean {
  return r.child.exitCode === null && r.child.signalCode === null;
}

/** A broker process on `store` (default store settings: 1 GiB CommitLog files, 300,000-unit ConsumeQueues). */
async function startBroker(t: ExecutionContext, store: string): Promise<{ running: Running; api: RemoteBrokerApi }> {
  const running = await startCli(t, ['start', '--store', store, '--grpc-port', '0', '--remoting-port', '0', '--json', '--log-level', 'info']);
  const api = await connectBrokerApi(readyString(running, 'remoting'));
  t.teardown(() => api.close());
  return { running, api };
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

test('start - consumequeue/ on a tmpfs that fills while messages are dispatched: no SIGBUS, the failure is logged, SEND_OK messages are all in the CommitLog, and once space is added dispatch resumes and all are pullable', async (t: ExecutionContext) => {
  const store = tempDir(t);
  // room for the first 1 MiB of three queues' files (each queue has a 5.7 MiB file of its own)
  const cq = mountTmpfsAt(t, path.join(store, 'consumequeue'), 3);
  if ('skip' in cq) {
    t.log(cq.skip);
    t.pass();
    return;
  }
  const topic = 'DiskFullCq';
  let { running, api } = await startBroker(t, store);
  await api.createTopic({ topic, readQueueNums: QUEUES, writeQueueNums: QUEUES });
  const names = Array.from({ length: 64 }, (_, i) => `cq-${i}`);
  const acked = await sendAll(t, api, topic, names);
  t.is(acked.size, 64, 'the CommitLog has room: every send is acknowledged');

  await until(() => !alive(running) || logged(running, HELD).length > 0, 20_000, 'dispatch held and logged');
  t.true(alive(running), `the broker lives (code ${running.child.exitCode}, signal ${running.child.signalCode}): ${running.stderr().slice(-2000)}`);
  const held = logged(running, HELD)[0] ?? {};
  t.like(held, { level: 50, actor: 'dispatcher' });
  t.regex(String(held['error']), /consumequeue.*no space left on device/);
  t.log('logged:', held['error']);
  const filled = [];
  for (let q = 0; q < QUEUES; q++) filled.push(await api.maxOffset(topic, q));
  t.log('queued per queue while held:', filled.join(','));
  t.true(filled.reduce((a, b) => a + b, 0) < 64, 'dispatch stopped where the ConsumeQueue had no room');
  assertInCommitLog(t, store, acked);

  resizeTmpfs(cq.dir, 64);
  await assertReadable(t, api, topic, acked, names);
  await until(() => logged(running, RESUMED).length > 0, 10_000, 'dispatch resumed logged');
  t.is(logged(running, HELD).length, 1, 'the held dispatch is logged once, not once per retry');

  api.close();
  const stopped = await running.stop();
  t.deepEqual([stopped.code, stopped.signal], [0, null], stopped.stderr.slice(-2000));
  t.false(fs.existsSync(path.join(store, 'abort')), 'a clean stop leaves no abort file');
  ({ running, api } = await startBroker(t, store));
  await assertReadable(t, api, topic, acked, names);
  t.is((await running.stop()).code, 0);
});

test('start - index/ on a tmpfs smaller than one IndexFile, then one that fills at an entry: no SIGBUS, the failure is logged, SEND_OK messages are all in the CommitLog, and once space is added all are pullable and found by key once', async (t: ExecutionContext) => {
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
  let { running, api } = await startBroker(t, store);
  await api.createTopic({ topic, readQueueNums: QUEUES, writeQueueNums: QUEUES });
  const first = Array.from({ length: 64 }, (_, i) => `ix-${i}`);
  const acked = await sendAll(t, api, topic, first);
  t.is(acked.size, 64);
  await until(() => !alive(running) || logged(running, HELD).length > 0, 20_000, 'dispatch held and logged');
  t.true(alive(running), `the broker lives (code ${running.child.exitCode}, signal ${running.child.signalCode}): ${running.stderr().slice(-2000)}`);
  t.regex(String(logged(running, HELD)[0]?.['error']), /index.*no space left on device/);
  t.deepEqual(fs.readdirSync(index.dir), [], 'the IndexFile the disk had no room for is not left behind');
  assertInCommitLog(t, store, acked);

  // 20 MiB: exactly the header, the slot table and the entries up to the next 1 MiB chunk
  // (48,573 entries, two a message: the key of message 24,286 is the first that finds no room)
  resizeTmpfs(index.dir, 20);
  await untilQueued(api, topic, 64, 30_000);
  const more = Array.from({ length: 24_400 - 64 }, (_, i) => `iy-${i}`);
  for (const [name, r] of await sendAll(t, api, topic, more, 500)) acked.set(name, r);
  await until(() => !alive(running) || logged(running, HELD).length > 1, 30_000, 'dispatch held again and logged');
  t.true(alive(running), `the broker lives (code ${running.child.exitCode}, signal ${running.child.signalCode}): ${running.stderr().slice(-2000)}`);
  t.true((await pullAll(api, topic)).length < acked.size, 'dispatch stopped where the IndexFile had no room');
  assertInCommitLog(t, store, acked);

  resizeTmpfs(index.dir, 64);
  // the keys on both sides of the entry that found no room, and the first 64
  const names = [...acked.keys()];
  const around = names.slice(24_280, 24_295);
  await assertReadable(t, api, topic, acked, [...first.slice(0, 8), ...around]);
  t.is(logged(running, RESUMED).length, 2);

  api.close();
  const stopped = await running.stop();
  t.deepEqual([stopped.code, stopped.signal], [0, null], stopped.stderr.slice(-2000));
  t.false(fs.existsSync(path.join(store, 'abort')), 'a clean stop leaves no abort file');
  ({ running, api } = await startBroker(t, store));
  await assertReadable(t, api, topic, acked, around);
  t.is((await running.stop()).code, 0);
});

