/**
 * Parsers of the BrokerApi's value types (actors/BrokerApi.ts) as they arrive over a remoting
 * link: request arguments on the server (checked with ARGUMENT) and replies on the client
 * (checked with REPLY). Shapes only; the broker still applies its own rules (topic names, queue
 * counts, sizes) and refuses with its own codes.
 */
import type {
  ConsumeFromWhere, ConsumerProgress, ConsumerRegistration, FilterSpec, GetMessageStatus, Message, MessageExt, MessageModel, OffsetResetNotice,
  OffsetResetRequest, OffsetResetResult, OffsetResetState, OffsetResetTarget, PullRequest, PullResult, QueueLag, SendResult, SendStatus, TopicConfig,
  TopicRoute, CommittedOffset, DelayOffset, SubscriptionGroupConfig, SubscriptionGroupInput, SubscriptionGroupTable,
} from './BrokerApi.js';
import { bool, bytes, defined, int, list, opt, rec, refuse, str, strList, strMap, type Check } from './parse.js';

const SEND_STATUSES: readonly SendStatus[] = ['SEND_OK', 'FLUSH_DISK_TIMEOUT', 'FLUSH_SLAVE_TIMEOUT', 'SLAVE_NOT_AVAILABLE'];
/** Every pull status of the API, as a Record so that a status added there fails to compile until listed. */
const GET_STATUS_TABLE: Readonly<Record<GetMessageStatus, true>> = {
  FOUND: true, NO_MATCHED_MESSAGE: true, NO_MESSAGE_IN_QUEUE: true, OFFSET_TOO_SMALL: true, OFFSET_OVERFLOW_ONE: true,
  OFFSET_OVERFLOW_BADLY: true, NO_MATCHED_LOGIC_QUEUE: true,
};
export const GET_STATUSES = Object.keys(GET_STATUS_TABLE) as readonly GetMessageStatus[];

function oneOf<T extends string>(c: Check, v: unknown, path: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw refuse(c, path, `one of ${allowed.join(', ')}`);
  return v as T;
}

export function message(c: Check, v: unknown, path: string): Message {
  const r = rec(c, v, path);
  const keys = r['keys'];
  return defined({
    topic: str(c, r['topic'], `${path}.topic`),
    body: bytes(c, r['body'], `${path}.body`),
    tags: opt(r['tags'], (x) => str(c, x, `${path}.tags`)),
    keys: keys === undefined ? undefined : typeof keys === 'string' ? keys : strList(c, keys, `${path}.keys`),
    properties: opt(r['properties'], (x) => strMap(c, x, `${path}.properties`)),
    flag: opt(r['flag'], (x) => int(c, x, `${path}.flag`)),
    delayLevel: opt(r['delayLevel'], (x) => int(c, x, `${path}.delayLevel`)),
    waitStoreMsgOK: opt(r['waitStoreMsgOK'], (x) => bool(c, x, `${path}.waitStoreMsgOK`)),
  });
}

export function messageExt(c: Check, v: unknown, path: string): MessageExt {
  const r = rec(c, v, path);
  const n = (k: string): number => int(c, r[k], `${path}.${k}`);
  const s = (k: string): string => str(c, r[k], `${path}.${k}`);
  return {
    topic: s('topic'),
    body: bytes(c, r['body'], `${path}.body`),
    tags: opt(r['tags'], (x) => str(c, x, `${path}.tags`)),
    keys: strList(c, r['keys'], `${path}.keys`),
    properties: strMap(c, r['properties'], `${path}.properties`),
    flag: n('flag'),
    queueId: n('queueId'),
    queueOffset: n('queueOffset'),
    commitLogOffset: n('commitLogOffset'),
    storeSize: n('storeSize'),
    sysFlag: n('sysFlag'),
    bornTimestamp: n('bornTimestamp'),
    storeTimestamp: n('storeTimestamp'),
    reconsumeTimes: n('reconsumeTimes'),
    msgId: s('msgId'),
    offsetMsgId: s('offsetMsgId'),
    brokerName: s('brokerName'),
  };
}

export function filterSpec(c: Check, v: unknown, path: string): FilterSpec {
  const r = rec(c, v, path);
  return { type: oneOf(c, r['type'], `${path}.type`, ['TAG', 'SQL92'] as const), expression: str(c, r['expression'], `${path}.expression`) };
}

