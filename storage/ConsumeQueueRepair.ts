/**
 * Rebuilding ConsumeQueue files from the CommitLog at open: a file missing between the first and
 * the last of a queue (deleted by hand, lost), or one holding units that cannot be right (zeroed,
 * out of CommitLog order, pointing past the log's end), would otherwise leave its queue offsets
 * unreadable for good (a pull there finds nothing and its consumers stop).
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

/** One range of a queue rebuilt: queue offsets [from, to) and how many units records gave it. */
export interface RepairedQueue {
  readonly topic: string;
  readonly queueId: number;
  readonly from: number;
  readonly to: number;
  /** Units written from CommitLog records (the rest of the range became pre-blank units). */
  readonly units: number;
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
}

interface Job {
  readonly cq: ConsumeQueue;
  readonly damage: CqDamage;
  units: number;
}

function keyOf(topic: string, queueId: number): string {
  return `${queueId}\u0000${topic}`;
}

export function repairConsumeQueues(ctx: RepairContext): RepairedQueue[] {
  const jobs = new Map<string, Job[]>();
  let phyFrom = Number.POSITIVE_INFINITY;
  let phyTo = -1;
  for (const cq of ctx.consumeQueues.queues()) {
    for (const damage of cq.inspect(ctx.end)) {
      const key = keyOf(cq.topic, cq.queueId);
      let list = jobs.get(key);
      if (list === undefined) jobs.set(key, (list = []));
      list.push({ cq, damage, units: 0 });
      phyFrom = Math.min(phyFrom, Math.max(damage.phyFrom, 0));
      phyTo = Math.max(phyTo, damage.phyTo);
    }
  }
  if (jobs.size === 0) return [];
  for (const list of jobs.values()) for (const job of list) job.cq.beginRebuild(job.damage);

  const request = emptyDispatchRequest();
  const located = emptyLocatedRecord();
  const start = Math.max(phyFrom, ctx.commitLog.minOffset());
  if (start < phyTo) {
    walkRecords(ctx.commitLog.queue, start, {
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
      });
    }
  }
  return out;
}
