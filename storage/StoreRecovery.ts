/**
 * Recovery of a store folder at open (ROCKETMQ.md 4.3, 4.4), run by the writer before anything
 * else touches the files.
 *
 * Normal (no abort file): scan the last three CommitLog files to the first invalid record, cut
 * there, and dispatch whatever the ConsumeQueues and the index do not have yet.
 *
 * Abnormal (abort file present):
 * 1. Delete the IndexFiles not known durable (end time after the checkpoint's indexMsgTimestamp);
 *    their records will be indexed again.
 * 2. Recover every ConsumeQueue to its first invalid unit.
 * 3. Start at the newest CommitLog file whose first record is valid and was stored before the
 *    checkpoint's minTimestamp (else the oldest file); check every record from there (magic,
 *    lengths, topic, body CRC, whole-record CRC when present) to the first invalid one: that is
 *    the new end of the log.
 * 4. Cut the CommitLog there (zeroing stale bytes after it), remove ConsumeQueue units and index
 *    entries pointing at or past it, and re-dispatch every record from the earliest point any
 *    derived structure may lack (dispatch is idempotent).
 */
import type { CommitLog } from './CommitLog.js';
import type { CommitLogDispatcher } from './CommitLogDispatcher.js';
import { emptyDispatchRequest } from './CommitLogDispatcher.js';
import type { ConsumeQueueStore } from './ConsumeQueueStore.js';
import type { IndexService } from './IndexService.js';
import type { MappedFile } from './MappedFile.js';
import { decodeDispatchRequest, readStoreTimestamp, RecordCheck, type RecordCheckOptions } from './MessageDecoder.js';
import { checkRecordInFile, emptyLocatedRecord, locateRecord, recordSizeAt } from './RecordAccess.js';
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
}

/** Walks valid records from file `startIndex`; returns the end of the last valid record. */
function scanValidEnd(commitLog: CommitLog, startIndex: number, check: RecordCheckOptions): { end: number; lastRecord: number } {
  const files = commitLog.queue.files;
  let lastRecord = -1;
  for (let i = 0; i < startIndex; i++) {
    const f = files[i];
    if (f !== undefined) f.wrotePosition = f.flushedPosition = f.fileSize;
  }
  let end = files[startIndex]?.fileFromOffset ?? commitLog.minOffset();
  for (let i = startIndex; i < files.length; i++) {
    const file = files[i];
    if (file === undefined) break;
    let pos = 0;
    for (;;) {
      const r = checkRecordInFile(file, pos, check);
      if (r > 0) {
        lastRecord = file.fileFromOffset + pos;
        pos += r;
        continue;
      }
      if (r === RecordCheck.END_OF_FILE) {
        file.wrotePosition = file.flushedPosition = file.fileSize;
        end = file.fileFromOffset + file.fileSize;
        break;
      }
      return { end: file.fileFromOffset + pos, lastRecord };
    }
  }
  return { end, lastRecord };
}

/** For abnormal recovery: the newest file whose first record is sound and old enough. */
function abnormalStartIndex(commitLog: CommitLog, minTimestamp: number, check: RecordCheckOptions): number {
  const files = commitLog.queue.files;
  for (let i = files.length - 1; i >= 0; i--) {
    const file = files[i];
    if (file === undefined) continue;
    if (checkRecordInFile(file, 0, check) <= 0) continue;
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

/** Dispatches every record in [from, to) to `dispatchers`; returns how many. */
export function redispatch(
  commitLog: CommitLog,
  from: number,
  to: number,
  dispatchers: readonly CommitLogDispatcher[],
  delayLevelsMs: readonly number[],
): number {
  const request = emptyDispatchRequest();
  const located = emptyLocatedRecord();
  let count = 0;
  let offset = Math.max(from, commitLog.minOffset());
  while (offset < to) {
    const file = commitLog.queue.findByOffset(offset);
    if (file === undefined) break;
    const pos = offset - file.fileFromOffset;
    const size = recordSizeAt(file, pos);
    if (size <= 0) {
      offset = file.fileFromOffset + file.fileSize;
      continue;
    }
    locateRecord(file, pos, size, located);
    decodeDispatchRequest(located.bytes, located.offset, delayLevelsMs, request, located.view);
    for (const d of dispatchers) d.dispatch(request);
    offset += size;
    count++;
  }
  return count;
}

export function recoverStore(ctx: RecoveryContext, abnormal: boolean): RecoveryResult {
  const { commitLog, consumeQueues, index, checkpoint } = ctx;
  const rebuildIndexFrom = abnormal ? index?.deleteFilesAfter(checkpoint.indexMsgTimestamp) : undefined;
  consumeQueues.recover();
  const files = commitLog.queue.files;
  const startIndex = abnormal ? abnormalStartIndex(commitLog, checkpoint.minTimestamp(), ctx.check) : Math.max(0, files.length - 3);
  const scanFrom = files[startIndex]?.fileFromOffset ?? commitLog.minOffset();
  const { end, lastRecord } = scanValidEnd(commitLog, startIndex, ctx.check);

  const dispatchedEnd = consumeQueues.maxPhysicOffset();
  consumeQueues.truncateDirtyLogicFiles(end);
  index?.truncate(end, (phy) => storeTimeAt(commitLog, phy));
  commitLog.truncate(end, abnormal);
  if (lastRecord >= 0) commitLog.lastStoreTimestamp = Math.max(commitLog.lastStoreTimestamp, storeTimeAt(commitLog, lastRecord) ?? 0);

  let reputFrom: number;
  if (abnormal) {
    reputFrom = Math.min(scanFrom, rebuildIndexFrom ?? Number.POSITIVE_INFINITY);
  } else {
    const cqEnd = consumeQueues.maxPhysicOffset();
    reputFrom = cqEnd >= 0 ? cqEnd : commitLog.minOffset();
    if (index !== undefined) {
      const last = index.lastIndexedPhyOffset;
      reputFrom = Math.min(reputFrom, last >= 0 ? last : commitLog.minOffset());
    }
  }
  const redispatched = redispatch(commitLog, reputFrom, end, ctx.dispatchers, ctx.delayLevelsMs);
  checkpoint.confirmPhyOffset = end;
  return { abnormal, from: scanFrom, to: end, truncatedBytes: Math.max(0, dispatchedEnd - end), redispatched };
}
