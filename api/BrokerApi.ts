/**
 * The broker's request surface: what embedded clients (Producer, consumers, admin) and the
 * network endpoint call. The broker on the main thread implements it directly; a thread that
 * holds a BrokerHandle reaches the same surface through the actor bridge. Every type here is
 * structured-cloneable so requests and replies cross threads unchanged.
 *
 * Data-path outcomes are status values with RocketMQ's names; exceptions are for bad input
 * (PetrelError with a code), shutdown and programmer errors.
 */
import { GetMessageStatus as StoreGetMessageStatus } from '../storage/StoreResults.js';

/** A message as a producer hands it over. Body bytes are copied at send. */
export interface Message {
  readonly topic: string;
  readonly body: Uint8Array;
  /** One tag (RocketMQ TAGS); hashed into the ConsumeQueue. */
  readonly tags?: string;
  /** Business keys; each is indexed (RocketMQ KEYS, space-joined on disk). */
  readonly keys?: string | readonly string[];
  /** User properties; names RocketMQ reserves are refused. */
  readonly properties?: Readonly<Record<string, string>>;
  /** RocketMQ FLAG: an opaque user integer. */
  readonly flag?: number;
  /** Delay level 1..18 (RocketMQ DELAY): delivered after messageDelayLevel[level-1]. */
  readonly delayLevel?: number;
  /** false skips the flush/replication wait (RocketMQ WAIT=false). Default true. */
  readonly waitStoreMsgOK?: boolean;
  /**
   * The client's message id (RocketMQ UNIQ_KEY), kept across retries so duplicates can be told
   * apart. 1-128 characters of letters, digits, '-' and '_'. The broker makes one when absent.
   */
  readonly uniqKey?: string;
}

/** A stored message as a consumer receives it. */
export interface MessageExt {
  readonly topic: string;
  /** From a pull: a view of the buffer the pull's records arrived in (copy it to keep it apart). */
  readonly body: Uint8Array;
  readonly tags: string | undefined;
  readonly keys: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
  readonly flag: number;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly storeSize: number;
  readonly sysFlag: number;
  readonly bornTimestamp: number;
  readonly storeTimestamp: number;
  readonly reconsumeTimes: number;
  /** The producer's unique id (UNIQ_KEY): SendResult.msgId. */
  readonly msgId: string;
  /** Store host + physical offset: SendResult.offsetMsgId. */
  readonly offsetMsgId: string;
  readonly brokerName: string;
}

export const SendStatus = {
  SEND_OK: 'SEND_OK',
  FLUSH_DISK_TIMEOUT: 'FLUSH_DISK_TIMEOUT',
  FLUSH_SLAVE_TIMEOUT: 'FLUSH_SLAVE_TIMEOUT',
  SLAVE_NOT_AVAILABLE: 'SLAVE_NOT_AVAILABLE',
} as const;
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus];

export interface MessageQueue {
  readonly topic: string;
  readonly brokerName: string;
  readonly queueId: number;
}

export interface SendResult {
  readonly sendStatus: SendStatus;
  readonly msgId: string;
  readonly offsetMsgId: string;
  readonly messageQueue: MessageQueue;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly storeTimestamp: number;
}

/** RocketMQ perm bits. */
export const Perm = { READ: 4, WRITE: 2, INHERIT: 1 } as const;

/** RocketMQ's PermName.isReadable: the queues may be consumed. */
export function isReadable(perm: number): boolean {
  return (perm & Perm.READ) === Perm.READ;
}

/** RocketMQ's PermName.isWriteable: the queues may be sent to. */
export function isWriteable(perm: number): boolean {
  return (perm & Perm.WRITE) === Perm.WRITE;
}

/**
 * A route's queues, broker group by broker group in route order: the read queues of every readable
 * group, or the write queues of every writable one (`accept` may leave out more, e.g. a group
 * without a master).
 */
export function queuesOf(route: TopicRoute, use: 'read' | 'write', accept: (broker: TopicRoute['brokers'][number]) => boolean = () => true): MessageQueue[] {
  const queues: MessageQueue[] = [];
  for (const b of route.brokers) {
    if (!(use === 'read' ? isReadable(b.perm) : isWriteable(b.perm)) || !accept(b)) continue;
    const n = use === 'read' ? b.readQueueNums : b.writeQueueNums;
    for (let q = 0; q < n; q++) queues.push({ topic: route.topic, brokerName: b.brokerName, queueId: q });
  }
  return queues;
}

export interface TopicConfig {
  readonly topic: string;
  readonly readQueueNums: number;
  readonly writeQueueNums: number;
  /** Perm bits; 6 = read and write. */
  readonly perm: number;
  readonly order: boolean;
}

