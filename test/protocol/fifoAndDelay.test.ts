import test from 'ava';
import fc from 'fast-check';
import { queueForMessageGroup } from '../../protocol/FifoQueueSelector.js';
import { delayLevelFor } from '../../protocol/DelayLevels.js';
import { DEFAULT_DELAY_LEVELS, parseDelayLevels } from '../../storage/DelayLevels.js';
import { StatusError } from '../../protocol/status.js';
import { Code } from '../../protocol/wire.js';
import { isPetrelError } from '../../common/errors.js';

test('fifo - a message group always maps to the same queue within range', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 1024 }), (group, n) => {
        const q = queueForMessageGroup(group, n);
        return Number.isInteger(q) && q >= 0 && q < n && q === queueForMessageGroup(group, n);
      }),
    ),
  );
});

test('fifo - the queue is RocketMQ SelectMessageQueueByHash over Java hashCode', (t) => {
  t.is(queueForMessageGroup('hello', 8), 2); // "hello".hashCode() = 99162322
  t.is(queueForMessageGroup('polygenelubricants', 3), 2); // hashCode() = Integer.MIN_VALUE; Java % gives -2
  t.is(queueForMessageGroup('', 4), 0);
  t.throws(() => queueForMessageGroup('g', 0), { instanceOf: RangeError });
});

test('fifo - groups spread over the queues', (t) => {
  const seen = new Set<number>();
  for (let i = 0; i < 200; i++) seen.add(queueForMessageGroup(`order-${i}`, 8));
  t.is(seen.size, 8);
});

test('delay - the default levels are RocketMQ messageDelayLevel', (t) => {
  const levels = parseDelayLevels(DEFAULT_DELAY_LEVELS);
  t.is(levels.length, 18);
  t.is(levels[0], 1000);
  t.is(levels[4], 60_000);
  t.is(levels[17], 7_200_000);
});

test('delay - the level is the smallest delay at or above the wanted one', (t) => {
  const levels = parseDelayLevels(DEFAULT_DELAY_LEVELS);
  const now = 1_000_000;
  t.is(delayLevelFor(now, now, levels), undefined);
  t.is(delayLevelFor(now - 5, now, levels), undefined);
  t.is(delayLevelFor(now + 1, now, levels), 1);
  t.is(delayLevelFor(now + 1000, now, levels), 1);
  t.is(delayLevelFor(now + 1001, now, levels), 2);
  t.is(delayLevelFor(now + 45_000, now, levels), 5);
  t.is(delayLevelFor(now + 7_200_000, now, levels), 18);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 7_200_000 }), (wait) => {
      const level = delayLevelFor(now + wait, now, levels);
      if (level === undefined) return false;
      const delay = levels[level - 1] ?? 0;
      const below = level > 1 ? (levels[level - 2] ?? 0) : 0;
      return delay >= wait && below < wait;
    }),
  );
});

test('delay - a delay past the longest level is ILLEGAL_DELIVERY_TIME', (t) => {
  const levels = parseDelayLevels(DEFAULT_DELAY_LEVELS);
  const err = t.throws(() => delayLevelFor(7_200_001, 0, levels));
  t.true(err instanceof StatusError && err.wireCode === Code.ILLEGAL_DELIVERY_TIME);
});

test('delay - level strings are parsed with units, in any order, 1 to 64 of them', (t) => {
  t.deepEqual(parseDelayLevels('500ms 1s 2m 1h 1d'), [500, 1000, 120_000, 3_600_000, 86_400_000]);
  // as RocketMQ, levels need not increase; a wanted delay still maps to the first level that is long enough
  const unordered = parseDelayLevels('5s 1s 10s');
  t.deepEqual(unordered, [5000, 1000, 10_000]);
  t.is(delayLevelFor(10_800, 10_000, unordered), 1);
  for (const bad of ['1x', '', 's', Array.from({ length: 65 }, () => '1s').join(' ')]) t.true(isPetrelError(t.throws(() => parseDelayLevels(bad)), 'ERR_CONFIG_INVALID'));
});
