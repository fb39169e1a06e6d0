/**
 * A pool of worker threads for batches of work (consumer groups run their listeners here), as a
 * thin layer over piscina: a batch of items is one task, never one task per message. The pool
 * grows from minThreads to maxThreads under load and shrinks back after idleTimeoutMs; at most
 * maxThreads × concurrentTasksPerThread batches run and maxQueue more wait, beyond which run()
 * fails at once with ERR_POOL_QUEUE_FULL. An AbortSignal cancels a batch (ERR_CANCELLED): a
 * queued one is dropped, a running one loses its thread (piscina ends it and starts another).
 *
 * The handler module's export receives the batch (structured-cloned) and returns the result:
 *
 * ```ts
 * // consume.ts
 * export default async function (batch: Msg[]): Promise<number> { ... }
 * // owner
 * const pool = new Pool<Msg, number>({ module: new URL('./consume.js', import.meta.url), maxThreads: 4 });
 * const n = await pool.run(msgs);
 * ```
 *
 * Owned by the thread that made it; close() ends every thread.
 */
import { availableParallelism } from 'node:os';
import type { TransferListItem } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { PetrelError, fromErrorData } from '../common/errors.js';
import { checkCloneSize } from './cloneGuard.js';
import { PoolCounter, TaskState, parsePoolOutcome, type PoolTask, type PoolWorkerData } from './poolProtocol.js';

export interface PoolOptions {
  /** Module exporting the batch handler: a file URL or an absolute path. */
  readonly module: string | URL;
  /** Name of the handler's export. Default 'default'. */
  readonly exportName?: string;
  /** Threads kept even when idle (RocketMQ consumeThreadMin). Default 1. */
  readonly minThreads?: number;
  /** Most threads (RocketMQ consumeThreadMax). Default os.availableParallelism(). */
  readonly maxThreads?: number;
  /** Batches allowed to wait for a thread. Default 1024. */
  readonly maxQueue?: number;
  /** A thread above minThreads idle this long ends. Default 60 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Batches one thread works on at once (for async handlers). Default 1. */
  readonly concurrentTasksPerThread?: number;
}

export interface RunOptions {
  /** Aborting cancels the batch with ERR_CANCELLED. */
  readonly signal?: AbortSignal;
  /** ArrayBuffers in the batch to move rather than copy. */
  readonly transfer?: readonly TransferListItem[];
}

const poolWorkerUrl = new URL('./poolWorker.js', import.meta.url);