export interface TopicRoute {
  readonly topic: string;
  readonly brokers: readonly {
    readonly brokerName: string;
    /** brokerId -> address; 0 is the master. Empty for an embedded broker. */
    readonly addrs: Readonly<Record<number, string>>;
    readonly readQueueNums: number;
    readonly writeQueueNums: number;
    readonly perm: number;
  }[];
}

/**
 * The statuses a pull answers: the store's (storage/StoreResults.ts, RocketMQ's GetMessageStatus)
 * less the two a pull reports as NO_MATCHED_MESSAGE (actors/FilteredPull.ts PULL_STATUS_OF), so
 * there is one declaration of the names.
 */
const { MESSAGE_WAS_REMOVING: _removing, OFFSET_FOUND_NULL: _foundNull, ...pullStatuses } = StoreGetMessageStatus;
export const GetMessageStatus = pullStatuses;
export type GetMessageStatus = (typeof GetMessageStatus)[keyof typeof GetMessageStatus];

/** A subscription's filter as it travels: tag expression ("*", "TagA || TagB") or SQL92. */
export type FilterSpec =
  | { readonly type: 'TAG'; readonly expression: string }
  | { readonly type: 'SQL92'; readonly expression: string };

export interface PullRequest {
  readonly group: string;
  readonly topic: string;
  readonly queueId: number;
  readonly offset: number;
  readonly maxMsgNums: number;
  readonly filter?: FilterSpec;
  /** Hold the request up to this long when nothing is there yet (long polling). 0 = answer now. */
  readonly longPollMs?: number;
  /**
   * The reset epoch the consumer holds for this queue (0 before it has seen any reset). When the
   * group's offset of the queue was reset at a later epoch, the pull is answered at once (a held
   * one as soon as the reset happens) with `offsetReset` and no messages. Absent: no such check.
   */
  readonly resetEpoch?: number;
}

/**
 * In a pull reply: the group's offset of the queue was reset since the epoch the pull carried.
 * The consumer drops what it pulled before, continues from `offset` (the group's committed offset
 * now) and commits with `epoch` from here on.
 */
export interface OffsetResetNotice {
  readonly epoch: number;
  readonly offset: number;
}

export interface PullResult {
  readonly status: GetMessageStatus;
  readonly messages: readonly MessageExt[];
  readonly nextBeginOffset: number;
  readonly minOffset: number;
  readonly maxOffset: number;
  /**
   * Set by the broker that served the pull when what remains to be read of its CommitLog after
   * this pull exceeds its hot share (accessMessageInMemoryMaxRatio of RAM): the reader is far
   * behind and a slave of the group should serve it (RocketMQ's suggestPullingFromSlave).
   */
  readonly suggestPullingFromSlave?: boolean;
  /** Set (with status OFFSET_OVERFLOW_ONE, no messages) when the pull's resetEpoch is stale. */
  readonly offsetReset?: OffsetResetNotice;
}

export const MessageModel = { CLUSTERING: 'CLUSTERING', BROADCASTING: 'BROADCASTING' } as const;
export type MessageModel = (typeof MessageModel)[keyof typeof MessageModel];

/** Where a group starts on a queue it has no committed offset for (RocketMQ's ConsumeFromWhere). */
export type ConsumeFromWhere = 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP';

export interface ConsumerRegistration {
  readonly group: string;
  readonly clientId: string;
  readonly messageModel: MessageModel;
  readonly subscriptions: readonly { readonly topic: string; readonly filter: FilterSpec }[];
  /**
   * Where the consumer starts on a queue without a committed offset; the broker counts such a
   * queue's lag from there. Absent: from the queue's min offset (as gRPC consumers start).
   */
  readonly consumeFromWhere?: ConsumeFromWhere;
  /** With CONSUME_FROM_TIMESTAMP: the store time to start at, ms since the epoch. */
  readonly consumeTimestamp?: number;
}

export interface QueueLag {
  readonly topic: string;
  readonly queueId: number;
  readonly brokerOffset: number;
  /** -1 when the group committed nothing on the queue: its lag then counts from where it would start. */
  readonly consumerOffset: number;
  readonly lag: number;
}

export interface ConsumerProgress {
  readonly group: string;
  readonly queues: readonly QueueLag[];
  readonly totalLag: number;
}

/**
 * A consumer group's settings on the broker (RocketMQ's SubscriptionGroupConfig, kept in
 * config/subscriptionGroup.json), with RocketMQ's names and defaults. A group without an entry
 * behaves as one with every default.
 */
