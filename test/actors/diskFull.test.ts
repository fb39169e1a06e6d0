import test from 'ava';
import type { ExecutionContext } from 'ava';
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import path from 'node:path';
import { Broker } from '../../actors/Broker.js';
import { Position } from '../../actors/BrokerPositions.js';
import { ManualClock } from '../../common/clock.js';
import { CHANNELS } from '../../common/diagnostics.js';
import { isPetrelError } from '../../common/errors.js';
import { body, text, until, untilQueued } from '../helpers/broker.js';
import { fillLeaving, fillUp, mountTmpfs, mountTmpfsAt, resizeTmpfs } from '../helpers/smallFs.js';
import { bodiesOf, pullAll } from '../helpers/storeAudit.js';
import { tempDir } from '../helpers/tmp.js';

const TOPIC = 'DiskFull';
const BIG = 64 * 1024;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'SEND_OK';
  } catch (err) {
    return isPetrelError(err) ? err.code : String(err);
  }
}

for (const flushDiskType of ['ASYNC_FLUSH', 'SYNC_FLUSH'] as const) {
  test(`Broker - ${flushDiskType}: sends failing on a full disk consume nothing; later sends are stored, dispatched, found by key and recovered (1 GiB CommitLog on 48 MiB)`, async (t: ExecutionContext) => {
    const fsys = mountTmpfs(t, 48);
    if ('skip' in fsys) {
      t.log(fsys.skip);
      t.pass();
      return;
    }
    const root = fsys.dir;
    const config = { storePathRootDir: root, flushDiskType, defaultTopicQueueNums: 1 };
    const clock = new ManualClock();
    let broker = await Broker.start(config, { clock });
    let running = true;
    t.teardown(async () => {
      if (running) await broker.shutdown();
    });
    const send = (i: number, size = 100): Promise<unknown> =>
      broker.send([{ topic: TOPIC, body: body(`m${i}:`.padEnd(size, 'x')), keys: `k${i}` }], 0);
    for (let i = 0; i < 20; i++) await send(i);
    await untilQueued(broker, TOPIC, 20);
    const wrote = broker.positions.get(Position.WROTE);

    const filler = fillUp(root);
    const failed = await Promise.all(Array.from({ length: 10 }, (_, i) => codeOf(send(100 + i, BIG))));
    t.log('sends on the full disk:', failed.join(','));
    t.true(failed.every((c) => c === 'ERR_STORE_IO'));
    t.is(broker.positions.get(Position.WROTE), wrote);
    t.is(await broker.maxOffset(TOPIC, 0), 20);
    // the disk-full flag, measured when the period has passed on the broker's clock
    clock.advance(broker.storeConfig.cleanResourceInterval);
    t.true(broker.diskSpace().full);
    t.is(await codeOf(send(200)), 'ERR_DISK_FULL');

    fs.rmSync(filler);
    clock.advance(broker.storeConfig.cleanResourceInterval);
    t.false(broker.diskSpace().full);
    const results = [];
    for (let i = 20; i < 70; i++) results.push(((await send(i)) as { sendStatus: string; queueOffset: number }[])[0]);
    t.true(results.every((r) => r?.sendStatus === 'SEND_OK'));
    t.deepEqual(results.map((r) => r?.queueOffset), Array.from({ length: 50 }, (_, i) => 20 + i));
    await untilQueued(broker, TOPIC, 70);

    const check = async (b: Broker): Promise<void> => {
      const names: string[] = [];
      for (let offset = 0, round = 0; offset < 70 && round < 70; round++) {
        const pulled = await b.pull({ group: 'g', topic: TOPIC, queueId: 0, offset, maxMsgNums: 32 });
        names.push(...pulled.messages.map((m) => text(m.body).split(':')[0] ?? ''));
        offset = pulled.nextBeginOffset;
      }
      t.deepEqual(names, Array.from({ length: 70 }, (_, i) => `m${i}`));
      // every message acknowledged SEND_OK is found by its key, once, at the offset it was given
      const end = Date.now() + 60_000;
      for (let i = 0; i < 70; i++) {
        const found = await b.queryMessageByKey(TOPIC, `k${i}`, 32, 0, end);
        t.deepEqual(found.map((m) => [text(m.body).split(':')[0], m.queueOffset]), [[`m${i}`, i]], `key k${i}`);
      }
      // the sends that failed left nothing to find
      for (const i of [100, 105, 109, 200]) t.deepEqual(await b.queryMessageByKey(TOPIC, `k${i}`, 32, 0, end), [], `key k${i}`);
    };
    await check(broker);
    await broker.shutdown();
    running = false;
    broker = await Broker.start(config, { clock });
    running = true;
    await untilQueued(broker, TOPIC, 70);
    await check(broker);
  });
}

