/**
 * A recursive-descent parser for RocketMQ's SQL92 selector grammar, one function per rule of
 * SelectorParser.jj, from the loosest binding to the tightest:
 *
 *   selector    := or END
 *   or          := and ( OR and )*
 *   and         := equality ( AND equality )*
 *   equality    := comparison ( "=" comparison | "<>" comparison | IS NULL | IS NOT NULL )*
 *   comparison  := unary ( (">" | ">=" | "<" | "<=") unary
 *                        | [NOT] (CONTAINS | STARTSWITH | ENDSWITH) string
 *                        | [NOT] BETWEEN unary AND unary
 *                        | [NOT] IN "(" string ( "," string )* ")" )*
 *   unary       := "+" unary | "-" unary | NOT unary | primary
 *   primary     := literal | identifier | "(" or ")"
 *   literal     := string | integer | decimal | TRUE | FALSE | NULL
 *
 * Note where NOT sits: as in RocketMQ it is a prefix of the tightest level, so `NOT a = 'x'`
 * reads as `(NOT a) = 'x'`; write `NOT (a = 'x')` or `a <> 'x'`. The parse-time checks of
 * checks.ts run as nodes are built, so a refused expression is refused with its position.
 */
import { PetrelError } from '../../common/errors.js';
import type { ComparisonOp, Expr, PropertyNode, StringMatchOp } from './ast.js';
import {
  type Refusal,
  checkBetweenBounds,
  checkCondition,
  checkEqualityOperand,
  checkEqualityPair,
  checkInOperand,
  checkOrderOperand,
} from './checks.js';
import { FilterSyntaxError, FilterTooComplexError, positionAt } from './errors.js';
import { integerLiteralValue } from './javaNumbers.js';
import { type Keyword, type Operator, type Token, describeToken, tokenize } from './tokenizer.js';

/** Bounds on what the parser accepts; over any of them is ERR_FILTER_TOO_COMPLEX. */
export interface SqlLimits {
  /** Longest expression, in UTF-16 code units. Default 4096. */
  readonly maxLength?: number;
  /** Deepest nesting: of parentheses and prefixes while reading, of the tree once built. Default 64. */
  readonly maxDepth?: number;
  /** Most nodes in the tree, IN-list entries included. Default 1024. */
  readonly maxNodes?: number;
}

export const DEFAULT_SQL_LIMITS: Required<SqlLimits> = { maxLength: 4096, maxDepth: 64, maxNodes: 1024 };

/** Parses a selector into its tree. Throws FilterSyntaxError or FilterTooComplexError. */
export function parseSql(text: string, limits?: SqlLimits): Expr {
  if (typeof text !== 'string') throw new PetrelError('ERR_INVALID_ARGUMENT', `a SQL92 expression must be a string, got ${typeof text}`);
  const resolved = { ...DEFAULT_SQL_LIMITS, ...limits };
  if (text.length > resolved.maxLength) {
    throw new FilterTooComplexError('length', resolved.maxLength, positionAt(text, resolved.maxLength));
  }
  return new Parser(text, resolved).parseSelector();
}

/** A node with where it starts and how deep its tree is. */
interface Parsed {
  readonly node: Expr;
  readonly start: number;
  readonly depth: number;
}

const ORDER_OPS: ReadonlySet<string> = new Set(['>', '>=', '<', '<=']);
const STRING_MATCH: ReadonlySet<string> = new Set(['CONTAINS', 'STARTSWITH', 'ENDSWITH']);

class Parser {
  private readonly tokens: Token[];
  private index = 0;
  private nesting = 0;
  private nodes = 0;

  constructor(
    private readonly text: string,
    private readonly limits: Required<SqlLimits>,
  ) {
    this.tokens = tokenize(text);
  }

  parseSelector(): Expr {
    if (this.peek().type === 'end') this.fail(this.peek(), ['a condition']);
    const result = this.parseOr();
    if (this.peek().type !== 'end') this.fail(this.peek(), ['an operator', 'AND', 'OR', 'end of expression']);
    this.require(result, checkCondition(result.node));
    return result.node;
  }

  private parseOr(): Parsed {
    return this.parseLogic('OR', 'or', () => this.parseAnd());
  }

  private parseAnd(): Parsed {
    return this.parseLogic('AND', 'and', () => this.parseEquality());
  }

