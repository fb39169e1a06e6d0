/**
 * Runs a module listener in a piscina pool of threadMin..threadMax threads: the pool grows while
 * batches wait and shrinks back after idleTimeout. Each task carries several batches (never one
 * task per message); a thread runs one task at a time.
 */
import { Piscina } from 'piscina';
import { pathToFileURL } from 'node:url';
import type { MessageExt, MessageQueue } from '../actors/BrokerApi.js';
import type { ConsumeStatus } from './consumeTypes.js';
import type { ConsumeTask } from './consumeWorker.js';

export class PoolRunner {
  readonly #pool: Piscina;
  readonly #module: string;
  readonly #exportName: string;

  constructor(module: string | URL, exportName: string, threadMin: number, threadMax: number) {
    this.#module = module instanceof URL ? module.href : module.startsWith('file:') ? module : pathToFileURL(module).href;
    this.#exportName = exportName;
    this.#pool = new Piscina({
      filename: new URL('./consumeWorker.js', import.meta.url).href,
      minThreads: threadMin,
      maxThreads: threadMax,
      idleTimeout: 1000,
      concurrentTasksPerWorker: 1,
    });
  }

  /** Threads alive now. */
  get threads(): number {
    return this.#pool.threads.length;
  }

  run(batches: readonly { batch: MessageExt[]; messageQueue: MessageQueue }[]): Promise<ConsumeStatus[]> {
    const task: ConsumeTask = { module: this.#module, exportName: this.#exportName, batches };
    return this.#pool.run(task) as Promise<ConsumeStatus[]>;
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
