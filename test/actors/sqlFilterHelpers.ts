/** Helpers of the SQL92 filter tests: a broker with or without the bloom path, and a full pull. */
import type { ExecutionContext } from 'ava';
import type { Broker } from '../../actors/Broker.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import type { FilterSpec, MessageExt } from '../../api/BrokerApi.js';
import { startBroker, until } from '../helpers/broker.js';

/** SQL92 accepted, bloom bits computed at dispatch and kept in the ConsumeQueue extension. */
export const BLOOM_ON: BrokerConfigInput = { enablePropertyFilter: true, enableCalcFilterBitMap: true, enableConsumeQueueExt: true };
/** SQL92 accepted, every candidate evaluated exactly. */
export const BLOOM_OFF: BrokerConfigInput = { enablePropertyFilter: true };

export function startFilterBroker(t: ExecutionContext, config: BrokerConfigInput): Promise<Broker> {
  return startBroker(t, { flushIntervalCommitLog: 10, ...config });
}

/** Registers `group` with one SQL92 subscription, as a push consumer's heartbeat would. */
export async function registerSql(broker: Broker, group: string, topic: string, expression: string): Promise<void> {
  await broker.registerConsumer({ group, clientId: `${group}@test`, messageModel: 'CLUSTERING', subscriptions: [{ topic, filter: { type: 'SQL92', expression } }] });
}

/** Waits until every queue of `topic` holds `counts[q]` messages (sent and dispatched). */
export async function dispatched(broker: Broker, topic: string, counts: readonly number[]): Promise<void> {
  await until(async () => {
    for (const [q, n] of counts.entries()) if ((await broker.maxOffset(topic, q)) < n) return false;
    return true;
  }, 10_000, `dispatch of ${topic}`);
}

/** Pulls every queue of `topic` from offset 0 to its end. */
export async function pullAll(broker: Broker, group: string, topic: string, queues: number, filter?: FilterSpec): Promise<MessageExt[]> {
  const out: MessageExt[] = [];
  for (let queueId = 0; queueId < queues; queueId++) {
    const max = await broker.maxOffset(topic, queueId);
    let offset = 0;
    while (offset < max) {
      const r = await broker.pull({ group, topic, queueId, offset, maxMsgNums: 32, ...(filter === undefined ? {} : { filter }) });
      out.push(...r.messages);
      if (r.nextBeginOffset <= offset) throw new Error(`pull of ${topic}/${queueId} at ${offset} did not move (${r.status})`);
      offset = r.nextBeginOffset;
    }
  }
  return out;
}

export const ids = (messages: readonly MessageExt[]): string[] => messages.map((m) => m.msgId).sort();
