import test from 'ava';
import { isPetrelError } from '../../common/errors.js';
import { Pool } from '../../runtime/Pool.js';
import type { BatchResult, Item } from './fixtures/poolHandler.js';
import { until } from './fixtures/wait.js';

const serial = test.serial;
const handler = new URL('./fixtures/poolHandler.js', import.meta.url);

function items(n: number, ms = 0): Item[] {
  return Array.from({ length: n }, (_, i) => ({ value: i + 1, ms }));
}

serial('pool - a batch runs as one task and its result comes back', async (t) => {
  const pool = new Pool<Item, BatchResult>({ module: handler, minThreads: 1, maxThreads: 1 });
  t.teardown(() => pool.destroy());
  const result = await pool.run(items(100));
  t.is(result.sum, 5050);
  t.is(result.count, 100);
  t.is(pool.peakConcurrency, 1);
});

serial('pool - threads grow to maxThreads under load, never past it, and shrink after the idle timeout', async (t) => {
  const pool = new Pool<Item, BatchResult>({ module: handler, minThreads: 1, maxThreads: 2, idleTimeoutMs: 100 });
  t.teardown(() => pool.destroy());
  t.is(pool.threadCount, 1);
  const results = await Promise.all([1, 2, 3, 4, 5, 6].map(() => pool.run(items(3, 40))));
  t.is(new Set(results.map((r) => r.threadId)).size, 2);
  t.is(pool.peakConcurrency, 2);
  t.is(pool.threadCount, 2);
  t.is(pool.running, 0);
  await until(() => pool.threadCount === 1, 5000);
  t.is(pool.threadCount, 1);
});

serial('pool - a full queue refuses a batch at once with ERR_POOL_QUEUE_FULL', async (t) => {
  const pool = new Pool<Item, BatchResult>({ module: handler, minThreads: 1, maxThreads: 1, maxQueue: 2 });
  t.teardown(() => pool.destroy());
  const accepted = [pool.run(items(1, 50)), pool.run(items(1, 1)), pool.run(items(1, 1))];
  t.is(pool.pending, 3);
  const refused = await t.throwsAsync(pool.run(items(1)));
  t.true(isPetrelError(refused, 'ERR_POOL_QUEUE_FULL'));
  t.deepEqual((await Promise.all(accepted)).map((r) => r.sum), [1, 1, 1]);
  t.is((await pool.run(items(2))).sum, 3);
});

serial('pool - an aborted batch is cancelled whether it waits or runs', async (t) => {
  const pool = new Pool<Item, BatchResult>({ module: handler, minThreads: 1, maxThreads: 1 });
  t.teardown(() => pool.destroy());
  const running = new AbortController();
  const waiting = new AbortController();
  const first = pool.run(items(1, 5000), { signal: running.signal });
  const second = pool.run(items(2, 1), { signal: waiting.signal });
  const third = pool.run(items(3, 1));
  await until(() => pool.running === 1);
  waiting.abort();
  t.true(isPetrelError(await t.throwsAsync(second), 'ERR_CANCELLED'));
  running.abort();
  t.true(isPetrelError(await t.throwsAsync(first), 'ERR_CANCELLED'));
  // The thread of the cancelled batch is replaced and the queue moves on.
  t.is((await third).sum, 6);
  t.is(pool.running, 0);
  const pre = new AbortController();
  pre.abort();
  t.true(isPetrelError(await t.throwsAsync(pool.run(items(1), { signal: pre.signal })), 'ERR_CANCELLED'));
});

serial('pool - handler errors come back as PetrelErrors', async (t) => {
  const pool = new Pool<Item, BatchResult>({ module: handler, minThreads: 1, maxThreads: 1 });
  t.teardown(() => pool.destroy());
  t.true(isPetrelError(await t.throwsAsync(pool.run([{ value: -1 }])), 'ERR_MESSAGE_ILLEGAL'));
  const failed = await t.throwsAsync(pool.run([{ value: -2 }]));
  t.true(isPetrelError(failed, 'ERR_POOL_TASK_FAILED'));
  t.regex(failed?.message ?? '', /TypeError/);
  t.is((await pool.run(items(1))).sum, 1);
});

serial('pool - close lets accepted batches finish, then ends every thread', async (t) => {
  const pool = new Pool<Item, BatchResult>({ module: handler, minThreads: 2, maxThreads: 2 });
  const accepted = pool.run(items(4, 30));
  await pool.close();
  t.is((await accepted).sum, 10);
  t.is(pool.threadCount, 0);
  t.true(isPetrelError(await t.throwsAsync(pool.run(items(1))), 'ERR_POOL_CLOSED'));
});

test('pool - bad sizes are refused with ERR_CONFIG_INVALID', (t) => {
  t.throws(() => new Pool({ module: handler, minThreads: 3, maxThreads: 2 }), { code: 'ERR_CONFIG_INVALID' } as never);
  t.throws(() => new Pool({ module: handler, maxThreads: 0 }), { code: 'ERR_CONFIG_INVALID' } as never);
  t.throws(() => new Pool({ module: handler, maxQueue: -1 }), { code: 'ERR_CONFIG_INVALID' } as never);
});