export function pullRequest(c: Check, v: unknown, path: string): PullRequest {
  const r = rec(c, v, path);
  return defined({
    group: str(c, r['group'], `${path}.group`),
    topic: str(c, r['topic'], `${path}.topic`),
    queueId: int(c, r['queueId'], `${path}.queueId`),
    offset: int(c, r['offset'], `${path}.offset`),
    maxMsgNums: int(c, r['maxMsgNums'], `${path}.maxMsgNums`),
    filter: opt(r['filter'], (x) => filterSpec(c, x, `${path}.filter`)),
    longPollMs: opt(r['longPollMs'], (x) => int(c, x, `${path}.longPollMs`)),
    resetEpoch: opt(r['resetEpoch'], (x) => int(c, x, `${path}.resetEpoch`)),
  });
}

export function registration(c: Check, v: unknown, path: string): ConsumerRegistration {
  const r = rec(c, v, path);
  return defined({
    group: str(c, r['group'], `${path}.group`),
    clientId: str(c, r['clientId'], `${path}.clientId`),
    messageModel: oneOf<MessageModel>(c, r['messageModel'], `${path}.messageModel`, ['CLUSTERING', 'BROADCASTING']),
    subscriptions: list(c, r['subscriptions'], `${path}.subscriptions`).map((x, i) => {
      const s = rec(c, x, `${path}.subscriptions[${i}]`);
      return { topic: str(c, s['topic'], `${path}.subscriptions[${i}].topic`), filter: filterSpec(c, s['filter'], `${path}.subscriptions[${i}].filter`) };
    }),
    consumeFromWhere: opt(r['consumeFromWhere'], (x) =>
      oneOf<ConsumeFromWhere>(c, x, `${path}.consumeFromWhere`, ['CONSUME_FROM_LAST_OFFSET', 'CONSUME_FROM_FIRST_OFFSET', 'CONSUME_FROM_TIMESTAMP']),
    ),
    consumeTimestamp: opt(r['consumeTimestamp'], (x) => int(c, x, `${path}.consumeTimestamp`)),
  });
}

export function topicRequest(c: Check, v: unknown, path: string): { topic: string; readQueueNums?: number; writeQueueNums?: number; perm?: number; order?: boolean } {
  const r = rec(c, v, path);
  return defined({
    topic: str(c, r['topic'], `${path}.topic`),
    readQueueNums: opt(r['readQueueNums'], (x) => int(c, x, `${path}.readQueueNums`)),
    writeQueueNums: opt(r['writeQueueNums'], (x) => int(c, x, `${path}.writeQueueNums`)),
    perm: opt(r['perm'], (x) => int(c, x, `${path}.perm`)),
    order: opt(r['order'], (x) => bool(c, x, `${path}.order`)),
  });
}

export function sendResult(c: Check, v: unknown, path: string): SendResult {
  const r = rec(c, v, path);
  const q = rec(c, r['messageQueue'], `${path}.messageQueue`);
  return {
    sendStatus: oneOf(c, r['sendStatus'], `${path}.sendStatus`, SEND_STATUSES),
    msgId: str(c, r['msgId'], `${path}.msgId`),
    offsetMsgId: str(c, r['offsetMsgId'], `${path}.offsetMsgId`),
    messageQueue: {
      topic: str(c, q['topic'], `${path}.messageQueue.topic`),
      brokerName: str(c, q['brokerName'], `${path}.messageQueue.brokerName`),
      queueId: int(c, q['queueId'], `${path}.messageQueue.queueId`),
    },
    queueOffset: int(c, r['queueOffset'], `${path}.queueOffset`),
    commitLogOffset: int(c, r['commitLogOffset'], `${path}.commitLogOffset`),
    storeTimestamp: int(c, r['storeTimestamp'], `${path}.storeTimestamp`),
  };
}

export function pullResult(c: Check, v: unknown, path: string): PullResult {
  const r = rec(c, v, path);
  return defined({
    status: oneOf(c, r['status'], `${path}.status`, GET_STATUSES),
    messages: list(c, r['messages'], `${path}.messages`).map((m, i) => messageExt(c, m, `${path}.messages[${i}]`)),
    nextBeginOffset: int(c, r['nextBeginOffset'], `${path}.nextBeginOffset`),
    minOffset: int(c, r['minOffset'], `${path}.minOffset`),
    maxOffset: int(c, r['maxOffset'], `${path}.maxOffset`),
    suggestPullingFromSlave: opt(r['suggestPullingFromSlave'], (x) => bool(c, x, `${path}.suggestPullingFromSlave`)),
    offsetReset: opt(r['offsetReset'], (x) => offsetResetNotice(c, x, `${path}.offsetReset`)),
  });
}

