/**
 * The task function piscina runs on each pool thread. It imports the user's batch handler once
 * per thread, counts the batches running across all threads in the pool's shared counters (for
 * Pool.running and Pool.peakConcurrency), and returns the handler's result or its error as plain
 * data, so that a PetrelError keeps its code on the way back.
 */
import { Piscina } from 'piscina';
import { PetrelError, toErrorData } from '../common/errors.js';
import { checkCloneSize } from './cloneGuard.js';
import { PoolCounter, TaskState, parsePoolTask, parsePoolWorkerData, type PoolOutcome } from './poolProtocol.js';

type BatchHandler = (batch: unknown[]) => unknown;

const config = parsePoolWorkerData(Piscina.workerData);
const counters = new Int32Array(config.counters);
let handler: Promise<BatchHandler> | undefined;

function loadHandler(): Promise<BatchHandler> {
  handler ??= import(config.module).then((mod: Record<string, unknown>) => {
    const fn = mod[config.exportName];
    if (typeof fn !== 'function') throw new Error(`${config.module} exports no function '${config.exportName}'`);
    return fn as BatchHandler;
  });
  return handler;
}

function recordStart(): void {
  const running = Atomics.add(counters, PoolCounter.RUNNING, 1) + 1;
  let peak = Atomics.load(counters, PoolCounter.PEAK);
  while (running > peak) {
    const seen = Atomics.compareExchange(counters, PoolCounter.PEAK, peak, running);
    if (seen === peak) break;
    peak = seen;
  }
}

export default async function runBatch(raw: unknown): Promise<PoolOutcome> {
  const task = parsePoolTask(raw);
  const state = new Int32Array(task.state);
  Atomics.store(state, 0, TaskState.RUNNING);
  recordStart();
  try {
    const fn = await loadHandler();
    const value = await fn(task.batch);
    checkCloneSize(value, 'the result of a pool batch');
    return { ok: true, value };
  } catch (err) {
    // A PetrelError keeps its code; anything else is a failed batch.
    const error = err instanceof PetrelError ? err : new PetrelError('ERR_POOL_TASK_FAILED', err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    return { ok: false, error: toErrorData(error) };
  } finally {
    // Whoever moves the task from RUNNING to DONE uncounts it: here, or the pool if this thread
    // is terminated mid-batch (a cancelled task) and never gets here.
    if (Atomics.compareExchange(state, 0, TaskState.RUNNING, TaskState.DONE) === TaskState.RUNNING) {
      Atomics.sub(counters, PoolCounter.RUNNING, 1);
    }
  }
}
