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
import { fillUp, mountTmpfs } from '../helpers/smallFs.js';

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
