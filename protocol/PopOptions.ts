/**
 * Options and result types of the PopService, with RocketMQ's defaults.
 */
import type { MessageExt } from '../api/BrokerApi.js';
import type { Clock } from '../common/clock.js';
import type { ReceiptHandleCodec } from './ReceiptHandle.js';

export interface GroupPolicy {
  /** Messages of a queue go out one batch at a time, in order. */
  readonly fifo: boolean;
  /** Deliveries before a message goes to the DLQ (RocketMQ: 16 retries + 1). */
  readonly maxDeliveryAttempts: number;
  /** false: the group's receives are refused (ERR_NO_PERMISSION), as its broker refuses its pulls. Default true. */
  readonly consumeEnable?: boolean;
}

export interface PopServiceOptions {
  readonly clock?: Clock;
  readonly codec?: ReceiptHandleCodec;
  readonly groupPolicy?: (group: string) => GroupPolicy;
  /** Whether a client still has a session; auto-renewal stops for clients that left. */
  readonly isClientAlive?: (clientId: string) => boolean;
  /** Invisible time of auto_renew deliveries, renewed in these steps. Default 60 s. */
  readonly autoRenewInvisibleMs?: number;
  /** Auto-renewal stops this long after delivery. Default 3 h (the proxy's). */
  readonly maxRenewMs?: number;
  /** Owned messages per queue before pulling pauses. Default 1024. */
  readonly maxOwnedPerQueue?: number;
  /** Buffered messages per group and topic before pulling pauses. Default 256. */
  readonly maxBufferedPerTopic?: number;
  /** Bytes of buffered message bodies per group and topic before pulling pauses. Default 32 MiB. */
  readonly maxBufferedBytes?: number;
  /** maxMsgNums of each pull. Default 32. */
  readonly pullBatchSize?: number;
  /** Longest broker long poll of one pull. Default 20 s. */
  readonly maxPullLongPollMs?: number;
  /** Where a group with no committed offset starts: the oldest retained message or the newest. Default 'head'. */
  readonly newGroupStartsAt?: 'head' | 'tail';
  /** A topic's queue count is re-read this often. Default 30 s. */
  readonly queueRefreshMs?: number;
  /** Idle group state is dropped after this long. Default 5 min. */
  readonly idleMs?: number;
}

export interface PoppedMessage {
  readonly message: MessageExt;
  readonly receiptHandle: string;
  readonly deliveryAttempt: number;
  readonly invisibleMs: number;
}

export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 17;
