import test from 'ava';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { parseSql } from '../../filter/sql/parser.js';
import { printSql } from '../../filter/sql/printer.js';
import { buildSqlFilter } from '../../filter/sql/SqlFilter.js';
import { arbProps, condition } from './sqlArbitraries.js';
import { referenceOutcome } from './sqlReference.js';

const SEED = 20_240_601;

test('sql properties - a random tree printed and parsed again is the same tree', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(condition(3), (ast) => {
        const text = printSql(ast);
        const again = parseSql(text);
        if (!isDeepStrictEqual(again, ast)) t.log(text);
        return isDeepStrictEqual(again, ast) && printSql(again) === text;
      }),
      { numRuns: 600, seed: SEED },
    ),
  );
});

test('sql properties - the evaluator agrees with the reference evaluation on random properties', (t) => {
  let decided = 0;
  fc.assert(
    fc.property(condition(3), fc.array(arbProps, { minLength: 1, maxLength: 8 }), (ast, propsList) => {
      const filter = buildSqlFilter(printSql(ast), ast);
      for (const props of propsList) {
        const expected = referenceOutcome(ast, props);
        const actual = filter.outcome(props);
        if (actual !== expected) {
          t.log(printSql(ast), props, { expected, actual });
          return false;
        }
        if (filter.evaluate(new Map(Object.entries(props))) !== (expected === true)) return false;
        if (expected === true) decided++;
      }
      return true;
    }),
    { numRuns: 600, seed: SEED },
  );
  // the generators must reach matches too, or the agreement says little
  t.true(decided > 100, `only ${decided} matching evaluations`);
});

test('sql properties - evaluation never throws, whatever the properties hold', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(condition(3), fc.dictionary(fc.constantFrom('a', 'b', 'c', 'TAGS'), fc.string({ maxLength: 8 })), (ast, props) => {
        const outcome = buildSqlFilter(printSql(ast), ast).outcome(props);
        return outcome === true || outcome === false || outcome === null || outcome === 'error';
      }),
      { numRuns: 400, seed: SEED },
    ),
  );
});
