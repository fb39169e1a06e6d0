/**
 * Conformance of evaluation with RocketMQ's documented SQL92 behaviour (its filter module's
 * expression tests and the filter guide), restated case by case.
 */
import test from 'ava';
import { compileSqlFilter } from '../../filter/sql/SqlFilter.js';

type Props = Readonly<Record<string, string>>;

function matches(expression: string, props: Props): boolean {
  return compileSqlFilter(expression).evaluate(props);
}

function outcome(expression: string, props: Props): boolean | null | 'error' {
  return compileSqlFilter(expression).outcome(props);
}

test('sql semantics - a missing property makes a comparison null, so it never matches', (t) => {
  for (const expression of ["a = 'x'", "a <> 'x'", 'a > 1', 'a <= 1', 'a BETWEEN 1 AND 3', 'a NOT BETWEEN 1 AND 3', "a IN ('x')", "a NOT IN ('x')"]) {
    t.is(outcome(expression, {}), null, expression);
  }
});

test('sql semantics - IS NULL and IS NOT NULL test for a missing property', (t) => {
  t.true(matches('a IS NULL', { abc: '2' }));
  t.false(matches('a IS NULL', { a: '2' }));
  t.true(matches('a IS NOT NULL', { a: '2' }));
  t.false(matches('a IS NOT NULL', { abc: '2' }));
  t.true(matches("a IS NOT NULL AND a = ''", { a: '' }), 'an empty value is present, not null');
});

test('sql semantics - AND, OR and NOT follow three-valued logic', (t) => {
  t.true(matches("a IS NULL OR a = 'hello'", {}));
  t.true(matches("a IS NULL OR a = 'hello'", { a: 'hello' }));
  t.false(matches("a IS NULL OR a = 'hello'", { a: 'abc' }));
  t.true(matches("a > 1 OR b = 'y'", { b: 'y' }), 'null OR TRUE is TRUE');
  t.is(outcome("a > 1 OR b = 'y'", { b: 'n' }), null, 'null OR FALSE is null');
  t.is(outcome("a > 1 AND b = 'y'", { b: 'y' }), null, 'null AND TRUE is null');
  t.is(outcome("a > 1 AND b = 'y'", { b: 'n' }), false, 'null AND FALSE is FALSE');
  t.is(outcome("NOT (a = 'x')", {}), null, 'NOT null is null');
  t.true(matches("NOT (a > 1 AND b = 'n')", { b: 'y' }), 'NOT (null AND FALSE) is TRUE');
});

test('sql semantics - comparing two properties: both must be present', (t) => {
  t.is(outcome('a = b', {}), null);
  t.is(outcome('a = b', { a: '1' }), null);
  t.is(outcome('a <> b', { a: '1' }), null);
  t.true(matches('a = b', { a: '3.14', b: '3.14' }));
  t.false(matches('a <> b', { a: '3.14', b: '3.14' }));
  t.true(matches('a <> b', { a: '3.14', b: '3.141' }));
  t.false(matches('a = b', { a: '1.0', b: '1' }), '= compares two properties as strings');
});

test('sql semantics - ordering two properties reads both as doubles', (t) => {
  t.false(matches('a > b', { a: '10', b: '20' }));
  t.true(matches('a > b', { a: '20', b: '10' }));
  t.true(matches('a < b', { a: '9', b: '10' }), 'numerically, not as strings');
  t.is(outcome('a > b', { a: 'up', b: 'low' }), 'error');
});

test('sql semantics - a property compared with a number is read as that number type', (t) => {
  t.true(matches('a = 3', { a: '3' }));
  t.true(matches('a = 3', { a: '+3' }));
  t.true(matches('a = 3', { a: '03' }));
  t.true(matches('a = 3.0', { a: '3' }));
  t.true(matches('a > 3.14', { a: '3.1415' }));
  t.true(matches('a > 3.1E10', { a: '3.1415E10' }));
  t.true(matches('a > 1.0', { a: ' 2' }), 'Double.valueOf trims blanks');
  t.true(matches('a < 10.0', { a: '2.5f' }), 'and takes a float suffix');
  t.true(matches('a >= 2147483648', { a: '2147483648' }), 'a literal past int range is a long, and reads a long');
  t.true(matches('a = 5L', { a: '5' }), 'L marks a long, but an int-sized one is still an int');
});

