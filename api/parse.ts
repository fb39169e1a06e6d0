/**
 * Narrowing of values that arrived over a remoting link. Every request argument and every reply is
 * `unknown` until one of these has checked it; a wrong shape is refused with the check's code
 * (ERR_INVALID_ARGUMENT for arguments, ERR_REMOTE for replies), naming the path of the field.
 */
import { PetrelError } from '../common/errors.js';

export type Rec = Readonly<Record<string, unknown>>;

/** Which side is checking: it decides the code of a refusal. */
export interface Check {
  readonly code: 'ERR_INVALID_ARGUMENT' | 'ERR_REMOTE';
  readonly what: string;
}

export const ARGUMENT: Check = { code: 'ERR_INVALID_ARGUMENT', what: 'argument' };
export const REPLY: Check = { code: 'ERR_REMOTE', what: 'reply field' };

/** Longest string accepted anywhere (topics, keys, expressions, property values). */
const MAX_STRING = 64 * 1024;
/** Longest list accepted anywhere (a batch, a pull's messages, a member list). */
export const MAX_LIST = 65_536;

export function refuse(c: Check, path: string, want: string): PetrelError {
  return new PetrelError(c.code, `${c.what} ${path} must be ${want}`);
}

export function rec(c: Check, v: unknown, path: string): Rec {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw refuse(c, path, 'an object');
  return v as Rec;
}

export function str(c: Check, v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length > MAX_STRING) throw refuse(c, path, `a string of at most ${MAX_STRING} characters`);
  return v;
}

export function int(c: Check, v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw refuse(c, path, 'an integer');
  return v;
}

export function bool(c: Check, v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw refuse(c, path, 'a boolean');
  return v;
}

export function bytes(c: Check, v: unknown, path: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw refuse(c, path, 'bytes (Uint8Array)');
  return v;
}

export function list(c: Check, v: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(v) || v.length > MAX_LIST) throw refuse(c, path, `a list of at most ${MAX_LIST} items`);
  return v;
}

export function strList(c: Check, v: unknown, path: string): string[] {
  return list(c, v, path).map((x, i) => str(c, x, `${path}[${i}]`));
}

/** A string map, copied onto a null prototype so that keys like __proto__ stay plain data. */
export function strMap(c: Check, v: unknown, path: string): Record<string, string> {
  const r = rec(c, v, path);
  const out = Object.create(null) as Record<string, string>;
  for (const [k, x] of Object.entries(r)) out[k] = str(c, x, `${path}.${k}`);
  return out;
}

/** `undefined` stays absent; anything else goes through `parse`. */
export function opt<T>(v: unknown, parse: (x: unknown) => T): T | undefined {
  return v === undefined ? undefined : parse(v);
}

/** Builds an object without the keys whose value is undefined (exactOptionalPropertyTypes). */
export type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

export function defined<T extends Record<string, unknown>>(o: T): Defined<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as Defined<T>;
}
