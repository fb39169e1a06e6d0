/** Consumer-facing types: statuses, listeners and options with RocketMQ's names and defaults. */
import type { BrokerApi, FilterSpec, MessageExt, MessageModel, MessageQueue } from '../api/BrokerApi.js';
import type { NameServerOption } from './BrokerSource.js';

export const ConsumeStatus = {
  CONSUME_SUCCESS: 'CONSUME_SUCCESS',
  RECONSUME_LATER: 'RECONSUME_LATER',
} as const;
export type ConsumeStatus = (typeof ConsumeStatus)[keyof typeof ConsumeStatus];

export const ConsumeOrderlyStatus = {
  SUCCESS: 'SUCCESS',
  SUSPEND_CURRENT_QUEUE_A_MOMENT: 'SUSPEND_CURRENT_QUEUE_A_MOMENT',
} as const;
export type ConsumeOrderlyStatus = (typeof ConsumeOrderlyStatus)[keyof typeof ConsumeOrderlyStatus];

export interface ConsumeContext {
  readonly messageQueue: MessageQueue;
}

export type ConcurrentListener = (messages: MessageExt[], context: ConsumeContext) => ConsumeStatus | Promise<ConsumeStatus>;
export type OrderlyListener = (messages: MessageExt[], context: ConsumeContext) => ConsumeOrderlyStatus | Promise<ConsumeOrderlyStatus>;

/**
 * A listener is a function run on the consumer's thread, `{ orderly }` for ordered consumption,
 * or `{ module }`: a module path whose export (default `consume`, or `exportName`) is a
 * ConcurrentListener, run in a thread pool of consumeThreadMin..consumeThreadMax threads.
 */
export type MessageListener =
  | ConcurrentListener
  | { readonly orderly: OrderlyListener }
  | { readonly module: string | URL; readonly exportName?: string };

export type ConsumeFromWhere = 'CONSUME_FROM_LAST_OFFSET' | 'CONSUME_FROM_FIRST_OFFSET' | 'CONSUME_FROM_TIMESTAMP';

export interface PushConsumerOptions {
  readonly groupName: string;
  readonly broker: BrokerApi;
  readonly instanceName?: string;
  /** Pool threads kept (module listeners). Default 20, range 1..1000. */
  readonly consumeThreadMin?: number;
  /** Most batches with listeners at once, and most pool threads. Default 20, range 1..1000. */
  readonly consumeThreadMax?: number;
  /** Most messages handed to one listener call. Default 1, range 1..1024. */
  readonly consumeMessageBatchMaxSize?: number;
  /** Messages asked for per pull. Default 32, range 1..1024. */
  readonly pullBatchSize?: number;
  /** Default CLUSTERING. */
  readonly messageModel?: MessageModel;
  /** Where a group without a committed offset starts. Default CONSUME_FROM_LAST_OFFSET. */
  readonly consumeFromWhere?: ConsumeFromWhere;
  /** For CONSUME_FROM_TIMESTAMP, ms since the epoch. Default now - 30 min. */
  readonly consumeTimestamp?: number;
  /** Retries before the DLQ. -1: the group's retryMaxTimes on the broker (16 by default) when concurrent, unlimited when orderly. */
  readonly maxReconsumeTimes?: number;
  /** Messages cached per queue before pulls pause. Default 1000. */
  readonly pullThresholdForQueue?: number;
  /** Orderly: pause before retrying a suspended queue, ms. Default 1000. */
  readonly suspendCurrentQueueTimeMillis?: number;
  /** Long-poll hold of each pull, ms. Default 15000 (RocketMQ broker hold). */
  readonly pullLongPollMs?: number;
  /** Rebalance at least this often, ms; membership changes trigger it at once. Default 20000. */
  readonly rebalanceInterval?: number;
  /** Opt-in: when a queue lags by more than this many messages, jump to its end, counting the skipped. */
  readonly skipLagThreshold?: number;
}

/** The same settings with name servers instead of one broker: the consumer spans every broker group. */
export type PushConsumerNamesrvOptions = Omit<PushConsumerOptions, 'broker'> & NameServerOption;

export interface Subscription {
  readonly topic: string;
  readonly filter: FilterSpec;
}
