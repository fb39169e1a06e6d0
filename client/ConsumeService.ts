/**
 * Runs a consumer's listener over pulled messages: batches of at most consumeMessageBatchMaxSize,
 * at most consumeThreadMax batches at once (a function listener on this thread, or a module
 * listener in a pool of consumeThreadMin..consumeThreadMax threads, several batches per pool
 * task), offsets completed as batches finish, failures sent back for retry or to the DLQ.
 * Orderly mode runs one batch per queue at a time, in queue order. Batches of a queue an offset
 * reset replaced are discarded before they reach the listener.
 */
import type { BrokerApi, MessageExt, MessageModel } from '../api/BrokerApi.js';
import type { ProcessQueue } from './ProcessQueue.js';
import type { ConcurrentListener, ConsumeStatus, MessageListener, OrderlyListener } from './consumeTypes.js';
import { PoolRunner } from './PoolRunner.js';

export interface ConsumeServiceOptions {
  readonly group: string;
  readonly broker: BrokerApi;
  readonly threadMin: number;
  readonly threadMax: number;
  readonly batchMax: number;
  /** -1: 16 for concurrent consumption, unlimited for orderly. */
  readonly maxReconsumeTimes: number;
  readonly messageModel: MessageModel;
  readonly suspendMs: number;
  onOffset(pq: ProcessQueue, offset: number): Promise<void>;
}

interface Job {
  readonly pq: ProcessQueue;
  readonly batch: MessageExt[];
}

/** Batches waiting for a pool task are grouped, so the pool never pays one task per message. */
const BATCHES_PER_POOL_TASK = 16;
const SEND_BACK_RETRY_MS = 1000;

