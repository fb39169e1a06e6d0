/**
 * Message properties at the gRPC edge: the names RocketMQ reserves, and the ones the endpoint
 * writes to keep what the v2 protocol carries beyond the classic message (the client's message
 * id, FIFO group, wanted delivery time, born host) in the stored message.
 *
 * The broker's Message takes user properties only and refuses RocketMQ's reserved names, so the
 * endpoint's own names carry a PMQ_ prefix. A gRPC client may not send PMQ_ names itself, and
 * they are never shown to it as user properties. On the way out RocketMQ's names are read too
 * (__SHARDINGKEY, TIMER_DELIVER_MS, UNIQ_KEY via msgId), so messages stored by embedded
 * producers are delivered with the same fields.
 */

export const PROP = {
  /** The client's message id (the proxy's UNIQ_KEY). */
  messageId: 'PMQ_MESSAGE_ID',
  /** FIFO message group (RocketMQ's __SHARDINGKEY). */
  messageGroup: 'PMQ_MESSAGE_GROUP',
  /** Wanted delivery time of a delay message, ms since the epoch (RocketMQ's TIMER_DELIVER_MS). */
  deliverAtMs: 'PMQ_DELIVER_AT_MS',
  /** "true" on committed transactional messages. */
  transaction: 'PMQ_TRANSACTION',
  /** The client's born host (hostname). */
  bornHost: 'PMQ_BORN_HOST',
} as const;

/** RocketMQ's own names for the same facts, read when the PMQ_ name is absent. */
export const ROCKETMQ_PROP = {
  messageGroup: '__SHARDINGKEY',
  deliverAtMs: 'TIMER_DELIVER_MS',
  transaction: 'TRAN_MSG',
  /** On dead-letter (and retry) copies: the topic the message came from. */
  retryTopic: 'RETRY_TOPIC',
  /** On dead-letter copies: the unique key of the original message. */
  originMessageId: 'ORIGIN_MESSAGE_ID',
} as const;

const ENDPOINT_PREFIX = 'PMQ_';

/** RocketMQ's MessageConst names (the broker refuses them as user properties). */
const ROCKETMQ_RESERVED = new Set<string>([
  'KEYS', 'TAGS', 'WAIT', 'DELAY', 'RETRY_TOPIC', 'REAL_TOPIC', 'REAL_QID', 'TRAN_MSG', 'PGROUP',
  'MIN_OFFSET', 'MAX_OFFSET', 'BUYER_ID', 'ORIGIN_MESSAGE_ID', 'TRANSFER_FLAG', 'CORRECTION_FLAG',
  'MQ2_FLAG', 'RECONSUME_TIME', 'MSG_REGION', 'TRACE_ON', 'UNIQ_KEY', 'MAX_RECONSUME_TIMES',
  'CONSUME_START_TIME', 'TRAN_PREPARED_QUEUE_OFFSET', 'TRANSACTION_CHECK_TIMES',
  'CHECK_IMMUNITY_TIME_IN_SECONDS', 'INSTANCE_ID', 'CORRELATION_ID', 'REPLY_TO_CLIENT', 'TTL',
  'ARRIVE_TIME', 'PUSH_REPLY_TIME', 'CLUSTER', 'MSG_TYPE', 'INNER_MULTI_DISPATCH',
  'INNER_MULTI_QUEUE_OFFSET', 'TRACE_CONTEXT', 'TIMER_DELAY_SEC', 'TIMER_DELIVER_MS',
  '__STARTDELIVERTIME', '__SHARDINGKEY', '__CRC32#', 'POP_CK', 'POP_CK_OFFSET', '1ST_POP_TIME',
  'DUP_INFO', 'EXTEND_UNIQ_INFO', 'TIMER_ENQUEUE_MS', 'TIMER_DEQUEUE_MS', 'TIMER_ROLL_TIMES',
  'TIMER_OUT_MS', 'TIMER_DEL_UNIQKEY',
]);

/** A name a client may not use for a user property. */
export function isReservedPropertyName(name: string): boolean {
  return ROCKETMQ_RESERVED.has(name) || name.startsWith(ENDPOINT_PREFIX);
}
