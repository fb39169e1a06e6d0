/**
 * Recovery of a store folder at open (ROCKETMQ.md 4.3, 4.4), run before anything else touches
 * the files (the broker runs it on its main thread).
 *
 * Normal (no abort file): walk the last three CommitLog files to the end of the log; a clean stop
 * recorded that end in the checkpoint (confirmPhyOffset), so the walk stops there without
 * searching the file's tail. Then dispatch whatever the ConsumeQueues and the index lack.
 *
 * Abnormal (abort file present):
 * 1. Delete the IndexFiles not known durable (end time after the checkpoint's indexMsgTimestamp);
 *    their records will be indexed again.
 * 2. Recover every ConsumeQueue (positions from its units).
 * 3. Start at the newest CommitLog file whose first record is valid and was stored before the
 *    checkpoint's minTimestamp (else the oldest file); check every record from there (magic,
 *    lengths, topic, stored physical offset, body CRC, whole-record CRC when present).
 * 4. Cut the CommitLog at the end of the log (zeroing stale bytes after it), remove ConsumeQueue
 *    units and index entries pointing at or past it, and re-dispatch every record from the
 *    earliest point any derived structure may lack (dispatch is idempotent).
 *
 * Both ways, recovery never cuts at damage it can read past: an invalid record is followed by a
 * search for the next valid one (RecordScan.ts); a damaged stretch with valid records after it is
 * skipped, reported in `damaged` and on the storeCorrupt channel, and the records after it are kept
 * and dispatched. Only where no valid record follows is the log's end. Records inside a damaged
 * stretch get no ConsumeQueue unit on re-dispatch; units that already point into one stay, and a
 * pull skips them (GetMessage verifies every record it serves). Then ConsumeQueue files that are
 * missing in the middle of a queue or hold invalid units are rebuilt from the CommitLog
 * (ConsumeQueueRepair.ts).
 */
import { channel, CHANNELS, log } from '../common/diagnostics.js';
import type { CommitLog } from './CommitLog.js';
import type { CommitLogDispatcher } from './CommitLogDispatcher.js';
import { emptyDispatchRequest } from './CommitLogDispatcher.js';
import type { ConsumeQueueStore } from './ConsumeQueueStore.js';
import { repairConsumeQueues, type RepairedQueue } from './ConsumeQueueRepair.js';
import { repairIndex, type RepairedIndexRange } from './IndexRepair.js';
import type { QueueEnd } from './ConsumeQueueEnds.js';
import type { IndexService } from './IndexService.js';
import type { MappedFile } from './MappedFile.js';
import { decodeDispatchRequest, readStoreTimestamp, type RecordCheckOptions } from './MessageDecoder.js';
import { emptyLocatedRecord, locateRecord, recordSizeAt } from './RecordAccess.js';
import { damagedBytes, isValidRecordAt, walkRecords, type DamagedRange } from './RecordScan.js';
import type { StoreCheckpoint } from './StoreCheckpoint.js';

export interface RecoveryContext {
  readonly commitLog: CommitLog;
  readonly consumeQueues: ConsumeQueueStore;
  readonly index: IndexService | undefined;
  readonly checkpoint: StoreCheckpoint;
  readonly check: RecordCheckOptions;
  readonly delayLevelsMs: readonly number[];
  /** Every dispatcher, in order (ConsumeQueue first, index next, others after). */
  readonly dispatchers: readonly CommitLogDispatcher[];
  /** Each ConsumeQueue's end at the last close (ConsumeQueueEnds.ts); none: last files going missing is not noticed. */
  readonly queueEnds?: readonly QueueEnd[];
}

export interface RecoveryResult {
  readonly abnormal: boolean;
  /** CommitLog offset where checking started. */
  readonly from: number;
  /** The new end of the CommitLog. */
  readonly to: number;
  /** Bytes of records the ConsumeQueues pointed to that were cut off. */
  readonly truncatedBytes: number;
  /** Records dispatched again. */
  readonly redispatched: number;
  /** Damaged stretches skipped; the valid records after each were kept. */
  readonly damaged: readonly DamagedRange[];
  /**
   * After a clean stop only: the stretch between the first invalid record and the end recorded at
   * the stop, with no valid record after it. Its bytes were acknowledged data and are cut.
   */
  readonly lostTail: DamagedRange | undefined;
  /** ConsumeQueue files rebuilt from the CommitLog (missing, or holding invalid units). */
  readonly repairedQueues: readonly RepairedQueue[];
  /** CommitLog stretches indexed again into new IndexFiles (a file missing in the middle, or damaged and dropped). */
  readonly repairedIndexFiles: readonly RepairedIndexRange[];
  /** IndexFiles found damaged at load and deleted (their records indexed again), with why. */
  readonly droppedIndexFiles: readonly { readonly file: string; readonly reason: string }[];
}