/** Resolves with the first record published on the log channel whose msg starts with `prefix`. */
function nextLog(t: ExecutionContext, prefix: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onLog = (m: unknown): void => {
      const r = m as Record<string, unknown>;
      if (typeof r['msg'] !== 'string' || !r['msg'].startsWith(prefix)) return;
      diagnostics.unsubscribe(CHANNELS.log, onLog);
      resolve(r);
    };
    diagnostics.subscribe(CHANNELS.log, onLog);
    t.teardown(() => diagnostics.unsubscribe(CHANNELS.log, onLog));
  });
}

test('Broker - consumer offsets committed while the disk is full: persisting them fails without ending the process, is retried and succeeds once space returns; a stop on a full disk is still clean (1 GiB CommitLog on 48 MiB)', async (t: ExecutionContext) => {
  const fsys = mountTmpfs(t, 48);
  if ('skip' in fsys) {
    t.log(fsys.skip);
    t.pass();
    return;
  }
  const root = fsys.dir;
  // offsets are persisted every 10 ms: the timer runs many times while the disk is full
  const config = { storePathRootDir: root, defaultTopicQueueNums: 1, flushConsumerOffsetInterval: 10 };
  let broker = await Broker.start(config);
  let running = true;
  t.teardown(async () => {
    if (running) await broker.shutdown();
  });
  for (let i = 0; i < 4; i++) await broker.send([{ topic: TOPIC, body: body(`m${i}`) }], 0);
  await untilQueued(broker, TOPIC, 4);
  const offsetsFile = path.join(root, 'config', 'consumerOffset.json');
  const persisted = (): unknown => JSON.parse(fs.readFileSync(offsetsFile, 'utf8'));
  await broker.commitOffset('g', TOPIC, 0, 1);
  const holds = (offset: number): boolean => fs.existsSync(offsetsFile) && JSON.stringify(persisted()) === JSON.stringify({ offsetTable: { [`${TOPIC}@g`]: { 0: offset } } });
  await until(() => holds(1), 10_000, 'offset 1 persisted');

  const filler = fillUp(root);
  const failed = nextLog(t, 'consumer offsets not persisted;');
  await broker.commitOffset('g', TOPIC, 0, 2);
  const record = await failed;
  t.is(record['level'], 'warn');
  t.regex(String(record['error']), /no space left on device/);
  t.is(await broker.queryOffset('g', TOPIC, 0), 2, 'the broker runs on and keeps the offset in memory');
  t.deepEqual(persisted(), { offsetTable: { [`${TOPIC}@g`]: { 0: 1 } } }, 'the file keeps the last persisted offsets whole');

  const again = nextLog(t, 'consumer offsets persisted again');
  fs.rmSync(filler);
  await again;
  t.deepEqual(persisted(), { offsetTable: { [`${TOPIC}@g`]: { 0: 2 } } });

  // a stop while the disk is full: the offsets cannot be written, the stop still completes
  const filler2 = fillUp(root);
  await broker.commitOffset('g', TOPIC, 0, 3);
  const atStop = nextLog(t, 'consumer offsets not persisted at shutdown');
  running = false;
  await broker.shutdown();
  t.is((await atStop)['level'], 'error');
  t.false(fs.existsSync(path.join(root, 'abort')), 'the stop was clean');
  fs.rmSync(filler2);
  broker = await Broker.start(config);
  running = true;
  t.is(await broker.queryOffset('g', TOPIC, 0), 2, 'the next start resumes from the last persisted offset');
});

type Outcome = { code: 'SEND_OK' } | { code: string; message: string };

async function outcomeOf(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return { code: 'SEND_OK' };
  } catch (err) {
    return { code: isPetrelError(err) ? err.code : String(err), message: err instanceof Error ? err.message : String(err) };
  }
}

