/**
 * Conversions between the public message shapes (BrokerApi) and the store's: what a producer's
 * Message becomes on disk, and what a stored record becomes for a consumer.
 */
import { PetrelError } from '../common/errors.js';
import type { MessageToStore } from '../storage/MessageCodec.js';
import { decodeMessage, type MessageExt as StoredMessage } from '../storage/MessageDecoder.js';
import type { Message, MessageExt } from '../api/BrokerApi.js';
import { SCHEDULE_TOPIC } from '../api/topics.js';


/** Properties the broker sets; re-puts carry them as system properties. */
const BROKER_PROPERTIES = new Set(['TAGS', 'KEYS', 'UNIQ_KEY', 'WAIT', 'DELAY', 'REAL_TOPIC', 'REAL_QID']);

export function toStore(m: Message, queueId: number, levels: number): { msg: MessageToStore; shownTopic: string } {
  if (m.flag !== undefined && !Number.isInteger(m.flag)) throw new PetrelError('ERR_MESSAGE_ILLEGAL', 'message.flag must be an integer');
  const level = m.delayLevel ?? 0;
  if (!Number.isInteger(level) || level < 0) throw new PetrelError('ERR_MESSAGE_ILLEGAL', `delayLevel must be a non-negative integer, got ${String(m.delayLevel)}`);
  // One object shape for every message: the encoder's hot loop stays monomorphic.
  const msg: MessageToStore = {
    topic: m.topic,
    queueId,
    body: m.body,
    flag: m.flag ?? 0,
    bornTimestamp: Date.now(),
    waitStoreMsgOK: m.waitStoreMsgOK ?? true,
    tags: m.tags,
    keys: m.keys,
    properties: m.properties,
    systemProperties: undefined,
  };
  if (level === 0) return { msg, shownTopic: m.topic };
  return { msg: delayed(msg, Math.min(level, levels)), shownTopic: m.topic };
}

/** The same message parked in the schedule topic's queue for `level` (RocketMQ's delay path). */
export function delayed(msg: MessageToStore, level: number): MessageToStore {
  return {
    ...msg,
    topic: SCHEDULE_TOPIC,
    queueId: level - 1,
    systemProperties: { ...msg.systemProperties, DELAY: String(level), REAL_TOPIC: msg.topic, REAL_QID: String(msg.queueId) },
  };
}

/** The public view of a stored record; a retried message shows its original topic. */
export function toPublic(s: StoredMessage, brokerName: string): MessageExt {
  const retryTopic = s.topic.startsWith('%RETRY%') ? s.properties['RETRY_TOPIC'] : undefined;
  return {
    topic: retryTopic ?? s.topic,
    body: s.body,
    tags: s.tags,
    keys: s.keys === undefined || s.keys === '' ? [] : s.keys.split(' ').filter((k) => k !== ''),
    properties: s.properties,
    flag: s.flag,
    queueId: s.queueId,
    queueOffset: s.queueOffset,
    commitLogOffset: s.commitLogOffset,
    storeSize: s.storeSize,
    sysFlag: s.sysFlag,
    bornTimestamp: s.bornTimestamp,
    storeTimestamp: s.storeTimestamp,
    reconsumeTimes: s.reconsumeTimes,
    msgId: s.msgId,
    offsetMsgId: s.offsetMsgId,
    brokerName,
  };
}

/** Splits records laid back to back into public messages; their bodies are views of `buffer`, which the caller gives up. */
export function decodeRecords(buffer: Uint8Array, sizes: readonly number[], brokerName: string): MessageExt[] {
  const out: MessageExt[] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(toPublic(decodeMessage(buffer, at, true), brokerName));
    at += size;
  }
  return out;
}

/** A stored message put again under another topic (delivery of a delayed or retried message). */
export function reput(
  s: Pick<MessageExt, 'body' | 'flag' | 'tags' | 'keys' | 'properties' | 'bornTimestamp' | 'msgId'>,
  topic: string,
  queueId: number,
  reconsumeTimes: number,
  extra: Readonly<Record<string, string>>,
  drop: readonly string[] = [],
): { msg: MessageToStore; uniqKey: string } {
  const systemProperties: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.properties)) {
    if (BROKER_PROPERTIES.has(k) || drop.includes(k)) continue;
    systemProperties[k] = v;
  }
  Object.assign(systemProperties, extra);
  const uniqKey = s.properties['UNIQ_KEY'] ?? s.msgId;
  return {
    uniqKey,
    msg: {
      topic,
      queueId,
      body: s.body,
      flag: s.flag,
      bornTimestamp: s.bornTimestamp,
      reconsumeTimes,
      systemProperties,
      ...(s.tags === undefined ? {} : { tags: s.tags }),
      ...(s.keys.length === 0 ? {} : { keys: s.keys }),
    },
  };
}
