/**
 * Turns a tree into a function of a message's properties, with RocketMQ's semantics:
 *
 * - Values. A property is a string, or null when the message does not have it. Literals keep
 *   Java's types: int, long (bigint), double, string, boolean, null.
 * - Conversions. A string compared with a number is read as that number's type (an int literal
 *   wants Integer.valueOf's format, a decimal one Double.valueOf's); compared with TRUE or FALSE
 *   it is true when it reads "true" in any case. Two properties ordered with > >= < <= are both
 *   read as doubles; = and <> compare them as strings. Ints widen to longs, both to doubles.
 * - Nulls. A comparison with a null operand is null; IS NULL is the way to test for one. AND, OR
 *   and NOT use three-valued logic, left to right, stopping early as RocketMQ does. A property
 *   where a condition is expected reads as FALSE when present, null when missing.
 * - CONTAINS, STARTSWITH and ENDSWITH (and their NOT forms) are FALSE for a missing or non-string
 *   operand and for an empty search string. [NOT] IN is null for a missing property.
 * - Errors. A string that cannot be read as the number it is compared with ends the evaluation,
 *   as RocketMQ's exception does: the message does not match. Branches never reached (an OR
 *   already true, an AND already false) cannot fail it.
 * - Only a TRUE result matches.
 *
 * One deliberate difference from RocketMQ's Java code, which the grammar's users never see
 * except as a quirk: RocketMQ's `=` returns FALSE (not null) when only its right operand is
 * null, and TRUE when both are, and it fails `TRUE = prop` outright. Here a null operand always
 * makes `=` and `<>` null, and a boolean compares with a string from either side.
 */
import type { ComparisonOp, Expr } from './ast.js';
import { compareJavaDoubles, negateInt, negateLong, parseJavaBoolean, parseJavaDouble, parseJavaInt, parseJavaLong } from './javaNumbers.js';
import { type PropertySource, getProperty } from '../PropertySource.js';

/** A runtime value; its Java type is known statically from the node it comes from. */
type Value = string | number | bigint | boolean | null;
type ValueType = 'string' | 'int' | 'long' | 'double' | 'boolean' | 'null';
type Evaluate = (props: PropertySource) => Value;
type Condition = (props: PropertySource) => boolean | null;

/** The full result of one evaluation: TRUE, FALSE, null, or 'error' when it was cut short. */
export type SqlOutcome = boolean | null | 'error';

/** Thrown inside an evaluation to end it; never leaves this module. */
class EvaluationAborted {}
const ABORT = new EvaluationAborted();

/** Compiles a tree. The returned function never throws. */
export function compileExpression(root: Expr): (props: PropertySource) => SqlOutcome {
  const condition = compileCondition(root);
  return (props) => {
    try {
      return condition(props);
    } catch (err) {
      if (err === ABORT) return 'error';
      throw err;
    }
  };
}

/** Static type of a node's values. */
function typeOf(node: Expr): ValueType {
  switch (node.kind) {
    case 'property':
    case 'string':
      return 'string';
    case 'int':
    case 'long':
    case 'double':
      return node.kind;
    case 'null':
      return 'null';
    case 'negate': {
      const inner = typeOf(node.operand);
      return inner === 'int' || inner === 'long' || inner === 'double' ? inner : 'null';
    }
    default:
      return 'boolean';
  }
}

/** A node where a condition is expected; anything that is not a boolean reads as FALSE. */
function compileCondition(node: Expr): Condition {
  if (typeOf(node) === 'boolean') return compileValue(node) as Condition;
  const value = compileValue(node);
  return (props) => (value(props) === null ? null : false);
}

function compileValue(node: Expr): Evaluate {
  switch (node.kind) {
    case 'property': {
      const name = node.name;
      return (props) => getProperty(props, name) ?? null;
    }
    case 'string':
    case 'int':
    case 'long':
    case 'double':
    case 'boolean': {
      const value = node.value;
      return () => value;
    }
    case 'null':
      return () => null;
    case 'negate':
      return compileNegate(node.operand);
    case 'not': {
      const operand = compileCondition(node.operand);
      return (props) => {
        const v = operand(props);
        return v === null ? null : !v;
      };
    }
    case 'and':
      return compileLogic(node.operands.map(compileCondition), false);
    case 'or':
      return compileLogic(node.operands.map(compileCondition), true);
    case 'compare':
      return compileCompare(node.op, node.left, node.right);
    case 'isNull': {
      const operand = compileValue(node.operand);
      const negated = node.negated;
      return (props) => (operand(props) === null) !== negated;
    }
    case 'between': {
      // RocketMQ rewrites BETWEEN into (x >= low AND x <= high), NOT BETWEEN into (x < low OR x > high)
      const { operand, low, high } = node;
      return node.negated
        ? compileLogic([compileCompare('<', operand, low), compileCompare('>', operand, high)], true)
        : compileLogic([compileCompare('>=', operand, low), compileCompare('<=', operand, high)], false);
    }
    case 'in': {
      const name = node.property.name;
      const values = new Set(node.values);
      const negated = node.negated;
      return (props) => {
        const v = getProperty(props, name);
        return v === undefined ? null : values.has(v) !== negated;
      };
    }
    case 'stringMatch': {
      const search = node.value;
      if (search.length === 0) return () => false;
      const operand = compileValue(node.operand);
      const negated = node.negated;
      const test =
        node.op === 'CONTAINS' ? (s: string) => s.includes(search) : node.op === 'STARTSWITH' ? (s: string) => s.startsWith(search) : (s: string) => s.endsWith(search);
      return (props) => {
        const v = operand(props);
        return typeof v === 'string' ? test(v) !== negated : false;
      };
    }
  }
}