  private parseLogic(keyword: Keyword, kind: 'and' | 'or', operand: () => Parsed): Parsed {
    const first = operand();
    if (!this.atKeyword(keyword)) return first;
    const operands = [first];
    while (this.atKeyword(keyword)) {
      this.index++;
      const next = operand();
      // RocketMQ checks each pair as it joins it, left operand first
      if (operands.length === 1) this.require(first, checkCondition(first.node));
      this.require(next, checkCondition(next.node));
      operands.push(next);
    }
    return this.build({ kind, operands: operands.map((p) => p.node) }, first.start, operands);
  }

  private parseEquality(): Parsed {
    let left = this.parseComparison();
    for (;;) {
      const token = this.peek();
      if (token.type === 'operator' && (token.operator === '=' || token.operator === '<>')) {
        this.index++;
        const right = this.parseComparison();
        this.require(left, checkEqualityOperand(left.node));
        this.require(right, checkEqualityOperand(right.node));
        this.require(right, checkEqualityPair(left.node, right.node));
        left = this.build({ kind: 'compare', op: token.operator, left: left.node, right: right.node }, left.start, [left, right]);
      } else if (this.atKeyword('IS')) {
        this.index++;
        const negated = this.atKeyword('NOT');
        if (negated) this.index++;
        this.expectKeyword('NULL', negated ? ['NULL'] : ['NULL', 'NOT NULL']);
        left = this.build({ kind: 'isNull', operand: left.node, negated }, left.start, [left]);
      } else {
        return left;
      }
    }
  }

  private parseComparison(): Parsed {
    let left = this.parseUnary();
    for (;;) {
      const token = this.peek();
      if (token.type === 'operator' && ORDER_OPS.has(token.operator)) {
        this.index++;
        const right = this.parseUnary();
        this.require(left, checkOrderOperand(left.node));
        this.require(right, checkOrderOperand(right.node));
        left = this.build({ kind: 'compare', op: token.operator as ComparisonOp, left: left.node, right: right.node }, left.start, [left, right]);
        continue;
      }
      // NOT here only starts NOT BETWEEN / NOT IN / NOT CONTAINS...: one token of lookahead
      let negated = false;
      let keywordToken = token;
      if (this.atKeyword('NOT') && this.isComparisonKeyword(this.peek(1))) {
        negated = true;
        keywordToken = this.peek(1);
      }
      if (keywordToken.type !== 'keyword' || !this.isComparisonKeyword(keywordToken)) return left;
      this.index += negated ? 2 : 1;
      const keyword = keywordToken.keyword;
      if (keyword === 'BETWEEN') {
        const low = this.parseUnary();
        this.expectKeyword('AND', ['AND']);
        const high = this.parseUnary();
        for (const p of [left, low, high]) this.require(p, checkOrderOperand(p.node));
        if (!negated) this.require(high, checkBetweenBounds(low.node, high.node));
        left = this.build({ kind: 'between', operand: left.node, low: low.node, high: high.node, negated }, left.start, [left, low, high]);
      } else if (keyword === 'IN') {
        this.require(left, checkInOperand(left.node));
        const values = this.parseStringList();
        this.nodes += values.length;
        left = this.build({ kind: 'in', property: left.node as PropertyNode, values, negated }, left.start, [left]);
      } else {
        const value = this.expectString();
        left = this.build({ kind: 'stringMatch', op: keyword as StringMatchOp, operand: left.node, value, negated }, left.start, [left]);
      }
    }
  }

  private parseUnary(): Parsed {
    const token = this.peek();
    const prefix =
      token.type === 'operator' && (token.operator === '+' || token.operator === '-') ? token.operator : token.type === 'keyword' && token.keyword === 'NOT' ? 'NOT' : undefined;
    if (prefix === undefined) return this.parsePrimary();
    this.index++;
    this.enter(token);
    const operand = this.parseUnary();
    this.nesting--;
    if (prefix === '+') return { node: operand.node, start: token.start, depth: operand.depth };
    if (prefix === 'NOT') this.require(operand, checkCondition(operand.node));
    const node: Expr = prefix === '-' ? { kind: 'negate', operand: operand.node } : { kind: 'not', operand: operand.node };
    return this.build(node, token.start, [operand]);
  }

