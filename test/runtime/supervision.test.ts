import test from 'ava';
import { ManualClock } from '../../common/clock.js';
import { CHANNELS } from '../../common/diagnostics.js';
import { isPetrelError, type PetrelError } from '../../common/errors.js';
import { ActorSystem } from '../../runtime/ActorSystem.js';
import { RestartBudget, backoffDelay, resolveSupervision } from '../../runtime/supervision.js';
import { PROBE, counter } from './fixtures/counter.js';
import { recorder } from './fixtures/recorder.js';
import { sender } from './fixtures/sender.js';
import { collectEvents, nextEvent, until } from './fixtures/wait.js';

const serial = test.serial;
const fast = { backoff: { initialMs: 1, maxMs: 20 } } as const;

test('supervision - backoff grows by the factor and stops at the cap', (t) => {
  const s = resolveSupervision({ backoff: { initialMs: 10, maxMs: 50, factor: 2 } });
  t.deepEqual([0, 1, 2, 3, 4].map((n) => backoffDelay(s, n)), [10, 20, 40, 50, 50]);
  const jittered = resolveSupervision({ backoff: { initialMs: 100, jitter: 0.5 } });
  t.is(backoffDelay(jittered, 0, () => 0), 50);
  t.is(backoffDelay(jittered, 0, () => 1), 150);
});

test('supervision - the restart budget allows maxRestarts within the window, driven by the clock', (t) => {
  const clock = new ManualClock();
  const budget = new RestartBudget(resolveSupervision({ maxRestarts: 2, withinMs: 1000, backoff: { initialMs: 5 } }), clock);
  t.deepEqual(budget.onFailure(), { action: 'restart', delayMs: 5, restarts: 1 });
  clock.advance(100);
  t.deepEqual(budget.onFailure(), { action: 'restart', delayMs: 10, restarts: 2 });
  t.deepEqual(budget.onFailure(), { action: 'stop', exhausted: true });
  // Once the first restart leaves the window there is room for one more.
  clock.advance(950);
  t.deepEqual(budget.onFailure(), { action: 'restart', delayMs: 10, restarts: 3 });
  t.is(budget.total, 3);
});

test('supervision - stop and escalate strategies never restart', (t) => {
  const clock = new ManualClock();
  t.deepEqual(new RestartBudget(resolveSupervision({ strategy: 'stop' }), clock).onFailure(), { action: 'stop', exhausted: false });
  t.deepEqual(new RestartBudget(resolveSupervision({ strategy: 'escalate' }), clock).onFailure(), { action: 'escalate', exhausted: false });
  t.deepEqual(
    new RestartBudget(resolveSupervision({ maxRestarts: 0, onExhausted: 'escalate' }), clock).onFailure(),
    { action: 'escalate', exhausted: true },
  );
  t.throws(() => resolveSupervision({ maxRestarts: -1 }), { code: 'ERR_CONFIG_INVALID' } as never);
});

serial('supervision - a crashing actor is restarted in place while its sibling keeps serving', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const a = await system.spawn(counter, { name: 'a', args: { from: 100 }, supervision: fast });
  const b = await system.spawn(counter, { name: 'b', args: { from: 0 } });
  await a.ask({ type: 'add', n: 1 });
  const before = await a.ask({ type: 'whoami' });
  const restarted = nextEvent(CHANNELS.actorRestarted, (m) => m['actor'] === 'a');
  const crashed = nextEvent(CHANNELS.actorCrashed, (m) => m['actor'] === 'a');
  const err = await t.throwsAsync(a.ask({ type: 'crash' }));
  t.true(isPetrelError(err, 'ERR_ACTOR_CRASHED'));
  // The sibling answers while a is down.
  t.deepEqual(await Promise.all([1, 2, 3].map((n) => b.ask({ type: 'add', n }))), [1, 3, 6]);
  t.like(await crashed, { actor: 'a', restarts: 0 });
  t.like(await restarted, { actor: 'a', restarts: 1 });
  // Fresh state from the start hook, same thread, same ref.
  t.is(await a.ask({ type: 'get' }), 100);
  const after = await a.ask({ type: 'whoami' });
  t.deepEqual(after, { threadId: before.threadId, restarts: 1 });
  t.is(await b.ask({ type: 'get' }), 6);
});

serial('supervision - messages sent while an actor restarts in place wait in its mailbox', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const a = await system.spawn(counter, { name: 'a', args: { from: 0 }, supervision: { backoff: { initialMs: 50 } } });
  a.tell({ type: 'crash' });
  const replies = await Promise.all([a.ask({ type: 'add', n: 2 }), a.ask({ type: 'add', n: 3 })]);
  t.deepEqual(replies, [2, 5]);
  t.is(system.restarts('a'), 1);
});

