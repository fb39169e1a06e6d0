/**
 * Every ConsumeQueue of the store (consumequeue/<topic>/<queueId>/), and the dispatcher that
 * builds them from CommitLog records (RocketMQ's CommitLogDispatcherBuildConsumeQueue).
 *
 * With enableConsumeQueueExt, each unit (but those of SCHEDULE_TOPIC_XXXX, whose slot is a
 * delivery time) also gets a ConsumeQueueExt unit holding its tag code, store time and the bloom
 * bitmap the dispatch request carries, and the unit's tag slot holds that unit's address
 * (ROCKETMQ.md 2.3). Extensions found on disk are opened whatever the option says, so addresses
 * written earlier still resolve.
 *
 * Owner: the dispatcher (the MessageStore in one thread; the dispatcher actor later). After a
 * crash, recovery reloads every queue, truncates units past the CommitLog's end and
 * re-dispatches the records whose units are missing; each extension is then cut after the unit
 * its queue's last unit points to, so extension truncation follows ConsumeQueue truncation.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommitLogDispatcher, DispatchRequest } from './CommitLogDispatcher.js';
import { SCHEDULE_TOPIC } from './SystemTopics.js';
import { BLANK_UNIT_SIZE, ConsumeQueue, emptyCqUnit, extOffsetOf, extTagsCode, isExtTagsCode } from './ConsumeQueue.js';
import { ConsumeQueueExt } from './ConsumeQueueExt.js';
import { decodeExtAddress, encodeExtAddress } from './CqExtUnit.js';
import type { ConsumeQueueExtUnitView } from './MessageFilter.js';
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
  /** Write a ConsumeQueueExt unit per unit (RocketMQ enableConsumeQueueExt). Default false. */
  readonly enableConsumeQueueExt?: boolean;
  /** Bytes per extension file; default 48 MiB (ConsumeQueueExt's default). */
  readonly extFileSize?: number;
}

export class ConsumeQueueStore implements CommitLogDispatcher {
  readonly #options: ConsumeQueueStoreOptions;
  readonly #topics = new Map<string, Map<number, ConsumeQueue>>();
  readonly #exts = new Map<ConsumeQueue, ConsumeQueueExt>();

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
        const cq = this.#create(topic, Number(qid));
        cq.load();
        if (fs.existsSync(ConsumeQueueExt.dirFor(this.#options.rootDir, topic, cq.queueId))) this.#extOf(cq).load();
      }
    }
  }

  /** Recovers every queue (scan to the first invalid unit), then cuts its extension to match. */
  recover(): void {
    for (const cq of this.queues()) {
      cq.recover();
      this.#alignExt(cq);
    }
  }

  #extOf(cq: ConsumeQueue): ConsumeQueueExt {
    let ext = this.#exts.get(cq);
    if (ext === undefined) {
      ext = new ConsumeQueueExt({
        storeRoot: this.#options.rootDir,
        topic: cq.topic,
        queueId: cq.queueId,
        ...(this.#options.extFileSize === undefined ? {} : { fileSize: this.#options.extFileSize }),
        ...(this.#options.readOnly === undefined ? {} : { readOnly: this.#options.readOnly }),
      });
      this.#exts.set(cq, ext);
    }
    return ext;
  }

  /**
   * Keeps the extension units up to the one the queue's last unit points to and drops the rest
   * (RocketMQ's truncateByMaxAddress). When that unit is gone (the queue's pages reached the disk
   * and the extension's did not), its address is skipped so that no other message takes it.
   */
  #alignExt(cq: ConsumeQueue): void {
    const ext = this.#exts.get(cq);
    if (ext === undefined || this.#options.readOnly === true) return;
    const unit = emptyCqUnit();
    for (let q = cq.maxOffsetInQueue - 1; q >= cq.minOffsetInQueue && cq.getUnit(q, unit); q--) {
      if (unit.size === BLANK_UNIT_SIZE || !isExtTagsCode(unit.tagsCode)) continue;
      const address = encodeExtAddress(extOffsetOf(unit.tagsCode));
      if (ext.get(address) === undefined) ext.skipPast(address);
      else ext.truncateAfter(address);
      return;
    }
    ext.truncateAll();
  }

  /**
   * The extension unit a unit's tag code stands for (isExtTagsCode), as a filter sees it;
   * undefined when it cannot be read.
   */
  extUnitOf(cq: ConsumeQueue, tagsCode: number): ConsumeQueueExtUnitView | undefined {
    return this.#exts.get(cq)?.view(extOffsetOf(tagsCode));
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
   * 1.3); everything else gets one at its queue offset, idempotently. With the extension on, its
   * extension unit is written first, so every address a unit holds is readable.
   */
  dispatch(request: DispatchRequest): void {
    const tx = transactionType(request.sysFlag);
    if (tx === SysFlag.TRANSACTION_PREPARED_TYPE || tx === SysFlag.TRANSACTION_ROLLBACK_TYPE) return;
    const cq = this.findOrCreate(request.topic, request.queueId);
    let tagsCode = request.tagsCode;
    if (this.#options.enableConsumeQueueExt === true && request.topic !== SCHEDULE_TOPIC && request.commitLogOffset + request.msgSize > cq.maxPhysicOffset) {
      const bitmap = request.filterBitmap;
      const address = this.#extOf(cq).append({ tagsCode: BigInt(tagsCode), storeTimestamp: request.storeTimestamp, ...(bitmap === undefined ? {} : { bitmap }) });
      tagsCode = extTagsCode(decodeExtAddress(address));
    }
    cq.putMessagePositionInfo(request.commitLogOffset, request.msgSize, tagsCode, request.queueOffset);
  }

  /** The furthest CommitLog end any queue points to; -1 when all are empty. */
  maxPhysicOffset(): number {
    let max = -1;
    for (const cq of this.queues()) max = Math.max(max, cq.maxPhysicOffset);
    return max;
  }

  truncateDirtyLogicFiles(physicalOffset: number): void {
    for (const cq of this.queues()) {
      cq.truncateDirtyLogicFiles(physicalOffset);
      this.#alignExt(cq);
    }
  }

  correctMinOffset(minPhysicalOffset: number): void {
    for (const cq of this.queues()) cq.correctMinOffset(minPhysicalOffset);
  }

  deleteExpiredFiles(minPhysicalOffset: number, max: number): number {
    let n = 0;
    const unit = emptyCqUnit();
    for (const cq of this.queues()) {
      n += cq.deleteExpiredFiles(minPhysicalOffset, max);
      const ext = this.#exts.get(cq);
      // extension files wholly before the first kept unit's extension unit go too
      if (ext !== undefined && cq.getUnit(cq.minOffsetInQueue, unit) && isExtTagsCode(unit.tagsCode)) {
        ext.deleteFilesBefore(encodeExtAddress(extOffsetOf(unit.tagsCode)));
      }
    }
    return n;
  }

  /** Flushes every queue; true when every one is flushed to its write position. */
  flush(leastPages: number): boolean {
    let all = true;
    // extensions first: a unit's address should not reach the disk before the unit it names
    for (const ext of this.#exts.values()) ext.flush();
    for (const cq of this.queues()) if (cq.flush(leastPages) < cq.queue.maxOffset()) all = false;
    return all;
  }

  close(): void {
    for (const ext of this.#exts.values()) ext.close();
    this.#exts.clear();
    for (const cq of this.queues()) cq.close();
    this.#topics.clear();
  }
}
