/**
 * The broker's own checks of what clients hand it, applied whichever way a request arrives (the
 * embedded API, the remoting port, the gRPC endpoint or a worker thread's handle): bad input is a
 * typed error before anything is stored. Main thread; pure functions.
 */
import { PetrelError } from '../common/errors.js';
import type { TopicConfig } from '../api/BrokerApi.js';

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
