/**
 * The syntax tree of a SQL92 selector: plain, immutable data (no positions, no methods), so two
 * trees are equal exactly when they are deeply equal, and a tree can cross threads as is.
 *
 * Shapes follow RocketMQ's expression classes, with two simplifications that change no meaning:
 * AND and OR chains are one node with all their operands (RocketMQ nests them to the left and
 * evaluates them left to right, which an n-ary node does too), and parentheses and unary plus
 * leave no node (RocketMQ drops them as well).
 */

/** A message property, read by its exact name (names are case-sensitive). */
export interface PropertyNode {
  readonly kind: 'property';
  readonly name: string;
}

export interface StringNode {
  readonly kind: 'string';
  readonly value: string;
}

/** An integer literal that fits a Java int (what RocketMQ keeps as Integer). Never negative. */
export interface IntNode {
  readonly kind: 'int';
  readonly value: number;
}

/** An integer literal beyond int range but within a Java long (RocketMQ's Long). Never negative. */
export interface LongNode {
  readonly kind: 'long';
  readonly value: bigint;
}

/** A decimal or exponent literal (RocketMQ's Double). Finite and never negative. */
export interface DoubleNode {
  readonly kind: 'double';
  readonly value: number;
}

export interface BooleanNode {
  readonly kind: 'boolean';
  readonly value: boolean;
}

export interface NullNode {
  readonly kind: 'null';
}

/** Unary minus. Of a number it is that number negated; of anything else it is null. */
export interface NegateNode {
  readonly kind: 'negate';
  readonly operand: Expr;
}

export interface NotNode {
  readonly kind: 'not';
  readonly operand: Expr;
}

export interface LogicNode {
  readonly kind: 'and' | 'or';
  /** Two or more. */
  readonly operands: readonly Expr[];
}

export type ComparisonOp = '=' | '<>' | '>' | '>=' | '<' | '<=';

export interface CompareNode {
  readonly kind: 'compare';
  readonly op: ComparisonOp;
  readonly left: Expr;
  readonly right: Expr;
}

/** `x IS NULL`, or `x IS NOT NULL` when negated. */
export interface IsNullNode {
  readonly kind: 'isNull';
  readonly operand: Expr;
  readonly negated: boolean;
}

/** `x [NOT] BETWEEN low AND high`: both bounds inclusive. */
export interface BetweenNode {
  readonly kind: 'between';
  readonly operand: Expr;
  readonly low: Expr;
  readonly high: Expr;
  readonly negated: boolean;
}

/** `property [NOT] IN ('a', 'b')`: RocketMQ only allows a property on the left, strings in the list. */
export interface InNode {
  readonly kind: 'in';
  readonly property: PropertyNode;
  readonly values: readonly string[];
  readonly negated: boolean;
}

export type StringMatchOp = 'CONTAINS' | 'STARTSWITH' | 'ENDSWITH';

/** `x [NOT] CONTAINS 'text'`, likewise STARTSWITH and ENDSWITH. */
export interface StringMatchNode {
  readonly kind: 'stringMatch';
  readonly op: StringMatchOp;
  readonly operand: Expr;
  readonly value: string;
  readonly negated: boolean;
}

export type LiteralNode = StringNode | IntNode | LongNode | DoubleNode | BooleanNode | NullNode;

export type Expr =
  | PropertyNode
  | LiteralNode
  | NegateNode
  | NotNode
  | LogicNode
  | CompareNode
  | IsNullNode
  | BetweenNode
  | InNode
  | StringMatchNode;

/**
 * True for the nodes RocketMQ calls BooleanExpression: they yield TRUE, FALSE or null. A property
 * is not one of them, though it may stand where a boolean is expected (it then reads as FALSE
 * when present, null when missing).
 */
export function isBooleanNode(node: Expr): boolean {
  switch (node.kind) {
    case 'boolean':
    case 'null':
    case 'not':
    case 'and':
    case 'or':
    case 'compare':
    case 'isNull':
    case 'between':
    case 'in':
    case 'stringMatch':
      return true;
    default:
      return false;
  }
}

/** Literals as RocketMQ's ConstantExpression: the nodes its parse-time checks look into. */
export function isLiteral(node: Expr): node is LiteralNode {
  return (
    node.kind === 'string' || node.kind === 'int' || node.kind === 'long' || node.kind === 'double' || node.kind === 'boolean' || node.kind === 'null'
  );
}

export function isNumericLiteral(node: Expr): node is IntNode | LongNode | DoubleNode {
  return node.kind === 'int' || node.kind === 'long' || node.kind === 'double';
}

/** Number of nodes, IN-list entries included: what the node limit counts. */
export function countNodes(node: Expr): number {
  switch (node.kind) {
    case 'negate':
    case 'not':
    case 'isNull':
    case 'stringMatch':
      return 1 + countNodes(node.operand);
    case 'and':
    case 'or':
      return node.operands.reduce((sum, operand) => sum + countNodes(operand), 1);
    case 'compare':
      return 1 + countNodes(node.left) + countNodes(node.right);
    case 'between':
      return 1 + countNodes(node.operand) + countNodes(node.low) + countNodes(node.high);
    case 'in':
      return 2 + node.values.length;
    default:
      return 1;
  }
}