export interface SubscriptionGroupConfig {
  readonly groupName: string;
  /** false refuses the group's pulls (ERR_NO_PERMISSION). Default true. */
  readonly consumeEnable: boolean;
  /** A new group starts at the queue's min offset (RocketMQ's consumeFromMinEnable). Default true. */
  readonly consumeFromMinEnable: boolean;
  readonly consumeBroadcastEnable: boolean;
  /** FIFO: the gRPC endpoint delivers each queue in order, one batch in flight. Default false. */
  readonly consumeMessageOrderly: boolean;
  readonly retryQueueNums: number;
  /** Retries before the DLQ; gRPC max delivery attempts are retryMaxTimes + 1. Default 16. */
  readonly retryMaxTimes: number;
  readonly brokerId: number;
  readonly whichBrokerWhenConsumeSlowly: number;
  readonly notifyConsumerIdsChangedEnable: boolean;
  readonly consumeTimeoutMinute: number;
}

/** What a create or update names: the group and any settings to change. */
export type SubscriptionGroupInput = { readonly groupName: string } & Partial<Omit<SubscriptionGroupConfig, 'groupName'>>;

/** The whole table and its version (bumped on every change; a slave's counts its own changes). */
export interface SubscriptionGroupTable {
  readonly version: number;
  readonly groups: readonly SubscriptionGroupConfig[];
}

/** One committed offset of the offset table. */
export interface CommittedOffset {
  readonly group: string;
  readonly topic: string;
  readonly queueId: number;
  readonly offset: number;
}

/** Where an offset reset moves a group's offset on each queue it covers. */
export type OffsetResetTarget =
  | { readonly type: 'LATEST' }
  | { readonly type: 'EARLIEST' }
  /** The first message stored at or after this time (ms since the epoch). */
  | { readonly type: 'TIMESTAMP'; readonly timestampMs: number }
  /** This queue offset, kept within the queue's [min, max] offsets. */
  | { readonly type: 'OFFSET'; readonly offset: number };

export interface OffsetResetRequest {
  readonly group: string;
  readonly topic: string;
  readonly target: OffsetResetTarget;
  /** Only this queue; every read queue of the topic when absent. */
  readonly queueId?: number;
  /**
   * A group the broker does not know (no subscription group entry, no committed offset, no live
   * consumer): 'refuse' it with ERR_GROUP_NOT_EXIST (the default), 'create' its subscription group
   * entry (every setting at its default) and reset, or just 'reset'.
   */
  readonly ifGroupUnknown?: 'refuse' | 'create' | 'reset';
}

/** One queue moved by a reset. */
export interface QueueReset {
  readonly brokerName: string;
  readonly queueId: number;
  /** -1 when the group had no committed offset there. */
  readonly oldOffset: number;
  readonly newOffset: number;
}

export interface OffsetResetResult {
  readonly group: string;
  readonly topic: string;
  /** The reset's epoch (per broker; on a cluster, the largest of its groups'). */
  readonly epoch: number;
  /** True when the reset created the group's subscription group entry. */
  readonly groupCreated: boolean;
  readonly queues: readonly QueueReset[];
}

/** The resets a group had on a topic's queues: each reset queue's epoch and committed offset now. */
export interface OffsetResetState {
  /** The largest epoch among the queues; 0 when none was ever reset. */
  readonly epoch: number;
  readonly queues: readonly { readonly queueId: number; readonly epoch: number; readonly offset: number }[];
}

/** Delayed delivery's progress in one level's queue of SCHEDULE_TOPIC_XXXX (level 1 is queue 0). */
export interface DelayOffset {
  readonly level: number;
  readonly offset: number;
}

