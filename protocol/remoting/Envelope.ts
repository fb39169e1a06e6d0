/**
 * What a remoting frame carries: a request naming a method, or the reply to one.
 *
 *   Request => { type: 'request', id: uint (1..2^53-1), method: string (1..64 characters),
 *                args: unknown[] (at most 16), oneway: boolean }
 *   Reply   => { type: 'reply', id, ok: true, value: unknown }
 *            | { type: 'reply', id, ok: false, error: { code, message, retriable } }
 *
 * A oneway request gets no reply. Ids are chosen by the requesting side and only have to be
 * unique among its requests in flight on one connection.
 */
import { ERROR_CODES, PetrelError, fromErrorData, isErrorCode, type PetrelErrorData } from '../../common/errors.js';

export const MAX_ARGS = 16;
const MAX_METHOD_NAME = 64;

export interface RequestEnvelope {
  readonly type: 'request';
  readonly id: number;
  readonly method: string;
  readonly args: readonly unknown[];
  readonly oneway: boolean;
}

export type ReplyEnvelope =
  | { readonly type: 'reply'; readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: PetrelErrorData };

function malformed(why: string): PetrelError {
  return new PetrelError('ERR_FRAME_INVALID', `malformed envelope: ${why}`);
}

function record(value: unknown): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('not an object');
  return value as Readonly<Record<string, unknown>>;
}

function id(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw malformed('id must be a positive integer');
  return value;
}

export function parseRequest(value: unknown): RequestEnvelope {
  const r = record(value);
  if (r['type'] !== 'request') throw malformed('type must be "request"');
  const method = r['method'];
  if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_NAME) throw malformed(`method must be a name of 1 to ${MAX_METHOD_NAME} characters`);
  const args = r['args'];
  if (!Array.isArray(args) || args.length > MAX_ARGS) throw malformed(`args must be an array of at most ${MAX_ARGS}`);
  const oneway = r['oneway'];
  if (typeof oneway !== 'boolean') throw malformed('oneway must be a boolean');
  return { type: 'request', id: id(r['id']), method, args: args as unknown[], oneway };
}

export function parseReply(value: unknown): ReplyEnvelope {
  const r = record(value);
  if (r['type'] !== 'reply') throw malformed('type must be "reply"');
  const replyId = id(r['id']);
  if (r['ok'] === true) return { type: 'reply', id: replyId, ok: true, value: r['value'] };
  if (r['ok'] !== false) throw malformed('ok must be a boolean');
  return { type: 'reply', id: replyId, ok: false, error: parseErrorData(r['error']) };
}

/** A remote error as data; a code this build does not know becomes ERR_REMOTE. */
function parseErrorData(value: unknown): PetrelErrorData {
  const r = record(value);
  const message = typeof r['message'] === 'string' ? r['message'] : 'remote error without a message';
  const code = r['code'];
  if (!isErrorCode(code)) return { code: 'ERR_REMOTE', message: `${String(code)}: ${message}`, retriable: ERROR_CODES.ERR_REMOTE[0] };
  const retriable = typeof r['retriable'] === 'boolean' ? r['retriable'] : ERROR_CODES[code][0];
  return { code, message, retriable };
}

/** Error data for a reply: a PetrelError keeps its code; anything else is ERR_REMOTE. */
export function errorDataOf(err: unknown): PetrelErrorData {
  if (err instanceof PetrelError) return { code: err.code, message: err.message, retriable: err.retriable };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'ERR_REMOTE', message, retriable: ERROR_CODES.ERR_REMOTE[0] };
}

/** The PetrelError a remote error reply stands for, rebuilt as errors cross threads. */
export function errorFromData(data: PetrelErrorData): PetrelError {
  return fromErrorData(data);
}