test('sql semantics - a property that cannot be read as the number ends the evaluation without a match', (t) => {
  t.is(outcome('a > 3', { a: 'abc' }), 'error');
  t.is(outcome('a = 3', { a: '3.0' }), 'error', 'an int literal wants an integer');
  t.is(outcome('a > 5', { a: '2147483648' }), 'error', 'an int literal wants an int-sized integer');
  t.is(outcome('a > 1', { a: ' 2' }), 'error', 'Integer.valueOf does not trim');
  t.is(outcome('a BETWEEN 1 AND 2.5', { a: '2.5' }), 'error', 'the int bound is compared first');
  t.true(matches('a BETWEEN 1.0 AND 2.5', { a: '2.5' }));
  t.is(outcome("'abc' = 3", {}), 'error');
  t.false(matches('key IS NOT NULL AND key BETWEEN 0 AND 100', { key: 'con' }));
});

test('sql semantics - an error only counts where evaluation reaches it (left to right, stopping early)', (t) => {
  t.false(matches("a > 3 OR b = 'y'", { a: 'abc', b: 'y' }));
  t.true(matches("b = 'y' OR a > 3", { a: 'abc', b: 'y' }));
  t.false(matches("b = 'n' AND a > 3", { a: 'abc', b: 'y' }));
  t.is(outcome("b = 'n' AND a > 3", { a: 'abc', b: 'y' }), false);
});

test('sql semantics - a property compared with TRUE or FALSE is true when it reads "true" in any case', (t) => {
  t.true(matches('a = TRUE OR b = FALSE', { a: 'true', b: 'false' }));
  t.false(matches('a = TRUE OR b = FALSE', { a: 'false', b: 'true' }));
  t.true(matches('a = TRUE', { a: 'TRUE' }));
  t.false(matches('a = TRUE', { a: 'yes' }));
  t.true(matches('a = FALSE', { a: 'yes' }));
  t.true(matches("'true' = TRUE", {}));
  t.false(matches('1 = TRUE', {}), 'a number never equals a boolean');
  t.true(matches('1 <> TRUE', {}));
});

test('sql semantics - a bare property where a condition is expected is FALSE when present', (t) => {
  t.is(outcome('a', { a: 'true' }), false);
  t.is(outcome('a', {}), null);
  t.true(matches('NOT a', { a: 'x' }));
  t.true(matches('TRUE', {}));
  t.false(matches('FALSE', {}));
  t.is(outcome('NULL', {}), null);
});

test('sql semantics - numbers compare as Java does: ints widen, doubles order NaN last and -0.0 below 0.0', (t) => {
  t.true(matches('3 > 2.5', {}));
  t.true(matches('3 = 3.0', {}));
  t.true(matches('2147483648 > 2147483647', {}));
  t.true(matches('a = -0.0', { a: '-0' }));
  t.false(matches('a = 0.0', { a: '-0' }));
  t.true(matches('a > 1000.0', { a: 'NaN' }));
  t.true(matches('a > 1000.0', { a: 'Infinity' }));
  t.true(matches('-(-3) = 3', {}));
  t.true(matches('a = -5', { a: '-5' }));
});

test('sql semantics - unary minus of a property or a string is null', (t) => {
  t.is(outcome('-a = 3', { a: '-3' }), null);
  t.is(outcome('-a IS NULL', { a: '3' }), true);
  t.is(outcome("-'x' IS NULL", {}), true);
});

test('sql semantics - BETWEEN includes both bounds and NOT BETWEEN excludes them', (t) => {
  const between = 'a BETWEEN 2 AND 10';
  for (const a of ['2', '3', '10']) t.true(matches(between, { a }), a);
  for (const a of ['1', '11']) t.false(matches(between, { a }), a);
  const notBetween = 'a NOT BETWEEN 2 AND 10';
  for (const a of ['1', '11']) t.true(matches(notBetween, { a }), a);
  for (const a of ['2', '3', '10']) t.false(matches(notBetween, { a }), a);
  t.true(matches('a BETWEEN -5 AND 5', { a: '-5' }));
  t.true(matches('(a BETWEEN 2 AND 10) AND (b NOT BETWEEN 6 AND 9)', { a: '2', b: '10' }));
});