/** The surface itself. */
export interface BrokerApi {
  readonly brokerName: string;
  send(messages: readonly Message[], queueId?: number): Promise<SendResult[]>;
  /** Fire and forget: returns once the message is handed to the writer. */
  sendOneway(message: Message, queueId?: number): void;
  pull(request: PullRequest): Promise<PullResult>;
  createTopic(config: { topic: string; readQueueNums?: number; writeQueueNums?: number; perm?: number; order?: boolean }): Promise<TopicConfig>;
  getTopic(topic: string): Promise<TopicConfig | undefined>;
  listTopics(): Promise<TopicConfig[]>;
  queryRoute(topic: string): Promise<TopicRoute>;
  /**
   * Claims group@instanceName for a producer; refused with ERR_INSTANCE_NAME_TAKEN while another
   * started producer of the group holds it.
   */
  registerProducer(group: string, instanceName: string, clientId: string): Promise<void>;
  unregisterProducer(group: string, instanceName: string, clientId: string): Promise<void>;
  /** Join (or refresh) a consumer group; resolves to the group's sorted client ids. */
  registerConsumer(registration: ConsumerRegistration): Promise<string[]>;
  unregisterConsumer(group: string, clientId: string): Promise<void>;
  consumerIds(group: string): Promise<string[]>;
  /** Resolves with the group's members once they differ from `known`, or after timeoutMs. */
  awaitConsumerIdsChange(group: string, known: readonly string[], timeoutMs: number): Promise<string[]>;
  /**
   * Commits the group's offset of a queue. A consumer passes the reset epoch it holds for the
   * queue (PullRequest.resetEpoch); a commit whose epoch is older than the queue's last reset is
   * refused with ERR_OFFSET_STALE, so a consumer that has not yet adopted a reset cannot write its
   * old position back over it. Without an epoch (an operator's or a program's explicit commit)
   * the commit is not checked.
   */
  commitOffset(group: string, topic: string, queueId: number, offset: number, resetEpoch?: number): Promise<void>;
  /** The committed offset, or -1 when the group has none for that queue. */
  queryOffset(group: string, topic: string, queueId: number): Promise<number>;
  minOffset(topic: string, queueId: number): Promise<number>;
  maxOffset(topic: string, queueId: number): Promise<number>;
  searchOffsetByTime(topic: string, queueId: number, timestampMs: number): Promise<number>;
  /** Send a consumed message back for a later retry, or to the DLQ past maxReconsumeTimes. */
  /**
   * A negative maxReconsumeTimes means the group's own: its subscription group's retryMaxTimes
   * (16 when it has no entry), as RocketMQ's broker uses when the client names none.
   */
  sendBack(group: string, message: MessageExt, delayLevel: number, maxReconsumeTimes: number): Promise<void>;
  consumerProgress(group: string): Promise<ConsumerProgress>;
  /**
   * Moves the group's offsets on the topic (every read queue, or one) and answers what moved, old
   * -> new per queue. The reset gets a new epoch: running consumers learn of it from their next
   * pull (held pulls are answered at once) or from awaitOffsetReset, and commits carrying an
   * older epoch are refused from then on. A group the broker does not know is refused with
   * ERR_GROUP_NOT_EXIST unless request.ifGroupUnknown says otherwise; an unknown topic is
   * ERR_TOPIC_NOT_EXIST. A slave refuses resets (ERR_SERVICE_NOT_AVAILABLE).
   */
  resetOffset(request: OffsetResetRequest): Promise<OffsetResetResult>;
  /** resetOffset to LATEST on every queue, for any group (ifGroupUnknown 'reset'). */
  resetOffsetToLatest(group: string, topic: string): Promise<void>;
  /** resetOffset to TIMESTAMP on every queue, for any group (ifGroupUnknown 'reset'). */
  resetOffsetByTime(group: string, topic: string, timestampMs: number): Promise<void>;
  /**
   * The group's resets on the topic once one is newer than `knownEpoch`, or the state as it is
   * after timeoutMs (RocketMQ's broker pushes RESET_CONSUMER_CLIENT_OFFSET; a consumer that
   * holds pulled messages between pulls, as the gRPC endpoint's pop service does, waits here).
   */
  awaitOffsetReset(group: string, topic: string, knownEpoch: number, timeoutMs: number): Promise<OffsetResetState>;
  queryMessageByKey(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): Promise<MessageExt[]>;
  queryMessageById(msgId: string): Promise<MessageExt | undefined>;
  viewMessageByOffset(commitLogOffset: number): Promise<MessageExt | undefined>;
  /** Every committed offset (a slave copies them from its master). */
  allConsumerOffsets(): Promise<CommittedOffset[]>;
  /** Delayed delivery's progress per level (a slave copies it from its master). */
  delayOffsets(): Promise<DelayOffset[]>;
  getSubscriptionGroup(group: string): Promise<SubscriptionGroupConfig | undefined>;
  listSubscriptionGroups(): Promise<SubscriptionGroupTable>;
  /** Resolves with the table once its version differs from `version`, or after timeoutMs. */
  awaitSubscriptionGroupsChange(version: number, timeoutMs: number): Promise<SubscriptionGroupTable>;
  /** Creates a group's entry or changes the settings named; bad values are ERR_CONFIG_INVALID. */
  updateSubscriptionGroup(input: SubscriptionGroupInput): Promise<SubscriptionGroupConfig>;
  /** Resolves true when the entry existed. */
  deleteSubscriptionGroup(group: string): Promise<boolean>;
}
