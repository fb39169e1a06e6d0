/**
 * One pull as the DispatcherActor serves it: the subscription's filter turned into the storage
 * filter (stage one on the ConsumeQueue, stage two on the record's properties, ROCKETMQ.md 2.5
 * and 8), run through getMessage, with the counters that show what the filter saved.
 *
 * Tags are matched on hash codes only, as RocketMQ's broker does; the consumer re-checks the
 * strings. SQL92 is evaluated exactly on the record's properties; when the group's expression is
 * registered for bloom bits (ConsumerFilters), stage one first skips the messages whose bitmap
 * lacks one of the group's bits, without reading them.
 */
import { createMessageFilter, type MessageFilter } from '../filter/MessageFilter.js';
import { getMessage, type GetMessageContext } from '../storage/GetMessage.js';
import type { MessageFilter as StoreFilter } from '../storage/MessageFilter.js';
import { log } from '../common/diagnostics.js';
import { GetMessageStatus, type GetMessageResult, type GetMessageStatus as StoreGetMessageStatus } from '../storage/StoreResults.js';
import type { GetMessageStatus as ApiGetMessageStatus, PullRequest } from '../api/BrokerApi.js';
import type { ConsumerFilters } from './ConsumerFilters.js';

/** What one pull did. */
export interface PullStats {
  /** ConsumeQueue units walked. */
  readonly unitsScanned: number;
  /** Records read from the CommitLog, to evaluate a filter or to deliver them. */
  readonly commitLogReads: number;
  /** Units skipped on their bloom bits, without a CommitLog read. */
  readonly bloomSkipped: number;
  /** Messages returned. */
  readonly delivered: number;
  /** Units skipped because their record is damaged (never served). */
  readonly corruptSkipped: number;
}

/** What a store pull needs of a PullRequest. */
export type FilteredPullRequest = Pick<PullRequest, 'group' | 'topic' | 'queueId' | 'offset' | 'maxMsgNums' | 'filter'>;

export interface FilteredPullOptions {
  /** The broker's enablePropertyFilter: SQL92 is refused (ERR_FILTER_NOT_SUPPORTED) without it. */
  readonly enablePropertyFilter: boolean;
  /** The registered SQL92 filters, when the bloom path is on. */
  readonly filters: ConsumerFilters | undefined;
}

/** Statuses after which nextBeginOffset - offset is the number of units walked. */
const WALKED: ReadonlySet<string> = new Set([
  GetMessageStatus.FOUND,
  GetMessageStatus.NO_MATCHED_MESSAGE,
  GetMessageStatus.MESSAGE_WAS_REMOVING,
  GetMessageStatus.OFFSET_FOUND_NULL,
]);

/**
 * The answer a client gets for each status the store can produce (RocketMQ's PullMessageProcessor
 * does the same mapping): the client API knows only the statuses on the right. A removed
 * CommitLog file (MESSAGE_WAS_REMOVING, RocketMQ's PULL_RETRY_IMMEDIATELY) and a missing
 * ConsumeQueue stretch (OFFSET_FOUND_NULL, whose nextBeginOffset is the next stored unit) both
 * tell the reader "nothing for you here, go on at nextBeginOffset": NO_MATCHED_MESSAGE. The Record
 * type makes a new store status fail to compile until it is mapped here.
 */
export const PULL_STATUS_OF: Readonly<Record<StoreGetMessageStatus, ApiGetMessageStatus>> = {
  FOUND: 'FOUND',
  NO_MATCHED_MESSAGE: 'NO_MATCHED_MESSAGE',
  MESSAGE_WAS_REMOVING: 'NO_MATCHED_MESSAGE',
  OFFSET_FOUND_NULL: 'NO_MATCHED_MESSAGE',
  OFFSET_OVERFLOW_BADLY: 'OFFSET_OVERFLOW_BADLY',
  OFFSET_OVERFLOW_ONE: 'OFFSET_OVERFLOW_ONE',
  OFFSET_TOO_SMALL: 'OFFSET_TOO_SMALL',
  NO_MATCHED_LOGIC_QUEUE: 'NO_MATCHED_LOGIC_QUEUE',
  NO_MESSAGE_IN_QUEUE: 'NO_MESSAGE_IN_QUEUE',
};

/** A store result as a pull answers it: its status mapped to one a client knows. */
export type PullAnswer = Omit<GetMessageResult, 'status'> & { readonly status: ApiGetMessageStatus };

export function filteredPull(ctx: GetMessageContext, req: FilteredPullRequest, options: FilteredPullOptions): { result: PullAnswer; stats: PullStats } {
  let commitLogReads = 0;
  let bloomSkipped = 0;
  const commitLog = ctx.commitLog;
  const counted: GetMessageContext = {
    ...ctx,
    commitLog: {
      fileSize: commitLog.fileSize,
      maxOffset: () => commitLog.maxOffset(),
      getData: (offset, size) => {
        commitLogReads++;
        return commitLog.getData(offset, size);
      },
    },
  };
  const filter = storeFilterOf(req, options, () => {
    bloomSkipped++;
  });
  const result = getMessage(counted, {
    group: req.group,
    topic: req.topic,
    queueId: req.queueId,
    offset: req.offset,
    maxMsgNums: req.maxMsgNums,
    ...(filter === undefined ? {} : { filter }),
  });
  const unitsScanned = WALKED.has(result.status) ? Math.max(0, result.nextBeginOffset - req.offset) : 0;
  const corrupt = result.corrupt;
  if (corrupt.length > 0) {
    // On the dispatcher's thread only the log channel reaches the main thread's log.
    log('error', 'a pull skipped damaged CommitLog records', {
      topic: req.topic,
      queueId: req.queueId,
      records: corrupt.length,
      first: corrupt[0],
    });
  }
  return {
    result: { ...result, status: PULL_STATUS_OF[result.status] },
    stats: { unitsScanned, commitLogReads, bloomSkipped, delivered: result.messages.length, corruptSkipped: corrupt.length },
  };
}

function storeFilterOf(req: FilteredPullRequest, options: FilteredPullOptions, onBloomSkip: () => void): StoreFilter | undefined {
  const spec = req.filter;
  if (spec === undefined) return undefined;
  let f: MessageFilter | undefined;
  if (spec.type === 'SQL92' && options.enablePropertyFilter) f = options.filters?.registeredFilter(req.group, req.topic, spec.expression);
  f ??= createMessageFilter(spec, { enablePropertyFilter: options.enablePropertyFilter });
  const filter = f;
  if (filter.type === 'TAG') return { matchesTagsCode: (code) => filter.matchesConsumeQueue(code) };
  if (filter.bitPositions === undefined) {
    return { readsConsumeQueue: false, matchesTagsCode: () => true, matchesRecord: (props) => filter.matchesProperties(props) };
  }
  return {
    matchesTagsCode: (_code, ext) => {
      if (filter.matchesConsumeQueue(undefined, ext?.filterBitMap, ext?.msgStoreTime)) return true;
      onBloomSkip();
      return false;
    },
    matchesRecord: (props) => filter.matchesProperties(props),
  };
}
