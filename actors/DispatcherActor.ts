/**
 * DispatcherActor (RocketMQ's ReputMessageService): tails the CommitLog up to the confirm
 * position (`flushed` under SYNC_FLUSH, so consumers see only durable messages; `wrote` under
 * ASYNC_FLUSH), turns each record into its ConsumeQueue unit and IndexFile entries, and publishes
 * `dispatched`. It owns the ConsumeQueues and the index, so reads that need them (pulls, look-ups
 * by key, offsets by time) are served here, never past `dispatched`. A long-polling pull that finds
 * nothing is held here (its answer deferred) and answered right after the slice of dispatch that
 * grows its queue, or when its time is up (RocketMQ's PullRequestHoldService).
 *
 * Runs on its own worker thread. After a crash it is restarted: the ConsumeQueues recover to their
 * last valid unit and dispatch resumes from their largest physical offset (units are written
 * idempotently), so nothing is lost or doubled.
 */
import os from 'node:os';
import path from 'node:path';
import { LATER, defineActor, transferring, type Deferred } from '../runtime/Actor.js';
import { ownedCopy } from '../runtime/cloneGuard.js';
import { systemClock } from '../common/clock.js';
import { log } from '../common/diagnostics.js';
import { CommitLogReader } from '../storage/CommitLogReader.js';
import type { CommitLogDispatcher } from '../storage/CommitLogDispatcher.js';
import { ConsumeQueueStore } from '../storage/ConsumeQueueStore.js';
import type { CommitLogRead } from '../storage/GetMessage.js';
import { IndexService } from '../storage/IndexService.js';
import { decodeProperties, readStoreTimestamp, type MessageExt as StoredMessage } from '../storage/MessageDecoder.js';
import { ConfigFile } from '../storage/ConfigFile.js';
import { ReadDamageTally } from '../storage/DamageTally.js';
import { saveQueueEnds } from '../storage/ConsumeQueueEnds.js';
import { PetrelError } from '../common/errors.js';
import type { MessageStoreConfig } from '../storage/StoreConfig.js';
import { commitLogPath } from '../storage/StoreConfig.js';
import { BloomFilter } from '../filter/bloom/BloomFilter.js';
import { parseDelayLevels } from '../storage/DelayLevels.js';
import { BrokerPositions, DISPATCH_HELD_BY, Position, type DispatchHeldBy, type PositionSlot } from './BrokerPositions.js';
import { isPetrelError } from '../common/errors.js';
import type { GetMessageStatus } from '../api/BrokerApi.js';
import { ConsumerFilters, newestDispatchedStoreTimestamp, type FilterRegistration, type SqlSubscription } from './ConsumerFilters.js';
import { filteredPull, type FilteredPullRequest, type PullStats } from './FilteredPull.js';

export interface DispatcherArgs {
  readonly store: MessageStoreConfig;
  readonly confirm: 'WROTE' | 'FLUSHED';
  readonly positions: SharedArrayBuffer;
  /** Where dispatch starts (the CommitLog end recovery left dispatched). */
  readonly dispatchFrom: number;
  readonly enablePropertyFilter: boolean;
  /** Write a ConsumeQueueExt unit per ConsumeQueue unit. Default false. */
  readonly enableConsumeQueueExt?: boolean;
  /** With enableConsumeQueueExt and enablePropertyFilter: bloom bits for registered SQL92 groups. Default false. */
  readonly enableCalcFilterBitMap?: boolean;
  /** Damaged CommitLog stretches recovery found (a look-up by offset inside one is ERR_STORE_CORRUPT). */
  readonly damaged?: readonly { readonly from: number; readonly to: number }[];
}

export interface PullQuery extends FilteredPullRequest {
  readonly type: 'pull';
  /**
   * Long polling: when the pull finds nothing (pullFoundNothing), hold it up to this many ms and
   * answer as soon as dispatch adds units to its queue. Default 0: answer at once.
   */
  readonly holdMs?: number;
}

/**
 * True when a pull's answer says there is nothing there yet, so a long-polling pull waits for
 * more: the offset is at the queue's end, the queue does not exist yet, or it is empty and the
 * reader starts from 0.
 */
