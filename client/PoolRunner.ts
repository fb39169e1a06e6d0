/**
 * Runs a module listener in a runtime/Pool (piscina) of threadMin..threadMax threads: the pool
 * grows while batches wait and shrinks back after an idle second. Each pool task carries several
 * batches (never one task per message); a thread runs one task at a time. Bodies that are views
 * of a pull's buffer are copied to buffers of their own first, so that a task does not carry the
 * whole pull's buffer for each of its messages.
 */
import { pathToFileURL } from 'node:url';
import type { MessageExt, MessageQueue } from '../api/BrokerApi.js';
import { Pool } from '../runtime/Pool.js';
import { withOwnBody } from '../protocol/BrokerLink.js';
import type { ConsumeStatus } from './consumeTypes.js';
import type { ConsumeItem } from './consumeWorker.js';

export class PoolRunner {
  readonly #pool: Pool<ConsumeItem, ConsumeStatus[]>;
  readonly #module: string;
  readonly #exportName: string;

  constructor(module: string | URL, exportName: string, threadMin: number, threadMax: number) {
    this.#module = module instanceof URL ? module.href : module.startsWith('file:') ? module : pathToFileURL(module).href;
    this.#exportName = exportName;
    this.#pool = new Pool<ConsumeItem, ConsumeStatus[]>({
      module: new URL('./consumeWorker.js', import.meta.url),
      exportName: 'consumeBatches',
      minThreads: threadMin,
      maxThreads: threadMax,
      idleTimeoutMs: 1000,
      // The consume service never hands over more tasks than threads.
      maxQueue: threadMax,
    });
  }

  /** Threads alive now. */
  get threads(): number {
    return this.#pool.threadCount;
  }

  /** Most tasks that ran at once on the pool's threads. */
  get peakConcurrency(): number {
    return this.#pool.peakConcurrency;
  }

  run(batches: readonly { batch: MessageExt[]; messageQueue: MessageQueue }[]): Promise<ConsumeStatus[]> {
    return this.#pool.run(batches.map((b) => ({ module: this.#module, exportName: this.#exportName, batch: b.batch.map(withOwnBody), messageQueue: b.messageQueue })));
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
