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

/** RocketMQ's default messageDelayLevel, level 1 first. */
export const DEFAULT_DELAY_LEVELS = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a messageDelayLevel string into milliseconds per level (index 0 = level 1). RocketMQ's
 * units are s, m, h and d; ms is accepted too, for short delays in tests.
 */
export function parseDelayLevels(text: string): number[] | undefined {
  const out: number[] = [];
  for (const part of text.trim().split(/\s+/)) {
    const m = /^(\d+)(ms|[smhd])$/.exec(part);
    const unit = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
    if (m === null || unit === undefined) return undefined;
    out.push(Number(m[1]) * unit);
  }
  return out.length > 0 ? out : undefined;
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