test('sql semantics - IN and NOT IN compare the property with each string exactly', (t) => {
  for (const a of ['3', '4', '5']) t.true(matches("a IN ('3', '4', '5')", { a }));
  t.false(matches("a IN ('3', '4', '5')", { a: '8' }));
  t.true(matches("a NOT IN ('3', '4', '5')", { a: '8' }));
  t.false(matches("a NOT IN ('3', '4', '5')", { a: '3' }));
  t.false(matches("TAGS IN ('TagA')", { TAGS: 'taga' }), 'case-sensitive');
  t.false(matches("a IN ('3')", { a: '3.0' }), 'strings, not numbers');
  t.true(matches("(TAGS IS NOT NULL AND TAGS IN ('TagA', 'TagB')) AND (a IS NOT NULL AND a BETWEEN 0 AND 3)", { TAGS: 'TagB', a: '3' }));
});

test("sql semantics - '' inside a string literal is one quote", (t) => {
  t.true(matches("TAGS IS NOT NULL AND TAGS = '''''tag'''''", { TAGS: "''tag''" }));
  t.true(matches("a = 'it''s'", { a: "it's" }));
  t.true(matches("a = ''''", { a: "'" }));
  t.true(matches("a = ''", { a: '' }));
  t.true(matches("a = 'two\nlines'", { a: 'two\nlines' }));
});

test('sql semantics - CONTAINS, STARTSWITH and ENDSWITH match substrings, case-sensitively', (t) => {
  const props = { a: 'abcd' };
  t.true(matches("a CONTAINS 'bc'", props));
  t.true(matches("a STARTSWITH 'ab'", props));
  t.true(matches("a ENDSWITH 'cd'", props));
  t.false(matches("a CONTAINS 'BC'", props));
  t.true(matches("a NOT CONTAINS 'x'", props));
  t.false(matches("a NOT STARTSWITH 'ab'", props));
  t.true(matches("a NOT ENDSWITH 'ab'", props));
});

test('sql semantics - CONTAINS and its kin are FALSE, not null, for a missing property or an empty search', (t) => {
  t.is(outcome("a CONTAINS 'x'", {}), false);
  t.is(outcome("a NOT CONTAINS 'x'", {}), false);
  t.is(outcome("a NOT STARTSWITH 'x'", {}), false);
  t.true(matches("NOT (a CONTAINS 'x')", {}), 'so NOT around it matches');
  t.false(matches("a CONTAINS ''", { a: 'abc' }));
  t.false(matches("a NOT CONTAINS ''", { a: 'abc' }));
  t.false(matches("3 CONTAINS '3'", {}), 'only strings contain');
});

test('sql semantics - keywords are case-insensitive, property names are not', (t) => {
  t.true(matches("a is NoT nUlL aNd b In ('x') oR c BeTwEeN 1 aNd 2", { a: '1', b: 'x' }));
  t.true(matches('a = tRuE', { a: 'true' }));
  t.false(matches("A = 'x'", { a: 'x' }));
  t.true(matches("A = 'x'", { A: 'x' }));
});

test('sql semantics - AND binds tighter than OR, comparisons tighter than both', (t) => {
  const expression = "a = 'x' OR b = 'y' AND c = 'z'";
  t.true(matches(expression, { a: 'x' }));
  t.false(matches(expression, { b: 'y' }));
  t.true(matches(expression, { b: 'y', c: 'z' }));
  t.false(matches("(a = 'x' OR b = 'y') AND c = 'z'", { a: 'x' }));
});

test('sql semantics - NOT applies to the operand right after it, as RocketMQ reads it', (t) => {
  // NOT a = 'x' is (NOT a) = 'x': a present makes NOT a TRUE, and TRUE = 'x' reads 'x' as false
  t.false(matches("NOT a = 'x'", { a: 'y' }));
  t.true(matches("NOT a = 'true'", { a: 'y' }));
  t.true(matches("NOT (a = 'x')", { a: 'y' }));
});

test('sql semantics - comments and line breaks are ignored', (t) => {
  t.true(matches("a = 1 -- a trailing comment", { a: '1' }));
  t.true(matches("a /* inline */ = 1\r\n  AND b = 2 -- line\n", { a: '1', b: '2' }));
});

test('sql semantics - properties are read from a Map or from an object, own keys only', (t) => {
  t.true(compileSqlFilter("a = 'x'").evaluate(new Map([['a', 'x']])));
  const mapLike: ReadonlyMap<string, string> = Object.freeze({ get: (name: string) => (name === 'a' ? 'x' : undefined) }) as unknown as ReadonlyMap<string, string>;
  t.true(compileSqlFilter("a = 'x'").evaluate(mapLike), 'any map-like object');
  t.is(outcome('constructor IS NULL', {}), true);
  t.is(outcome('toString IS NULL', {}), true);
});