export class ConsumeService {
  readonly #o: ConsumeServiceOptions;
  readonly #fn: ConcurrentListener | undefined;
  readonly #orderly: OrderlyListener | undefined;
  readonly #pool: PoolRunner | undefined;
  readonly #queue: Job[] = [];
  #running = 0;
  #maxRunning = 0;
  #maxBatch = 0;
  readonly #idle: (() => void)[] = [];
  readonly #progress: (() => void)[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(listener: MessageListener, options: ConsumeServiceOptions) {
    this.#o = options;
    if (typeof listener === 'function') this.#fn = listener;
    else if ('orderly' in listener) this.#orderly = listener.orderly;
    else this.#pool = new PoolRunner(listener.module, listener.exportName ?? 'consume', options.threadMin, options.threadMax);
  }

  get stats(): { maxConcurrentBatches: number; maxBatchSize: number; poolThreads: number } {
    return { maxConcurrentBatches: this.#maxRunning, maxBatchSize: this.#maxBatch, poolThreads: this.#pool?.threads ?? 0 };
  }

  /** Accepts messages of one queue, in queue order. */
  submit(pq: ProcessQueue, messages: MessageExt[]): void {
    if (pq.superseded) return;
    if (this.#orderly !== undefined) {
      pq.pending.push(...messages);
      this.#pumpOrderly(pq);
      return;
    }
    for (let i = 0; i < messages.length; i += this.#o.batchMax) {
      this.#queue.push({ pq, batch: messages.slice(i, i + this.#o.batchMax) });
    }
    this.#pump();
  }

  /** Resolves when some batch finishes, or after ms. */
  waitForProgress(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#progress.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Resolves once nothing is queued or running. */
  drain(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0 && this.#timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#pool?.close();
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#running < this.#o.threadMax) {
      if (this.#pool !== undefined) {
        const jobs = this.#queue.splice(0, BATCHES_PER_POOL_TASK);
        this.#track();
        void this.#runPool(jobs);
      } else {
        const job = this.#queue.shift() as Job;
        this.#track();
        void this.#runOne(job);
      }
    }
  }

  #track(): void {
    // A pool task runs its batches one after another on one thread: it counts as one at a time.
    this.#running += 1;
    this.#maxRunning = Math.max(this.#maxRunning, this.#running);
  }

  async #runOne(job: Job): Promise<void> {
    this.#maxBatch = Math.max(this.#maxBatch, job.batch.length);
    let status: ConsumeStatus;
    try {
      status = await (this.#fn as ConcurrentListener)(job.batch, { messageQueue: job.pq.mq });
    } catch {
      status = 'RECONSUME_LATER';
    }
    await this.#finish(job, status);
    this.#done();
  }

  async #runPool(jobs: Job[]): Promise<void> {
    for (const j of jobs) this.#maxBatch = Math.max(this.#maxBatch, j.batch.length);
    let statuses: ConsumeStatus[];
    try {
      statuses = await (this.#pool as PoolRunner).run(jobs.map((j) => ({ batch: j.batch, messageQueue: j.pq.mq })));
    } catch {
      statuses = jobs.map(() => 'RECONSUME_LATER');
    }
    await Promise.all(jobs.map((j, i) => this.#finish(j, statuses[i] ?? 'RECONSUME_LATER')));
    this.#done();
  }

  #done(): void {
    this.#running -= 1;
    for (const p of this.#progress.splice(0)) p();
    this.#pump();
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#running === 0 && this.#queue.length === 0 && this.#timers.size === 0) for (const r of this.#idle.splice(0)) r();
  }

  async #finish(job: Job, status: ConsumeStatus): Promise<void> {
    if (status !== 'CONSUME_SUCCESS' && this.#o.messageModel === 'CLUSTERING') {
      // -1 (not set): the broker applies the group's retryMaxTimes
      const maxRe = this.#o.maxReconsumeTimes < 0 ? -1 : this.#o.maxReconsumeTimes;
      const failed: MessageExt[] = [];
      for (const m of job.batch) {
        try {
          await this.#o.broker.sendBack(this.#o.group, m, 0, maxRe);
        } catch {
          failed.push(m);
        }
      }
      if (failed.length > 0) {
        // Could not hand them to the retry topic: consume them again here after a pause.
        this.#later(SEND_BACK_RETRY_MS, () => {
          this.#queue.push({ pq: job.pq, batch: failed });
          this.#pump();
        });
        const sent = job.batch.filter((m) => !failed.includes(m));
        return this.#complete(job.pq, sent);
      }
    }
    return this.#complete(job.pq, job.batch);
  }

  async #complete(pq: ProcessQueue, batch: readonly MessageExt[]): Promise<void> {
    const moved = pq.complete(batch.map((m) => m.queueOffset));
    if (moved !== undefined) await this.#o.onOffset(pq, moved);
  }

  #later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
      this.#checkIdle();
    }, ms);
    this.#timers.add(t);
  }

  /** Drops what is queued for a queue an offset reset replaced (its running batch finishes). */
  discard(pq: ProcessQueue): void {
    pq.pending.length = 0;
    const kept = this.#queue.filter((j) => j.pq !== pq);
    if (kept.length !== this.#queue.length) this.#queue.splice(0, this.#queue.length, ...kept);
    this.#checkIdle();
  }

  #pumpOrderly(pq: ProcessQueue): void {
    if (pq.consuming || pq.pending.length === 0 || pq.dropped) {
      if (pq.dropped) pq.pending.length = 0;
      return;
    }
    if (this.#running >= this.#o.threadMax) {
      this.#progress.push(() => this.#pumpOrderly(pq));
      return;
    }
    pq.consuming = true;
    this.#track();
    const batch = pq.pending.splice(0, this.#o.batchMax);
    void this.#runOrderly(pq, batch, 0);
  }

  async #runOrderly(pq: ProcessQueue, batch: MessageExt[], attempt: number): Promise<void> {
    this.#maxBatch = Math.max(this.#maxBatch, batch.length);
    const view = attempt === 0 ? batch : batch.map((m) => ({ ...m, reconsumeTimes: m.reconsumeTimes + attempt }));
    let ok: boolean;
    try {
      ok = (await (this.#orderly as OrderlyListener)(view, { messageQueue: pq.mq })) === 'SUCCESS';
    } catch {
      ok = false;
    }
    const maxRe = this.#o.maxReconsumeTimes < 0 ? Number.MAX_SAFE_INTEGER : this.#o.maxReconsumeTimes;
    if (!ok && attempt < maxRe && !pq.dropped) {
      this.#running -= 1;
      this.#later(this.#o.suspendMs, () => {
        this.#track();
        void this.#runOrderly(pq, batch, attempt + 1);
      });
      return;
    }
    if (!ok) {
      for (const m of view) await this.#o.broker.sendBack(this.#o.group, m, -1, 0).catch(() => undefined);
    }
    await this.#complete(pq, batch);
    pq.consuming = false;
    this.#done();
    this.#pumpOrderly(pq);
  }
}
