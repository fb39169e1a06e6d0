import test from 'ava';
import { BatchBuffers } from '../../actors/BatchBuffers.js';

test('BatchBuffers - leases are shared memory of the asked sizes, and a given-back slot is used again', (t) => {
  const pool = new BatchBuffers(2, 1 << 20);
  const a = pool.take(1000, 40);
  t.true(a.bytes.buffer instanceof SharedArrayBuffer);
  t.true(a.meta.buffer instanceof SharedArrayBuffer);
  t.is(a.bytes.length, 1000);
  t.is(a.meta.length, 40);
  a.bytes.fill(7);
  pool.give(a);
  t.is(pool.idle, 1);
  const b = pool.take(2000, 8);
  t.is(b.bytes.buffer, a.bytes.buffer, 'the idle slot is large enough and is reused');
  t.is(b.bytes.length, 2000);
  t.is(pool.idle, 0);
});

test('BatchBuffers - a slot too small is not used, and no more than `keep` slots nor oversized ones are kept', (t) => {
  const pool = new BatchBuffers(2, 1 << 20);
  const small = pool.take(10, 1);
  pool.give(small);
  const big = pool.take(200_000, 1);
  t.not(big.bytes.buffer, small.bytes.buffer);
  t.true(big.bytes.buffer.byteLength >= 200_000);
  t.is(pool.idle, 1, 'the small slot is still idle');
  const leases = [big, pool.take(10, 1), pool.take(10, 1)];
  for (const l of leases) pool.give(l);
  t.is(pool.idle, 2);
  const huge = new BatchBuffers(2, 1 << 20).take(2 << 20, 1);
  const hugePool = new BatchBuffers(2, 1 << 20);
  hugePool.give(huge);
  t.is(hugePool.idle, 0, 'a slot past maxKeptBytes goes');
});
