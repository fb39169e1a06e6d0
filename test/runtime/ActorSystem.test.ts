import test from 'ava';
import { MessageChannel, threadId } from 'node:worker_threads';
import { PetrelError, isPetrelError } from '../../common/errors.js';
import { actorLocation } from '../../runtime/Actor.js';
import { refHandleTransfer, reviveRef } from '../../runtime/ActorRef.js';
import { ActorSystem } from '../../runtime/ActorSystem.js';
import { PositionCells } from '../../runtime/PositionCells.js';
import { SharedRing } from '../../runtime/SharedRing.js';
import { PROBE, counter, type CounterArgs, type CounterMsg, type CounterReplies } from './fixtures/counter.js';
import { gate } from './fixtures/gate.js';
import { nextEvent } from './fixtures/wait.js';
import { CHANNELS } from '../../common/diagnostics.js';
import { recorder } from './fixtures/recorder.js';
import { ringSink } from './fixtures/ringSink.js';
import { sender } from './fixtures/sender.js';

// Worker threads are real and the machine has two cores: one test at a time.
const serial = test.serial;

function probe(): { sab: SharedArrayBuffer; cells: Int32Array } {
  const sab = new SharedArrayBuffer(PROBE.SIZE * 4);
  return { sab, cells: new Int32Array(sab) };
}

serial('actor - ask gets a typed reply from an actor on its own worker thread', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ref = await system.spawn(counter, { name: 'c', args: { from: 10 } });
  t.is(await ref.ask({ type: 'add', n: 5 }), 15);
  ref.tell({ type: 'add', n: 1 });
  t.is(await ref.ask({ type: 'get' }), 16);
  const where = await ref.ask({ type: 'whoami' });
  t.not(where.threadId, threadId);
  t.deepEqual(system.workerThreadIds, [where.threadId]);
});

serial('actor - the same definition behaves the same on the current thread and on a worker', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const script = async (thread: 'local' | 'worker'): Promise<unknown[]> => {
    const ref = await system.spawn(counter, { name: `c-${thread}`, thread, args: { from: 1 } });
    const out: unknown[] = [];
    out.push(await ref.ask({ type: 'add', n: 2 }));
    out.push(await Promise.all([ref.ask({ type: 'slowAdd', n: 3, ms: 5 }), ref.ask({ type: 'add', n: 4 })]));
    out.push(await ref.ask({ type: 'fail', code: 'ERR_MESSAGE_ILLEGAL' }).catch((e: unknown) => (e as PetrelError).code));
    out.push(await ref.ask({ type: 'get' }));
    out.push((await ref.ask({ type: 'whoami' })).threadId === threadId);
    return out;
  };
  const local = await script('local');
  const worker = await script('worker');
  t.deepEqual(local.slice(0, -1), worker.slice(0, -1));
  t.deepEqual(local, [3, [6, 10], 'ERR_MESSAGE_ILLEGAL', 10, true]);
  t.is(worker.at(-1), false);
});

serial('actor - messages from each sender arrive in order when senders on other workers tell one actor directly', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const rec = await system.spawn(recorder, { name: 'recorder' });
  const senders = await Promise.all(
    ['a', 'b', 'c'].map((id) => system.spawn(sender, { name: `sender-${id}`, args: { id, target: rec } })),
  );
  const perSender = 3000;
  await Promise.all(senders.map((s) => s.ask({ type: 'run', count: perSender / 2 })));
  await Promise.all(senders.map((s) => s.ask({ type: 'run', count: perSender / 2 })));
  // The report is asked for from a sender's thread: the ref travelled there at spawn.
  const [first] = senders;
  if (first === undefined) throw new Error('no sender');
  const report = await first.ask({ type: 'askReport' });
  t.deepEqual(report.counts, { a: perSender, b: perSender, c: perSender });
  t.is(report.outOfOrder, 0);
  t.is(report.reentered, 0);
  const threads = new Set([...(await Promise.all(senders.map((s) => s.ask({ type: 'whereAmI' })))), threadId]);
  t.is(threads.size, 4);
});

serial('actor - async handlers run one at a time, in arrival order', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const p = probe();
  const ref = await system.spawn(counter, { name: 'c', args: { from: 0, probe: p.sab } });
  const replies = await Promise.all([1, 2, 3, 4, 5].map((n) => ref.ask({ type: 'slowAdd', n, ms: 3 })));
  t.deepEqual(replies, [1, 3, 6, 10, 15]);
  t.is(Atomics.load(p.cells, PROBE.REENTERED), 0);
});