/** For abnormal recovery: the newest file whose first record is sound and old enough. */
function abnormalStartIndex(commitLog: CommitLog, minTimestamp: number, check: RecordCheckOptions): number {
  const files = commitLog.queue.files;
  for (let i = files.length - 1; i >= 0; i--) {
    const file = files[i];
    if (file === undefined) continue;
    if (isValidRecordAt(file, 0, check) <= 0) continue;
    const ts = storeTimeIn(file, 0);
    if (ts !== 0 && ts <= minTimestamp) return i;
  }
  return 0;
}

function storeTimeIn(file: MappedFile, pos: number): number {
  const rec = locateRecord(file, pos, recordSizeAt(file, pos), emptyLocatedRecord());
  return readStoreTimestamp(rec.bytes, rec.offset, rec.view);
}

function storeTimeAt(commitLog: CommitLog, phy: number): number | undefined {
  const file = commitLog.queue.findByOffset(phy);
  if (file === undefined || phy - file.fileFromOffset >= file.wrotePosition) return undefined;
  return storeTimeIn(file, phy - file.fileFromOffset);
}

/**
 * Dispatches every valid record in [from, to) to `dispatchers` and returns how many. Records
 * inside [trusted.from, trusted.to) were checked by recovery's walk and its damaged ranges are
 * jumped over; elsewhere each record is checked and damage is searched past (and appended to
 * `found`).
 */
export function redispatch(
  commitLog: CommitLog,
  from: number,
  to: number,
  dispatchers: readonly CommitLogDispatcher[],
  delayLevelsMs: readonly number[],
  check: RecordCheckOptions = { checkCrc: true, requirePropertiesCrc: false },
  trusted?: { readonly from: number; readonly to: number; readonly damaged: readonly DamagedRange[] },
  found?: DamagedRange[],
): number {
  const request = emptyDispatchRequest();
  const located = emptyLocatedRecord();
  let count = 0;
  const start = Math.max(from, commitLog.minOffset());
  if (start >= to) return 0;
  const walk = walkRecords(commitLog.queue, start, {
    check,
    to,
    trusted,
    onRecord(file, pos, size) {
      locateRecord(file, pos, size, located);
      decodeDispatchRequest(located.bytes, located.offset, delayLevelsMs, request, located.view);
      for (const d of dispatchers) d.dispatch(request);
      count++;
    },
  });
  found?.push(...walk.damaged);
  return count;
}

