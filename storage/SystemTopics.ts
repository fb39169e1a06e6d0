/**
 * The topics and topic prefixes the broker keeps for itself (RocketMQ's TopicValidator and
 * MixAll): delayed messages wait in SCHEDULE_TOPIC_XXXX, a group's retries and dead letters live
 * in %RETRY%group and %DLQ%group, transactional halves and their op records in the half topics.
 * Defined once here, at the bottom of the layers, and re-exported by the contract (api/topics.ts).
 */
import { PetrelError } from '../common/errors.js';

/** The topic delay messages wait in; its ConsumeQueue tag code is the delivery time. */
export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
export const TRANS_HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';
export const TRANS_OP_HALF_TOPIC = 'RMQ_SYS_TRANS_OP_HALF_TOPIC';
export const RETRY_PREFIX = '%RETRY%';
export const DLQ_PREFIX = '%DLQ%';

/**
 * Topics only the broker writes: delayed messages, retries and dead letters (put by sendBack),
 * transactional halves (put by the transaction service). A producer's message there would be
 * delivered by the schedule service as if it were due, or to a group as its own retry.
 */
const BROKER_ONLY_TOPICS = new Set([SCHEDULE_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC, 'TRANS_CHECK_MAX_TIME_TOPIC', 'SELF_TEST_TOPIC', 'OFFSET_MOVED_EVENT']);

export function isRetryTopic(topic: string): boolean {
  return topic.startsWith(RETRY_PREFIX);
}

export function isDlqTopic(topic: string): boolean {
  return topic.startsWith(DLQ_PREFIX);
}

/** A group's retry or dead-letter topic. */
export function isGroupTopic(topic: string): boolean {
  return isRetryTopic(topic) || isDlqTopic(topic);
}

/** Throws ERR_NO_PERMISSION for a producer's send to a topic only the broker writes. */
export function refuseBrokerOnlyTopic(topic: string): void {
  if (BROKER_ONLY_TOPICS.has(topic) || isGroupTopic(topic)) {
    throw new PetrelError('ERR_NO_PERMISSION', `topic ${topic} is written by the broker only; producers may not send to it`);
  }
}