serial('actor - ask times out with ERR_TIMEOUT', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ref = await system.spawn(counter, { name: 'c', args: { from: 0 } });
  const err = await t.throwsAsync(ref.ask({ type: 'sleep', ms: 200 }, { timeoutMs: 30 }));
  t.true(isPetrelError(err, 'ERR_TIMEOUT'));
  // The actor is fine; the late reply is dropped.
  t.is(await ref.ask({ type: 'add', n: 1 }), 1);
});

serial('actor - an aborted ask rejects with ERR_CANCELLED', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ref = await system.spawn(counter, { name: 'c', thread: 'local', args: { from: 0 } });
  const ac = new AbortController();
  const pending = ref.ask({ type: 'sleep', ms: 200 }, { signal: ac.signal });
  ac.abort();
  t.true(isPetrelError(await t.throwsAsync(pending), 'ERR_CANCELLED'));
});

serial('actor - a PetrelError thrown by a handler reaches the asker with its code and the actor carries on', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ref = await system.spawn(counter, { name: 'c', args: { from: 7 } });
  const err = await t.throwsAsync(ref.ask({ type: 'fail', code: 'ERR_TOPIC_NOT_EXIST' }));
  t.true(err instanceof PetrelError);
  t.is((err as PetrelError).code, 'ERR_TOPIC_NOT_EXIST');
  t.false((err as PetrelError).retriable);
  t.is(await ref.ask({ type: 'get' }), 7);
  t.is(system.restarts('c'), 0);
});

serial('actor - a message with no handler is refused with ERR_INVALID_ARGUMENT', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ref = await system.spawn(counter, { name: 'c', args: { from: 0 } });
  const bogus = { type: 'nope' } as unknown as CounterMsg;
  t.true(isPetrelError(await t.throwsAsync(ref.ask(bogus)), 'ERR_INVALID_ARGUMENT'));
  t.is(await ref.ask({ type: 'get' }), 0);
});

serial('actor - an actor spawned by location runs without its module imported here', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const where = actorLocation<CounterMsg, CounterReplies, CounterArgs>(new URL('./fixtures/counter.js', import.meta.url), 'counter');
  const ref = await system.spawn(where, { name: 'c', args: { from: 2 } });
  t.is(await ref.ask({ type: 'add', n: 2 }), 4);
  const missing = actorLocation<CounterMsg, CounterReplies, CounterArgs>(new URL('./fixtures/counter.js', import.meta.url), 'nothing');
  t.true(isPetrelError(await t.throwsAsync(system.spawn(missing, { name: 'd', args: { from: 0 } })), 'ERR_ACTOR_CRASHED'));
  t.deepEqual(system.actors, ['c']);
});

serial('actor - a handle revives into one ref, and closing that ref leaves the actor running', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const c = await system.spawn(counter, { name: 'c', args: { from: 0 } });
  const handle = c.handle();
  // Revived here for brevity; the handle's ports could equally be transferred to a worker.
  const again = reviveRef(handle);
  t.is(reviveRef(handle), again);
  t.is(await again.ask({ type: 'add', n: 3 }), 3);
  again.close();
  t.true(isPetrelError(await t.throwsAsync(again.ask({ type: 'get' })), 'ERR_ACTOR_STOPPED'));
  t.is(await c.ask({ type: 'get' }), 3);
});

serial('actor - a stopping actor finishes the messages it accepted, then runs its stop hook', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const p = probe();
  const ref = await system.spawn(counter, { name: 'c', args: { from: 0, probe: p.sab } });
  for (let i = 0; i < 20; i++) ref.tell({ type: 'sleep', ms: 2 });
  // A round trip guarantees the 20 tells are in the actor's mailbox before stop is sent.
  await ref.ask({ type: 'get' });
  await system.stop('c');
  t.is(Atomics.load(p.cells, PROBE.HANDLED), 21);
  t.is(Atomics.load(p.cells, PROBE.STOPPED_AFTER), 22);
  t.true(isPetrelError(await t.throwsAsync(ref.ask({ type: 'get' })), 'ERR_ACTOR_STOPPED'));
  t.throws(() => ref.tell({ type: 'get' }), { code: 'ERR_ACTOR_STOPPED' } as never);
  t.deepEqual(system.actors, []);
  t.deepEqual(system.workerThreadIds, []);
});

serial('actor - a start hook that throws a PetrelError fails spawn with its code', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const err = await t.throwsAsync(system.spawn(counter, { name: 'c', args: { from: -1 } }));
  t.true(isPetrelError(err, 'ERR_CONFIG_INVALID'));
  t.deepEqual(system.actors, []);
  t.true(isPetrelError(await t.throwsAsync(system.spawn(counter, { name: '', args: { from: 0 } })), 'ERR_INVALID_ARGUMENT'));
});

