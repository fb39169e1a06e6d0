/**
 * The lexer of RocketMQ's SQL92 selector language (filter/.../parser/SelectorParser.jj).
 *
 * Tokens, longest match first:
 *   whitespace   " " "\t" "\n" "\r" "\f"                       skipped
 *   comment      "--" up to the end of the line (or of the text)  skipped
 *                "/*" ... "*\/"                                   skipped
 *   keyword      NOT AND OR BETWEEN IN TRUE FALSE NULL IS CONTAINS STARTSWITH ENDSWITH,
 *                any letter case
 *   identifier   [a-zA-Z_$][a-zA-Z0-9_$]*  (no dots: RocketMQ's grammar has none), case kept
 *   integer      "0" | [1-9][0-9]* with an optional L/l suffix
 *   decimal      digits "." digits? exponent? | "." digits exponent? | digits exponent,
 *                exponent = [eE] [+-]? digits
 *   string       "'" ( "''" | any other character )* "'"
 *   operator     = <> > >= < <= ( ) , + -
 *
 * As in JavaCC's longest match, "007" is the integer 0 followed by more input (a parse error
 * later, not here), and "5e" is the integer 5 followed by the identifier e. One deliberate
 * difference: a "--" comment may end at the end of the text; RocketMQ's needs a line break.
 */
import { FilterSyntaxError, positionAt } from './errors.js';

export const KEYWORDS = [
  'NOT', 'AND', 'OR', 'BETWEEN', 'IN', 'TRUE', 'FALSE', 'NULL', 'IS', 'CONTAINS', 'STARTSWITH', 'ENDSWITH',
] as const;
export type Keyword = (typeof KEYWORDS)[number];

export const OPERATORS = ['=', '<>', '>', '>=', '<', '<=', '(', ')', ',', '+', '-'] as const;
export type Operator = (typeof OPERATORS)[number];

export type Token =
  | { readonly type: 'keyword'; readonly keyword: Keyword; readonly start: number; readonly end: number }
  | { readonly type: 'identifier'; readonly name: string; readonly start: number; readonly end: number }
  | { readonly type: 'string'; readonly value: string; readonly start: number; readonly end: number }
  | { readonly type: 'integer'; readonly digits: string; readonly start: number; readonly end: number }
  | { readonly type: 'decimal'; readonly text: string; readonly start: number; readonly end: number }
  | { readonly type: 'operator'; readonly operator: Operator; readonly start: number; readonly end: number }
  | { readonly type: 'end'; readonly start: number; readonly end: number };

const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

/** Splits an expression into tokens, ending with one 'end' token. Throws FilterSyntaxError. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  const fail = (at: number, expected: readonly string[], found: string, detail?: string): never => {
    throw new FilterSyntaxError(positionAt(text, at), expected, found, detail);
  };

  while (true) {
    // whitespace and comments
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) {
        i++;
      } else if (c === 0x2d && text.charCodeAt(i + 1) === 0x2d) {
        i += 2;
        while (i < n && text.charCodeAt(i) !== 0x0a && text.charCodeAt(i) !== 0x0d) i++;
      } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2a) {
        const close = text.indexOf('*/', i + 2);
        if (close < 0) fail(i, ['"*/"'], 'end of expression', 'unterminated comment');
        i = close + 2;
      } else {
        break;
      }
    }
    if (i >= n) {
      tokens.push({ type: 'end', start: n, end: n });
      return tokens;
    }

    const start = i;
    const c = text.charCodeAt(i);
    if (isIdentifierStart(c)) {
      i++;
      while (i < n && isIdentifierPart(text.charCodeAt(i))) i++;
      const word = text.slice(start, i);
      const upper = word.toUpperCase();
      if (KEYWORD_SET.has(upper)) tokens.push({ type: 'keyword', keyword: upper as Keyword, start, end: i });
      else tokens.push({ type: 'identifier', name: word, start, end: i });
    } else if (isDigit(c) || (c === 0x2e && isDigit(text.charCodeAt(i + 1)))) {
      i = scanNumber(text, start, tokens);
    } else if (c === 0x27) {
      i = scanString(text, start, tokens, fail);
    } else {
      const two = text.slice(i, i + 2);
      if (two === '<>' || two === '>=' || two === '<=') {
        tokens.push({ type: 'operator', operator: two, start, end: i + 2 });
        i += 2;
      } else {
        const one = text[i] ?? '';
        if (!(OPERATORS as readonly string[]).includes(one)) {
          fail(i, ['an operand or operator'], `character ${JSON.stringify(one)}`, `unexpected character ${JSON.stringify(one)}`);
        }
        tokens.push({ type: 'operator', operator: one as Operator, start, end: i + 1 });
        i += 1;
      }
    }
  }
}

/** A short description of a token for error messages. */
export function describeToken(token: Token): string {
  switch (token.type) {
    case 'keyword':
      return token.keyword;
    case 'identifier':
      return `identifier ${token.name}`;
    case 'string':
      return 'string literal';
    case 'integer':
      return `number ${token.digits}`;
    case 'decimal':
      return `number ${token.text}`;
    case 'operator':
      return `"${token.operator}"`;
    case 'end':
      return 'end of expression';
  }
}

function scanNumber(text: string, start: number, tokens: Token[]): number {
  let i = start;
  while (isDigit(text.charCodeAt(i))) i++;
  const intEnd = i;
  let isDecimal = false;
  if (text.charCodeAt(i) === 0x2e) {
    isDecimal = true;
    i++;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const exponentEnd = scanExponent(text, i);
  if (exponentEnd > i) {
    isDecimal = true;
    i = exponentEnd;
  }
  if (isDecimal) {
    tokens.push({ type: 'decimal', text: text.slice(start, i), start, end: i });
    return i;
  }
  // "0" | [1-9][0-9]*: a leading zero is a token of its own, as JavaCC's longest match has it.
  const end = text.charCodeAt(start) === 0x30 ? start + 1 : intEnd;
  let tokenEnd = end;
  if (end === intEnd) {
    const suffix = text.charCodeAt(end);
    if (suffix === 0x4c || suffix === 0x6c) tokenEnd = end + 1;
  }
  tokens.push({ type: 'integer', digits: text.slice(start, end), start, end: tokenEnd });
  return tokenEnd;
}

/** End of an exponent starting at i, or i when there is none. */
function scanExponent(text: string, i: number): number {
  const e = text.charCodeAt(i);
  if (e !== 0x45 && e !== 0x65) return i;
  let j = i + 1;
  const sign = text.charCodeAt(j);
  if (sign === 0x2b || sign === 0x2d) j++;
  if (!isDigit(text.charCodeAt(j))) return i;
  while (isDigit(text.charCodeAt(j))) j++;
  return j;
}

function scanString(
  text: string,
  start: number,
  tokens: Token[],
  fail: (at: number, expected: readonly string[], found: string, detail?: string) => never,
): number {
  let i = start + 1;
  let value = '';
  let chunk = i;
  for (;;) {
    const q = text.indexOf("'", i);
    if (q < 0) return fail(start, ['"\'"'], 'end of expression', 'unterminated string literal');
    if (text.charCodeAt(q + 1) === 0x27) {
      value += text.slice(chunk, q + 1);
      i = q + 2;
      chunk = i;
    } else {
      value += text.slice(chunk, q);
      tokens.push({ type: 'string', value, start, end: q + 1 });
      return q + 1;
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isIdentifierStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x24;
}

function isIdentifierPart(c: number): boolean {
  return isIdentifierStart(c) || isDigit(c);
}