function compileNegate(operandNode: Expr): Evaluate {
  const operand = compileValue(operandNode);
  switch (typeOf(operandNode)) {
    case 'int':
      return (props) => {
        const v = operand(props);
        return typeof v === 'number' ? negateInt(v) : null;
      };
    case 'long':
      return (props) => {
        const v = operand(props);
        return typeof v === 'bigint' ? negateLong(v) : null;
      };
    case 'double':
      return (props) => {
        const v = operand(props);
        return typeof v === 'number' ? -v : null;
      };
    default:
      // the operand still runs: a condition inside it may end the evaluation
      return (props) => {
        operand(props);
        return null;
      };
  }
}

/** AND (`decisive` false) or OR (`decisive` true), left to right, three-valued. */
function compileLogic(operands: readonly Condition[], decisive: boolean): Condition {
  return (props) => {
    let sawNull = false;
    for (const operand of operands) {
      const v = operand(props);
      if (v === decisive) return decisive;
      if (v === null) sawNull = true;
    }
    return sawNull ? null : !decisive;
  };
}

function compileCompare(op: ComparisonOp, leftNode: Expr, rightNode: Expr): Condition {
  const left = compileValue(leftNode);
  const right = compileValue(rightNode);
  const ordering = op !== '=' && op !== '<>';
  const compare = comparator(typeOf(leftNode), typeOf(rightNode), ordering);
  const accept = acceptor(op);
  if (ordering) {
    return (props) => {
      const lv = left(props);
      if (lv === null) return null;
      const rv = right(props);
      if (rv === null) return null;
      return accept(compare(lv, rv));
    };
  }
  return (props) => {
    const lv = left(props);
    const rv = right(props);
    if (lv === null || rv === null) return null;
    return accept(compare(lv, rv));
  };
}

function acceptor(op: ComparisonOp): (order: number) => boolean {
  switch (op) {
    case '=':
      return (order) => order === 0;
    case '<>':
      return (order) => order !== 0;
    case '>':
      return (order) => order > 0;
    case '>=':
      return (order) => order >= 0;
    case '<':
      return (order) => order < 0;
    case '<=':
      return (order) => order <= 0;
  }
}

/**
 * How two non-null values of the given static types compare (negative, zero, positive), after
 * RocketMQ's conversions. Pairs Java cannot compare (a boolean and a number) order as "less",
 * which makes = FALSE, as RocketMQ's does.
 */
function comparator(lt: ValueType, rt: ValueType, ordering: boolean): (lv: Value, rv: Value) => number {
  if (lt === 'string' && rt === 'string') {
    if (ordering) return (lv, rv) => compareJavaDoubles(readDouble(lv as string), readDouble(rv as string));
    return (lv, rv) => (lv === rv ? 0 : (lv as string) < (rv as string) ? -1 : 1);
  }
  if (lt === 'string') {
    const read = reader(rt);
    const compare = comparator(rt, rt, ordering);
    if (read !== undefined) return (lv, rv) => compare(read(lv as string), rv);
  }
  if (rt === 'string') {
    const read = reader(lt);
    const compare = comparator(lt, lt, ordering);
    if (read !== undefined) return (lv, rv) => compare(lv, read(rv as string));
  }
  if (lt === 'boolean' && rt === 'boolean') return (lv, rv) => Number(lv) - Number(rv);
  if (isNumeric(lt) && isNumeric(rt)) {
    if (lt === 'double' || rt === 'double') return (lv, rv) => compareJavaDoubles(Number(lv), Number(rv));
    if (lt === 'int' && rt === 'int') return (lv, rv) => (lv as number) - (rv as number);
    return (lv, rv) => {
      const a = BigInt(lv as number | bigint);
      const b = BigInt(rv as number | bigint);
      return a < b ? -1 : a > b ? 1 : 0;
    };
  }
  return () => -1;
}

/** Reads a string as a value of `type`, or ends the evaluation. */
function reader(type: ValueType): ((s: string) => Value) | undefined {
  switch (type) {
    case 'int':
      return (s) => parseJavaInt(s) ?? abort();
    case 'long':
      return (s) => parseJavaLong(s) ?? abort();
    case 'double':
      return readDouble;
    case 'boolean':
      return parseJavaBoolean;
    default:
      return undefined;
  }
}

function readDouble(s: string): number {
  return parseJavaDouble(s) ?? abort();
}

function isNumeric(type: ValueType): boolean {
  return type === 'int' || type === 'long' || type === 'double';
}

function abort(): never {
  throw ABORT;
}
