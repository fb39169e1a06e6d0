/**
 * The broker's read-side requests (RocketMQ's admin and query paths): queue offsets and look-ups
 * served by the DispatcherActor, which owns the ConsumeQueues and the index, and a group's
 * progress and offset resets over the committed offsets. Main thread; holds no state of its own.
 */
import type { ActorRef } from '../runtime/ActorRef.js';
import { decodeOffsetMessageId } from '../storage/MessageId.js';
import { decodeMessage } from '../storage/MessageDecoder.js';
import type { ConsumerProgress, MessageExt, TopicConfig } from './BrokerApi.js';
import type { ConsumerOffsets } from './ConsumerOffsets.js';
import type { DispatcherMsg, DispatcherReplies } from './DispatcherActor.js';
import { toPublic } from './messageConvert.js';
import type { TopicConfigs } from './TopicConfigs.js';

export interface BrokerQueriesDeps {
  readonly brokerName: string;
  readonly dispatcher: ActorRef<DispatcherMsg, DispatcherReplies>;
  readonly offsets: ConsumerOffsets;
  readonly topics: TopicConfigs;
  /** The topic's config, auto-creating it as sends do. */
  readonly topicFor: (topic: string, forWrite: boolean) => TopicConfig;
}

export class BrokerQueries {
  readonly #brokerName: string;
  readonly #dispatcher: ActorRef<DispatcherMsg, DispatcherReplies>;
  readonly #offsets: ConsumerOffsets;
  readonly #topics: TopicConfigs;
  readonly #topicFor: (topic: string, forWrite: boolean) => TopicConfig;

  constructor(deps: BrokerQueriesDeps) {
    this.#brokerName = deps.brokerName;
    this.#dispatcher = deps.dispatcher;
    this.#offsets = deps.offsets;
    this.#topics = deps.topics;
    this.#topicFor = deps.topicFor;
  }

  async minOffset(topic: string, queueId: number): Promise<number> {
    return (await this.#dispatcher.ask({ type: 'offsets', topic, queueId })).min;
  }

  async maxOffset(topic: string, queueId: number): Promise<number> {
    return (await this.#dispatcher.ask({ type: 'offsets', topic, queueId })).max;
  }

  async searchOffsetByTime(topic: string, queueId: number, timestampMs: number): Promise<number> {
    return this.#dispatcher.ask({ type: 'offsetByTime', topic, queueId, timestamp: timestampMs });
  }

  async consumerProgress(group: string): Promise<ConsumerProgress> {
    const queues = await Promise.all(
      this.#offsets.ofGroup(group).map(async (o) => {
        const brokerOffset = await this.maxOffset(o.topic, o.queueId);
        return { topic: o.topic, queueId: o.queueId, brokerOffset, consumerOffset: o.offset, lag: Math.max(0, brokerOffset - o.offset) };
      }),
    );
    return { group, queues, totalLag: queues.reduce((a, q) => a + q.lag, 0) };
  }

  async resetOffsetToLatest(group: string, topic: string): Promise<void> {
    const cfg = this.#topicFor(topic, false);
    for (let q = 0; q < cfg.readQueueNums; q++) this.#offsets.commit(group, topic, q, await this.maxOffset(topic, q));
    this.#offsets.persist();
  }

  async resetOffsetByTime(group: string, topic: string, timestampMs: number): Promise<void> {
    const cfg = this.#topicFor(topic, false);
    for (let q = 0; q < cfg.readQueueNums; q++) this.#offsets.commit(group, topic, q, await this.searchOffsetByTime(topic, q, timestampMs));
    this.#offsets.persist();
  }

  async queryMessageByKey(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): Promise<MessageExt[]> {
    const records = await this.#dispatcher.ask({ type: 'queryKey', topic, key, maxNum, begin: beginMs, end: endMs });
    // The index matches hashes only: keep messages that really carry the key (or unique id).
    return records.map((r) => toPublic(decodeMessage(r, 0), this.#brokerName)).filter((m) => m.keys.includes(key) || m.msgId === key);
  }

  async queryMessageById(msgId: string): Promise<MessageExt | undefined> {
    if (/^[0-9A-Fa-f]{32}$/.test(msgId)) {
      try {
        const byOffset = await this.viewMessageByOffset(decodeOffsetMessageId(msgId).physicalOffset);
        if (byOffset !== undefined && byOffset.offsetMsgId.toUpperCase() === msgId.toUpperCase()) return byOffset;
      } catch {
        // not an offset message id: try it as a unique key below
      }
    }
    for (const t of this.#topics.list()) {
      const found = await this.queryMessageByKey(t.topic, msgId, 1, 0, Date.now() + 1000);
      if (found[0] !== undefined) return found[0];
    }
    return undefined;
  }

  async viewMessageByOffset(commitLogOffset: number): Promise<MessageExt | undefined> {
    const bytes = await this.#dispatcher.ask({ type: 'record', offset: commitLogOffset });
    return bytes === undefined ? undefined : toPublic(decodeMessage(bytes, 0), this.#brokerName);
  }
}
