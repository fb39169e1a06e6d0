/**
 * What crosses between Pool (the owning thread) and poolWorker (piscina's threads), declared
 * once: the pool's workerData, one task, its outcome, and the shared counter slots.
 */
import { isErrorCode, type PetrelErrorData } from '../common/errors.js';

/** Int32 slots of the pool's shared counters. */
export const PoolCounter = {
  /** batches running right now, on all threads */
  RUNNING: 0,
  /** most batches seen running at once */
  PEAK: 1,
  SIZE: 2,
} as const;

/** Values of a task's one-slot Int32 state cell. */
export const TaskState = { QUEUED: 0, RUNNING: 1, DONE: 2 } as const;

export interface PoolWorkerData {
  readonly module: string;
  readonly exportName: string;
  readonly counters: SharedArrayBuffer;
}

export interface PoolTask {
  readonly batch: unknown[];
  /** Int32Array(1) over this: TaskState. */
  readonly state: SharedArrayBuffer;
}

export type PoolOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: PetrelErrorData };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

export function parsePoolWorkerData(raw: unknown): PoolWorkerData {
  if (isRecord(raw) && typeof raw['module'] === 'string' && typeof raw['exportName'] === 'string' && raw['counters'] instanceof SharedArrayBuffer) {
    return { module: raw['module'], exportName: raw['exportName'], counters: raw['counters'] };
  }
  throw new Error('pool worker started without valid workerData');
}

export function parsePoolTask(raw: unknown): PoolTask {
  if (isRecord(raw) && Array.isArray(raw['batch']) && raw['state'] instanceof SharedArrayBuffer) {
    return { batch: raw['batch'] as unknown[], state: raw['state'] };
  }
  throw new Error('pool task is malformed');
}

export function parsePoolOutcome(raw: unknown): PoolOutcome | undefined {
  if (!isRecord(raw)) return undefined;
  if (raw['ok'] === true) return { ok: true, value: raw['value'] };
  const error = raw['error'];
  if (raw['ok'] === false && isRecord(error) && isErrorCode(error['code']) && typeof error['message'] === 'string') {
    const retriable = typeof error['retriable'] === 'boolean' ? error['retriable'] : true;
    return { ok: false, error: { code: error['code'], message: error['message'], retriable } };
  }
  return undefined;
}