/** Sends of named messages (body and key = the name) to one broker, sorted into acknowledged and refused. */
function sender(broker: () => Broker, topic: string): { send(name: string, queueId?: number): Promise<Outcome>; acked: Set<string>; refused: Set<string> } {
  const acked = new Set<string>();
  const refused = new Set<string>();
  return {
    acked,
    refused,
    async send(name, queueId = 0) {
      const o = await outcomeOf(broker().send([{ topic, keys: name, body: body(name) }], queueId));
      (o.code === 'SEND_OK' ? acked : refused).add(name);
      return o;
    },
  };
}

const GIB = 1024 * 1024 * 1024;

/**
 * consumequeue/ or index/ on a tmpfs of its own, filled past the ratio with room left for writes.
 * A default ConsumeQueue file (300,000 units, 5.7 MiB) takes its blocks 1 MiB at a time; a default
 * IndexFile takes 20 MB (its header and slot table) when it is made.
 */
const LOGIC_FOLDERS = [
  { folder: 'consumequeue', mib: 16, leave: 1 << 20 },
  { folder: 'index', mib: 32, leave: 2 << 20 },
] as const;

for (const { folder, mib, leave } of LOGIC_FOLDERS) {
  test(`Broker - ${folder}/ on a filesystem of its own filled past diskSpaceWarningLevelRatio: after cleanResourceInterval sends get ERR_DISK_FULL naming ${folder}; once space is freed sends resume and every SEND_OK message is pullable (1 GiB CommitLog, 300,000-unit ConsumeQueues)`, async (t: ExecutionContext) => {
    const store = tempDir(t);
    const logic = mountTmpfsAt(t, path.join(store, folder), mib);
    if ('skip' in logic) {
      t.log(logic.skip);
      t.pass();
      return;
    }
    const topic = `LogicFull_${folder}`;
    const changes: Record<string, unknown>[] = [];
    // tests run side by side: only this store's changes
    const onChange = (m: unknown): void => {
      if (String((m as Record<string, unknown>)['path']).startsWith(store)) changes.push(m as Record<string, unknown>);
    };
    diagnostics.subscribe(CHANNELS.storeDiskSpace, onChange);
    t.teardown(() => diagnostics.unsubscribe(CHANNELS.storeDiskSpace, onChange));
    const clock = new ManualClock();
    const broker = await Broker.start({ storePathRootDir: store, defaultTopicQueueNums: 1 }, { clock });
    t.teardown(() => broker.shutdown());
    t.is(broker.storeConfig.mappedFileSizeCommitLog, GIB);
    t.is(broker.storeConfig.mappedFileSizeConsumeQueue, 300_000 * 20);
    const interval = broker.storeConfig.cleanResourceInterval;
    const s = sender(() => broker, topic);
    for (let i = 0; i < 10; i++) t.is((await s.send(`before-${i}`)).code, 'SEND_OK');
    await untilQueued(broker, topic, 10);
    t.false(broker.diskSpace().full);

    const filler = fillLeaving(logic.dir, leave);
    // measured once per cleanResourceInterval: until the period has passed the store takes sends
    t.is((await s.send('unmeasured')).code, 'SEND_OK');
    clock.advance(interval);
    const refused = await s.send('refused-0');
    t.log(`${folder} full:`, JSON.stringify(refused));
    t.is(refused.code, 'ERR_DISK_FULL');
    t.regex('message' in refused ? refused.message : '', new RegExp(`${logic.dir} \\(${folder}\\) is 9\\d\\.\\d% used`));
    const state = broker.diskSpace();
    t.like(state, { full: true, diskFull: false, logicFull: true, dispatchHeld: undefined, path: logic.dir, folders: [folder] });
    t.true(state.usedRatio >= 0.9, `used ratio ${state.usedRatio}`);
    // two filesystems, each measured once: the store's own (root, CommitLog, the other logic folder) and the tmpfs
    t.deepEqual(state.filesystems.map((f) => [f.folders, f.full]), [
      [['root', 'commitlog', folder === 'index' ? 'consumequeue' : 'index'], false],
      [[folder], true],
    ]);
    for (let i = 1; i < 4; i++) t.is((await s.send(`refused-${i}`)).code, 'ERR_DISK_FULL');
    // the change is published once (the process log's warn line), with the reason
    t.is(changes.length, 1);
    t.like(changes[0], { full: true, logicFull: true, path: logic.dir, folders: [folder] });
    t.regex(String(changes[0]?.['reason']), new RegExp(`${logic.dir} \\(${folder}\\) is 9\\d\\.\\d% used`));

    fs.rmSync(filler);
    // still full until the next measurement
    t.is((await s.send('refused-4')).code, 'ERR_DISK_FULL');
    clock.advance(interval);
    t.false(broker.diskSpace().full);
    t.is(changes.length, 2);
    t.like(changes[1], { full: false, logicFull: false });
    for (let i = 0; i < 10; i++) t.is((await s.send(`after-${i}`)).code, 'SEND_OK');
    t.is(s.acked.size, 21);
    await untilQueued(broker, topic, s.acked.size);
    t.deepEqual(bodiesOf(await pullAll(broker, topic)), [...s.acked].sort(), 'pulled exactly the acknowledged messages');
    const end = Date.now() + 60_000;
    for (const name of s.refused) t.deepEqual(await broker.queryMessageByKey(topic, name, 8, 0, end), [], `refused ${name} left nothing`);
  });
}