export function recoverStore(ctx: RecoveryContext, abnormal: boolean): RecoveryResult {
  const { commitLog, consumeQueues, index, checkpoint } = ctx;
  const rebuildIndexFrom = abnormal ? index?.deleteFilesAfter(checkpoint.indexMsgTimestamp) : undefined;
  consumeQueues.recover();
  const files = commitLog.queue.files;
  const startIndex = abnormal ? abnormalStartIndex(commitLog, checkpoint.minTimestamp(), ctx.check) : Math.max(0, files.length - 3);
  const scanFrom = files[startIndex]?.fileFromOffset ?? commitLog.minOffset();
  for (let i = 0; i < startIndex; i++) {
    const f = files[i];
    if (f !== undefined) f.wrotePosition = f.flushedPosition = f.fileSize;
  }
  // A clean stop wrote the log's end into the checkpoint; after a crash nothing is known.
  const knownEnd = !abnormal && checkpoint.confirmPhyOffset > scanFrom ? checkpoint.confirmPhyOffset : undefined;
  const walk = walkRecords(commitLog.queue, scanFrom, { check: ctx.check, knownEnd });
  const end = walk.end;
  const damaged = walk.damaged;
  const lostTail = knownEnd !== undefined && end < knownEnd ? { from: end, to: knownEnd } : undefined;

  const dispatchedEnd = consumeQueues.maxPhysicOffset();
  consumeQueues.truncateDirtyLogicFiles(end);
  index?.truncate(end, (phy) => storeTimeAt(commitLog, phy));
  commitLog.truncate(end, abnormal);
  if (walk.lastRecord >= 0) commitLog.lastStoreTimestamp = Math.max(commitLog.lastStoreTimestamp, storeTimeAt(commitLog, walk.lastRecord) ?? 0);

  // One list: damage a later walk finds (outside the checked range) is jumped over by the next.
  const trusted = { from: scanFrom, to: end, damaged };
  const repairedQueues = repairConsumeQueues({ commitLog, consumeQueues, check: ctx.check, delayLevelsMs: ctx.delayLevelsMs, end, trusted, found: damaged, expectedEnds: ctx.queueEnds ?? [] });
  const repairedIndexFiles = index === undefined ? [] : repairIndex({ commitLog, index, check: ctx.check, delayLevelsMs: ctx.delayLevelsMs, trusted, found: damaged });

  let reputFrom: number;
  if (abnormal) {
    reputFrom = Math.min(scanFrom, rebuildIndexFrom ?? Number.POSITIVE_INFINITY);
  } else {
    const cqEnd = consumeQueues.maxPhysicOffset();
    reputFrom = cqEnd >= 0 ? cqEnd : commitLog.minOffset();
  }
  // Whatever the index lacks after its last file (files dropped as damaged at load included).
  if (index !== undefined) {
    const last = index.lastIndexedPhyOffset;
    reputFrom = Math.min(reputFrom, last >= 0 ? last : commitLog.minOffset());
  }
  const redispatched = redispatch(commitLog, reputFrom, end, ctx.dispatchers, ctx.delayLevelsMs, ctx.check, trusted, damaged);
  checkpoint.confirmPhyOffset = end;
  const result: RecoveryResult = {
    abnormal,
    from: scanFrom,
    to: end,
    truncatedBytes: Math.max(0, dispatchedEnd - end),
    redispatched,
    damaged,
    lostTail,
    repairedQueues,
    repairedIndexFiles,
    droppedIndexFiles: index?.dropped ?? [],
  };
  reportDamage(result);
  return result;
}

/** Damage is an error: each range on the storeCorrupt channel and in the log, with the totals. */
function reportDamage(r: RecoveryResult): void {
  const ranges = r.lostTail === undefined ? r.damaged : [...r.damaged, r.lostTail];
  if (ranges.length === 0 && r.repairedQueues.length === 0 && r.repairedIndexFiles.length === 0 && r.droppedIndexFiles.length === 0) return;
  const ch = channel(CHANNELS.storeCorrupt);
  const bytes = damagedBytes(ranges);
  for (const d of r.damaged) {
    if (ch.hasSubscribers) ch.publish({ where: 'recovery', file: 'commitlog', from: d.from, to: d.to, bytes: d.to - d.from, kept: true });
  }
  if (r.lostTail !== undefined && ch.hasSubscribers) {
    ch.publish({ where: 'recovery', file: 'commitlog', from: r.lostTail.from, to: r.lostTail.to, bytes: r.lostTail.to - r.lostTail.from, kept: false });
  }
  for (const f of r.droppedIndexFiles) log('error', 'IndexFile damaged: dropped, its records are indexed again', { file: f.file, reason: f.reason });
  for (const g of r.repairedIndexFiles) log('error', 'IndexFiles rebuilt from the CommitLog', { fromOffset: g.from, toOffset: g.to, files: g.files });
  for (const q of r.repairedQueues) {
    log('error', 'ConsumeQueue files rebuilt from the CommitLog', { topic: q.topic, queueId: q.queueId, fromOffset: q.from, toOffset: q.to, units: q.units, cause: q.cause === 'tail' ? 'last files missing' : 'files missing or damaged' });
  }
  if (ranges.length > 0) {
    log('error', 'CommitLog damage found at recovery', {
      ranges: ranges.length,
      bytes,
      first: ranges[0],
      skipped: r.damaged.length,
      cutTail: r.lostTail !== undefined,
    });
  }
}
