/**
 * Every message the actor runtime sends across a MessagePort or a worker boundary, declared once.
 *
 * Four conversations, each on its own kind of port:
 *
 *   ref  --Envelope-->   actor host   (a data port: one per ref, so order per sender is the
 *   ref  <--Reply----    actor host    port's FIFO order)
 *   supervisor --HostCommand--> actor host  (the host's control port: parentPort on a worker)
 *   supervisor <--HostReport--  actor host
 *   ref  --RefRequest-->  supervisor  (a ref's control port: new handles, rebinding after a
 *   ref  <--RefNotice--   supervisor   restart on a new thread, the actor going away)
 *
 * Whatever arrives on a port is `unknown` and goes through the parse functions below before use.
 * The `msg` and `value` fields are the actor's own protocol: the runtime checks the envelope,
 * the actor's optional `parse` hook checks the message.
 */
import { MessagePort } from 'node:worker_threads';
import { ERROR_CODES, isErrorCode, type PetrelErrorData } from '../common/errors.js';

/** ref -> actor host, on a data port. */
export type Envelope =
  | { readonly type: 'tell'; readonly msg: unknown }
  | { readonly type: 'ask'; readonly id: number; readonly msg: unknown };

/**
 * actor host -> ref, on a data port: the answer to one `ask`, or, last on the port before the
 * host closes it on an orderly stop, 'closed' (so the ref tells a stop from a thread's death).
 */
export type Reply =
  | { readonly type: 'reply'; readonly id: number; readonly value: unknown }
  | { readonly type: 'fail'; readonly id: number; readonly error: PetrelErrorData }
  | { readonly type: 'closed'; readonly error: PetrelErrorData };

/**
 * Why an actor's `stop` hook runs: an orderly stop ('shutdown', after the accepted messages),
 * a restart in place after a failure ('restart'), or a stop decided after a failure ('failure').
 */
export type StopReason = 'shutdown' | 'restart' | 'failure';

/** supervisor -> actor host. */
export type HostCommand =
  | { readonly type: 'attach'; readonly port: MessagePort }
  | { readonly type: 'restart' }
  | { readonly type: 'stop'; readonly reason: StopReason };

/** Which hook was running when an actor failed. */
export type FailurePhase = 'start' | 'receive' | 'stop';

/** The levels of a log record (common/diagnostics.ts). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** actor host -> supervisor. 'log' carries a record published on a worker's log channel. */
export type HostReport =
  | { readonly type: 'log'; readonly record: { readonly level: LogLevel; readonly msg: string; readonly [field: string]: unknown } }
  | { readonly type: 'started' }
  | { readonly type: 'crashed'; readonly during: FailurePhase; readonly error: PetrelErrorData }
  | { readonly type: 'stopped' };

/** ref -> supervisor, on a ref's control port: wire up a new handle to the same actor. */
export type RefRequest = { readonly type: 'connect'; readonly data: MessagePort; readonly control: MessagePort };

/** supervisor -> ref, on a ref's control port. */
export type RefNotice =
  | { readonly type: 'rebind'; readonly data: MessagePort }
  | { readonly type: 'gone'; readonly error: PetrelErrorData };

/** Marks a RefHandleData among other structured-cloned values. */
export const REF_HANDLE_TAG = 'petrelmq.ref';

/** An ActorRef in transit: two fresh ports, to be put in the transfer list. */
export interface RefHandleData {
  readonly type: typeof REF_HANDLE_TAG;
  readonly name: string;
  readonly data: MessagePort;
  readonly control: MessagePort;
  readonly askTimeoutMs: number;
}

