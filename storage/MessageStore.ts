/**
 * The store facade (RocketMQ's DefaultMessageStore, without its threads): put, get, look-ups,
 * flush, clean-up and recovery over one store folder. It is what the actors will wrap; in this
 * form it runs everything in the calling thread: each put appends to the CommitLog and
 * dispatches to the ConsumeQueue and the index at once.
 *
 * Owner: one thread (the writer actor later, with the dispatch and flush parts moving to their
 * own actors through CommitLogReader and CommitLogFlusher). It holds the store's lock file while
 * open. After a crash (no shutdown), the abort file stays behind and the next open runs abnormal
 * recovery; nothing that reached the page cache is lost by a process crash.
 */
import os from 'node:os';
import { channel, CHANNELS } from '../common/diagnostics.js';
import { systemClock, type Clock } from '../common/clock.js';
import { PetrelError } from '../common/errors.js';
import { CommitLog } from './CommitLog.js';
import { emptyDispatchRequest, tagsCodeOf, type CommitLogDispatcher } from './CommitLogDispatcher.js';
import { parseDelayLevels } from './DelayLevels.js';
import { ConsumeQueueStore } from './ConsumeQueueStore.js';
import { getMessage as getMessageFrom } from './GetMessage.js';
import { IndexService } from './IndexService.js';
import { MessageEncoder, type MessageToStore } from './MessageCodec.js';
import { decodeMessage, isServableRecord, readStoreTimestamp, type MessageExt } from './MessageDecoder.js';
import { corruptAt } from './CommitLogReader.js';
import { decodeOffsetMessageId, parseSocketAddress, UniqKeyGenerator, type SocketAddress } from './MessageId.js';
import { MessageConst } from './MessageProperties.js';
import { validateQueueId } from './MessageValidator.js';
import { QueueOffsetTable } from './QueueOffsetTable.js';
import { BLANK_MAGIC, FIXED_OVERHEAD_V4, MAX_PROPERTIES_LENGTH, SysFlag, transactionType } from './RecordLayout.js';
import { StoreCheckpoint } from './StoreCheckpoint.js';
import { commitLogPath, parseStoreConfig, type MessageStoreConfig } from './StoreConfig.js';
import { AbortFile, StoreLock } from './StoreLock.js';
import { checkpointPath } from './StorePaths.js';
import { recoverStore, type RecoveryResult } from './StoreRecovery.js';
import { loadQueueEnds, saveQueueEnds } from './ConsumeQueueEnds.js';
import { claimsRecordStart, damagedBytes } from './RecordScan.js';
import { PutMessageResult, PutMessageStatus, type GetMessageRequest, type GetMessageResult } from './StoreResults.js';

export interface MessageStoreOptions {
  /** Store config (parsed and validated; see StoreConfig.ts for keys and defaults). */
  readonly config?: unknown;
  readonly clock?: Clock;
  /** Queue count of a topic (its writeQueueNums); undefined means topicQueueIdLimit. */
  readonly queueNumsOf?: (topic: string) => number | undefined;
  /** Dispatchers run before the ConsumeQueue one (RocketMQ runs CalcBitMap there). */
  readonly extraDispatchers?: readonly CommitLogDispatcher[];
}

/** What a key query returns (RocketMQ's QueryMessageResult). */
export interface QueryMessageResult {
  readonly messages: MessageExt[];
  readonly indexLastUpdateTimestamp: number;
  readonly indexLastUpdatePhyoffset: number;
}

const SCRATCH_EXTRA = FIXED_OVERHEAD_V4 + 64 + 2 + 255 + MAX_PROPERTIES_LENGTH + 64;

export class MessageStore {
  readonly config: MessageStoreConfig;
  readonly recovery: RecoveryResult;
  readonly #clock: Clock;
  readonly #root: string;
  readonly #lock: StoreLock;
  readonly #commitLog: CommitLog;
  readonly #consumeQueues: ConsumeQueueStore;
  readonly #index: IndexService | undefined;
  readonly #checkpoint: StoreCheckpoint;
  readonly #dispatchers: CommitLogDispatcher[];
  readonly #offsets = new QueueOffsetTable();
  readonly #encoder: MessageEncoder;
  readonly #uniqKeys: UniqKeyGenerator;
  readonly #storeHost: SocketAddress;
  readonly #delayLevels: number[];
  readonly #queueNumsOf: (topic: string) => number | undefined;
  readonly #scratch: Uint8Array;
  readonly #request = emptyDispatchRequest();
  readonly #hotBytes: number;
  readonly #putChannel = channel(CHANNELS.storePut);
  #open = true;