export function pullFoundNothing(status: string, offset: number): boolean {
  return status === 'OFFSET_OVERFLOW_ONE' || status === 'NO_MATCHED_LOGIC_QUEUE' || (status === 'NO_MESSAGE_IN_QUEUE' && offset === 0);
}

/** A long-polling pull held until its queue grows or its time is up. */
interface HeldPull {
  readonly query: PullQuery;
  readonly reply: Deferred<PullReply>;
  readonly timer: NodeJS.Timeout;
  /** The queue's max offset when the pull last ran (-1: no queue yet). */
  seenMax: number;
}

export type DispatcherMsg =
  | PullQuery
  /** The SQL92 subscriptions `group` holds now (none when it left); `now` is the sender's clock. */
  | { readonly type: 'filters'; readonly group: string; readonly subscriptions: readonly SqlSubscription[]; readonly now: number }
  | { readonly type: 'filterStats' }
  /** Damaged records reads found since the dispatcher started (each counted once). */
  | { readonly type: 'readDamage' }
  | { readonly type: 'offsets'; readonly topic: string; readonly queueId: number }
  | { readonly type: 'offsetByTime'; readonly topic: string; readonly queueId: number; readonly timestamp: number }
  | { readonly type: 'queryKey'; readonly topic: string; readonly key: string; readonly maxNum: number; readonly begin: number; readonly end: number }
  | { readonly type: 'record'; readonly offset: number }
  | { readonly type: 'queues' }
  | DispatchTruncate
  | { readonly type: 'resume' };

/**
 * A slave is about to cut its CommitLog: ConsumeQueue units and index entries of records at or
 * past `offset` (a record start) are removed, dispatch goes back to `offset` and holds there
 * until `resume` (sent once the writer has cut the log), so no byte of the old tail is read again.
 */
export interface DispatchTruncate {
  readonly type: 'truncate';
  readonly offset: number;
}

export interface PullReply {
  readonly status: GetMessageStatus;
  readonly nextBeginOffset: number;
  readonly minOffset: number;
  readonly maxOffset: number;
  /** The records back to back; `sizes[i]` bytes each. */
  readonly buffer: Uint8Array;
  readonly sizes: number[];
  readonly stats: PullStats;
  /** The reader is far behind this store's CommitLog end (GetMessage's verdict). */
  readonly suggestPullingFromSlave: boolean;
}

/** Totals of every pull since the dispatcher started, and of the bitmaps computed at dispatch. */
export interface DispatcherFilterStats extends PullStats {
  readonly pulls: number;
  readonly bitmapsComputed: number;
}

export interface DispatcherReplies {
  pull: PullReply;
  filters: FilterRegistration[];
  filterStats: DispatcherFilterStats;
  readDamage: { records: number; bytes: number };
  offsets: { min: number; max: number };
  offsetByTime: number;
  queryKey: Uint8Array[];
  record: Uint8Array | undefined;
  queues: { topic: string; queueId: number; max: number }[];
  truncate: void;
  resume: void;
}

interface DispatcherState {
  readonly reader: CommitLogReader;
  readonly queues: ConsumeQueueStore;
  readonly index: IndexService;
  readonly dispatchers: readonly CommitLogDispatcher[];
  readonly positions: BrokerPositions;
  readonly confirm: PositionSlot;
  readonly store: MessageStoreConfig;
  readonly read: CommitLogRead;
  readonly hotBytes: number;
  readonly enablePropertyFilter: boolean;
  /** The SQL92 groups with bloom bits; undefined when the bloom path is off. */
  readonly filters: ConsumerFilters | undefined;
  readonly totals: { pulls: number; unitsScanned: number; commitLogReads: number; bloomSkipped: number; delivered: number; corruptSkipped: number };
  /** Damaged records found by pulls and look-ups. */
  readonly readDamage: ReadDamageTally;
  /** Damaged CommitLog stretches recovery found at this start. */
  readonly knownDamage: readonly { readonly from: number; readonly to: number }[];
  /** Long-polling pulls waiting for their queue to grow. */
  held: HeldPull[];
  reputFrom: number;
  /** Set between `truncate` and `resume`: dispatch does not pass it. */
  fence: number | undefined;
  running: boolean;
  loop: Promise<void>;
  lastCqFlush: number;
}

