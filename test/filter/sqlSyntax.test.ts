/**
 * The grammar: what parses into which tree, what is refused and where, and the limits.
 */
import test, { type ExecutionContext } from 'ava';
import { isPetrelError } from '../../common/errors.js';
import type { Expr } from '../../filter/sql/ast.js';
import { FilterSyntaxError, FilterTooComplexError } from '../../filter/sql/errors.js';
import { parseSql } from '../../filter/sql/parser.js';
import { printSql } from '../../filter/sql/printer.js';
import { SqlFilterCache, compileSqlFilter } from '../../filter/sql/SqlFilter.js';

const a: Expr = { kind: 'property', name: 'a' };
const b: Expr = { kind: 'property', name: 'b' };
const int = (value: number): Expr => ({ kind: 'int', value });
const str = (value: string): Expr => ({ kind: 'string', value });

/** Asserts a syntax error at the offset (and line, column when given). */
function refusedAt(t: ExecutionContext, text: string, offset: number, line = 1, column = offset + 1): void {
  const err = t.throws(() => parseSql(text), { instanceOf: FilterSyntaxError }, text);
  if (err === undefined) return;
  t.is(err.code, 'ERR_FILTER_SYNTAX', text);
  t.deepEqual(err.position, { offset, line, column }, text);
  t.true(err.expected.length > 0, text);
}

test('sql syntax - AND chains are one node, AND binds tighter than OR', (t) => {
  t.deepEqual(parseSql("a = 1 OR b = 'x' AND a = 2 AND b = 'y'"), {
    kind: 'or',
    operands: [
      { kind: 'compare', op: '=', left: a, right: int(1) },
      {
        kind: 'and',
        operands: [
          { kind: 'compare', op: '=', left: b, right: str('x') },
          { kind: 'compare', op: '=', left: a, right: int(2) },
          { kind: 'compare', op: '=', left: b, right: str('y') },
        ],
      },
    ],
  });
});

test('sql syntax - ordering binds tighter than equality, and NOT tighter than both', (t) => {
  t.deepEqual(parseSql('a > 1 = TRUE'), {
    kind: 'compare',
    op: '=',
    left: { kind: 'compare', op: '>', left: a, right: int(1) },
    right: { kind: 'boolean', value: true },
  });
  t.deepEqual(parseSql("NOT a = 'x'"), { kind: 'compare', op: '=', left: { kind: 'not', operand: a }, right: str('x') });
  t.deepEqual(parseSql("NOT (a = 'x')"), { kind: 'not', operand: { kind: 'compare', op: '=', left: a, right: str('x') } });
});

test('sql syntax - BETWEEN takes its own AND before the logical one', (t) => {
  t.deepEqual(parseSql("a BETWEEN 1 AND 2 AND b = 'x'"), {
    kind: 'and',
    operands: [
      { kind: 'between', operand: a, low: int(1), high: int(2), negated: false },
      { kind: 'compare', op: '=', left: b, right: str('x') },
    ],
  });
});

test('sql syntax - unary minus makes a node, unary plus and parentheses make none', (t) => {
  t.deepEqual(parseSql('-3 < +a'), { kind: 'compare', op: '<', left: { kind: 'negate', operand: int(3) }, right: a });
  t.deepEqual(parseSql("((a)) IN ('x')"), { kind: 'in', property: { kind: 'property', name: 'a' }, values: ['x'], negated: false });
});

test('sql syntax - literals keep Java types: int, long past int range, double with a point or exponent', (t) => {
  const right = (text: string): Expr => {
    const node = parseSql(`a = ${text}`);
    if (node.kind !== 'compare') throw new Error('not a comparison');
    return node.right;
  };
  t.deepEqual(right('2147483647'), int(2_147_483_647));
  t.deepEqual(right('2147483648'), { kind: 'long', value: 2_147_483_648n });
  t.deepEqual(right('7L'), int(7));
  t.deepEqual(right('9223372036854775807l'), { kind: 'long', value: 9_223_372_036_854_775_807n });
  for (const [text, value] of [['1.', 1], ['.5', 0.5], ['5E10', 5e10], ['5.5e-3', 0.0055], ['1e+2', 100]] as const) {
    t.deepEqual(right(text), { kind: 'double', value }, text);
  }
  t.deepEqual(right('tRuE'), { kind: 'boolean', value: true });
});

