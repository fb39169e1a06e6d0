/**
 * The parse-time refusals of RocketMQ's SelectorParser, as pure rules over nodes. RocketMQ throws
 * these while building its expression objects, so an expression it refuses never reaches a
 * broker; petrelmq refuses the same ones, with the position of the offending operand.
 *
 * Each rule returns undefined when the node is acceptable, or what would have been acceptable.
 */
import { type Expr, isBooleanNode, isLiteral, isNumericLiteral } from './ast.js';
import { compareJavaDoubles } from './javaNumbers.js';

export interface Refusal {
  /** What would have been acceptable here. */
  readonly expected: string;
  /** Why the found operand is refused. */
  readonly detail: string;
}

/** AND, OR, NOT and the whole expression need a condition; a bare property reads as one. */
export function checkCondition(node: Expr): Refusal | undefined {
  if (isBooleanNode(node) || node.kind === 'property') return undefined;
  return { expected: 'a condition', detail: 'this operand is a value, not a condition (compare it with something)' };
}

/** Operands of >, >=, <, <= and BETWEEN: no string, boolean or NULL literal, no condition. */
export function checkOrderOperand(node: Expr): Refusal | undefined {
  if (isLiteral(node)) {
    if (isNumericLiteral(node)) return undefined;
    return { expected: 'a number or a property', detail: `a ${literalName(node.kind)} literal cannot be ordered` };
  }
  if (isBooleanNode(node)) return { expected: 'a number or a property', detail: 'a condition cannot be ordered' };
  return undefined;
}

/** Operands of = and <>: NULL cannot be compared (use IS NULL). */
export function checkEqualityOperand(node: Expr): Refusal | undefined {
  if (node.kind !== 'null') return undefined;
  return { expected: 'a value other than NULL', detail: 'NULL cannot be compared with = or <>; use IS [NOT] NULL' };
}

/** = and <> between two literals: TRUE or FALSE on the left only compares with a boolean. */
export function checkEqualityPair(left: Expr, right: Expr): Refusal | undefined {
  if (left.kind === 'boolean' && isLiteral(right) && right.kind !== 'boolean') {
    return { expected: 'TRUE or FALSE', detail: `a boolean literal cannot be compared with a ${literalName(right.kind)} literal` };
  }
  return undefined;
}

/** The left side of [NOT] IN must be a property. */
export function checkInOperand(node: Expr): Refusal | undefined {
  if (node.kind === 'property') return undefined;
  return { expected: 'a property', detail: 'only a property can be tested with IN' };
}

/** BETWEEN with two literal bounds: the low bound must not be above the high one. */
export function checkBetweenBounds(low: Expr, high: Expr): Refusal | undefined {
  if (!isNumericLiteral(low) || !isNumericLiteral(high)) return undefined;
  const order =
    low.kind !== 'double' && high.kind !== 'double'
      ? (BigInt(low.value) < BigInt(high.value) ? -1 : BigInt(low.value) > BigInt(high.value) ? 1 : 0)
      : compareJavaDoubles(Number(low.value), Number(high.value));
  if (order <= 0) return undefined;
  return { expected: 'a high bound not below the low bound', detail: 'BETWEEN bounds are out of order (the low bound comes first)' };
}

function literalName(kind: Expr['kind']): string {
  return kind === 'null' ? 'NULL' : kind;
}
