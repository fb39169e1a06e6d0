import test from 'ava';
import { Worker } from 'node:worker_threads';
import { PositionCells } from '../../runtime/PositionCells.js';
import type { PositionJob } from './fixtures/positionWorker.js';

const serial = test.serial;
const positionWorker = new URL('./fixtures/positionWorker.js', import.meta.url);

function startWaiter(job: PositionJob): { worker: Worker; result: Promise<unknown> } {
  const worker = new Worker(positionWorker, { workerData: job });
  const result = new Promise<unknown>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, result };
}

test('position - a cell only moves forward', (t) => {
  const cells = PositionCells.create(['wrote', 'flushed']);
  const wrote = cells.cell('wrote');
  t.is(wrote.get(), 0);
  t.true(wrote.publish(100));
  t.false(wrote.publish(40));
  t.false(wrote.publish(100));
  t.is(wrote.get(), 100);
  t.is(cells.cell('flushed').get(), 0);
  t.throws(() => wrote.publish(-1), { code: 'ERR_INVALID_ARGUMENT' } as never);
  t.throws(() => wrote.publish(2 ** 53), { code: 'ERR_INVALID_ARGUMENT' } as never);
});

test('position - positions past 2^32 are exact', (t) => {
  const cells = PositionCells.create(['wrote']);
  cells.cell('wrote').publish(2 ** 40 + 5);
  t.is(PositionCells.from(cells.handle()).cell('wrote').get(), 2 ** 40 + 5);
  t.is(cells.cell('wrote').get(), 2 ** 40 + 5);
});

test('position - a wait returns at once when the cell is already past the target', async (t) => {
  const cells = PositionCells.create(['flushed']);
  cells.cell('flushed').publish(10);
  t.true(cells.cell('flushed').waitFor(10, 0));
  t.true(await cells.cell('flushed').waitForAsync(5, 0));
});

test('position - sync and async waits time out when the cell stays behind', async (t) => {
  const cells = PositionCells.create(['flushed']);
  const started = performance.now();
  t.false(cells.cell('flushed').waitFor(1, 20));
  t.true(performance.now() - started >= 15);
  t.false(await cells.cell('flushed').waitForAsync(1, 20));
});

test('position - cells are rebuilt from a handle only', (t) => {
  const cells = PositionCells.create(['a', 'b']);
  t.throws(() => PositionCells.create(['a', 'a']), { code: 'ERR_INVALID_ARGUMENT' } as never);
  t.throws(() => PositionCells.from({ buffer: new SharedArrayBuffer(8), names: ['a'] }), { code: 'ERR_INVALID_ARGUMENT' } as never);
  t.throws(() => cells.cell('c' as 'a'), { code: 'ERR_INVALID_ARGUMENT' } as never);
  t.deepEqual(PositionCells.from(structuredClone(cells.handle())).names, ['a', 'b']);
});

serial('position - a worker blocked in a sync wait wakes when another thread publishes past its target', async (t) => {
  const cells = PositionCells.create(['flushed', 'confirmed']);
  const waiter = startWaiter({ cells: cells.handle(), waitOn: 'flushed', target: 100, publishTo: 'confirmed', timeoutMs: 20_000 });
  t.teardown(() => waiter.worker.terminate());
  // Below the target: the worker wakes, looks and sleeps again.
  cells.cell('flushed').publish(50);
  t.false(await cells.cell('confirmed').waitForAsync(1, 50));
  cells.cell('flushed').publish(120);
  t.is(await waiter.result, 120);
  t.true(await cells.cell('confirmed').waitForAsync(120, 10_000));
});

serial('position - async waits keep the event loop running and all wake on one publish', async (t) => {
  const cells = PositionCells.create(['wrote', 'acked']);
  const acked = cells.cell('acked');
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 1);
  t.teardown(() => clearInterval(ticker));
  const waits = [10, 20, 30].map((target) => acked.waitForAsync(target, 20_000));
  // A worker publishes 'acked' once it sees 'wrote' reach 30.
  const waiter = startWaiter({ cells: cells.handle(), waitOn: 'wrote', target: 30, publishTo: 'acked', timeoutMs: 20_000 });
  t.teardown(() => waiter.worker.terminate());
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.true(ticks > 0);
  cells.cell('wrote').publish(30);
  t.deepEqual(await Promise.all(waits), [true, true, true]);
  t.is(await waiter.result, 30);
});

serial('position - a sync wait in a worker times out when nobody publishes', async (t) => {
  const cells = PositionCells.create(['flushed', 'confirmed']);
  const waiter = startWaiter({ cells: cells.handle(), waitOn: 'flushed', target: 1, publishTo: 'confirmed', timeoutMs: 30 });
  t.teardown(() => waiter.worker.terminate());
  t.is(await waiter.result, 'timeout');
});