test('sql syntax - identifiers are letters, digits, _ and $, without dots', (t) => {
  t.deepEqual(parseSql('$x_1 IS NULL'), { kind: 'isNull', operand: { kind: 'property', name: '$x_1' }, negated: false });
  refusedAt(t, 'a.b IS NULL', 1);
});

test('sql syntax - printing gives canonical text that parses to the same tree', (t) => {
  const cases: [string, string][] = [
    ["a=3 and b<>4 And c>5 AND d<=4", 'a = 3 AND b <> 4 AND c > 5 AND d <= 4'],
    ["(a not in ('6', '4')) or (b in ('3'))", "a NOT IN ('6', '4') OR b IN ('3')"],
    ['(a OR b) AND NOT (a AND b)', '(a OR b) AND NOT (a AND b)'],
    ['- -3 = a', '-(-3) = a'],
    ["a='it''s'", "a = 'it''s'"],
    ['a > 3.1E10', 'a > 31000000000.0'],
    ['a = 2.0', 'a = 2.0'],
    ["a = 'x' = (b = 'y')", "a = 'x' = (b = 'y')"],
  ];
  for (const [input, canonical] of cases) {
    t.is(printSql(parseSql(input)), canonical, input);
    t.deepEqual(parseSql(canonical), parseSql(input), input);
  }
});

test('sql syntax - misplaced tokens are refused at their position', (t) => {
  refusedAt(t, 'a and between 2 and 10', 6);
  refusedAt(t, 'a = ', 4);
  refusedAt(t, '', 0);
  refusedAt(t, '   ', 3);
  refusedAt(t, 'a = 1)', 5);
  refusedAt(t, '(a = 1', 6);
  refusedAt(t, "a IN ('x', )", 11);
  refusedAt(t, "a IN ()", 6);
  refusedAt(t, 'a IS 3', 5);
  refusedAt(t, 'a IS NOT 3', 9);
  refusedAt(t, "a NOT LIKE 'x'", 2);
  refusedAt(t, 'a = 1 b = 2', 6);
  refusedAt(t, 'a BETWEEN 1 OR 2', 12);
});

test('sql syntax - lexical errors are refused at their position, across lines', (t) => {
  refusedAt(t, "a = 'x", 4);
  refusedAt(t, 'a != 3', 2);
  refusedAt(t, 'a = 1 /* no end', 6);
  refusedAt(t, 'a\n  = = 3', 6, 2, 5);
  refusedAt(t, "a = 1 AND\r\nb ~ 2", 13, 2, 3);
  refusedAt(t, '007 = a', 1, 1, 2);
  refusedAt(t, 'a = 5e', 5);
  refusedAt(t, 'a = 5.0L', 7);
});

test('sql syntax - numbers out of Java range are refused', (t) => {
  refusedAt(t, 'a > 100000000000000000000000', 4);
  refusedAt(t, 'a > 9223372036854775808', 4);
  refusedAt(t, `a > 1${'1'.repeat(400)}.5`, 4);
});

test('sql syntax - operands RocketMQ refuses are refused where they stand', (t) => {
  refusedAt(t, '3', 0);
  refusedAt(t, "'abc'", 0);
  refusedAt(t, '-a', 0);
  refusedAt(t, "a = 1 AND 'x'", 10);
  refusedAt(t, 'NOT 3', 4);
  refusedAt(t, "a > 'x'", 4);
  refusedAt(t, 'a > TRUE', 4);
  refusedAt(t, 'a > NULL', 4);
  refusedAt(t, "(a = 'x') > 1", 0);
  refusedAt(t, 'a = NULL', 4);
  refusedAt(t, 'NULL <> a', 0);
  refusedAt(t, "TRUE = 'x'", 7);
  refusedAt(t, 'TRUE = 1', 7);
  refusedAt(t, "a IN (3)", 6);
  refusedAt(t, "3 IN ('3')", 0);
  refusedAt(t, "NOT a IN ('x')", 0);
  refusedAt(t, "a CONTAINS b", 11);
  refusedAt(t, "a BETWEEN 'x' AND 'y'", 10);
});