function offsetResetNotice(c: Check, v: unknown, path: string): OffsetResetNotice {
  const r = rec(c, v, path);
  return { epoch: int(c, r['epoch'], `${path}.epoch`), offset: int(c, r['offset'], `${path}.offset`) };
}

function offsetResetTarget(c: Check, v: unknown, path: string): OffsetResetTarget {
  const r = rec(c, v, path);
  const type = oneOf(c, r['type'], `${path}.type`, ['LATEST', 'EARLIEST', 'TIMESTAMP', 'OFFSET'] as const);
  if (type === 'TIMESTAMP') return { type, timestampMs: int(c, r['timestampMs'], `${path}.timestampMs`) };
  if (type === 'OFFSET') return { type, offset: int(c, r['offset'], `${path}.offset`) };
  return { type };
}

export function offsetResetRequest(c: Check, v: unknown, path: string): OffsetResetRequest {
  const r = rec(c, v, path);
  return defined({
    group: str(c, r['group'], `${path}.group`),
    topic: str(c, r['topic'], `${path}.topic`),
    target: offsetResetTarget(c, r['target'], `${path}.target`),
    queueId: opt(r['queueId'], (x) => int(c, x, `${path}.queueId`)),
    ifGroupUnknown: opt(r['ifGroupUnknown'], (x) => oneOf(c, x, `${path}.ifGroupUnknown`, ['refuse', 'create', 'reset'] as const)),
  });
}

export function offsetResetResult(c: Check, v: unknown, path: string): OffsetResetResult {
  const r = rec(c, v, path);
  return {
    group: str(c, r['group'], `${path}.group`),
    topic: str(c, r['topic'], `${path}.topic`),
    epoch: int(c, r['epoch'], `${path}.epoch`),
    groupCreated: bool(c, r['groupCreated'], `${path}.groupCreated`),
    queues: list(c, r['queues'], `${path}.queues`).map((x, i) => {
      const q = rec(c, x, `${path}.queues[${i}]`);
      const p = `${path}.queues[${i}]`;
      return {
        brokerName: str(c, q['brokerName'], `${p}.brokerName`),
        queueId: int(c, q['queueId'], `${p}.queueId`),
        oldOffset: int(c, q['oldOffset'], `${p}.oldOffset`),
        newOffset: int(c, q['newOffset'], `${p}.newOffset`),
      };
    }),
  };
}

export function offsetResetState(c: Check, v: unknown, path: string): OffsetResetState {
  const r = rec(c, v, path);
  return {
    epoch: int(c, r['epoch'], `${path}.epoch`),
    queues: list(c, r['queues'], `${path}.queues`).map((x, i) => {
      const q = rec(c, x, `${path}.queues[${i}]`);
      const p = `${path}.queues[${i}]`;
      return { queueId: int(c, q['queueId'], `${p}.queueId`), epoch: int(c, q['epoch'], `${p}.epoch`), offset: int(c, q['offset'], `${p}.offset`) };
    }),
  };
}

export function topicConfig(c: Check, v: unknown, path: string): TopicConfig {
  const r = rec(c, v, path);
  return {
    topic: str(c, r['topic'], `${path}.topic`),
    readQueueNums: int(c, r['readQueueNums'], `${path}.readQueueNums`),
    writeQueueNums: int(c, r['writeQueueNums'], `${path}.writeQueueNums`),
    perm: int(c, r['perm'], `${path}.perm`),
    order: bool(c, r['order'], `${path}.order`),
  };
}

/** brokerId -> address, ids 0..1024 as RocketMQ numbers them. */
export function addrTable(c: Check, v: unknown, path: string): Record<number, string> {
  const r = rec(c, v, path);
  const out: Record<number, string> = {};
  for (const [k, a] of Object.entries(r)) {
    const id = Number(k);
    if (!/^\d{1,4}$/.test(k) || id > 1024) throw refuse(c, `${path}.${k}`, 'keyed by a broker id 0..1024');
    out[id] = str(c, a, `${path}.${k}`);
  }
  return out;
}