function count(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new PetrelError('ERR_CONFIG_INVALID', `pool ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

function toHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  return module.startsWith('file:') ? module : new URL(`file://${module}`).href;
}

export class Pool<I, O> {
  readonly minThreads: number;
  readonly maxThreads: number;
  readonly maxQueue: number;
  readonly #capacity: number;
  readonly #piscina: Piscina<PoolTask, unknown>;
  readonly #counters: Int32Array;
  readonly #outstanding = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: PoolOptions) {
    this.minThreads = count('minThreads', options.minThreads ?? 1, 0);
    this.maxThreads = count('maxThreads', options.maxThreads ?? Math.max(this.minThreads, availableParallelism()), 1);
    if (this.maxThreads < this.minThreads) throw new PetrelError('ERR_CONFIG_INVALID', 'pool maxThreads must be >= minThreads');
    this.maxQueue = count('maxQueue', options.maxQueue ?? 1024, 0);
    const perThread = count('concurrentTasksPerThread', options.concurrentTasksPerThread ?? 1, 1);
    const idleTimeout = options.idleTimeoutMs ?? 60_000;
    if (!(idleTimeout >= 0)) throw new PetrelError('ERR_CONFIG_INVALID', 'pool idleTimeoutMs must be >= 0');
    this.#capacity = this.maxThreads * perThread + this.maxQueue;
    const counters = new SharedArrayBuffer(PoolCounter.SIZE * 4);
    this.#counters = new Int32Array(counters);
    const workerData: PoolWorkerData = { module: toHref(options.module), exportName: options.exportName ?? 'default', counters };
    this.#piscina = new Piscina<PoolTask, unknown>({
      filename: poolWorkerUrl.href,
      minThreads: this.minThreads,
      maxThreads: this.maxThreads,
      idleTimeout,
      concurrentTasksPerWorker: perThread,
      // The pool enforces its own limit before piscina sees a task.
      maxQueue: Infinity,
      workerData,
    });
  }

  /** Threads alive now. */
  get threadCount(): number {
    return this.#piscina.threads.length;
  }

  /** Batches running now, on all threads. */
  get running(): number {
    return Atomics.load(this.#counters, PoolCounter.RUNNING);
  }

  /** Most batches that ran at once since the pool started (or resetPeak). */
  get peakConcurrency(): number {
    return Atomics.load(this.#counters, PoolCounter.PEAK);
  }

  /** Batches accepted and not yet settled (running and waiting). */
  get pending(): number {
    return this.#outstanding.size;
  }

  resetPeak(): void {
    Atomics.store(this.#counters, PoolCounter.PEAK, Atomics.load(this.#counters, PoolCounter.RUNNING));
  }

  /**
   * Runs the handler on one batch on a pool thread. Rejects with ERR_POOL_QUEUE_FULL when the
   * pool is at its limit, ERR_MESSAGE_CLONE_TOO_LARGE when the batch (or the handler's result)
   * would copy more than the clone bound between threads, ERR_CANCELLED when the signal aborts, the handler's PetrelError, or
   * ERR_POOL_TASK_FAILED for anything else the handler threw.
   */
  run(batch: readonly I[], options: RunOptions = {}): Promise<O> {
    if (this.#closed) return Promise.reject(new PetrelError('ERR_POOL_CLOSED', 'the pool is closed'));
    const { signal, transfer } = options;
    if (signal?.aborted === true) return Promise.reject(new PetrelError('ERR_CANCELLED', 'the batch was cancelled before it ran'));
    if (this.#outstanding.size >= this.#capacity) {
      return Promise.reject(
        new PetrelError('ERR_POOL_QUEUE_FULL', `the pool has ${this.#outstanding.size} batches in hand (${this.maxThreads} threads, maxQueue ${this.maxQueue})`),
      );
    }
    const stateBuffer = new SharedArrayBuffer(4);
    const task: PoolTask = { batch: [...batch], state: stateBuffer };
    try {
      checkCloneSize(task, 'a pool batch', transfer);
    } catch (err) {
      return Promise.reject(err);
    }
    const done = this.#piscina
      .run(task, { ...(signal === undefined ? {} : { signal }), ...(transfer === undefined ? {} : { transferList: [...transfer] }) })
      .then(
        (raw) => {
          const outcome = parsePoolOutcome(raw);
          if (outcome === undefined) throw new PetrelError('ERR_POOL_TASK_FAILED', 'a pool thread answered with malformed data');
          if (!outcome.ok) throw fromErrorData(outcome.error);
          // The result's type is the handler's contract for O; it crossed the thread as data.
          return outcome.value as O;
        },
        (err: unknown) => {
          this.#uncount(stateBuffer);
          if (signal?.aborted === true) throw new PetrelError('ERR_CANCELLED', 'the batch was cancelled', { cause: err });
          if (this.#closed) throw new PetrelError('ERR_POOL_CLOSED', 'the pool closed before the batch ran', { cause: err });
          throw new PetrelError('ERR_POOL_TASK_FAILED', `a pool thread failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        },
      );
    const tracked = done.finally(() => this.#outstanding.delete(tracked));
    // Settling is observed through `done`; the tracking copy must not report a rejection again.
    tracked.catch(() => undefined);
    this.#outstanding.add(tracked);
    return done;
  }

  /** A batch whose thread was ended mid-run never reaches its own uncounting: do it here. */
  #uncount(stateBuffer: SharedArrayBuffer): void {
    const state = new Int32Array(stateBuffer);
    if (Atomics.compareExchange(state, 0, TaskState.RUNNING, TaskState.DONE) === TaskState.RUNNING) {
      Atomics.sub(this.#counters, PoolCounter.RUNNING, 1);
    }
  }

  /** Takes no more batches, lets the accepted ones finish, then ends every thread. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#outstanding]);
    await this.#piscina.destroy();
  }

  /** Ends every thread now: batches not finished fail with ERR_POOL_CLOSED. */
  async destroy(): Promise<void> {
    this.#closed = true;
    await this.#piscina.destroy();
  }
}
