/**
 * Indexing again, at open, the CommitLog records no IndexFile covers though files on both sides
 * do: a file deleted by hand, or dropped by IndexService.load as damaged (wrong size, a header
 * that contradicts itself). Without this, key and id look-ups of those records would find
 * nothing for good, since dispatch only indexes records after the last file's end.
 *
 * Each gap (IndexService.gaps) is walked with RecordScan.walkRecords, so damage in the log is
 * stepped over, and its records go into new files placed where the gap is. Missing files after
 * the last one need nothing here: recovery dispatches from the last indexed offset.
 *
 * Runs inside recovery, on the thread that owns the files, after the CommitLog's end is known.
 */
import type { CommitLog } from './CommitLog.js';
import { emptyDispatchRequest, type DispatchRequest } from './CommitLogDispatcher.js';
import type { IndexService } from './IndexService.js';
import { decodeDispatchRequest, type RecordCheckOptions } from './MessageDecoder.js';
import { emptyLocatedRecord, locateRecord, recordSizeAt } from './RecordAccess.js';
import { walkRecords, type DamagedRange } from './RecordScan.js';

/** One stretch of the CommitLog indexed again: [from, to), into `files` new IndexFiles. */
export interface RepairedIndexRange {
  readonly from: number;
  readonly to: number;
  readonly files: number;
}

export interface IndexRepairContext {
  readonly commitLog: CommitLog;
  readonly index: IndexService;
  readonly check: RecordCheckOptions;
  readonly delayLevelsMs: readonly number[];
  /** What recovery's walk already checked. */
  readonly trusted: { readonly from: number; readonly to: number; readonly damaged: readonly DamagedRange[] };
  /** Damage a gap's walk finds outside the trusted range is added here. */
  readonly found: DamagedRange[];
}

export function repairIndex(ctx: IndexRepairContext): RepairedIndexRange[] {
  const { commitLog, index } = ctx;
  const nextRecord = (phy: number): number => {
    const file = commitLog.queue.findByOffset(phy);
    if (file === undefined) return phy + 1;
    const pos = phy - file.fileFromOffset;
    const size = pos + 8 <= file.fileSize ? recordSizeAt(file, pos) : 0;
    // a size that makes no sense: the walk from the next byte finds the next record
    return size > 0 && pos + size <= file.fileSize ? phy + size : phy + 1;
  };
  const out: RepairedIndexRange[] = [];
  const tried = new Set<number>();
  // Filling a gap inserts files, so gaps are found again after each one; a stretch of records
  // with no keys stays a "gap" that indexes nothing, walked once.
  for (;;) {
    const gap = index.gaps(commitLog.minOffset(), nextRecord).find((g) => !tried.has(g.from));
    if (gap === undefined) return out;
    tried.add(gap.from);
    const request: DispatchRequest = emptyDispatchRequest();
    const located = emptyLocatedRecord();
    const files = index.fillGap(gap, (onRecord) => {
      const walk = walkRecords(commitLog.queue, gap.from, {
        check: ctx.check,
        to: gap.to,
        trusted: ctx.trusted,
        onRecord(file, pos, size) {
          locateRecord(file, pos, size, located);
          onRecord(decodeDispatchRequest(located.bytes, located.offset, ctx.delayLevelsMs, request, located.view));
        },
      });
      for (const d of walk.damaged) if (!ctx.found.some((f) => f.from === d.from)) ctx.found.push(d);
    });
    if (files > 0) out.push({ from: gap.from, to: gap.to, files });
  }
}
