/**
 * Narrowing helpers for decoded protobuf objects. Requests reach handlers as `unknown`; these
 * read one field at a time with its proto3 default when absent and refuse a wrong type with
 * BAD_REQUEST, so no handler ever touches an unchecked value.
 */
import { StatusError } from './status.js';
import { Code } from './wire.js';

export type Rec = Readonly<Record<string, unknown>>;

const EMPTY: Rec = Object.freeze({});

function bad(field: string, want: string): StatusError {
  return new StatusError(Code.BAD_REQUEST, `field ${field} must be ${want}`);
}

/** The value as a record; absent (undefined/null) reads as an empty message. */
export function rec(value: unknown, field = 'message'): Rec {
  if (value === undefined || value === null) return EMPTY;
  if (typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) throw bad(field, 'a message');
  return value as Rec;
}

export function has(r: Rec, key: string): boolean {
  return r[key] !== undefined && r[key] !== null;
}

export function str(r: Rec, key: string): string {
  const v = r[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw bad(key, 'a string');
  return v;
}

export function optStr(r: Rec, key: string): string | undefined {
  return has(r, key) ? str(r, key) : undefined;
}

export function num(r: Rec, key: string): number {
  const v = r[key];
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw bad(key, 'a number');
  return n;
}

export function optNum(r: Rec, key: string): number | undefined {
  return has(r, key) ? num(r, key) : undefined;
}

export function bool(r: Rec, key: string): boolean {
  const v = r[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad(key, 'a boolean');
  return v;
}

export function bytes(r: Rec, key: string): Buffer {
  const v = r[key];
  if (v === undefined || v === null) return Buffer.alloc(0);
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  throw bad(key, 'bytes');
}

export function list(r: Rec, key: string): readonly unknown[] {
  const v = r[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw bad(key, 'a list');
  return v;
}

export function strList(r: Rec, key: string): string[] {
  return list(r, key).map((v) => {
    if (typeof v !== 'string') throw bad(key, 'a list of strings');
    return v;
  });
}

/** A map<string,string>; a null-prototype copy so that keys like __proto__ stay plain data. */
export function strMap(r: Rec, key: string): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  const v = rec(r[key], key);
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw bad(`${key}.${k}`, 'a string');
    out[k] = val;
  }
  return out;
}

/** google.protobuf.Duration or Timestamp in milliseconds; undefined when absent. */
export function millis(r: Rec, key: string): number | undefined {
  if (!has(r, key)) return undefined;
  const d = rec(r[key], key);
  const seconds = num(d, 'seconds');
  const nanos = num(d, 'nanos');
  if (nanos < -999_999_999 || nanos > 999_999_999) throw bad(`${key}.nanos`, 'within one second');
  return seconds * 1000 + Math.trunc(nanos / 1_000_000);
}
