/**
 * The two ways a SQL92 expression is refused before it ever runs.
 *
 * Both are PetrelErrors with a stable code; the position also appears in the message, so it
 * survives a trip across threads as plain data ({code, message, retriable}).
 */
import { PetrelError } from '../../common/errors.js';

/** Where in the expression text: offset is 0-based in UTF-16 code units, line and column 1-based. */
export interface SourcePosition {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** ERR_FILTER_SYNTAX: the text does not parse, or parses into something RocketMQ refuses. */
export class FilterSyntaxError extends PetrelError {
  readonly position: SourcePosition;
  /** What the parser would have accepted here, e.g. ["AND", "OR", "end of expression"]. */
  readonly expected: readonly string[];
  /** What it found instead, e.g. "identifier b" or "end of expression". */
  readonly found: string;

  constructor(position: SourcePosition, expected: readonly string[], found: string, detail?: string) {
    const what = detail ?? `expected ${describeExpected(expected)} but found ${found}`;
    super('ERR_FILTER_SYNTAX', `SQL92 filter: ${what} at line ${position.line}, column ${position.column} (offset ${position.offset})`);
    this.name = 'FilterSyntaxError';
    this.position = position;
    this.expected = expected;
    this.found = found;
  }
}

export type ComplexityLimit = 'length' | 'depth' | 'nodes';

/** ERR_FILTER_TOO_COMPLEX: the expression is over one of the limits in SqlLimits. */
export class FilterTooComplexError extends PetrelError {
  readonly limit: ComplexityLimit;
  readonly max: number;
  /** Where the limit was crossed. */
  readonly position: SourcePosition;

  constructor(limit: ComplexityLimit, max: number, position: SourcePosition) {
    const what = limit === 'length' ? `is longer than ${max} characters` : limit === 'depth' ? `nests deeper than ${max} levels` : `has more than ${max} terms`;
    super('ERR_FILTER_TOO_COMPLEX', `SQL92 filter ${what} (at line ${position.line}, column ${position.column}, offset ${position.offset})`);
    this.name = 'FilterTooComplexError';
    this.limit = limit;
    this.max = max;
    this.position = position;
  }
}

/** Line and column of an offset; "\r\n", "\n" and "\r" each end a line. */
export function positionAt(text: string, offset: number): SourcePosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

function describeExpected(expected: readonly string[]): string {
  if (expected.length === 0) return 'nothing more';
  if (expected.length === 1) return expected[0] ?? '';
  return `${expected.slice(0, -1).join(', ')} or ${expected[expected.length - 1] ?? ''}`;
}
