/**
 * A second, deliberately plain evaluation of selector trees, written apart from
 * filter/sql/evaluator.ts: a direct interpreter over tagged runtime values, RocketMQ's rules
 * restated one by one (BETWEEN literally rewritten into AND/OR of two comparisons, AND/OR folded
 * pairwise from the left as RocketMQ nests them). The property tests compare the two.
 */
import type { ComparisonOp, Expr } from '../../filter/sql/ast.js';

type RefValue =
  | { readonly t: 'null' }
  | { readonly t: 'bool'; readonly v: boolean }
  | { readonly t: 'str'; readonly v: string }
  | { readonly t: 'int'; readonly v: bigint }
  | { readonly t: 'long'; readonly v: bigint }
  | { readonly t: 'dbl'; readonly v: number };

type Tri = boolean | null;

class Abort extends Error {}

const NULL: RefValue = { t: 'null' };

export function referenceOutcome(root: Expr, props: Readonly<Record<string, string>>): Tri | 'error' {
  try {
    return asCondition(evaluate(root, props));
  } catch (err) {
    if (err instanceof Abort) return 'error';
    throw err;
  }
}

function asCondition(value: RefValue): Tri {
  if (value.t === 'null') return null;
  if (value.t === 'bool') return value.v;
  return false;
}

function evaluate(node: Expr, props: Readonly<Record<string, string>>): RefValue {
  const cond = (e: Expr): Tri => asCondition(evaluate(e, props));
  const tri = (b: Tri): RefValue => (b === null ? NULL : { t: 'bool', v: b });
  switch (node.kind) {
    case 'property': {
      const v = Object.hasOwn(props, node.name) ? props[node.name] : undefined;
      return v === undefined ? NULL : { t: 'str', v };
    }
    case 'string':
      return { t: 'str', v: node.value };
    case 'int':
      return { t: 'int', v: BigInt(node.value) };
    case 'long':
      return { t: 'long', v: node.value };
    case 'double':
      return { t: 'dbl', v: node.value };
    case 'boolean':
      return { t: 'bool', v: node.value };
    case 'null':
      return NULL;
    case 'negate': {
      const v = evaluate(node.operand, props);
      if (v.t === 'int') return { t: 'int', v: BigInt.asIntN(32, -v.v) };
      if (v.t === 'long') return { t: 'long', v: BigInt.asIntN(64, -v.v) };
      if (v.t === 'dbl') return { t: 'dbl', v: -v.v };
      return NULL;
    }
    case 'not': {
      const c = cond(node.operand);
      return tri(c === null ? null : !c);
    }
    case 'and':
    case 'or': {
      const [first, ...rest] = node.operands;
      if (first === undefined) throw new Error('empty logic node');
      const join = node.kind === 'and' ? and2 : or2;
      let acc = cond(first);
      for (const next of rest) acc = join(acc, () => cond(next));
      return tri(acc);
    }
    case 'compare':
      return tri(compare(node.op, node.left, node.right, props));
    case 'isNull':
      return { t: 'bool', v: (evaluate(node.operand, props).t === 'null') !== node.negated };
    case 'between': {
      const { operand, low, high } = node;
      return tri(
        node.negated
          ? or2(compare('<', operand, low, props), () => compare('>', operand, high, props))
          : and2(compare('>=', operand, low, props), () => compare('<=', operand, high, props)),
      );
    }
    case 'in': {
      const v = evaluate(node.property, props);
      if (v.t !== 'str') return NULL;
      return { t: 'bool', v: node.values.includes(v.v) !== node.negated };
    }
    case 'stringMatch': {
      if (node.value === '') return { t: 'bool', v: false };
      const v = evaluate(node.operand, props);
      if (v.t !== 'str') return { t: 'bool', v: false };
      const hit = node.op === 'CONTAINS' ? v.v.includes(node.value) : node.op === 'STARTSWITH' ? v.v.startsWith(node.value) : v.v.endsWith(node.value);
      return { t: 'bool', v: hit !== node.negated };
    }
  }
}

/** RocketMQ's binary AND: the left side first, then the right unless the left is FALSE. */
function and2(left: Tri, right: () => Tri): Tri {
  if (left === false) return false;
  const r = right();
  if (r === false) return false;
  return left === null || r === null ? null : true;
}

function or2(left: Tri, right: () => Tri): Tri {
  if (left === true) return true;
  const r = right();
  if (r === true) return true;
  return left === null || r === null ? null : false;
}

function compare(op: ComparisonOp, leftNode: Expr, rightNode: Expr, props: Readonly<Record<string, string>>): Tri {
  const ordering = op !== '=' && op !== '<>';
  const left = evaluate(leftNode, props);
  if (ordering && left.t === 'null') return null;
  const right = evaluate(rightNode, props);
  if (left.t === 'null' || right.t === 'null') return null;
  const order = order3(left, right, ordering);
  switch (op) {
    case '=':
      return order === 0;
    case '<>':
      return order !== 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
  }
}

function order3(a: RefValue, b: RefValue, ordering: boolean): number {
  if (a.t === 'str' && b.t === 'str') {
    if (ordering) return doubleOrder(toDouble(a.v), toDouble(b.v));
    return a.v === b.v ? 0 : 1;
  }
  const x = a.t === 'str' ? convert(a.v, b.t) : a;
  const y = b.t === 'str' ? convert(b.v, a.t) : b;
  if (x.t === 'bool' && y.t === 'bool') return x.v === y.v ? 0 : x.v ? 1 : -1;
  const numeric = (v: RefValue): v is Extract<RefValue, { t: 'int' | 'long' | 'dbl' }> => v.t === 'int' || v.t === 'long' || v.t === 'dbl';
  if (numeric(x) && numeric(y)) {
    if (x.t === 'dbl' || y.t === 'dbl') return doubleOrder(Number(x.v), Number(y.v));
    const p = x.v as bigint;
    const q = y.v as bigint;
    return p === q ? 0 : p < q ? -1 : 1;
  }
  return -1;
}

function convert(s: string, to: RefValue['t']): RefValue {
  switch (to) {
    case 'int':
    case 'long': {
      if (!/^[+-]?\d+$/.test(s)) throw new Abort();
      const v = BigInt(s.replace(/^\+/, ''));
      const bits = to === 'int' ? 32 : 64;
      if (BigInt.asIntN(bits, v) !== v) throw new Abort();
      return { t: to, v };
    }
    case 'dbl':
      return { t: 'dbl', v: toDouble(s) };
    case 'bool':
      return { t: 'bool', v: s.toLowerCase() === 'true' };
    default:
      return { t: 'str', v: s };
  }
}

function toDouble(s: string): number {
  // eslint-disable-next-line no-control-regex
  const text = s.replace(/^[\u0000-\u0020]+/, '').replace(/[\u0000-\u0020]+$/, '');
  const m = /^([+-]?)(NaN|Infinity|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?)$/.exec(text);
  if (m === null) throw new Abort();
  if (m[2] === 'NaN') return Number.NaN;
  const sign = m[1] === '-' ? -1 : 1;
  if (m[2] === 'Infinity') return sign * Infinity;
  return sign * Number(`${m[3] ?? ''}${m[4] ?? ''}`);
}

/** Java's Double.compare. */
function doubleOrder(x: number, y: number): number {
  if (Number.isNaN(x)) return Number.isNaN(y) ? 0 : 1;
  if (Number.isNaN(y)) return -1;
  if (x !== y) return x < y ? -1 : 1;
  if (x !== 0) return 0;
  return (Object.is(x, -0) ? -1 : 0) - (Object.is(y, -0) ? -1 : 0);
}