serial('actor - spawning on a shut-down system fails with ERR_ACTOR_STOPPED', async (t) => {
  const system = new ActorSystem();
  await system.shutdown();
  t.true(isPetrelError(await t.throwsAsync(system.spawn(counter, { name: 'c', args: { from: 0 } })), 'ERR_ACTOR_STOPPED'));
});

serial('actor - an actor spawned with a ring, position cells and a port drains the ring while serving asks', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ring = SharedRing.create(4096);
  const cells = PositionCells.create(['consumed']);
  const { port1, port2 } = new MessageChannel();
  t.teardown(() => port1.close());
  // The port crossed to the actor's thread with its arguments: the actor talks back on it.
  const drained = new Promise<unknown>((resolve) => port1.once('message', resolve));
  const sink = await system.spawn(ringSink, { name: 'sink', args: { ring: ring.buffer, cells: cells.handle(), events: port2 } });
  t.is(await drained, 'drained');
  const writer = ring.writer();
  const total = 2000;
  for (let i = 0; i < total; i++) await writer.writeAsync(new Uint8Array(1 + (i % 50)), 5000);
  t.true(await cells.cell('consumed').waitForAsync(total, 10_000));
  const stats = await sink.ask({ type: 'stats' });
  t.is(stats.records, total);
  t.is(stats.bytes, Array.from({ length: total }, (_, i) => 1 + (i % 50)).reduce((a, b) => a + b, 0));
  await system.stop('sink');
  t.is(ring.usedBytes, 0);
});

serial('actor - a ref handle sent in a message is revived on the receiving worker and used directly', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const first = await system.spawn(recorder, { name: 'first' });
  const second = await system.spawn(recorder, { name: 'second' });
  const snd = await system.spawn(sender, { name: 'sender', args: { id: 's', target: first } });
  await snd.ask({ type: 'run', count: 3 });
  const handle = second.handle();
  await snd.ask({ type: 'retarget', target: handle }, { transfer: refHandleTransfer(handle) });
  await snd.ask({ type: 'run', count: 4 });
  t.deepEqual((await first.ask({ type: 'report' })).counts, { s: 3 });
  t.deepEqual((await second.ask({ type: 'report' })).counts, { s: 4 });
  t.is((await snd.ask({ type: 'askReport' })).outOfOrder, 0);
});

for (const thread of ['worker', 'local'] as const) {
  serial(`actor - an answer deferred with ctx.defer() leaves the mailbox free and comes when given (${thread})`, async (t) => {
    const system = new ActorSystem();
    t.teardown(() => system.shutdown());
    const ref = await system.spawn(gate, { name: 'gate', thread, args: {} });
    const first = ref.ask({ type: 'wait' });
    const second = ref.ask({ type: 'wait' });
    let answered = false;
    void first.then(() => (answered = true));
    // later messages are handled while both asks wait
    t.is(await ref.ask({ type: 'held' }), 2);
    t.false(answered);
    t.is(await ref.ask({ type: 'open', value: 'now' }), 2);
    t.deepEqual(await Promise.all([first, second]), ['now', 'now']);

    const noDefer = await t.throwsAsync(ref.ask({ type: 'laterWithoutDefer' }));
    t.true(isPetrelError(noDefer, 'ERR_ACTOR_CRASHED'), String(noDefer));
    const thrown = await t.throwsAsync(ref.ask({ type: 'deferThenThrow' }));
    t.true(isPetrelError(thrown, 'ERR_MESSAGE_ILLEGAL'), String(thrown));
    // the Deferred taken before the throw answers nothing more, and the actor carries on
    t.is(await ref.ask({ type: 'open', value: 'again' }), 0);
    t.is(await ref.ask({ type: 'held' }), 0);

    const pending = ref.ask({ type: 'wait' }, { timeoutMs: 10_000 });
    t.is(await ref.ask({ type: 'held' }), 1);
    await system.stop('gate');
    const stopped = await t.throwsAsync(pending);
    t.true(isPetrelError(stopped, 'ERR_ACTOR_STOPPED'), String(stopped));
  });
}

serial('actor - log records published on a worker thread reach the spawning thread with the actor name', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ref = await system.spawn(gate, { name: 'talker', args: {} });
  const next = nextEvent(CHANNELS.log, (r) => r['msg'] === 'from the worker');
  await ref.ask({ type: 'say', msg: 'from the worker' });
  const record = await next;
  t.like(record, { level: 'warn', msg: 'from the worker', detail: 42, actor: 'talker' });
  t.true(record['when'] instanceof Date, 'cloneable fields keep their type');
});