/** What a new actor host gets: on a worker as workerData, locally through structuredClone. */
export interface HostInit {
  readonly type: 'init';
  readonly name: string;
  /** file URL of the module that exports the definition (worker hosts only import it). */
  readonly module: string;
  readonly exportName: string;
  /** The spawn arguments with every ActorRef replaced by a RefHandleData. */
  readonly args: unknown;
  readonly self: RefHandleData;
  readonly restarts: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function parseErrorData(value: unknown): PetrelErrorData | undefined {
  if (!isRecord(value) || !isErrorCode(value['code']) || typeof value['message'] !== 'string') return undefined;
  const code = value['code'];
  const retriable = typeof value['retriable'] === 'boolean' ? value['retriable'] : ERROR_CODES[code][0];
  return { code, message: value['message'], retriable };
}

export function parseEnvelope(raw: unknown): Envelope | undefined {
  if (!isRecord(raw)) return undefined;
  if (raw['type'] === 'tell') return { type: 'tell', msg: raw['msg'] };
  if (raw['type'] === 'ask' && isId(raw['id'])) return { type: 'ask', id: raw['id'], msg: raw['msg'] };
  return undefined;
}

export function parseReply(raw: unknown): Reply | undefined {
  if (isRecord(raw) && raw['type'] === 'closed') {
    const error = parseErrorData(raw['error']);
    return error === undefined ? undefined : { type: 'closed', error };
  }
  if (!isRecord(raw) || !isId(raw['id'])) return undefined;
  if (raw['type'] === 'reply') return { type: 'reply', id: raw['id'], value: raw['value'] };
  if (raw['type'] === 'fail') {
    const error = parseErrorData(raw['error']);
    return error === undefined ? undefined : { type: 'fail', id: raw['id'], error };
  }
  return undefined;
}

function isStopReason(value: unknown): value is StopReason {
  return value === 'shutdown' || value === 'restart' || value === 'failure';
}

export function parseHostCommand(raw: unknown): HostCommand | undefined {
  if (!isRecord(raw)) return undefined;
  switch (raw['type']) {
    case 'attach':
      return raw['port'] instanceof MessagePort ? { type: 'attach', port: raw['port'] } : undefined;
    case 'restart':
      return { type: 'restart' };
    case 'stop':
      return isStopReason(raw['reason']) ? { type: 'stop', reason: raw['reason'] } : undefined;
    default:
      return undefined;
  }
}

function isLogLevel(value: unknown): value is LogLevel {
  return value === 'debug' || value === 'info' || value === 'warn' || value === 'error';
}

function isFailurePhase(value: unknown): value is FailurePhase {
  return value === 'start' || value === 'receive' || value === 'stop';
}

export function parseHostReport(raw: unknown): HostReport | undefined {
  if (!isRecord(raw)) return undefined;
  switch (raw['type']) {
    case 'started':
      return { type: 'started' };
    case 'stopped':
      return { type: 'stopped' };
    case 'log': {
      const record = raw['record'];
      if (!isRecord(record) || typeof record['msg'] !== 'string' || !isLogLevel(record['level'])) return undefined;
      return { type: 'log', record: { ...record, level: record['level'], msg: record['msg'] } };
    }
    case 'crashed': {
      const error = parseErrorData(raw['error']);
      const during = raw['during'];
      return error !== undefined && isFailurePhase(during) ? { type: 'crashed', during, error } : undefined;
    }
    default:
      return undefined;
  }
}

export function parseRefRequest(raw: unknown): RefRequest | undefined {
  if (!isRecord(raw) || raw['type'] !== 'connect') return undefined;
  const { data, control } = raw;
  return data instanceof MessagePort && control instanceof MessagePort ? { type: 'connect', data, control } : undefined;
}

export function parseRefNotice(raw: unknown): RefNotice | undefined {
  if (!isRecord(raw)) return undefined;
  if (raw['type'] === 'rebind') {
    return raw['data'] instanceof MessagePort ? { type: 'rebind', data: raw['data'] } : undefined;
  }
  if (raw['type'] === 'gone') {
    const error = parseErrorData(raw['error']);
    return error === undefined ? undefined : { type: 'gone', error };
  }
  return undefined;
}

export function isRefHandleData(raw: unknown): raw is RefHandleData {
  return (
    isRecord(raw) &&
    raw['type'] === REF_HANDLE_TAG &&
    typeof raw['name'] === 'string' &&
    raw['data'] instanceof MessagePort &&
    raw['control'] instanceof MessagePort &&
    typeof raw['askTimeoutMs'] === 'number'
  );
}

export function parseHostInit(raw: unknown): HostInit | undefined {
  if (!isRecord(raw) || raw['type'] !== 'init') return undefined;
  const { name, module, exportName, args, self, restarts } = raw;
  if (typeof name !== 'string' || typeof module !== 'string' || typeof exportName !== 'string') return undefined;
  if (!isRefHandleData(self) || !isId(restarts)) return undefined;
  return { type: 'init', name, module, exportName, args, self, restarts };
}
