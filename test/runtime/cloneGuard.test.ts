import test from 'ava';
import { MessageChannel } from 'node:worker_threads';
import { isPetrelError } from '../../common/errors.js';
import { ActorSystem } from '../../runtime/ActorSystem.js';
import { Pool } from '../../runtime/Pool.js';
import { exposeObject, wrapObject } from '../../runtime/bridge.js';
import { DEFAULT_MAX_CLONE_BYTES, checkCloneSize, clonedBytes } from '../../runtime/cloneGuard.js';
import { LARGE, buffers } from './fixtures/buffers.js';

// Worker threads are real and the machine has two cores: one test at a time.
const serial = test.serial;

const tooLarge = { code: 'ERR_MESSAGE_CLONE_TOO_LARGE' } as const;

serial('cloneGuard - counts what a view drags along, not the data a message shows; shared and moved buffers not at all', (t) => {
  const big = new ArrayBuffer(1 << 20);
  const a = new Uint8Array(big, 0, 10);
  const b = new Uint8Array(big, 10, 10);
  t.is(clonedBytes({ type: 'x', a, list: [b, { c: new Uint8Array(big, 20, 10) }] }), (1 << 20) - 30);
  t.is(clonedBytes({ type: 'x', view: new Uint8Array(new SharedArrayBuffer(1 << 20), 0, 10) }), 0);
  t.is(clonedBytes({ type: 'x', a }, [big]), 0);
  t.is(clonedBytes({ type: 'x', n: 1, s: 'text', own: new Uint8Array(LARGE), raw: new ArrayBuffer(LARGE) }), 0);
  t.throws(() => checkCloneSize({ a: new Uint8Array(new ArrayBuffer(DEFAULT_MAX_CLONE_BYTES + 2), 0, 1) }, 'test'), tooLarge);
  t.notThrows(() => checkCloneSize({ a: new Uint8Array(new ArrayBuffer(DEFAULT_MAX_CLONE_BYTES + 1), 0, 1) }, 'test'));
});

serial('cloneGuard - an ask or tell carrying a small view of a large buffer is refused with its code', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ref = await system.spawn(buffers, { name: 'buffers', args: {} });
  const view = new Uint8Array(new ArrayBuffer(LARGE), 0, 16);
  await t.throwsAsync(ref.ask({ type: 'length', bytes: view }), tooLarge);
  t.throws(() => ref.tell({ type: 'length', bytes: view }), tooLarge);
  // The same bytes of their own, a view of shared memory, and a moved buffer all pass.
  t.is(await ref.ask({ type: 'length', bytes: view.slice() }), 16);
  // A large body in a buffer of its own is the message's data, not a view dragging a file along.
  t.is(await ref.ask({ type: 'length', bytes: new Uint8Array(LARGE) }), LARGE);
  t.is(await ref.ask({ type: 'length', bytes: new Uint8Array(new SharedArrayBuffer(LARGE), 0, 16) }), 16);
  const moved = new Uint8Array(new ArrayBuffer(LARGE));
  t.is(await ref.ask({ type: 'length', bytes: moved }, { transfer: [moved.buffer] }), LARGE);
});

serial('cloneGuard - a reply that is a view of a large buffer fails the ask with its code and the actor goes on', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ref = await system.spawn(buffers, { name: 'buffers', args: {} });
  await t.throwsAsync(ref.ask({ type: 'viewOfLarge' }), tooLarge);
  t.is((await ref.ask({ type: 'viewOfShared' })).byteLength, 8);
  t.is((await ref.ask({ type: 'movedLarge' })).byteLength, LARGE);
  t.is(system.restarts('buffers'), 0);
});

serial('cloneGuard - the bridge refuses an oversized call and an oversized answer with its code', async (t) => {
  const { port1, port2 } = new MessageChannel();
  const big = new ArrayBuffer(LARGE);
  const api = {
    view: () => new Uint8Array(big, 0, 8),
    shared: () => new Uint8Array(new SharedArrayBuffer(LARGE), 0, 8),
    length: (b: Uint8Array) => b.byteLength,
  };
  const server = exposeObject(api, port1);
  const client = wrapObject<typeof api>(port2);
  t.teardown(() => {
    client.close();
    server.close();
  });
  const err = await t.throwsAsync(client.proxy.view(), tooLarge);
  t.true(isPetrelError(err, 'ERR_MESSAGE_CLONE_TOO_LARGE'));
  t.is(await client.proxy.length(new Uint8Array(8)), 8);
  await t.throwsAsync(client.proxy.length(new Uint8Array(big, 0, 8)), tooLarge);
  t.is((await client.proxy.shared()).byteLength, 8);
});

serial('cloneGuard - a pool batch carrying a view of a large buffer is refused before it runs', async (t) => {
  const pool = new Pool<unknown, { sum: number }>({ module: new URL('./fixtures/poolHandler.js', import.meta.url), maxThreads: 1 });
  t.teardown(() => pool.destroy());
  await t.throwsAsync(pool.run([{ value: 1, body: new Uint8Array(new ArrayBuffer(LARGE), 0, 4) }]), tooLarge);
  t.is((await pool.run([{ value: 2, body: new Uint8Array(4) }])).sum, 2);
});