  private constructor(options: MessageStoreOptions) {
    const config = parseStoreConfig(options.config);
    this.config = config;
    this.#clock = options.clock ?? systemClock;
    this.#root = config.storePathRootDir;
    this.#storeHost = parseSocketAddress(config.storeHost);
    this.#delayLevels = parseDelayLevels(config.messageDelayLevel);
    this.#queueNumsOf = options.queueNumsOf ?? (() => undefined);
    this.#hotBytes = (os.totalmem() * config.accessMessageInMemoryMaxRatio) / 100;
    this.#encoder = new MessageEncoder({
      storeHost: this.#storeHost,
      maxMessageSize: config.maxMessageSize,
      appendPropertiesCrc: config.enabledAppendPropCRC,
    });
    const salt = (Math.random() * 0x100000000) >>> 0;
    this.#uniqKeys = new UniqKeyGenerator(this.#clock, this.#storeHost.address, process.pid, salt);
    this.#scratch = new Uint8Array(config.maxMessageSize + SCRATCH_EXTRA);
    const backend = config.mappedFileBackend;
    const syncMethod = config.flushSyncMethod;

    this.#lock = StoreLock.acquire(this.#root);
    try {
      const abnormal = AbortFile.exists(this.#root);
      this.#checkpoint = new StoreCheckpoint(checkpointPath(this.#root));
      this.#commitLog = new CommitLog({
        dir: commitLogPath(config),
        fileSize: config.mappedFileSizeCommitLog,
        backend,
        syncMethod,
        clock: this.#clock,
        warm: config.warmMapedFileEnable,
        appendPropertiesCrc: config.enabledAppendPropCRC,
      });
      this.#consumeQueues = new ConsumeQueueStore({ rootDir: this.#root, fileSize: config.mappedFileSizeConsumeQueue, backend, syncMethod });
      this.#index = config.messageIndexEnable
        ? new IndexService({ rootDir: this.#root, slotNum: config.maxHashSlotNum, indexNum: config.maxIndexNum, backend, syncMethod, clock: this.#clock })
        : undefined;
      this.#dispatchers = [...(options.extraDispatchers ?? []), this.#consumeQueues, ...(this.#index === undefined ? [] : [this.#index])];
      this.#commitLog.load();
      this.#consumeQueues.load();
      this.#index?.load();
      this.recovery = recoverStore(
        {
          commitLog: this.#commitLog,
          consumeQueues: this.#consumeQueues,
          index: this.#index,
          checkpoint: this.#checkpoint,
          check: { checkCrc: config.checkCRCOnRecover, requirePropertiesCrc: config.forceVerifyPropCRC },
          delayLevelsMs: this.#delayLevels,
          dispatchers: this.#dispatchers,
          queueEnds: loadQueueEnds(this.#root),
        },
        abnormal,
      );
      this.#consumeQueues.correctMinOffset(this.#commitLog.minOffset());
      this.#offsets.rebuild(this.#consumeQueues);
      AbortFile.create(this.#root);
      const ch = channel(CHANNELS.storeRecovered);
      if (ch.hasSubscribers) {
        const r = this.recovery;
        const ranges = r.lostTail === undefined ? r.damaged : [...r.damaged, r.lostTail];
        ch.publish({
          from: r.from,
          to: r.to,
          truncatedBytes: r.truncatedBytes,
          abnormal,
          damagedRanges: ranges.length,
          damagedBytes: damagedBytes(ranges),
          repairedQueues: r.repairedQueues.length,
        });
      }
    } catch (err) {
      this.#lock.release();
      throw err;
    }
  }

  /** Opens (creating if needed) and recovers the store folder, taking its lock. */
  static open(options: MessageStoreOptions = {}): MessageStore {
    return new MessageStore(options);
  }

  #checkOpen(): void {
    if (!this.#open) throw new PetrelError('ERR_STORE_CLOSED', `the store ${this.#root} is shut down`);
  }

  /**
   * Appends a message and builds its ConsumeQueue unit and index entries. Bad input throws a
   * PetrelError before anything is written; the result carries the offsets and ids.
   */
  putMessage(msg: MessageToStore): PutMessageResult {
    this.#checkOpen();
    const started = this.#putChannel.hasSubscribers ? performance.now() : 0;
    const topic = msg.topic;
    const queueId = msg.queueId;
    validateQueueId(queueId, this.#queueNumsOf(topic) ?? this.config.topicQueueIdLimit);
    const now = this.#clock.now();
    const uniqKey = msg.uniqKey ?? this.#uniqKeys.next(now);
    const size = this.#encoder.encode(msg, this.#scratch, 0, uniqKey);
    const sysFlag = msg.sysFlag ?? 0;
    const tx = transactionType(sysFlag);
    const noQueue = tx === SysFlag.TRANSACTION_PREPARED_TYPE || tx === SysFlag.TRANSACTION_ROLLBACK_TYPE;
    const offsets = this.#offsets.offsetsOf(topic);
    const queueOffset = noQueue ? 0 : (offsets[queueId] ?? 0);
    const phy = this.#commitLog.append(this.#scratch, 0, size, queueOffset, now);
    if (!noQueue) offsets[queueId] = queueOffset + 1;
    const storeTimestamp = this.#commitLog.lastStoreTimestamp;

    const req = this.#request;
    req.topic = topic;
    req.queueId = queueId;
    req.commitLogOffset = phy;
    req.msgSize = size;
    req.storeTimestamp = storeTimestamp;
    req.queueOffset = queueOffset;
    req.keys = msg.keys === undefined ? '' : typeof msg.keys === 'string' ? msg.keys : msg.keys.join(' ');
    req.uniqKey = uniqKey;
    req.sysFlag = sysFlag;
    req.bornTimestamp = msg.bornTimestamp ?? 0;
    req.tagsCode = tagsCodeOf(topic, msg.tags, msg.systemProperties?.[MessageConst.DELAY], storeTimestamp, this.#delayLevels);
    const dispatchers = this.#dispatchers;
    for (let i = 0; i < dispatchers.length; i++) dispatchers[i]?.dispatch(req);

    if (started !== 0) this.#putChannel.publish({ messages: 1, bytes: size, latencyUs: (performance.now() - started) * 1000 });
    return new PutMessageResult(PutMessageStatus.PUT_OK, phy, size, queueOffset, storeTimestamp, uniqKey, this.#storeHost);
  }

  /** Reads a batch of a queue from `offset` (ROCKETMQ.md 2.5); statuses, not exceptions. */
  getMessage(request: GetMessageRequest): GetMessageResult {
    this.#checkOpen();
    return getMessageFrom(
      { commitLog: this.#commitLog, consumeQueues: this.#consumeQueues, config: this.config, hotBytes: this.#hotBytes },
      request,
    );
  }

  /**
   * The message stored at `commitLogOffset`, decoded (body copied), or undefined when nothing is
   * stored there (or the bytes there do not claim to start a record). ERR_STORE_CORRUPT when they
   * do but are not a sound record of that offset, or, with `knownStart` (the index says a record
   * started there), when they are anything but a sound record.
   */
  lookMessageByOffset(commitLogOffset: number, knownStart = false): MessageExt | undefined {
    this.#checkOpen();
    const file = this.#commitLog.fileFor(commitLogOffset);
    if (file === undefined || commitLogOffset < this.#commitLog.minOffset()) return undefined;
    const pos = commitLogOffset - file.fileFromOffset;
    const head = file.read(pos, Math.min(8, file.fileSize - pos));
    const headView = head.length < 8 ? undefined : new DataView(head.buffer, head.byteOffset, 8);
    const claims = !(headView !== undefined && headView.getInt32(4) === BLANK_MAGIC) && claimsRecordStart(file, pos);
    // an index entry says a record started here: bytes that no longer say so are damage
    if (!claims && !knownStart) return undefined;
    const size = headView === undefined ? 0 : headView.getInt32(0);
    if (size <= 0 || pos + size > file.wrotePosition) throw corruptAt(commitLogOffset);
    const bytes = file.read(pos, size);
    if (!isServableRecord(bytes, 0, size, commitLogOffset, this.config.forceVerifyPropCRC)) throw corruptAt(commitLogOffset);
    return decodeMessage(bytes, 0);
  }

  /** The message named by an offset message id (viewMessageById). */
  viewMessageById(offsetMsgId: string): MessageExt | undefined {
    return this.lookMessageByOffset(decodeOffsetMessageId(offsetMsgId).physicalOffset);
  }

  /**
   * Messages of `topic` filed under `key` (a KEYS token or a UNIQ_KEY) stored in [begin, end],
   * newest first, at most min(maxNum, maxMsgsNumBatch). Unlike RocketMQ, hash collisions and
   * times outside the range are dropped here, since the records are read anyway.
   */
  queryMessage(topic: string, key: string, maxNum: number, begin: number, end: number): QueryMessageResult {
    this.#checkOpen();
    const index = this.#index;
    const found: MessageExt[] = [];
    if (index !== undefined) {
      let corrupt: PetrelError | undefined;
      const accept = (phy: number): boolean => {
        let msg: MessageExt | undefined;
        try {
          msg = this.lookMessageByOffset(phy, true);
        } catch (err) {
          // A damaged candidate may or may not have been the key: skipped, and reported when
          // nothing sound answers the query.
          if (!(err instanceof PetrelError) || err.code !== 'ERR_STORE_CORRUPT') throw err;
          corrupt = err;
          return false;
        }
        if (msg === undefined || msg.topic !== topic || msg.storeTimestamp < begin || msg.storeTimestamp > end) return false;
        const keys = msg.keys?.split(' ') ?? [];
        if (msg.properties[MessageConst.UNIQ_KEY] !== key && !keys.includes(key)) return false;
        found.push(msg);
        return true;
      };
      index.queryOffsets(topic, key, Math.min(maxNum, this.config.maxMsgsNumBatch), begin, end, accept);
      if (found.length === 0 && corrupt !== undefined) throw corrupt;
    }
    const last = index?.files[index.files.length - 1];
    return { messages: found, indexLastUpdateTimestamp: last?.endTimestamp ?? 0, indexLastUpdatePhyoffset: last?.endPhyOffset ?? 0 };
  }

  /** The message of `topic` with this UNIQ_KEY (what SendResult.msgId shows), via the index. */
  queryMessageByUniqKey(topic: string, uniqKey: string): MessageExt | undefined {
    return this.queryMessage(topic, uniqKey, 1, 0, Number.MAX_SAFE_INTEGER).messages[0];
  }

  getMinOffsetInQueue(topic: string, queueId: number): number {
    return this.#consumeQueues.find(topic, queueId)?.minOffsetInQueue ?? 0;
  }

  getMaxOffsetInQueue(topic: string, queueId: number): number {
    return this.#consumeQueues.find(topic, queueId)?.maxOffsetInQueue ?? 0;
  }

  /** Queue ids of a topic that hold a ConsumeQueue. */
  getQueueIds(topic: string): number[] {
    return this.#consumeQueues.queueIds(topic);
  }

  /** Store time of the message at `queueOffset`, or undefined. */
  getMessageStoreTimeStamp(topic: string, queueId: number, queueOffset: number): number | undefined {
    const cq = this.#consumeQueues.find(topic, queueId);
    const unit = { physicalOffset: 0, size: 0, tagsCode: 0 };
    if (cq === undefined || !cq.getUnit(queueOffset, unit)) return undefined;
    return this.#storeTimeAt(unit.physicalOffset, unit.size);
  }

  #storeTimeAt(phy: number, size: number): number | undefined {
    const bytes = this.#commitLog.getData(phy, size);
    return bytes === undefined ? undefined : readStoreTimestamp(bytes, 0);
  }

  /**
   * The queue offset for a store time (SEARCH_OFFSET_BY_TIMESTAMP): 'lower' gives the first
   * message stored at or after `timestamp`, 'upper' the last stored at or before it.
   */
  getOffsetInQueueByTime(topic: string, queueId: number, timestamp: number, boundary: 'lower' | 'upper' = 'lower'): number {
    const cq = this.#consumeQueues.find(topic, queueId);
    if (cq === undefined) return 0;
    return cq.getOffsetInQueueByTime(timestamp, boundary, (u) => this.#storeTimeAt(u.physicalOffset, u.size));
  }

  getMinPhyOffset(): number {
    return this.#commitLog.minOffset();
  }

  getMaxPhyOffset(): number {
    return this.#commitLog.maxOffset();
  }

  /** Offset up to which records are dispatched (everything written, in one thread). */
  getConfirmOffset(): number {
    return this.#commitLog.maxOffset();
  }

  getFlushedWhere(): number {
    return this.#commitLog.flushedWhere;
  }

  /** Next queue offsets per topic and queue (the writer's table). */
  queueOffsets(): Array<{ topic: string; queueId: number; nextOffset: number }> {
    return this.#offsets.entries();
  }

  /**
   * Flushes the CommitLog (leastPages rule), the ConsumeQueues, full IndexFiles, and then the
   * checkpoint with what is now known durable. Returns the CommitLog's flushed offset.
   */
  flush(leastPages = 0): number {
    this.#checkOpen();
    const wrote = this.#commitLog.maxOffset();
    const lastTs = this.#commitLog.lastStoreTimestamp;
    const flushed = this.#commitLog.flush(leastPages);
    if (flushed >= wrote && lastTs > 0) this.#checkpoint.physicMsgTimestamp = lastTs;
    if (this.#consumeQueues.flush(leastPages) && lastTs > 0) this.#checkpoint.logicsMsgTimestamp = lastTs;
    const indexTs = this.#index?.flush(false);
    if (indexTs !== undefined) this.#checkpoint.indexMsgTimestamp = indexTs;
    this.#checkpoint.confirmPhyOffset = this.getConfirmOffset();
    this.#checkpoint.flush();
    return flushed;
  }

  /** Creates (and with warmMapedFileEnable pre-faults) the next CommitLog file ahead of need. */
  preallocateNextFile(): boolean {
    this.#checkOpen();
    return this.#commitLog.preallocateNextFile();
  }

  /** True at a deleteWhen hour (RocketMQ deletes expired files then, or when the disk is full). */
  isTimeToDelete(): boolean {
    const hour = new Date(this.#clock.now()).getHours();
    return this.config.deleteWhen.split(';').some((h) => Number(h) === hour);
  }

  /**
   * Deletes CommitLog files unmodified for fileReservedTime hours (never the current one, never
   * one holding undispatched data), then the ConsumeQueue and index files that only point below
   * the CommitLog's new start. Returns how many CommitLog files went.
   */
  deleteExpiredFiles(): number {
    this.#checkOpen();
    const reservedMs = this.config.fileReservedTime * 3_600_000;
    const max = this.config.deleteFileBatchMax;
    const n = this.#commitLog.deleteExpiredFiles(this.#clock.now(), reservedMs, max, this.getConfirmOffset());
    const minPhy = this.#commitLog.minOffset();
    this.#consumeQueues.deleteExpiredFiles(minPhy, max);
    this.#index?.deleteExpiredFiles(minPhy, max);
    return n;
  }

  /** Clean shutdown: flush everything, close the files, remove the abort file, release the lock. */
  shutdown(): void {
    if (!this.#open) return;
    this.flush(0);
    this.#index?.flush(true);
    saveQueueEnds(this.#root, this.#consumeQueues);
    this.#open = false;
    this.#closeFiles();
    AbortFile.remove(this.#root);
    this.#lock.release();
  }

  /**
   * Drops the store as a crashed process would: no flush, files closed, abort file left behind
   * (so the next open recovers abnormally), lock released. For tests and supervisors.
   */
  crash(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#closeFiles();
    this.#lock.release();
  }

  #closeFiles(): void {
    this.#commitLog.close();
    this.#consumeQueues.close();
    this.#index?.close();
    this.#checkpoint.close();
  }
}
