/** Starts a real broker (worker threads, real files) on a temp folder; torn down after the test. */
import type { ExecutionContext } from 'ava';
import { Broker, type BrokerStartOptions } from '../../actors/Broker.js';
import type { BrokerApi } from '../../api/BrokerApi.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import { tempDir } from './tmp.js';
import { remotingNetwork } from '../../protocol/remoting/brokerNetwork.js';

export async function startBroker(t: ExecutionContext, config: BrokerConfigInput = {}, options: BrokerStartOptions = {}): Promise<Broker> {
  const dir = config.storePathRootDir ?? tempDir(t);
  const broker = await Broker.start({ mappedFileSizeCommitLog: 1 << 20, mappedFileSizeConsumeQueue: 20 * 1000, ...config, storePathRootDir: dir }, { network: remotingNetwork, ...options });
  t.teardown(() => broker.shutdown());
  return broker;
}

/** Resolves once cond() holds, or rejects after timeoutMs. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Resolves once a topic's ConsumeQueues hold `total` messages in all. A send returns when the CommitLog
 * has the bytes; the dispatcher builds the queue units just after, so a read of queue offsets waits here.
 */
export async function untilQueued(api: Pick<BrokerApi, 'getTopic' | 'maxOffset' | 'minOffset'>, topic: string, total: number, timeoutMs = 10_000): Promise<void> {
  await until(
    async () => {
      const queues = (await api.getTopic(topic))?.readQueueNums ?? 0;
      let sum = 0;
      for (let q = 0; q < queues; q++) sum += (await api.maxOffset(topic, q)) - (await api.minOffset(topic, q));
      return sum >= total;
    },
    timeoutMs,
    `${total} messages queued on ${topic}`,
  );
}

export const body = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