export function topicRoute(c: Check, v: unknown, path: string): TopicRoute {
  const r = rec(c, v, path);
  return {
    topic: str(c, r['topic'], `${path}.topic`),
    brokers: list(c, r['brokers'], `${path}.brokers`).map((x, i) => {
      const b = rec(c, x, `${path}.brokers[${i}]`);
      const p = `${path}.brokers[${i}]`;
      return {
        brokerName: str(c, b['brokerName'], `${p}.brokerName`),
        addrs: addrTable(c, b['addrs'], `${p}.addrs`),
        readQueueNums: int(c, b['readQueueNums'], `${p}.readQueueNums`),
        writeQueueNums: int(c, b['writeQueueNums'], `${p}.writeQueueNums`),
        perm: int(c, b['perm'], `${p}.perm`),
      };
    }),
  };
}

function queueLag(c: Check, v: unknown, path: string): QueueLag {
  const r = rec(c, v, path);
  return {
    topic: str(c, r['topic'], `${path}.topic`),
    queueId: int(c, r['queueId'], `${path}.queueId`),
    brokerOffset: int(c, r['brokerOffset'], `${path}.brokerOffset`),
    consumerOffset: int(c, r['consumerOffset'], `${path}.consumerOffset`),
    lag: int(c, r['lag'], `${path}.lag`),
  };
}

export function consumerProgress(c: Check, v: unknown, path: string): ConsumerProgress {
  const r = rec(c, v, path);
  return {
    group: str(c, r['group'], `${path}.group`),
    queues: list(c, r['queues'], `${path}.queues`).map((q, i) => queueLag(c, q, `${path}.queues[${i}]`)),
    totalLag: int(c, r['totalLag'], `${path}.totalLag`),
  };
}

// The broker's configuration tables: shapes only; a group update's settings are passed on as given
// (numbers and booleans) and the broker checks names, keys and ranges itself.

export function subscriptionGroupConfig(c: Check, v: unknown, path: string): SubscriptionGroupConfig {
  const r = rec(c, v, path);
  const n = (k: string): number => int(c, r[k], `${path}.${k}`);
  const b = (k: string): boolean => bool(c, r[k], `${path}.${k}`);
  return {
    groupName: str(c, r['groupName'], `${path}.groupName`),
    consumeEnable: b('consumeEnable'),
    consumeFromMinEnable: b('consumeFromMinEnable'),
    consumeBroadcastEnable: b('consumeBroadcastEnable'),
    consumeMessageOrderly: b('consumeMessageOrderly'),
    retryQueueNums: n('retryQueueNums'),
    retryMaxTimes: n('retryMaxTimes'),
    brokerId: n('brokerId'),
    whichBrokerWhenConsumeSlowly: n('whichBrokerWhenConsumeSlowly'),
    notifyConsumerIdsChangedEnable: b('notifyConsumerIdsChangedEnable'),
    consumeTimeoutMinute: n('consumeTimeoutMinute'),
  };
}

export function subscriptionGroupTable(c: Check, v: unknown, path: string): SubscriptionGroupTable {
  const r = rec(c, v, path);
  return {
    version: int(c, r['version'], `${path}.version`),
    groups: list(c, r['groups'], `${path}.groups`).map((g, i) => subscriptionGroupConfig(c, g, `${path}.groups[${i}]`)),
  };
}

/** A create/update request: groupName a string, every other value a number or a boolean. */
export function subscriptionGroupInput(c: Check, v: unknown, path: string): SubscriptionGroupInput {
  const r = rec(c, v, path);
  const out: Record<string, string | number | boolean> = { groupName: str(c, r['groupName'], `${path}.groupName`) };
  for (const [k, x] of Object.entries(r)) {
    if (k === 'groupName') continue;
    if (typeof x !== 'number' && typeof x !== 'boolean') throw refuse(c, `${path}.${k}`, 'a number or a boolean');
    out[k] = x;
  }
  return out as unknown as SubscriptionGroupInput;
}

export function committedOffset(c: Check, v: unknown, path: string): CommittedOffset {
  const r = rec(c, v, path);
  return {
    group: str(c, r['group'], `${path}.group`),
    topic: str(c, r['topic'], `${path}.topic`),
    queueId: int(c, r['queueId'], `${path}.queueId`),
    offset: int(c, r['offset'], `${path}.offset`),
  };
}

export function delayOffset(c: Check, v: unknown, path: string): DelayOffset {
  const r = rec(c, v, path);
  return { level: int(c, r['level'], `${path}.level`), offset: int(c, r['offset'], `${path}.offset`) };
}
