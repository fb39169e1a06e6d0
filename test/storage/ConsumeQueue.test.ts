import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { BLANK_UNIT_SIZE, ConsumeQueue, emptyCqUnit } from '../../storage/ConsumeQueue.js';
import { ConsumeQueueStore } from '../../storage/ConsumeQueueStore.js';
import { emptyDispatchRequest } from '../../storage/CommitLogDispatcher.js';
import { SysFlag } from '../../storage/RecordLayout.js';
import { tempDir } from '../helpers/tmp.js';

const UNITS_PER_FILE = 5;

function openCq(dir: string, backend: 'mmap' | 'fs' = 'mmap'): ConsumeQueue {
  const cq = new ConsumeQueue({ topic: 'T', queueId: 0, dir, fileSize: 20 * UNITS_PER_FILE, backend });
  cq.load();
  return cq;
}

function unitsOf(cq: ConsumeQueue): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  const u = emptyCqUnit();
  for (let q = cq.minOffsetInQueue; q < cq.maxOffsetInQueue; q++) {
    if (cq.getUnit(q, u)) out.push([u.physicalOffset, u.size, u.tagsCode]);
  }
  return out;
}

for (const backend of ['mmap', 'fs'] as const) {
  test(`ConsumeQueue - units are read back by queue offset across files (${backend})`, (t) => {
    const dir = tempDir(t);
    const cq = openCq(dir, backend);
    t.teardown(() => cq.close());
    for (let i = 0; i < 12; i++) cq.putMessagePositionInfo(i * 100, 100, -i, i);
    t.is(cq.minOffsetInQueue, 0);
    t.is(cq.maxOffsetInQueue, 12);
    t.is(cq.maxPhysicOffset, 1200);
    const u = emptyCqUnit();
    t.true(cq.getUnit(7, u));
    t.deepEqual(u, { physicalOffset: 700, size: 100, tagsCode: -7 });
    t.false(cq.getUnit(12, u));
    t.deepEqual(fs.readdirSync(dir).sort(), ['00000000000000000000', '00000000000000000100', '00000000000000000200']);
  });
}

test('ConsumeQueue - golden unit: offset, size and tag code big-endian in 20 bytes', (t) => {
  const dir = tempDir(t);
  const cq = openCq(dir);
  cq.putMessagePositionInfo(0x0102030405, 0x0a0b, -2, 0);
  cq.close();
  const bytes = fs.readFileSync(path.join(dir, '00000000000000000000')).subarray(0, 20);
  t.is(Buffer.from(bytes).toString('hex'), '0000000102030405' + '00000a0b' + 'fffffffffffffffe');
});

test('ConsumeQueue - writing a unit again is skipped (idempotent dispatch)', (t) => {
  const cq = openCq(tempDir(t));
  t.teardown(() => cq.close());
  cq.putMessagePositionInfo(0, 50, 1, 0);
  cq.putMessagePositionInfo(50, 50, 2, 1);
  cq.putMessagePositionInfo(0, 50, 1, 0);
  cq.putMessagePositionInfo(50, 50, 2, 1);
  t.deepEqual(unitsOf(cq), [[0, 50, 1], [50, 50, 2]]);
});

test('ConsumeQueue - a queue starting past offset 0 gets pre-blank units and its min offset there', (t) => {
  const cq = openCq(tempDir(t));
  t.teardown(() => cq.close());
  cq.putMessagePositionInfo(1000, 10, 0, 7);
  t.is(cq.minOffsetInQueue, 7);
  t.is(cq.maxOffsetInQueue, 8);
  const u = emptyCqUnit();
  t.true(cq.getUnit(7, u));
  t.is(u.physicalOffset, 1000);
  cq.correctMinOffset(0);
  t.is(cq.minOffsetInQueue, 7, 'pre-blank units are never readable');
});

