/**
 * The narrow interface through which derived data (ConsumeQueue units, IndexFile entries, and
 * later SQL92 bloom bitmaps) is built from CommitLog records, like RocketMQ's
 * CommitLogDispatcher. Whoever tails the CommitLog (the MessageStore in one thread, the
 * dispatcher actor later) decodes each record cheaply into a DispatchRequest and hands it to
 * every dispatcher in order. Dispatchers must be idempotent: recovery re-dispatches records that
 * may already be there.
 */
import { javaHash } from '../common/javaHash.js';
import { SCHEDULE_TOPIC } from './SystemTopics.js';

/**
 * What a dispatcher learns about one record. The producer of requests may reuse one object for
 * every record: a dispatcher must copy what it keeps. Plain data, so it can cross threads.
 */
export interface DispatchRequest {
  topic: string;
  queueId: number;
  commitLogOffset: number;
  msgSize: number;
  /** Java hash of TAGS (0 without tags); the delivery time for SCHEDULE_TOPIC_XXXX. */
  tagsCode: number;
  storeTimestamp: number;
  queueOffset: number;
  /** The KEYS property, keys separated by spaces; '' when absent. */
  keys: string;
  /** The UNIQ_KEY property; '' when absent. */
  uniqKey: string;
  sysFlag: number;
  bornTimestamp: number;
  /**
   * The SQL92 bloom bitmap of the record (ROCKETMQ.md 8.3), set by a dispatcher that runs before
   * the ConsumeQueue one (RocketMQ's CalcBitMap), which must set or clear it for every record;
   * the ConsumeQueue stores it in the record's extension unit.
   */
  filterBitmap?: Uint8Array | undefined;
}

export interface CommitLogDispatcher {
  dispatch(request: DispatchRequest): void;
}

export function emptyDispatchRequest(): DispatchRequest {
  return {
    topic: '',
    queueId: 0,
    commitLogOffset: 0,
    msgSize: 0,
    tagsCode: 0,
    storeTimestamp: 0,
    queueOffset: 0,
    keys: '',
    uniqKey: '',
    sysFlag: 0,
    bornTimestamp: 0,
  };
}

/** The ConsumeQueue tag code of a record (ROCKETMQ.md 2.2). */
export function tagsCodeOf(
  topic: string,
  tags: string | undefined,
  delayLevel: string | undefined,
  storeTimestamp: number,
  delayLevelsMs: readonly number[],
): number {
  if (topic === SCHEDULE_TOPIC && delayLevel !== undefined) {
    // As ScheduleMessageService.computeDeliverTimestamp: an unknown level waits one second.
    const delay = delayLevelsMs[Number.parseInt(delayLevel, 10) - 1];
    return storeTimestamp + (delay ?? 1000);
  }
  return tags ? javaHash(tags) : 0;
}
