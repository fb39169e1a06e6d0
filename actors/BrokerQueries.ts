/**
 * The broker's read-side requests (RocketMQ's admin and query paths): queue offsets and look-ups
 * served by the DispatcherActor, which owns the ConsumeQueues and the index, and a group's
 * progress and offset resets over the committed offsets. Main thread; holds no state of its own.
 */
import type { ActorRef } from '../runtime/ActorRef.js';
import { PetrelError } from '../common/errors.js';
import { decodeOffsetMessageId } from '../storage/MessageId.js';
import { decodeMessage } from '../storage/MessageDecoder.js';
import type { ConsumerProgress, ConsumerRegistration, MessageExt, QueueLag, TopicConfig } from '../api/BrokerApi.js';
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
  /** The registrations of a group's live members (where they start, what they subscribe). */
  readonly registrationsOf: (group: string) => readonly ConsumerRegistration[];
}

export class BrokerQueries {
  readonly #brokerName: string;
  readonly #dispatcher: ActorRef<DispatcherMsg, DispatcherReplies>;
  readonly #offsets: ConsumerOffsets;
  readonly #topics: TopicConfigs;
  readonly #topicFor: (topic: string, forWrite: boolean) => TopicConfig;
  readonly #registrationsOf: (group: string) => readonly ConsumerRegistration[];

  constructor(deps: BrokerQueriesDeps) {
    this.#brokerName = deps.brokerName;
    this.#dispatcher = deps.dispatcher;
    this.#offsets = deps.offsets;
    this.#topics = deps.topics;
    this.#topicFor = deps.topicFor;
    this.#registrationsOf = deps.registrationsOf;
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

  /**
   * Every queue of every topic the group consumes (topics it committed on or its members
   * subscribe to): the broker's max offset, the committed offset and the lag. A queue with no
   * committed offset (consumerOffset -1) counts its lag from where the group would start on it:
   * its members' consumeFromWhere, or the queue's min offset when none is registered.
   */
  async consumerProgress(group: string): Promise<ConsumerProgress> {
    const committed = new Map<string, number>();
    const topics = new Set<string>();
    for (const o of this.#offsets.ofGroup(group)) {
      committed.set(`${o.topic}\0${o.queueId}`, o.offset);
      topics.add(o.topic);
    }
    const regs = this.#registrationsOf(group);
    for (const r of regs) for (const s of r.subscriptions) topics.add(s.topic);
    const starts = regs.find((r) => r.consumeFromWhere !== undefined);
    const queues: QueueLag[] = [];
    for (const topic of [...topics].sort()) {
      const cfg = this.#topics.get(topic);
      const ids = new Set<number>();
      for (let q = 0; q < (cfg?.readQueueNums ?? 0); q++) ids.add(q);
      for (const key of committed.keys()) if (key.startsWith(`${topic}\0`)) ids.add(Number(key.slice(topic.length + 1)));
      for (const queueId of [...ids].sort((a, b) => a - b)) {
        const { min, max } = await this.#dispatcher.ask({ type: 'offsets', topic, queueId });
        const consumerOffset = committed.get(`${topic}\0${queueId}`) ?? -1;
        const from = consumerOffset >= 0 ? consumerOffset : await this.#startOffset(starts, topic, queueId, min, max);
        queues.push({ topic, queueId, brokerOffset: max, consumerOffset, lag: Math.max(0, max - from) });
      }
    }
    return { group, queues, totalLag: queues.reduce((a, q) => a + q.lag, 0) };
  }

  /** Where a consumer registered as `reg` starts on a queue it has no offset for (PushConsumer's rule). */
  async #startOffset(reg: ConsumerRegistration | undefined, topic: string, queueId: number, min: number, max: number): Promise<number> {
    const from = reg?.consumeFromWhere;
    if (from === undefined || from === 'CONSUME_FROM_FIRST_OFFSET' || topic.startsWith('%RETRY%')) return min;
    if (from === 'CONSUME_FROM_TIMESTAMP') return this.searchOffsetByTime(topic, queueId, reg?.consumeTimestamp ?? Date.now() - 30 * 60_000);
    return max;
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
      let offset: number | undefined;
      try {
        offset = decodeOffsetMessageId(msgId).physicalOffset;
      } catch {
        // not an offset message id: try it as a unique key below
      }
      let byOffset: MessageExt | undefined;
      try {
        byOffset = offset === undefined ? undefined : await this.viewMessageByOffset(offset);
      } catch (err) {
        // a damaged record there is ERR_STORE_CORRUPT, not "no such message"
        if (err instanceof PetrelError && err.code === 'ERR_STORE_CORRUPT') throw err;
      }
      if (byOffset !== undefined && byOffset.offsetMsgId.toUpperCase() === msgId.toUpperCase()) return byOffset;
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
