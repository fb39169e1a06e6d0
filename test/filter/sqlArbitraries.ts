/**
 * fast-check generators of SQL92 selector trees that RocketMQ's grammar accepts (so every tree
 * printed must parse back), and of property maps that hit the interesting conversions.
 */
import fc from 'fast-check';
import type { ComparisonOp, Expr, PropertyNode } from '../../filter/sql/ast.js';

export const PROPERTY_NAMES = ['a', 'b', 'c', 'TAGS', 'x_1', '$v'] as const;

/** Property values: numbers in Java's formats and not, booleans, blanks, quotes. */
export const PROPERTY_VALUES = [
  '', 'x', "it's", '0', '-0', '1', '2', '10', '-3', '+4', '3.5', '1e3', '2.5f', ' 2', 'NaN', 'Infinity',
  '2147483647', '2147483648', '9223372036854775807', 'true', 'TRUE', 'false', 'abc', 'abcd',
] as const;

export const arbProps: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom(...PROPERTY_NAMES),
  fc.constantFrom(...PROPERTY_VALUES),
  { maxKeys: PROPERTY_NAMES.length },
);

const arbProperty: fc.Arbitrary<PropertyNode> = fc.constantFrom(...PROPERTY_NAMES).map((name) => ({ kind: 'property', name }));

const arbString: fc.Arbitrary<Expr> = fc
  .oneof(fc.constantFrom(...PROPERTY_VALUES), fc.string({ maxLength: 6 }))
  .map((value) => ({ kind: 'string', value }));

const arbNumber: fc.Arbitrary<Expr> = fc.oneof(
  fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 2_147_483_647 })).map((value): Expr => ({ kind: 'int', value })),
  fc.bigInt({ min: 2n ** 31n, max: 2n ** 63n - 1n }).map((value): Expr => ({ kind: 'long', value })),
  fc
    .oneof(fc.constantFrom(0, 0.5, 1, 2, 2.5, 3.5, 10, 1e3, 1e21, 5e-324), fc.double({ min: 0, max: 1e6, noNaN: true }))
    .map((value): Expr => ({ kind: 'double', value: value + 0 })),
);

const arbBoolean: fc.Arbitrary<Expr> = fc.boolean().map((value) => ({ kind: 'boolean', value }));

const ORDER_OPS: readonly ComparisonOp[] = ['>', '>=', '<', '<='];

/** Operands > >= < <= and BETWEEN accept: properties, numbers, negations of those. */
function orderOperand(depth: number): fc.Arbitrary<Expr> {
  const leaf = fc.oneof(arbProperty, arbNumber);
  if (depth <= 0) return leaf;
  return fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 1, arbitrary: orderOperand(depth - 1).map((operand): Expr => ({ kind: 'negate', operand })) });
}

/** Any value or condition: operands of =, <>, IS NULL, CONTAINS and unary minus. */
function anyOperand(depth: number): fc.Arbitrary<Expr> {
  const leaf = fc.oneof(arbProperty, arbString, arbNumber, arbBoolean);
  if (depth <= 0) return leaf;
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    { weight: 1, arbitrary: anyOperand(depth - 1).map((operand): Expr => ({ kind: 'negate', operand })) },
    { weight: 2, arbitrary: condition(depth - 1) },
  );
}

/** Equality operands: anything but the NULL literal, and TRUE/FALSE on the left only faces a boolean literal. */
function equality(depth: number): fc.Arbitrary<Expr> {
  const notNull = (e: Expr): Expr => (e.kind === 'null' ? { kind: 'boolean', value: false } : e);
  return fc.tuple(fc.constantFrom<ComparisonOp>('=', '<>'), anyOperand(depth), anyOperand(depth)).map(([op, l, r]): Expr => {
    const left = notNull(l);
    const right = notNull(r);
    const literal = right.kind === 'string' || right.kind === 'int' || right.kind === 'long' || right.kind === 'double';
    if (left.kind === 'boolean' && literal) return { kind: 'compare', op, left: right, right: left };
    return { kind: 'compare', op, left, right };
  });
}

function between(depth: number): fc.Arbitrary<Expr> {
  return fc.tuple(orderOperand(depth), orderOperand(depth), orderOperand(depth), fc.boolean()).map(([operand, low, high, negated]): Expr => {
    const numeric = (e: Expr): e is Extract<Expr, { kind: 'int' | 'long' | 'double' }> => e.kind === 'int' || e.kind === 'long' || e.kind === 'double';
    // two literal bounds must be in order (RocketMQ refuses the others)
    if (!negated && numeric(low) && numeric(high) && Number(low.value) > Number(high.value)) {
      return { kind: 'between', operand, low: high, high: low, negated };
    }
    return { kind: 'between', operand, low, high, negated };
  });
}

/** A condition: what AND, OR, NOT and the whole selector accept. */
export function condition(depth: number): fc.Arbitrary<Expr> {
  const leaves = fc.oneof(
    fc.tuple(fc.constantFrom(...ORDER_OPS), orderOperand(1), orderOperand(1)).map(([op, left, right]): Expr => ({ kind: 'compare', op, left, right })),
    equality(0),
    anyOperand(0).map((operand): Expr => ({ kind: 'isNull', operand, negated: false })),
    anyOperand(0).map((operand): Expr => ({ kind: 'isNull', operand, negated: true })),
    between(1),
    fc
      .tuple(arbProperty, fc.array(fc.constantFrom(...PROPERTY_VALUES), { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([property, values, negated]): Expr => ({ kind: 'in', property, values, negated })),
    fc
      .tuple(fc.constantFrom('CONTAINS', 'STARTSWITH', 'ENDSWITH' as const), anyOperand(0), fc.constantFrom('', 'a', 'b', '1', 'abc', "'"), fc.boolean())
      .map(([op, operand, value, negated]): Expr => ({ kind: 'stringMatch', op, operand, value, negated })),
    arbBoolean,
    fc.constant<Expr>({ kind: 'null' }),
    arbProperty,
  );
  if (depth <= 0) return leaves;
  const inner = condition(depth - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leaves },
    { weight: 1, arbitrary: inner.map((operand): Expr => ({ kind: 'not', operand })) },
    { weight: 1, arbitrary: fc.array(inner, { minLength: 2, maxLength: 4 }).map((operands): Expr => ({ kind: 'and', operands })) },
    { weight: 1, arbitrary: fc.array(inner, { minLength: 2, maxLength: 4 }).map((operands): Expr => ({ kind: 'or', operands })) },
    { weight: 1, arbitrary: equality(depth - 1) },
    { weight: 1, arbitrary: anyOperand(depth - 1).map((operand): Expr => ({ kind: 'isNull', operand, negated: false })) },
  );
}