test('Broker - dispatch held because consumequeue/ has no room for a ConsumeQueue file: sends get ERR_DISK_FULL naming consumequeue without waiting for cleanResourceInterval; once space is added dispatch resumes, sends succeed and every SEND_OK message is pullable (1 GiB CommitLog, 300,000-unit ConsumeQueues)', async (t: ExecutionContext) => {
  const store = tempDir(t);
  // room for the first 1 MiB of three queues' files
  const cq = mountTmpfsAt(t, path.join(store, 'consumequeue'), 3);
  if ('skip' in cq) {
    t.log(cq.skip);
    t.pass();
    return;
  }
  const topic = 'LogicHeld';
  const queues = 8;
  // never advanced: the used ratio is not measured again, only the held dispatch refuses sends
  const clock = new ManualClock();
  const broker = await Broker.start({ storePathRootDir: store }, { clock });
  t.teardown(() => broker.shutdown());
  t.is(broker.storeConfig.mappedFileSizeCommitLog, GIB);
  t.is(broker.storeConfig.mappedFileSizeConsumeQueue, 300_000 * 20);
  await broker.createTopic({ topic, readQueueNums: queues, writeQueueNums: queues });
  const s = sender(() => broker, topic);
  let refused: Outcome | undefined;
  // one message per queue in turn: the fourth queue's file finds no room, dispatch holds there
  for (let i = 0; i < 10_000 && refused === undefined; i++) {
    const o = await s.send(`held-${i}`, i % queues);
    if (o.code !== 'SEND_OK') refused = o;
  }
  t.log(`acknowledged ${s.acked.size}, then:`, JSON.stringify(refused));
  t.is(refused?.code, 'ERR_DISK_FULL');
  t.regex(refused !== undefined && 'message' in refused ? refused.message : '', /dispatch is held because a write to consumequeue\/ failed/);
  t.true(s.acked.size >= 3 && s.acked.size < 10_000);
  t.like(broker.diskSpace(), { full: true, dispatchHeld: 'consumequeue' });
  t.true(broker.positions.get(Position.DISPATCHED) < broker.positions.get(Position.WROTE), 'dispatch stopped short of the CommitLog end');
  for (let i = 0; i < 3; i++) t.is((await s.send(`refused-${i}`, i)).code, 'ERR_DISK_FULL');

  resizeTmpfs(cq.dir, 64);
  // the dispatcher retries every second
  await until(() => !broker.diskSpace().full, 10_000, 'the held dispatch resumed');
  for (let i = 0; i < 16; i++) t.is((await s.send(`after-${i}`, i % queues)).code, 'SEND_OK');
  await untilQueued(broker, topic, s.acked.size);
  t.deepEqual(bodiesOf(await pullAll(broker, topic)), [...s.acked].sort(), 'pulled exactly the acknowledged messages');
  const end = Date.now() + 60_000;
  for (const name of s.refused) t.deepEqual(await broker.queryMessageByKey(topic, name, 8, 0, end), [], `refused ${name} left nothing`);
});