/** Records dispatched per slice before the loop yields to pulls waiting in the mailbox. */
const SLICE = 4096;

/** Record bytes one key look-up answers with at most (at least one record): maxNum is a ceiling, not a promise. */
const QUERY_REPLY_MAX_BYTES = 8 * 1024 * 1024;

/**
 * A record read back for another thread. `read` gives a view of the mapping, and posting a view
 * copies the whole mapped file behind it (1 GiB by default): the reply carries a copy of the
 * record's bytes in a buffer of their own, moved to the asker rather than copied again.
 */
function recordReply(view: Uint8Array): Uint8Array {
  const own = ownedCopy(view);
  return transferring(own, [own.buffer]);
}

function dispatchSlice(s: DispatcherState): boolean {
  const limit = Math.min(s.positions.get(s.confirm), s.fence ?? Number.POSITIVE_INFINITY);
  if (s.reputFrom >= limit) return false;
  s.reputFrom = s.reader.dispatch(s.reputFrom, limit, s.dispatchers, SLICE);
  s.positions.publish(Position.DISPATCHED, s.reputFrom);
  if (s.held.length > 0) answerGrownQueues(s);
  return s.reputFrom < limit;
}

function queueMax(s: DispatcherState, q: PullQuery): number {
  return s.queues.find(q.topic, q.queueId)?.maxOffsetInQueue ?? -1;
}

/** Runs again each held pull whose queue grew; those that find something are answered. */
function answerGrownQueues(s: DispatcherState): void {
  const still: HeldPull[] = [];
  for (const h of s.held) {
    const max = queueMax(s, h.query);
    if (max === h.seenMax) {
      still.push(h);
      continue;
    }
    const r = runPull(s, h.query);
    if (pullFoundNothing(r.status, h.query.offset)) {
      h.seenMax = max;
      still.push(h);
      continue;
    }
    clearTimeout(h.timer);
    h.reply.resolve(r);
  }
  s.held = still;
}

function runPull(s: DispatcherState, m: PullQuery): PullReply {
  const { result: r, stats } = filteredPull(
    { commitLog: s.read, consumeQueues: s.queues, config: s.store, hotBytes: s.hotBytes },
    m,
    { enablePropertyFilter: s.enablePropertyFilter, filters: s.filters },
  );
  const t = s.totals;
  t.pulls++;
  t.unitsScanned += stats.unitsScanned;
  t.commitLogReads += stats.commitLogReads;
  t.bloomSkipped += stats.bloomSkipped;
  t.delivered += stats.delivered;
  t.corruptSkipped += stats.corruptSkipped;
  for (const c of r.corrupt) s.readDamage.note(c.commitLogOffset, c.size);
  const buffer = wholeBuffer(r.buffer.subarray(0, r.bufferTotalSize));
  const reply: PullReply = {
    stats,
    status: r.status,
    nextBeginOffset: r.nextBeginOffset,
    minOffset: r.minOffset,
    maxOffset: r.maxOffset,
    buffer,
    sizes: r.messages.map((g) => g.size),
    suggestPullingFromSlave: r.suggestPullingFromSlave,
  };
  return transferring(reply, [buffer.buffer]);
}

/**
 * The pull's records in a buffer that is theirs alone, to be moved to the asker. getMessage
 * gathers them into a fresh buffer of their exact size, which is used as it is; anything else (a
 * view into a larger or shared buffer) is copied, so a reply never drags a bigger buffer along.
 */
function wholeBuffer(view: Uint8Array): Uint8Array<ArrayBuffer> {
  const b = view.buffer;
  if (b instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === b.byteLength) return new Uint8Array(b);
  return ownedCopy(view);
}

function isCorrupt(err: unknown): boolean {
  return err instanceof PetrelError && err.code === 'ERR_STORE_CORRUPT';
}

/** A look-up met a damaged record: counted once, logged (on this thread only the log channel reaches the main thread's log). */
function noteLookupDamage(s: DispatcherState, offset: number, by: 'key' | 'offset', topic: string | undefined): void {
  const size = s.reader.claimedSizeAt(offset);
  if (!s.readDamage.note(offset, size)) return;
  log('error', 'a look-up found a damaged CommitLog record', { by, ...(topic === undefined ? {} : { topic }), commitLogOffset: offset, size });
}

