/**
 * Prints a tree as canonical selector text: keywords in capitals, one space around operators,
 * parentheses only where the grammar needs them, strings with '' escapes. Parsing the printed
 * text gives back a deeply equal tree (the property tests check this on random trees).
 */
import type { Expr } from './ast.js';

/** Binding strength of each grammar level, loosest first. */
const OR = 1;
const AND = 2;
const EQUALITY = 3;
const COMPARISON = 4;
const UNARY = 5;
const PRIMARY = 6;

export function printSql(node: Expr): string {
  return print(node);
}

function levelOf(node: Expr): number {
  switch (node.kind) {
    case 'or':
      return OR;
    case 'and':
      return AND;
    case 'isNull':
      return EQUALITY;
    case 'compare':
      return node.op === '=' || node.op === '<>' ? EQUALITY : COMPARISON;
    case 'between':
    case 'in':
    case 'stringMatch':
      return COMPARISON;
    case 'negate':
    case 'not':
      return UNARY;
    default:
      return PRIMARY;
  }
}

/** The text of `node` where the grammar expects at least `level`. */
function at(level: number, node: Expr): string {
  const text = print(node);
  return levelOf(node) >= level ? text : `(${text})`;
}

function print(node: Expr): string {
  switch (node.kind) {
    case 'property':
      return node.name;
    case 'string':
      return quote(node.value);
    case 'int':
      return String(node.value);
    case 'long':
      return node.value.toString();
    case 'double':
      return formatDouble(node.value);
    case 'boolean':
      return node.value ? 'TRUE' : 'FALSE';
    case 'null':
      return 'NULL';
    case 'negate': {
      const operand = at(UNARY, node.operand);
      // "--" would start a comment
      return operand.startsWith('-') ? `-(${operand})` : `-${operand}`;
    }
    case 'not':
      return `NOT ${at(UNARY, node.operand)}`;
    case 'and':
    case 'or': {
      const level = levelOf(node);
      return node.operands.map((operand) => at(level + 1, operand)).join(node.kind === 'and' ? ' AND ' : ' OR ');
    }
    case 'compare': {
      const level = levelOf(node);
      return `${at(level, node.left)} ${node.op} ${at(level + 1, node.right)}`;
    }
    case 'isNull':
      return `${at(EQUALITY, node.operand)} IS ${node.negated ? 'NOT ' : ''}NULL`;
    case 'between':
      return `${at(COMPARISON, node.operand)} ${node.negated ? 'NOT ' : ''}BETWEEN ${at(UNARY, node.low)} AND ${at(UNARY, node.high)}`;
    case 'in':
      return `${node.property.name} ${node.negated ? 'NOT ' : ''}IN (${node.values.map(quote).join(', ')})`;
    case 'stringMatch':
      return `${at(COMPARISON, node.operand)} ${node.negated ? 'NOT ' : ''}${node.op} ${quote(node.value)}`;
  }
}

function quote(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Shortest text that reads back as the same double, always with a point or an exponent. */
function formatDouble(value: number): string {
  const text = String(value);
  return /[.eE]/.test(text) ? text : `${text}.0`;
}