serial('supervision - an actor whose worker exits is restarted on a new thread and refs on other threads are rebound', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const rec = await system.spawn(recorder, { name: 'recorder', supervision: fast });
  const snd = await system.spawn(sender, { name: 'sender', args: { id: 's', target: rec } });
  await snd.ask({ type: 'run', count: 10 });
  const oldThreads = system.workerThreadIds;
  const restarted = nextEvent(CHANNELS.actorRestarted, (m) => m['actor'] === 'recorder');
  rec.tell({ type: 'exit' });
  await restarted;
  // The sender's ref (revived on its own worker) reaches the new recorder thread.
  await snd.ask({ type: 'run', count: 5 });
  const report = await snd.ask({ type: 'askReport' });
  t.deepEqual(report.counts, { s: 5 });
  // The new recorder saw seq 10..14 from a sender it never heard from: that is one gap.
  t.is(report.outOfOrder, 1);
  t.is((await rec.ask({ type: 'report' })).counts['s'], 5);
  const newThreads = system.workerThreadIds;
  t.is(newThreads.length, 2);
  t.notDeepEqual(newThreads, oldThreads);
});

serial('supervision - an ask in flight when the worker dies fails with ERR_ACTOR_CRASHED', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const a = await system.spawn(counter, { name: 'a', args: { from: 0 }, supervision: fast });
  const restarted = nextEvent(CHANNELS.actorRestarted, (m) => m['actor'] === 'a');
  await a.ask({ type: 'exitLater', code: 9, ms: 30 });
  const pending = a.ask({ type: 'sleep', ms: 5000 });
  t.true(isPetrelError(await t.throwsAsync(pending), 'ERR_ACTOR_CRASHED'));
  await restarted;
  t.is(await a.ask({ type: 'add', n: 4 }), 4);
  t.is(system.restarts('a'), 1);
});

serial('supervision - a restart storm stops at the cap', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const probe = new Int32Array(new SharedArrayBuffer(PROBE.SIZE * 4));
  const crashes = collectEvents(CHANNELS.actorCrashed, 'storm');
  const restarts = collectEvents(CHANNELS.actorRestarted, 'storm');
  t.teardown(() => {
    crashes.stop();
    restarts.stop();
  });
  const stopped = nextEvent(CHANNELS.actorStopped, (m) => m['actor'] === 'storm');
  const ref = await system.spawn(counter, {
    name: 'storm',
    args: { from: 0, probe: probe.buffer as SharedArrayBuffer, failOnRestart: true },
    supervision: { maxRestarts: 3, withinMs: 60_000, backoff: { initialMs: 1, maxMs: 4 } },
  });
  ref.tell({ type: 'crash' });
  const event = await stopped;
  t.regex(String(event['reason']), /restart limit/);
  // One crash, then three restarts whose start hook failed: four failures, four starts.
  t.is(crashes.events.length, 4);
  t.is(restarts.events.length, 0);
  t.is(Atomics.load(probe, PROBE.STARTS), 4);
  t.true(isPetrelError(await t.throwsAsync(ref.ask({ type: 'get' })), 'ERR_ACTOR_STOPPED'));
  t.deepEqual(system.actors, []);
});

serial('supervision - the stop strategy stops an actor at its first failure', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const stopped = nextEvent(CHANNELS.actorStopped, (m) => m['actor'] === 'a');
  const a = await system.spawn(counter, { name: 'a', args: { from: 0 }, supervision: { strategy: 'stop' } });
  await t.throwsAsync(a.ask({ type: 'crash' }));
  await stopped;
  t.deepEqual(system.actors, []);
  t.true(isPetrelError(await t.throwsAsync(a.ask({ type: 'get' })), 'ERR_ACTOR_STOPPED'));
  await until(() => !a.available);
});

serial('supervision - escalate stops the actor and hands its error to the system', async (t) => {
  const escalated: [string, PetrelError][] = [];
  const system = new ActorSystem({ onEscalate: (actor, error) => escalated.push([actor, error]) });
  t.teardown(() => system.shutdown());
  const a = await system.spawn(counter, { name: 'a', args: { from: 0 }, supervision: { strategy: 'escalate' } });
  const b = await system.spawn(counter, { name: 'b', args: { from: 0 } });
  const stopped = nextEvent(CHANNELS.actorStopped, (m) => m['actor'] === 'a');
  await t.throwsAsync(a.ask({ type: 'crash' }));
  await stopped;
  t.is(escalated.length, 1);
  t.is(escalated[0]?.[0], 'a');
  t.is(escalated[0]?.[1].code, 'ERR_ACTOR_CRASHED');
  t.is(await b.ask({ type: 'add', n: 1 }), 1);
});

serial('supervision - by default an escalation shuts the whole system down', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const a = await system.spawn(counter, { name: 'a', args: { from: 0 }, supervision: { strategy: 'escalate' } });
  const b = await system.spawn(counter, { name: 'b', args: { from: 0 } });
  const bStopped = nextEvent(CHANNELS.actorStopped, (m) => m['actor'] === 'b');
  await t.throwsAsync(a.ask({ type: 'crash' }));
  await bStopped;
  await until(() => !b.available);
  t.deepEqual(system.actors, []);
});
