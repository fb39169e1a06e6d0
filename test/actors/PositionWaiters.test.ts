import test from 'ava';
import { Worker } from 'node:worker_threads';
import { BrokerPositions, Position } from '../../actors/BrokerPositions.js';
import { PositionWaiters } from '../../actors/PositionWaiters.js';
import { syncMasterReplicaWait } from '../../actors/ReplicaWait.js';
import { ManualClock } from '../../common/clock.js';
import { startBroker } from '../helpers/broker.js';

/** Lets queued promise jobs and Atomics.waitAsync wake-ups run. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('PositionWaiters - a position published before the deadline resolves true on the publish', async (t) => {
  const positions = new BrokerPositions();
  const clock = new ManualClock();
  const waiters = new PositionWaiters(positions, Position.FLUSHED, clock);
  const done = waiters.wait(100, 5_000);
  clock.advance(4_999);
  positions.publish(Position.FLUSHED, 100);
  t.true(await done);
  t.is(waiters.pending, 0);
});

test('PositionWaiters - a position published after the deadline times out even though it arrived', async (t) => {
  const positions = new BrokerPositions();
  const clock = new ManualClock();
  const waiters = new PositionWaiters(positions, Position.FLUSHED, clock);
  const late = waiters.wait(100, 5_000);
  clock.advance(5_000);
  positions.publish(Position.FLUSHED, 100);
  t.false(await late);
  // a send that starts now finds the position there
  t.true(await waiters.wait(100, 5_000));
});

test('PositionWaiters - the loop wakes once per publish and not on a timer', async (t) => {
  const positions = new BrokerPositions();
  const clock = new ManualClock();
  const waiters = new PositionWaiters(positions, Position.FLUSHED, clock);
  const results: boolean[] = [];
  const all = [waiters.wait(300, 60_000), waiters.wait(100, 60_000), waiters.wait(200, 60_000)].map((p) => p.then((ok) => results.push(ok)));
  // Another thread publishes, one step at a time, each after this one saw the last (no sleeps).
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const seq = new Int32Array(workerData.buffer);
     const values = new BigInt64Array(workerData.buffer, 0, 8);
     parentPort.on('message', (v) => {
       Atomics.store(values, ${Position.FLUSHED}, BigInt(v));
       Atomics.add(seq, 16 + ${Position.FLUSHED}, 1);
       Atomics.notify(seq, 16 + ${Position.FLUSHED});
       parentPort.postMessage('published');
     });`,
    { eval: true, workerData: { buffer: positions.buffer } },
  );
  t.teardown(() => worker.terminate());
  const publish = (v: number): Promise<void> =>
    new Promise((resolve) => {
      worker.once('message', () => resolve());
      worker.postMessage(v);
    });
  for (const [v, settled] of [[100, 1], [200, 2], [300, 3]] as const) {
    await publish(v);
    while (results.length < settled) await turn();
  }
  await Promise.all(all);
  t.deepEqual(results, [true, true, true]);
  // three publishes, three wake-ups: no tick between them, however long they took
  t.is(waiters.turns, 3);
});

test('PositionWaiters - a deadline with nothing published resolves false at the deadline', async (t) => {
  const positions = new BrokerPositions();
  const waiters = new PositionWaiters(positions, Position.SLAVE_ACKED);
  t.false(await waiters.wait(1, 30));
  // one wake-up at the deadline (a second if the timer fired a fraction early), not one per tick
  t.true(waiters.turns <= 2, `${waiters.turns} wake-ups`);
});

test('PositionWaiters - a later send with an earlier deadline is not held to the first one', async (t) => {
  const positions = new BrokerPositions();
  const clock = new ManualClock();
  const waiters = new PositionWaiters(positions, Position.FLUSHED, clock);
  const long = waiters.wait(100, 60_000);
  const short = waiters.wait(100, 10);
  await turn();
  clock.advance(10);
  positions.publish(Position.FLUSHED, 100);
  t.false(await short);
  t.true(await long);
});

test('ReplicaWait - a slave ack after slaveTimeout gives FLUSH_SLAVE_TIMEOUT, one before it SEND_OK', async (t) => {
  const positions = new BrokerPositions();
  positions.set(Position.SLAVE_CONNECTED, 1);
  const clock = new ManualClock();
  const wait = syncMasterReplicaWait(positions, { haMaxGapNotInSync: 1 << 20, slaveTimeout: 3_000 }, clock);
  const onTime = wait(100);
  clock.advance(2_999);
  positions.publish(Position.SLAVE_ACKED, 100);
  t.is(await onTime, 'SEND_OK');
  const late = wait(200);
  clock.advance(3_000);
  positions.publish(Position.SLAVE_ACKED, 200);
  t.is(await late, 'FLUSH_SLAVE_TIMEOUT');
});

test('PositionWaiters - SYNC_FLUSH sends on a default-size store answer SEND_OK, a slow flush FLUSH_DISK_TIMEOUT', async (t) => {
  const broker = await startBroker(t, { flushDiskType: 'SYNC_FLUSH', mappedFileSizeCommitLog: 1 << 30, mappedFileSizeConsumeQueue: 300_000 * 20 });
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => broker.send([{ topic: 'Durable', body: new TextEncoder().encode(`m${i}`) }])));
  t.deepEqual(new Set(results.map((r) => r[0]?.sendStatus)), new Set(['SEND_OK']));
  t.true(broker.positions.get(Position.FLUSHED) >= Math.max(...results.map((r) => (r[0]?.commitLogOffset ?? 0) + 1)));

  const slow = await startBroker(t, { flushDiskType: 'SYNC_FLUSH', syncFlushTimeout: 50 }, { flushDelayMs: 300 });
  t.is((await slow.send([{ topic: 'Durable', body: new TextEncoder().encode('late') }]))[0]?.sendStatus, 'FLUSH_DISK_TIMEOUT');
});
