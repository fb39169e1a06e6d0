/**
 * Java's number reading and ordering, as RocketMQ's evaluator applies them to property strings:
 * a property compared with an int literal must read as Integer.valueOf would read it, with a
 * long literal as Long.valueOf, with a decimal literal as Double.valueOf. Each reader returns
 * undefined where Java would throw NumberFormatException.
 *
 * Known narrowing: only ASCII digits are digits here (Java also takes other Unicode decimal
 * digits), and Double.valueOf's hexadecimal form ("0x1p3") is not read.
 */

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

const INTEGER_TEXT = /^[+-]?[0-9]+$/;
// Double.valueOf after trimming: a sign, then NaN, Infinity or digits with optional fraction,
// exponent and a float/double type suffix.
const DOUBLE_TEXT = /^[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?)$/;

/** Integer.valueOf: an optional sign and decimal digits, within int range. No spaces. */
export function parseJavaInt(text: string): number | undefined {
  if (!INTEGER_TEXT.test(text)) return undefined;
  const value = Number(text);
  // Number() of a long digit string is only approximate; int range is far inside exact range.
  return value >= INT_MIN && value <= INT_MAX ? value | 0 : undefined;
}

/** Long.valueOf: an optional sign and decimal digits, within long range. No spaces. */
export function parseJavaLong(text: string): bigint | undefined {
  if (!INTEGER_TEXT.test(text)) return undefined;
  const value = BigInt(text.startsWith('+') ? text.slice(1) : text);
  return value >= LONG_MIN && value <= LONG_MAX ? value : undefined;
}

/** Double.valueOf: trims characters up to U+0020 at both ends first, as Java's String.trim does. */
export function parseJavaDouble(text: string): number | undefined {
  const trimmed = javaTrim(text);
  if (!DOUBLE_TEXT.test(trimmed)) return undefined;
  let body = trimmed;
  const last = body.charCodeAt(body.length - 1);
  // f, F, d, D; a trailing letter of NaN or Infinity is never one of them
  if (last === 0x66 || last === 0x46 || last === 0x64 || last === 0x44) body = body.slice(0, -1);
  if (body.endsWith('NaN')) return Number.NaN;
  return Number(body);
}

/** Boolean.valueOf: "true" in any letter case is true, everything else false. */
export function parseJavaBoolean(text: string): boolean {
  return text.length === 4 && text.toLowerCase() === 'true';
}

/**
 * Double.compare: NaN equals itself and is above everything, and -0.0 is below 0.0, so that the
 * order is total (RocketMQ compares boxed Doubles with compareTo, which is this).
 */
export function compareJavaDoubles(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) {
    if (a !== 0) return 0;
    const aNeg = Object.is(a, -0);
    const bNeg = Object.is(b, -0);
    return aNeg === bNeg ? 0 : aNeg ? -1 : 1;
  }
  const aNaN = Number.isNaN(a);
  const bNaN = Number.isNaN(b);
  return aNaN === bNaN ? 0 : aNaN ? 1 : -1;
}

/** The value of an integer literal's digits: an int, a long (bigint), or undefined past long range. */
export function integerLiteralValue(digits: string): number | bigint | undefined {
  const value = BigInt(digits);
  if (value > LONG_MAX) return undefined;
  return value <= BigInt(INT_MAX) ? Number(value) : value;
}

/** Java's int negation: wraps, and never yields -0. */
export function negateInt(value: number): number {
  return -value | 0;
}

/** Java's long negation: wraps at 64 bits. */
export function negateLong(value: bigint): bigint {
  return BigInt.asIntN(64, -value);
}

function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}
