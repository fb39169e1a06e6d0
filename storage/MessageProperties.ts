/**
 * Message properties as RocketMQ stores them (ROCKETMQ.md 1.4): one flat UTF-8 string where each
 * pair is `name` U+0001 `value` U+0002. Decoding splits on U+0002, then on the first U+0001, and
 * drops pairs whose name or value is empty.
 */

export const NAME_VALUE_SEPARATOR = '\u0001';
export const PROPERTY_SEPARATOR = '\u0002';
export const NAME_VALUE_SEPARATOR_BYTE = 0x01;
export const PROPERTY_SEPARATOR_BYTE = 0x02;

/** Well-known property names (RocketMQ MessageConst). */
export const MessageConst = {
  KEYS: 'KEYS',
  TAGS: 'TAGS',
  WAIT: 'WAIT',
  DELAY: 'DELAY',
  RETRY_TOPIC: 'RETRY_TOPIC',
  REAL_TOPIC: 'REAL_TOPIC',
  REAL_QID: 'REAL_QID',
  TRAN_MSG: 'TRAN_MSG',
  PGROUP: 'PGROUP',
  MIN_OFFSET: 'MIN_OFFSET',
  MAX_OFFSET: 'MAX_OFFSET',
  BUYER_ID: 'BUYER_ID',
  ORIGIN_MESSAGE_ID: 'ORIGIN_MESSAGE_ID',
  TRANSFER_FLAG: 'TRANSFER_FLAG',
  CORRECTION_FLAG: 'CORRECTION_FLAG',
  MQ2_FLAG: 'MQ2_FLAG',
  RECONSUME_TIME: 'RECONSUME_TIME',
  MSG_REGION: 'MSG_REGION',
  TRACE_ON: 'TRACE_ON',
  UNIQ_KEY: 'UNIQ_KEY',
  MAX_RECONSUME_TIMES: 'MAX_RECONSUME_TIMES',
  CONSUME_START_TIME: 'CONSUME_START_TIME',
  TRANSACTION_PREPARED_QUEUE_OFFSET: 'TRAN_PREPARED_QUEUE_OFFSET',
  TRANSACTION_CHECK_TIMES: 'TRANSACTION_CHECK_TIMES',
  CHECK_IMMUNITY_TIME_IN_SECONDS: 'CHECK_IMMUNITY_TIME_IN_SECONDS',
  INSTANCE_ID: 'INSTANCE_ID',
  CORRELATION_ID: 'CORRELATION_ID',
  REPLY_TO_CLIENT: 'REPLY_TO_CLIENT',
  TTL: 'TTL',
  ARRIVE_TIME: 'ARRIVE_TIME',
  PUSH_REPLY_TIME: 'PUSH_REPLY_TIME',
  CLUSTER: 'CLUSTER',
  MESSAGE_TYPE: 'MSG_TYPE',
  INNER_MULTI_DISPATCH: 'INNER_MULTI_DISPATCH',
  INNER_MULTI_QUEUE_OFFSET: 'INNER_MULTI_QUEUE_OFFSET',
  TRACE_CONTEXT: 'TRACE_CONTEXT',
  TIMER_DELAY_SEC: 'TIMER_DELAY_SEC',
  TIMER_DELIVER_MS: 'TIMER_DELIVER_MS',
  STARTDELIVERTIME: '__STARTDELIVERTIME',
  SHARDING_KEY: '__SHARDINGKEY',
  CRC32: '__CRC32#',
} as const;

/** Names a user property may not take: every MessageConst name is the broker's. */
export const RESERVED_PROPERTY_NAMES: ReadonlySet<string> = new Set<string>(Object.values(MessageConst));

/** The separator RocketMQ puts between several keys in KEYS. */
export const KEY_SEPARATOR = ' ';

/** Parses a properties string into a plain record, RocketMQ's way. */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(PROPERTY_SEPARATOR, start);
    if (end < 0) end = text.length;
    const eq = text.indexOf(NAME_VALUE_SEPARATOR, start);
    if (eq > start && eq < end - 1) out[text.slice(start, eq)] = text.slice(eq + 1, end);
    start = end + 1;
  }
  return out;
}

/** Joins pairs into RocketMQ's string (each pair followed by U+0002); for tests and tools. */
export function formatProperties(props: Readonly<Record<string, string>>): string {
  let s = '';
  for (const [name, value] of Object.entries(props)) s += name + NAME_VALUE_SEPARATOR + value + PROPERTY_SEPARATOR;
  return s;
}

/**
 * One property's value straight from a properties string, without building a record (the
 * dispatcher needs three names per message). Returns undefined when absent or empty.
 */
export function findProperty(text: string, name: string): string | undefined {
  let from = 0;
  for (;;) {
    const at = text.indexOf(name + NAME_VALUE_SEPARATOR, from);
    if (at < 0) return undefined;
    if (at === 0 || text.charCodeAt(at - 1) === PROPERTY_SEPARATOR_BYTE) {
      const valueStart = at + name.length + 1;
      let end = text.indexOf(PROPERTY_SEPARATOR, valueStart);
      if (end < 0) end = text.length;
      return end > valueStart ? text.slice(valueStart, end) : undefined;
    }
    from = at + 1;
  }
}
