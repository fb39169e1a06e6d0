import test from 'ava';
import fc from 'fast-check';
import { BloomFilter } from '../../filter/bloom/BloomFilter.js';
import { computeFilterBitmap } from '../../filter/filterBitmap.js';
import { type MessageFilter, createMessageFilter } from '../../filter/MessageFilter.js';
import { printSql } from '../../filter/sql/printer.js';
import { tagsCodeOf } from '../../filter/tagExpression.js';
import { arbProps, condition } from './sqlArbitraries.js';

const bloom = new BloomFilter();
const SEED = 424_242;

function sqlFilter(group: string, expression: string, bitsValidSince?: number): MessageFilter {
  return createMessageFilter(
    { type: 'SQL92', expression },
    bitsValidSince === undefined ? { bloom: { filter: bloom, group, topic: 'TopicTest' } } : { bloom: { filter: bloom, group, topic: 'TopicTest' }, bitsValidSince },
  );
}

test('messageFilter - a tag filter checks the hash at the ConsumeQueue and the tag itself exactly', (t) => {
  const filter = createMessageFilter({ type: 'TAG', expression: 'TagA || Aa' });
  t.true(filter.matchesConsumeQueue(tagsCodeOf('TagA')));
  t.true(filter.matchesConsumeQueue(tagsCodeOf('BB')), 'collides with Aa');
  t.false(filter.matchesConsumeQueue(tagsCodeOf('TagB')));
  t.true(filter.matchesProperties({ TAGS: 'Aa' }));
  t.false(filter.matchesProperties({ TAGS: 'BB' }));
  t.false(filter.matchesProperties({}), 'no tag, no match');
  t.true(createMessageFilter({ type: 'TAG', expression: '*' }).matchesProperties({}));
  t.is(filter.bitPositions, undefined);
});

test('messageFilter - SQL92 is refused when the broker has enablePropertyFilter off', (t) => {
  t.throws(() => createMessageFilter({ type: 'SQL92', expression: 'a > 1' }, { enablePropertyFilter: false }), { code: 'ERR_FILTER_NOT_SUPPORTED' });
  t.throws(() => createMessageFilter({ type: 'SQL92', expression: 'a >' }), { code: 'ERR_FILTER_SYNTAX' });
});

test('messageFilter - a SQL92 filter skips a message whose bitmap lacks its bits', (t) => {
  const mine = sqlFilter('CID_mine', "region = 'eu'");
  const other = sqlFilter('CID_other', "region = 'us'");
  const eu = computeFilterBitmap(bloom, [mine, other], { region: 'eu' });
  const us = computeFilterBitmap(bloom, [mine, other], { region: 'us' });
  if (eu === undefined || us === undefined) return t.fail('no bitmap');
  t.true(mine.matchesConsumeQueue(0, eu));
  t.false(mine.matchesConsumeQueue(0, us));
  t.true(other.matchesConsumeQueue(0, us));
  t.true(mine.matchesProperties({ region: 'eu' }));
});

test('messageFilter - without usable bits the ConsumeQueue stage says maybe', (t) => {
  const filter = sqlFilter('CID_mine', "region = 'eu'", 1_000);
  const empty = bloom.createBitmap();
  t.true(filter.matchesConsumeQueue(0), 'no bitmap');
  t.true(filter.matchesConsumeQueue(0, new Uint8Array(3)), 'a bitmap of another size');
  t.true(filter.matchesConsumeQueue(0, empty, 999), 'stored before the bits were computed');
  t.true(filter.matchesConsumeQueue(0, empty), 'no store time while a start time is set');
  t.false(filter.matchesConsumeQueue(0, empty, 1_000));
  t.true(createMessageFilter({ type: 'SQL92', expression: 'a > 1' }).matchesConsumeQueue(0, empty), 'no bloom options');
});

test('messageFilter - the dispatcher stores no bitmap for a topic without SQL92 bits', (t) => {
  t.is(computeFilterBitmap(bloom, [], { a: '1' }), undefined);
  t.is(computeFilterBitmap(bloom, [createMessageFilter({ type: 'TAG', expression: 'TagA' })], { a: '1' }), undefined);
  t.deepEqual(computeFilterBitmap(bloom, [sqlFilter('g', "a = '2'")], { a: '1' }), bloom.createBitmap(), 'nobody wants it: all zero');
});

test('messageFilter - the bloom path delivers exactly what exact evaluation delivers, for random subscriptions', (t) => {
  let wanted = 0;
  let skipped = 0;
  let falseHits = 0;
  let unwanted = 0;
  fc.assert(
    fc.property(fc.array(condition(2), { minLength: 20, maxLength: 40 }), fc.array(arbProps, { minLength: 1, maxLength: 20 }), (asts, messages) => {
      const filters = asts.map((ast, i) => sqlFilter(`CID_${i}`, printSql(ast)));
      for (const props of messages) {
        const bitmap = computeFilterBitmap(bloom, filters, props); // dispatch
        for (const filter of filters) {
          const exact = filter.matchesProperties(props);
          const candidate = filter.matchesConsumeQueue(0, bitmap); // pull, before reading the CommitLog
          if (exact && !candidate) return false; // a false negative
          if (exact) wanted++;
          else if (candidate) {
            unwanted++;
            falseHits++;
          } else {
            unwanted++;
            skipped++;
          }
        }
      }
      return true;
    }),
    { numRuns: 60, seed: SEED },
  );
  const rate = falseHits / unwanted;
  t.log({ wanted, skipped, falseHits, rate });
  t.true(wanted > 0 && skipped > 0);
  // at most 40 groups share a bitmap here; their false hits stay near the 20 % design rate
  t.true(rate < 0.3, `false-hit rate ${rate}`);
});

test('messageFilter - with independent groups, false hits follow the bloom estimate', (t) => {
  // 32 groups, each wanting its own flag; a message sets each flag with probability 1/2
  const filters = Array.from({ length: 32 }, (_, i) => sqlFilter(`CID_flag_${i}`, `f${i} = 'y'`));
  let falseHits = 0;
  let unwanted = 0;
  let expected = 0;
  fc.assert(
    fc.property(fc.array(fc.boolean(), { minLength: 32, maxLength: 32 }), (flags) => {
      const props = Object.fromEntries(flags.map((flag, i) => [`f${i}`, flag ? 'y' : 'n']));
      const bitmap = computeFilterBitmap(bloom, filters, props);
      const set = flags.filter(Boolean).length;
      // chance that one other key's 3 bits are all among those set by `set` keys
      const p = (1 - (1 - 1 / bloom.m) ** (bloom.k * set)) ** bloom.k;
      for (const [i, filter] of filters.entries()) {
        if (flags[i] === true) {
          if (!filter.matchesConsumeQueue(0, bitmap)) return false;
          continue;
        }
        unwanted++;
        expected += p;
        if (filter.matchesConsumeQueue(0, bitmap)) falseHits++;
      }
      return true;
    }),
    { numRuns: 300, seed: SEED },
  );
  t.log({ falseHits, expected: Math.round(expected), unwanted });
  // the model assumes independent uniform positions; the real filter must not do markedly worse
  t.true(falseHits > 0 && falseHits <= 1.5 * expected, `${falseHits} false hits, about ${expected} expected`);
});
