import test from 'ava';
import { ManualClock } from '../../common/clock.js';
import { InvisibleTimer } from '../../protocol/InvisibleTimer.js';
import { PopQueue, type OwnedMessage } from '../../protocol/PopQueue.js';

function owned(queueOffset: number, state: OwnedMessage['state'] = 'BUFFERED'): OwnedMessage {
  return {
    queueId: 0,
    queueOffset,
    commitLogOffset: queueOffset * 100,
    state,
    attempt: 0,
    generation: 0,
    invisibleUntil: 0,
    invisibleMs: 0,
    autoRenew: false,
    renewDeadline: 0,
    clientId: '',
    message: undefined,
  };
}

test('invisible timer - fires entries in deadline order once the clock passes them', (t) => {
  const clock = new ManualClock(0);
  const fired: string[] = [];
  const timer = new InvisibleTimer<string>(clock, (item, generation) => fired.push(`${item}@${generation}`));
  t.teardown(() => timer.stop());
  timer.schedule(300, 'c', 1);
  timer.schedule(100, 'a', 1);
  timer.schedule(200, 'b', 2);
  timer.schedule(100, 'a2', 3);
  t.is(timer.sweep(), 0);
  clock.advance(150);
  t.is(timer.sweep(), 2);
  t.deepEqual(fired.sort(), ['a2@3', 'a@1']);
  clock.advance(1000);
  timer.sweep();
  t.deepEqual(fired.slice(2), ['b@2', 'c@1']);
  t.is(timer.size, 0);
});

test('invisible timer - keeps the heap ordered under many random deadlines', (t) => {
  const clock = new ManualClock(0);
  const fired: number[] = [];
  const timer = new InvisibleTimer<number>(clock, (item) => fired.push(item));
  t.teardown(() => timer.stop());
  const deadlines = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1000);
  for (const d of deadlines) timer.schedule(d, d, 0);
  clock.advance(1000);
  timer.sweep();
  t.deepEqual(fired, [...deadlines].sort((a, b) => a - b));
});

test('invisible timer - fires by itself on real time', async (t) => {
  const clock = { now: () => Date.now(), monotonic: () => performance.now() };
  const fired: string[] = [];
  const timer = new InvisibleTimer<string>(clock, (item) => fired.push(item));
  t.teardown(() => timer.stop());
  timer.schedule(Date.now() + 20, 'due', 0);
  timer.schedule(Date.now() + 60_000, 'later', 0);
  // The timer is unref'd (a server keeps the loop alive), so the test waits on its own timer.
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.deepEqual(fired, ['due']);
});

test('pop queue - the commit candidate is the smallest owned offset, else the cursor', (t) => {
  const q = new PopQueue(0);
  q.cursor = 10;
  t.is(q.commitCandidate(), 10);
  const a = owned(3);
  const b = owned(5, 'INFLIGHT');
  const c = owned(8);
  q.add(a);
  q.add(b);
  q.add(c);
  t.is(q.inflight, 1);
  t.is(q.commitCandidate(), 3);
  q.remove(b);
  t.is(q.commitCandidate(), 3);
  t.is(q.inflight, 0);
  q.remove(a);
  t.is(q.commitCandidate(), 8);
  q.remove(c);
  t.is(q.commitCandidate(), 10);
});

test('pop queue - out-of-order inserts still give the smallest offset', (t) => {
  const q = new PopQueue(1);
  q.cursor = 50;
  q.add(owned(20));
  q.add(owned(7));
  q.add(owned(30));
  t.is(q.commitCandidate(), 7);
});

test('pop queue - state changes keep the in-flight count', (t) => {
  const q = new PopQueue(0);
  const m = owned(1);
  q.add(m);
  q.setState(m, 'INFLIGHT');
  q.setState(m, 'INFLIGHT');
  t.is(q.inflight, 1);
  q.setState(m, 'READY');
  t.is(q.inflight, 0);
  t.false(q.remove(owned(1)));
  t.true(q.remove(m));
});
