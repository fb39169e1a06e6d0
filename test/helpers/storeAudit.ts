/** Reads back what a broker holds, for tests that check every acknowledged message is there. */
import type { BrokerApi, MessageExt } from '../../api/BrokerApi.js';
import { text } from './broker.js';

/** Every message of every read queue of `topic`, pulled from offset 0 to the queue's max offset. */
export async function pullAll(api: Pick<BrokerApi, 'getTopic' | 'maxOffset' | 'pull'>, topic: string, group = 'audit'): Promise<MessageExt[]> {
  const queues = (await api.getTopic(topic))?.readQueueNums ?? 0;
  const out: MessageExt[] = [];
  for (let queueId = 0; queueId < queues; queueId++) {
    const max = await api.maxOffset(topic, queueId);
    for (let offset = 0, rounds = 0; offset < max && rounds <= max; rounds++) {
      const r = await api.pull({ group, topic, queueId, offset, maxMsgNums: 32 });
      out.push(...r.messages);
      if (r.nextBeginOffset <= offset) break;
      offset = r.nextBeginOffset;
    }
  }
  return out;
}

/** The bodies of `messages` as text, sorted. */
export function bodiesOf(messages: readonly MessageExt[]): string[] {
  return messages.map((m) => text(m.body)).sort();
}