/** Answers a held pull with what its queue holds now (its time is up, or the actor stops). */
function release(s: DispatcherState, h: HeldPull): void {
  clearTimeout(h.timer);
  s.held = s.held.filter((x) => x !== h);
  h.reply.resolve(runPull(s, h.query));
}

/** How long dispatch waits before trying again after a store write failed (a full disk). */
const DISPATCH_RETRY_MS = 1000;

/** The logic folder each failed write went to, kept beside the error itself (which is thrown on as it is). */
const failedIn = new WeakMap<object, DispatchHeldBy>();

/** Runs `fn`; an operating-system failure it throws (ENOSPC, EIO) is marked as a write to `folder`. */
function writingTo<T>(folder: DispatchHeldBy, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const io = isPetrelError(err) ? err.code === 'ERR_STORE_IO' : typeof (err as NodeJS.ErrnoException | undefined)?.syscall === 'string';
    if (io && typeof err === 'object' && err !== null && !failedIn.has(err)) failedIn.set(err, folder);
    throw err;
  }
}

/** The ConsumeQueue store and the index as dispatch targets whose write failures name their folder. */
function folderDispatchers(queues: ConsumeQueueStore, index: IndexService): CommitLogDispatcher[] {
  return [
    { dispatch: (r) => writingTo('consumequeue', () => queues.dispatch(r)) },
    { dispatch: (r) => writingTo('index', () => index.dispatch(r)) },
  ];
}

async function run(s: DispatcherState): Promise<void> {
  // The error dispatch is held on, logged once when it starts and again when it clears.
  let held: string | undefined;
  while (s.running) {
    let more: boolean;
    try {
      more = dispatchSlice(s);
      const now = Date.now();
      if (now - s.lastCqFlush >= 1000) {
        s.lastCqFlush = now;
        writingTo('consumequeue', () => s.queues.flush(2));
        writingTo('index', () => s.index.flush(false));
        s.filters?.purge(now);
      }
    } catch (err) {
      // A ConsumeQueue or index file the disk has no room for: dispatch holds where it is and
      // tries again later. The CommitLog still has every record and dispatch is idempotent, so
      // nothing is lost; what is dispatched is still served meanwhile. The folder is published
      // (Position.DISPATCH_HELD) and the main thread refuses sends until dispatch resumes.
      const error = err instanceof Error ? err.message : String(err);
      const folder = typeof err === 'object' && err !== null ? failedIn.get(err) : undefined;
      if (held !== error) log('error', 'dispatch held: a store write failed; retrying', { at: s.reputFrom, error, folder, retryMs: DISPATCH_RETRY_MS });
      held = error;
      s.positions.set(Position.DISPATCH_HELD, folder === undefined ? 0 : DISPATCH_HELD_BY.indexOf(folder));
      await new Promise((r) => setTimeout(r, DISPATCH_RETRY_MS));
      continue;
    }
    if (held !== undefined) {
      s.positions.set(Position.DISPATCH_HELD, 0);
      log('warn', 'dispatch resumed', { at: s.reputFrom });
      held = undefined;
    }
    if (more) await new Promise((r) => setImmediate(r));
    else await s.positions.waitChange(s.confirm, 100);
  }
}