  private parsePrimary(): Parsed {
    const token = this.peek();
    switch (token.type) {
      case 'identifier':
        this.index++;
        return this.build({ kind: 'property', name: token.name }, token.start, []);
      case 'string':
        this.index++;
        return this.build({ kind: 'string', value: token.value }, token.start, []);
      case 'integer': {
        this.index++;
        const value = integerLiteralValue(token.digits);
        if (value === undefined) this.fail(token, ['an integer within the range of a Java long'], `number ${token.digits} (out of range)`);
        const node: Expr = typeof value === 'bigint' ? { kind: 'long', value } : { kind: 'int', value };
        return this.build(node, token.start, []);
      }
      case 'decimal': {
        this.index++;
        const value = Number(token.text);
        if (!Number.isFinite(value)) this.fail(token, ['a number within the range of a Java double'], `number ${token.text} (out of range)`);
        return this.build({ kind: 'double', value }, token.start, []);
      }
      case 'keyword':
        if (token.keyword === 'TRUE' || token.keyword === 'FALSE') {
          this.index++;
          return this.build({ kind: 'boolean', value: token.keyword === 'TRUE' }, token.start, []);
        }
        if (token.keyword === 'NULL') {
          this.index++;
          return this.build({ kind: 'null' }, token.start, []);
        }
        break;
      case 'operator':
        if (token.operator === '(') {
          this.index++;
          this.enter(token);
          const inner = this.parseOr();
          this.nesting--;
          this.expectOperator(')', ['an operator', 'AND', 'OR', '")"']);
          return { node: inner.node, start: token.start, depth: inner.depth };
        }
        break;
      default:
        break;
    }
    return this.fail(token, ['a property', 'a literal', '"("', 'NOT', '"-"']);
  }

  private parseStringList(): string[] {
    this.expectOperator('(', ['"("']);
    const values = [this.expectString()];
    while (this.atOperator(',')) {
      this.index++;
      values.push(this.expectString());
    }
    this.expectOperator(')', ['","', '")"']);
    return values;
  }

  private isComparisonKeyword(token: Token): boolean {
    return token.type === 'keyword' && (token.keyword === 'BETWEEN' || token.keyword === 'IN' || STRING_MATCH.has(token.keyword));
  }

  /** Makes a node, counting it and checking the depth of the tree it tops. */
  private build(node: Expr, start: number, children: readonly Parsed[]): Parsed {
    const depth = 1 + children.reduce((max, child) => Math.max(max, child.depth), 0);
    if (depth > this.limits.maxDepth) throw new FilterTooComplexError('depth', this.limits.maxDepth, positionAt(this.text, start));
    this.nodes++;
    if (this.nodes > this.limits.maxNodes) {
      throw new FilterTooComplexError('nodes', this.limits.maxNodes, positionAt(this.text, this.peek().start));
    }
    return { node, start, depth };
  }

  /** One more level of parentheses or prefixes; bounds the recursion before it happens. */
  private enter(token: Token): void {
    this.nesting++;
    if (this.nesting > this.limits.maxDepth) throw new FilterTooComplexError('depth', this.limits.maxDepth, positionAt(this.text, token.start));
  }

  private require(parsed: Parsed, refusal: Refusal | undefined): void {
    if (refusal === undefined) return;
    throw new FilterSyntaxError(positionAt(this.text, parsed.start), [refusal.expected], this.describeAt(parsed.start), refusal.detail);
  }

  private describeAt(offset: number): string {
    const token = this.tokens.find((t) => t.start === offset);
    return token === undefined ? 'operand' : describeToken(token);
  }

  private peek(ahead = 0): Token {
    const token = this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)];
    if (token === undefined) throw new Error('tokenize always ends with an end token');
    return token;
  }

  private atKeyword(keyword: Keyword): boolean {
    const token = this.peek();
    return token.type === 'keyword' && token.keyword === keyword;
  }

  private atOperator(operator: Operator): boolean {
    const token = this.peek();
    return token.type === 'operator' && token.operator === operator;
  }

  private expectKeyword(keyword: Keyword, expected: readonly string[]): void {
    if (!this.atKeyword(keyword)) this.fail(this.peek(), expected);
    this.index++;
  }

  private expectOperator(operator: Operator, expected: readonly string[]): void {
    if (!this.atOperator(operator)) this.fail(this.peek(), expected);
    this.index++;
  }

  private expectString(): string {
    const token = this.peek();
    if (token.type !== 'string') return this.fail(token, ['a string literal']);
    this.index++;
    return token.value;
  }

  private fail(token: Token, expected: readonly string[], found?: string): never {
    throw new FilterSyntaxError(positionAt(this.text, token.start), expected, found ?? describeToken(token));
  }
}
