/**
 * Every ConsumeQueue of the store (consumequeue/<topic>/<queueId>/), and the dispatcher that
 * builds them from CommitLog records (RocketMQ's CommitLogDispatcherBuildConsumeQueue).
 *
 * Owner: the dispatcher (the MessageStore in one thread; the dispatcher actor later). After a
 * crash, recovery reloads every queue, truncates units past the CommitLog's end and
 * re-dispatches the records whose units are missing.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommitLogDispatcher, DispatchRequest } from './CommitLogDispatcher.js';
import { ConsumeQueue } from './ConsumeQueue.js';
import type { MappedFileBackendKind, SyncMethod } from './FileBackend.js';
import { SysFlag, transactionType } from './RecordLayout.js';
import { consumeQueueDir, consumeQueueRootDir } from './StorePaths.js';

export interface ConsumeQueueStoreOptions {
  readonly rootDir: string;
  /** mappedFileSizeConsumeQueue */
  readonly fileSize: number;
  readonly backend: MappedFileBackendKind;
  readonly syncMethod?: SyncMethod;
  readonly readOnly?: boolean;
}

export class ConsumeQueueStore implements CommitLogDispatcher {
  readonly #options: ConsumeQueueStoreOptions;
  readonly #topics = new Map<string, Map<number, ConsumeQueue>>();

  constructor(options: ConsumeQueueStoreOptions) {
    this.#options = options;
  }

  /** Opens every queue folder found under consumequeue/. */
  load(): void {
    const root = consumeQueueRootDir(this.#options.rootDir);
    if (!fs.existsSync(root)) return;
    for (const topic of fs.readdirSync(root)) {
      const topicDir = path.join(root, topic);
      if (!fs.statSync(topicDir).isDirectory()) continue;
      for (const qid of fs.readdirSync(topicDir)) {
        if (!/^\d+$/.test(qid)) continue;
        this.#create(topic, Number(qid)).load();
      }
    }
  }

  /** Recovers every queue (scan to the first invalid unit). */
  recover(): void {
    for (const cq of this.queues()) cq.recover();
  }

  #create(topic: string, queueId: number): ConsumeQueue {
    let byId = this.#topics.get(topic);
    if (byId === undefined) {
      byId = new Map();
      this.#topics.set(topic, byId);
    }
    const cq = new ConsumeQueue({
      topic,
      queueId,
      dir: consumeQueueDir(this.#options.rootDir, topic, queueId),
      fileSize: this.#options.fileSize,
      backend: this.#options.backend,
      ...(this.#options.syncMethod === undefined ? {} : { syncMethod: this.#options.syncMethod }),
      ...(this.#options.readOnly === undefined ? {} : { readOnly: this.#options.readOnly }),
    });
    byId.set(queueId, cq);
    return cq;
  }

  find(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.#topics.get(topic)?.get(queueId);
  }

  findOrCreate(topic: string, queueId: number): ConsumeQueue {
    return this.find(topic, queueId) ?? this.#create(topic, queueId);
  }

  /** Queue ids of `topic` that have a ConsumeQueue. */
  queueIds(topic: string): number[] {
    return [...(this.#topics.get(topic)?.keys() ?? [])].sort((a, b) => a - b);
  }

  topics(): string[] {
    return [...this.#topics.keys()];
  }

  *queues(): IterableIterator<ConsumeQueue> {
    for (const byId of this.#topics.values()) yield* byId.values();
  }

  /**
   * BuildConsumeQueue: prepared and rolled-back transaction records get no unit (ROCKETMQ.md
   * 1.3); everything else gets one at its queue offset, idempotently.
   */
  dispatch(request: DispatchRequest): void {
    const tx = transactionType(request.sysFlag);
    if (tx === SysFlag.TRANSACTION_PREPARED_TYPE || tx === SysFlag.TRANSACTION_ROLLBACK_TYPE) return;
    this.findOrCreate(request.topic, request.queueId).putMessagePositionInfo(
      request.commitLogOffset,
      request.msgSize,
      request.tagsCode,
      request.queueOffset,
    );
  }

  /** The furthest CommitLog end any queue points to; -1 when all are empty. */
  maxPhysicOffset(): number {
    let max = -1;
    for (const cq of this.queues()) max = Math.max(max, cq.maxPhysicOffset);
    return max;
  }

  truncateDirtyLogicFiles(physicalOffset: number): void {
    for (const cq of this.queues()) cq.truncateDirtyLogicFiles(physicalOffset);
  }

  correctMinOffset(minPhysicalOffset: number): void {
    for (const cq of this.queues()) cq.correctMinOffset(minPhysicalOffset);
  }

  deleteExpiredFiles(minPhysicalOffset: number, max: number): number {
    let n = 0;
    for (const cq of this.queues()) n += cq.deleteExpiredFiles(minPhysicalOffset, max);
    return n;
  }

  /** Flushes every queue; true when every one is flushed to its write position. */
  flush(leastPages: number): boolean {
    let all = true;
    for (const cq of this.queues()) if (cq.flush(leastPages) < cq.queue.maxOffset()) all = false;
    return all;
  }

  close(): void {
    for (const cq of this.queues()) cq.close();
    this.#topics.clear();
  }
}
