/**
 * Rebuilding ConsumeQueue files from the CommitLog at open: a file missing between the first and
 * the last of a queue (deleted by hand, lost), or one holding units that cannot be right (zeroed,
 * out of CommitLog order, pointing past the log's end), would otherwise leave its queue offsets
 * unreadable for good (a pull there finds nothing and its consumers stop). So would the last files
 * of a queue (or its whole folder) being gone, which the units cannot show: the queue's end at the
 * last close (ConsumeQueueEnds.ts) does, and the files up to it are rebuilt the same way.
 *
 * For each such range of files, ConsumeQueue.inspect gives the CommitLog span its records lie in
 * (between the sound units on either side); one walk over the union of those spans (RecordScan.ts,
 * so damage in the log is skipped too) writes each record of the queue whose queue offset falls in
 * the range back in place. Queue offsets no record claims (a damaged record, a prepared
 * transaction) become pre-blank units, which a pull steps over.
 *
 * Rebuilt units hold the plain tag code, not a ConsumeQueueExt address: a filter then has no bloom
 * bits for them and evaluates those messages exactly, which is never wrong.
 *
 * Runs inside recovery, on the thread that owns the files, before any dispatch.
 */
import type { CommitLog } from './CommitLog.js';
import { emptyDispatchRequest } from './CommitLogDispatcher.js';
import { CQ_STORE_UNIT_SIZE, type ConsumeQueue, type CqDamage } from './ConsumeQueue.js';
import type { ConsumeQueueStore } from './ConsumeQueueStore.js';
import { decodeDispatchRequest, type RecordCheckOptions } from './MessageDecoder.js';
import { emptyLocatedRecord, locateRecord } from './RecordAccess.js';
import { SysFlag, transactionType } from './RecordLayout.js';
import { walkRecords, type DamagedRange } from './RecordScan.js';
import type { QueueEnd } from './ConsumeQueueEnds.js';

/** One range of a queue rebuilt: queue offsets [from, to) and how many units records gave it. */
export interface RepairedQueue {
  readonly topic: string;
  readonly queueId: number;
  readonly from: number;
  readonly to: number;
  /** Units written from CommitLog records (the rest of the range became pre-blank units). */
  readonly units: number;
  /** What was wrong: files missing or holding bad units between sound ones, or the queue's last files gone. */
  readonly cause: 'middle' | 'tail';
}

export interface RepairContext {
  readonly commitLog: CommitLog;
  readonly consumeQueues: ConsumeQueueStore;
  readonly check: RecordCheckOptions;
  readonly delayLevelsMs: readonly number[];
  /** The CommitLog's end after recovery's walk. */
  readonly end: number;
  /** What recovery's walk already checked, so the rebuild walk does not check it again. */
  readonly trusted: { readonly from: number; readonly to: number; readonly damaged: readonly DamagedRange[] };
  /** Each queue's end when the store was last closed (ConsumeQueueEnds.ts): a queue now shorter lost its last files. */
  readonly expectedEnds?: readonly QueueEnd[];
  /** Damage the rebuild's walk finds outside the trusted range is added here. */
  readonly found?: DamagedRange[];
}

interface Job {
  readonly cq: ConsumeQueue;
  damage: CqDamage;
  cause: 'middle' | 'tail';
  units: number;
}

function keyOf(topic: string, queueId: number): string {
  return `${queueId}\u0000${topic}`;
}

export function repairConsumeQueues(ctx: RepairContext): RepairedQueue[] {
  const jobs = new Map<string, Job[]>();
  let phyFrom = Number.POSITIVE_INFINITY;
  let phyTo = -1;
  const add = (cq: ConsumeQueue, damage: CqDamage, cause: Job['cause']): void => {
    const key = keyOf(cq.topic, cq.queueId);
    let list = jobs.get(key);
    if (list === undefined) jobs.set(key, (list = []));
    const last = list[list.length - 1];
    if (last !== undefined && cause === 'tail' && last.damage.to >= damage.from) {
      // bad files reaching the end, and files gone after them: one range
      last.damage = { from: last.damage.from, to: Math.max(last.damage.to, damage.to), phyFrom: last.damage.phyFrom, phyTo: Math.max(last.damage.phyTo, damage.phyTo) };
      last.cause = 'tail';
    } else {
      list.push({ cq, damage, cause, units: 0 });
    }
    phyFrom = Math.min(phyFrom, Math.max(damage.phyFrom, 0));
    phyTo = Math.max(phyTo, damage.phyTo);
  };
  // Queues whose folder is gone altogether are made first, so that the loop below sees them.
  const ends = new Map<string, QueueEnd>();
  for (const e of ctx.expectedEnds ?? []) {
    ends.set(keyOf(e.topic, e.queueId), e);
    ctx.consumeQueues.findOrCreate(e.topic, e.queueId);
  }
  for (const cq of [...ctx.consumeQueues.queues()]) {
    for (const damage of cq.inspect(ctx.end)) add(cq, damage, 'middle');
    const expected = ends.get(keyOf(cq.topic, cq.queueId));
    const tail = expected === undefined ? undefined : cq.tailDamage(expected, ctx.end);
    if (tail !== undefined) add(cq, tail, 'tail');
  }
  if (jobs.size === 0) return [];
  for (const list of jobs.values()) for (const job of list) job.cq.beginRebuild(job.damage);

  const request = emptyDispatchRequest();
  const located = emptyLocatedRecord();
  const start = Math.max(phyFrom, ctx.commitLog.minOffset());
  if (start < phyTo) {
    const walk = walkRecords(ctx.commitLog.queue, start, {
      check: ctx.check,
      to: Math.min(phyTo, ctx.end),
      trusted: ctx.trusted,
      onRecord(file, pos, size) {
        locateRecord(file, pos, size, located);
        decodeDispatchRequest(located.bytes, located.offset, ctx.delayLevelsMs, request, located.view);
        const list = jobs.get(keyOf(request.topic, request.queueId));
        if (list === undefined) return;
        const tx = transactionType(request.sysFlag);
        if (tx === SysFlag.TRANSACTION_PREPARED_TYPE || tx === SysFlag.TRANSACTION_ROLLBACK_TYPE) return;
        const logical = request.queueOffset * CQ_STORE_UNIT_SIZE;
        for (const job of list) {
          const d = job.damage;
          if (logical < d.from || logical >= d.to || request.commitLogOffset < d.phyFrom || request.commitLogOffset >= d.phyTo) continue;
          job.cq.putRebuiltUnit(request.queueOffset, request.commitLogOffset, request.msgSize, request.tagsCode);
          job.units++;
        }
      },
    });
    ctx.found?.push(...walk.damaged);
  }
  const out: RepairedQueue[] = [];
  for (const list of jobs.values()) {
    for (const job of list) {
      job.cq.endRebuild(job.damage);
      out.push({
        topic: job.cq.topic,
        queueId: job.cq.queueId,
        from: job.damage.from / CQ_STORE_UNIT_SIZE,
        to: job.damage.to / CQ_STORE_UNIT_SIZE,
        units: job.units,
        cause: job.cause,
      });
    }
  }
  return out;
}