export const dispatcherActor = defineActor<DispatcherMsg, DispatcherReplies, DispatcherState, DispatcherArgs>(import.meta.url, 'dispatcherActor', {
  start(args) {
    const positions = new BrokerPositions(args.positions);
    const store = args.store;
    const reader = new CommitLogReader({
      dir: commitLogPath(store),
      fileSize: store.mappedFileSizeCommitLog,
      backend: store.mappedFileBackend,
      delayLevelsMs: parseDelayLevels(store.messageDelayLevel),
    });
    const queues = new ConsumeQueueStore({
      rootDir: store.storePathRootDir,
      fileSize: store.mappedFileSizeConsumeQueue,
      backend: store.mappedFileBackend,
      syncMethod: store.flushSyncMethod,
      enableConsumeQueueExt: args.enableConsumeQueueExt === true,
    });
    queues.load();
    queues.recover();
    const bloomPath = args.enablePropertyFilter && args.enableCalcFilterBitMap === true && args.enableConsumeQueueExt === true;
    const filters = bloomPath ? bloomFilters(store, reader, queues) : undefined;
    const index = new IndexService({ rootDir: store.storePathRootDir, slotNum: store.maxHashSlotNum, indexNum: store.maxIndexNum, backend: store.mappedFileBackend, syncMethod: store.flushSyncMethod, clock: systemClock });
    index.load();
    const confirm = args.confirm === 'FLUSHED' ? Position.FLUSHED : Position.WROTE;
    const read: CommitLogRead = {
      fileSize: store.mappedFileSizeCommitLog,
      maxOffset: () => positions.get(Position.DISPATCHED),
      getData: (offset: number, size: number) => reader.read(offset, size, positions.get(Position.DISPATCHED)),
    };
    const s: DispatcherState = {
      reader,
      queues,
      index,
      dispatchers: filters === undefined ? folderDispatchers(queues, index) : [filters, ...folderDispatchers(queues, index)],
      positions,
      confirm,
      store,
      read,
      hotBytes: (os.totalmem() * store.accessMessageInMemoryMaxRatio) / 100,
      enablePropertyFilter: args.enablePropertyFilter,
      filters,
      totals: { pulls: 0, unitsScanned: 0, commitLogReads: 0, bloomSkipped: 0, delivered: 0, corruptSkipped: 0 },
      readDamage: new ReadDamageTally(),
      knownDamage: args.damaged ?? [],
      held: [],
      reputFrom: Math.max(args.dispatchFrom, queues.maxPhysicOffset()),
      fence: undefined,
      running: true,
      loop: Promise.resolve(),
      lastCqFlush: Date.now(),
    };
    positions.publish(Position.DISPATCHED, s.reputFrom);
    // a restarted dispatcher finds out again whether a write still fails
    positions.set(Position.DISPATCH_HELD, 0);
    s.loop = run(s);
    return s;
  },
  handlers: {
    pull(s, m, ctx) {
      const r = runPull(s, m);
      const holdMs = m.holdMs ?? 0;
      if (!(holdMs > 0) || !pullFoundNothing(r.status, m.offset)) return r;
      const h: HeldPull = {
        query: m,
        reply: ctx.defer<'pull'>(),
        timer: setTimeout(() => release(s, h), holdMs),
        seenMax: queueMax(s, m),
      };
      s.held.push(h);
      return LATER;
    },
    filters(s, m) {
      return s.filters?.setGroup(m.group, m.subscriptions, m.now) ?? [];
    },
    filterStats(s) {
      return { ...s.totals, bitmapsComputed: s.filters?.bitmapsComputed ?? 0 };
    },
    readDamage(s) {
      return { records: s.readDamage.records, bytes: s.readDamage.bytes };
    },
    offsets(s, m) {
      const cq = s.queues.find(m.topic, m.queueId);
      return { min: cq?.minOffsetInQueue ?? 0, max: cq?.maxOffsetInQueue ?? 0 };
    },
    offsetByTime(s, m) {
      const cq = s.queues.find(m.topic, m.queueId);
      if (cq === undefined) return 0;
      return cq.getOffsetInQueueByTime(m.timestamp, 'lower', (unit) => {
        const bytes = s.read.getData(unit.physicalOffset, unit.size);
        return bytes === undefined ? undefined : readStoreTimestamp(bytes, 0);
      });
    },
    queryKey(s, m) {
      const limit = s.positions.get(Position.DISPATCHED);
      const out: Uint8Array<ArrayBuffer>[] = [];
      let total = 0;
      let corrupt: unknown;
      for (const phy of s.index.queryOffsets(m.topic, m.key, m.maxNum, m.begin, m.end)) {
        let msg: StoredMessage | undefined;
        try {
          msg = s.reader.lookMessage(phy, limit, true);
        } catch (err) {
          // a damaged candidate is skipped; it is the answer only when nothing sound is found
          if (!isCorrupt(err)) throw err;
          noteLookupDamage(s, phy, 'key', m.topic);
          corrupt = err;
          continue;
        }
        if (msg === undefined) continue;
        const size = msg.storeSize;
        if (out.length > 0 && total + size > QUERY_REPLY_MAX_BYTES) break;
        const bytes = s.reader.read(phy, size, limit);
        if (bytes === undefined) continue;
        out.push(ownedCopy(bytes));
        total += size;
      }
      if (out.length === 0 && corrupt !== undefined) throw corrupt;
      return transferring(out, out.map((b) => b.buffer));
    },
    record(s, m) {
      const limit = s.positions.get(Position.DISPATCHED);
      let msg: StoredMessage | undefined;
      // Inside damage recovery or a read found, an offset with nothing there is damage too: the
      // record that started there lost the bytes that said so.
      const known = s.knownDamage.some((d) => d.from <= m.offset && m.offset < d.to) || s.readDamage.has(m.offset);
      try {
        msg = s.reader.lookMessage(m.offset, limit, known);
      } catch (err) {
        if (isCorrupt(err)) noteLookupDamage(s, m.offset, 'offset', undefined);
        throw err;
      }
      if (msg === undefined) return undefined;
      const bytes = s.reader.read(m.offset, msg.storeSize, limit);
      return bytes === undefined ? undefined : recordReply(bytes);
    },
    queues(s) {
      const out: { topic: string; queueId: number; max: number }[] = [];
      for (const topic of s.queues.topics()) {
        for (const queueId of s.queues.queueIds(topic)) out.push({ topic, queueId, max: s.queues.find(topic, queueId)?.maxOffsetInQueue ?? 0 });
      }
      return out;
    },
    truncate(s, m) {
      const limit = s.positions.get(s.confirm);
      s.fence = m.offset;
      s.queues.truncateDirtyLogicFiles(m.offset);
      s.index.truncate(m.offset, (phy) => s.reader.storeTimestampAt(phy, limit));
      s.reputFrom = Math.min(s.reputFrom, m.offset);
      if (s.positions.get(Position.DISPATCHED) > m.offset) s.positions.set(Position.DISPATCHED, m.offset);
      s.reader.forgetAfter(m.offset);
    },
    resume(s) {
      s.fence = undefined;
    },
  },
  async stop(s) {
    s.running = false;
    await s.loop;
    for (const h of [...s.held]) release(s, h);
    try {
      while (dispatchSlice(s));
      s.queues.flush(0);
      s.index.flush(true);
      // the queues' ends, for the next start to notice last files gone (ConsumeQueueEnds.ts)
      saveQueueEnds(s.store.storePathRootDir, s.queues);
    } catch (err) {
      // what is not dispatched now is dispatched from the CommitLog at the next start
      log('error', 'dispatch incomplete at stop: a store write failed', { at: s.reputFrom, error: err instanceof Error ? err.message : String(err) });
    }
    s.queues.close();
    s.index.close();
    s.reader.close();
  },
});

/**
 * The bloom path's table, loaded from config/consumerFilter.json. Properties are decoded only for
 * records of topics with registered groups (ConsumerFilters asks for them), from the record just
 * dispatched, which is below the confirm position.
 */
function bloomFilters(store: MessageStoreConfig, reader: CommitLogReader, queues: ConsumeQueueStore): ConsumerFilters {
  const file = new ConfigFile(path.join(store.storePathRootDir, 'config', 'consumerFilter.json'));
  const readTo = (offset: number, size: number): Uint8Array | undefined => reader.read(offset, size, offset + size);
  return new ConsumerFilters({
    bloom: new BloomFilter(),
    file: { load: () => file.load(), save: (v) => file.persist(v) },
    propertiesOf: (r) => {
      const bytes = readTo(r.commitLogOffset, r.msgSize);
      return bytes === undefined ? undefined : decodeProperties(bytes, 0);
    },
    lastStoreTimestamp: newestDispatchedStoreTimestamp(queues, (offset, size) => {
      const bytes = readTo(offset, size);
      return bytes === undefined ? undefined : readStoreTimestamp(bytes, 0);
    }),
  });
}
