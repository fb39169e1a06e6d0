/**
 * The broker's own checks of what clients hand it, applied whichever way a request arrives (the
 * embedded API, the remoting port, the gRPC endpoint or a worker thread's handle): bad input is a
 * typed error before anything is stored. Main thread; pure functions.
 */
import { PetrelError } from '../common/errors.js';
import type { TopicConfig } from '../api/BrokerApi.js';

/**
 * Topics only the broker writes: delayed messages wait in SCHEDULE_TOPIC_XXXX, retries and dead
 * letters are put by sendBack, transactional halves by the transaction service (RocketMQ's
 * TopicValidator refuses sends to its system topics the same way). A producer's message there
 * would be delivered by the schedule service as if it were due, or to a group as its own retry.
 */
const BROKER_ONLY_TOPICS = new Set([
  'SCHEDULE_TOPIC_XXXX',
  'RMQ_SYS_TRANS_HALF_TOPIC',
  'RMQ_SYS_TRANS_OP_HALF_TOPIC',
  'TRANS_CHECK_MAX_TIME_TOPIC',
  'SELF_TEST_TOPIC',
  'OFFSET_MOVED_EVENT',
]);
const BROKER_ONLY_PREFIXES = ['%RETRY%', '%DLQ%'];

/** Throws ERR_NO_PERMISSION for a producer's send to a topic only the broker writes. */
export function refuseBrokerOnlyTopic(topic: string): void {
  if (BROKER_ONLY_TOPICS.has(topic) || BROKER_ONLY_PREFIXES.some((p) => topic.startsWith(p))) {
    throw new PetrelError('ERR_NO_PERMISSION', `topic ${topic} is written by the broker only; producers may not send to it`);
  }
}

/**
 * A consumer's commit: the queue must be one of the topic's read queues, and the offset an integer
 * from 0 to the queue's max offset (a committed offset is the next one to consume, so it can equal
 * the max but not pass it). A topic without a config here counts only where its queue holds
 * messages: a slave serves the queues of its master's topics from the replicated CommitLog before
 * (or without) their configs.
 */
export async function checkCommitOffset(
  config: TopicConfig | undefined,
  topic: string,
  queueId: number,
  offset: number,
  maxOffset: (topic: string, queueId: number) => Promise<number>,
): Promise<void> {
  if (!Number.isSafeInteger(queueId) || queueId < 0 || (config !== undefined && queueId >= config.readQueueNums)) {
    const range = config === undefined ? '' : ` (0..${config.readQueueNums - 1})`;
    throw new PetrelError('ERR_QUEUE_ID_INVALID', `queue ${String(queueId)} is not a read queue of ${topic}${range}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) throw new PetrelError('ERR_OFFSET_INVALID', `offset ${String(offset)} of ${topic} queue ${queueId} is not an integer >= 0`);
  const max = await maxOffset(topic, queueId);
  if (config === undefined && max === 0) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `cannot commit an offset of ${topic} queue ${queueId}: no such topic or queue`);
  if (offset > max) throw new PetrelError('ERR_OFFSET_INVALID', `offset ${offset} of ${topic} queue ${queueId} is past its max offset ${max}`);
}