test('ConsumeQueue - recovery does not cut at an invalid unit; inspect names its file for a rebuild', (t) => {
  const dir = tempDir(t);
  const cq = openCq(dir);
  for (let i = 0; i < 8; i++) cq.putMessagePositionInfo(i * 10, 10, 0, i);
  cq.close();
  // Zero unit 6 as a lost page would.
  const file = path.join(dir, '00000000000000000100');
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, new Uint8Array(20), 0, 20, 20);
  fs.closeSync(fd);
  const again = openCq(dir);
  t.teardown(() => again.close());
  t.is(again.recover(), 160, 'the units after the zeroed one are kept');
  t.is(again.maxOffsetInQueue, 8);
  t.is(again.maxPhysicOffset, 80);
  t.deepEqual(again.inspect(80), [{ from: 100, to: 200, phyFrom: 50, phyTo: 80 }], 'the file holding it, with the CommitLog span its records lie in');
});

test('ConsumeQueue - units pointing past a CommitLog cut are removed and zeroed', (t) => {
  const dir = tempDir(t);
  const cq = openCq(dir);
  for (let i = 0; i < 9; i++) cq.putMessagePositionInfo(i * 10, 10, 0, i);
  cq.truncateDirtyLogicFiles(45);
  t.is(cq.maxOffsetInQueue, 5);
  t.is(cq.maxPhysicOffset, 50);
  cq.putMessagePositionInfo(45, 7, 0, 5);
  cq.close();
  const again = openCq(dir);
  t.teardown(() => again.close());
  again.recover();
  t.is(again.maxOffsetInQueue, 6, 'no stale unit survives behind the new one');
  t.deepEqual(unitsOf(again).at(-1), [45, 7, 0]);
});

test('ConsumeQueue - the min offset moves to the first unit the CommitLog still holds', (t) => {
  const cq = openCq(tempDir(t));
  t.teardown(() => cq.close());
  for (let i = 0; i < 14; i++) cq.putMessagePositionInfo(i * 100, 100, 0, i);
  cq.correctMinOffset(650);
  t.is(cq.minOffsetInQueue, 7);
  t.is(cq.deleteExpiredFiles(650, 10), 1, 'the first file points only below 650');
  t.is(cq.queue.files.length, 2);
  t.is(cq.minOffsetInQueue, 7);
  const u = emptyCqUnit();
  t.false(cq.getUnit(6, u));
});

test('ConsumeQueue - the offset for a time is the first message at or after it (lower) or the last before (upper)', (t) => {
  const cq = openCq(tempDir(t));
  t.teardown(() => cq.close());
  const times = [100, 200, 200, 300, 400];
  times.forEach((_, i) => cq.putMessagePositionInfo(i * 10, 10, 0, i));
  const timeOf = (u: { physicalOffset: number }): number => times[u.physicalOffset / 10] ?? 0;
  t.is(cq.getOffsetInQueueByTime(200, 'lower', timeOf), 1);
  t.is(cq.getOffsetInQueueByTime(200, 'upper', timeOf), 2);
  t.is(cq.getOffsetInQueueByTime(250, 'lower', timeOf), 3);
  t.is(cq.getOffsetInQueueByTime(250, 'upper', timeOf), 2);
  t.is(cq.getOffsetInQueueByTime(50, 'lower', timeOf), 0);
  t.is(cq.getOffsetInQueueByTime(50, 'upper', timeOf), 0);
  t.is(cq.getOffsetInQueueByTime(999, 'lower', timeOf), 5);
});

test('ConsumeQueueStore - prepared and rolled-back transactions get no unit', (t) => {
  const store = new ConsumeQueueStore({ rootDir: tempDir(t), fileSize: 100, backend: 'mmap' });
  t.teardown(() => store.close());
  const req = emptyDispatchRequest();
  Object.assign(req, { topic: 'T', queueId: 1, commitLogOffset: 0, msgSize: 10, queueOffset: 0, sysFlag: SysFlag.TRANSACTION_PREPARED_TYPE });
  store.dispatch(req);
  Object.assign(req, { commitLogOffset: 10, sysFlag: SysFlag.TRANSACTION_ROLLBACK_TYPE });
  store.dispatch(req);
  t.is(store.find('T', 1), undefined);
  Object.assign(req, { commitLogOffset: 20, sysFlag: SysFlag.TRANSACTION_COMMIT_TYPE });
  store.dispatch(req);
  t.is(store.find('T', 1)?.maxOffsetInQueue, 1);
  t.is(BLANK_UNIT_SIZE, 0x7fffffff);
});