test('sql syntax - BETWEEN with literal bounds in the wrong order is refused', (t) => {
  refusedAt(t, ' a between 10 and 0', 18);
  refusedAt(t, 'a BETWEEN 2.5 AND 2', 18);
  t.notThrows(() => parseSql('a BETWEEN 2 AND 2'));
  t.notThrows(() => parseSql('a NOT BETWEEN 10 AND 0'), 'RocketMQ only checks BETWEEN');
  t.notThrows(() => parseSql('a BETWEEN 5 AND -5'), 'nor bounds that are not plain literals');
});

test('sql syntax - an expression over the length limit is refused as too complex', (t) => {
  const long = `a = '${'x'.repeat(4100)}'`;
  const err = t.throws(() => parseSql(long), { instanceOf: FilterTooComplexError });
  t.is(err?.code, 'ERR_FILTER_TOO_COMPLEX');
  t.is(err?.limit, 'length');
  t.notThrows(() => parseSql(long, { maxLength: 5000 }));
});

test('sql syntax - nesting past the depth limit is refused as too complex, at the level that crosses it', (t) => {
  const parens = `${'('.repeat(65)}a = 1${')'.repeat(65)}`;
  const err = t.throws(() => parseSql(parens), { instanceOf: FilterTooComplexError });
  t.is(err?.limit, 'depth');
  t.is(err?.position.offset, 64);
  t.notThrows(() => parseSql(`${'('.repeat(60)}a = 1${')'.repeat(60)}`));
  t.throws(() => parseSql(`${'NOT '.repeat(70)}a`), { code: 'ERR_FILTER_TOO_COMPLEX' });
  t.throws(() => parseSql(`${'NOT '.repeat(4)}a`, { maxDepth: 3 }), { code: 'ERR_FILTER_TOO_COMPLEX' });
});

test('sql syntax - more terms than the node limit are refused as too complex', (t) => {
  const terms = Array.from({ length: 400 }, (_, i) => `a=${i % 10}`).join(' OR ');
  const err = t.throws(() => parseSql(terms), { instanceOf: FilterTooComplexError });
  t.is(err?.limit, 'nodes');
  t.notThrows(() => parseSql(terms, { maxNodes: 2000 }));
  const list = `a IN (${Array.from({ length: 1100 }, () => "'v'").join(',')})`;
  t.throws(() => parseSql(list, { maxLength: 10_000 }), { code: 'ERR_FILTER_TOO_COMPLEX' });
});

test('sql syntax - a refusal is a PetrelError whose message carries the position', (t) => {
  try {
    parseSql('a =\n  )');
    t.fail('parsed');
  } catch (err) {
    t.true(isPetrelError(err, 'ERR_FILTER_SYNTAX'));
    t.regex((err as Error).message, /line 2, column 3/);
  }
});

test('sql syntax - compiled filters are cached by expression text, least recently used out first', (t) => {
  t.is(compileSqlFilter("a = 'cached'"), compileSqlFilter("a = 'cached'"));
  const cache = new SqlFilterCache(2);
  const first = cache.compile('a = 1');
  cache.compile('a = 2');
  t.is(cache.compile('a = 1'), first, 'a hit refreshes the entry');
  cache.compile('a = 3');
  t.is(cache.size, 2);
  t.is(cache.compile('a = 1'), first, 'a = 2 was the one evicted');
  t.is(first.canonical, 'a = 1');
});
