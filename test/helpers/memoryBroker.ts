/**
 * A BrokerApi kept in memory, for tests of clients and of the remoting layer: queues are arrays,
 * offsets a map, membership a set. Statuses follow the real broker's (GetMessage.ts) closely
 * enough for consumers; `role: 'SLAVE'` refuses sends as a slave does.
 */
import type {
  BrokerApi, CommittedOffset, ConsumerProgress, ConsumerRegistration, DelayOffset, Message, MessageExt, OffsetResetRequest, OffsetResetResult, OffsetResetState, PullRequest, PullResult, SendResult,
  SubscriptionGroupConfig, SubscriptionGroupInput, SubscriptionGroupTable, TopicConfig, TopicRoute,
} from '../../api/BrokerApi.js';
import { PetrelError } from '../../common/errors.js';

export class MemoryBroker implements BrokerApi {
  readonly brokerName: string;
  readonly role: 'MASTER' | 'SLAVE';
  readonly topics = new Map<string, TopicConfig>();
  readonly queues = new Map<string, MessageExt[]>();
  readonly offsets = new Map<string, number>();
  readonly members = new Map<string, Set<string>>();
  readonly calls: string[] = [];
  #seq = 0;
  #wake: (() => void)[] = [];

  constructor(brokerName: string, role: 'MASTER' | 'SLAVE' = 'MASTER') {
    this.brokerName = brokerName;
    this.role = role;
  }

  #queue(topic: string, queueId: number): MessageExt[] {
    const k = `${topic}/${queueId}`;
    let q = this.queues.get(k);
    if (q === undefined) {
      q = [];
      this.queues.set(k, q);
    }
    return q;
  }

  /** Appends a message as if replicated or sent (used to fill a slave). */
  append(topic: string, queueId: number, body: Uint8Array, msgId = `M${this.#seq}`): MessageExt {
    const q = this.#queue(topic, queueId);
    const m: MessageExt = {
      topic, body, tags: undefined, keys: [], properties: {}, flag: 0, queueId, queueOffset: q.length, commitLogOffset: this.#seq, storeSize: body.length,
      sysFlag: 0, bornTimestamp: Date.now(), storeTimestamp: Date.now(), reconsumeTimes: 0, msgId, offsetMsgId: `O${this.#seq}`, brokerName: this.brokerName,
    };
    this.#seq += 1;
    q.push(m);
    for (const w of this.#wake.splice(0)) w();
    return m;
  }

  async send(messages: readonly Message[], queueId = 0): Promise<SendResult[]> {
    this.calls.push('send');
    if (this.role === 'SLAVE') throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `${this.brokerName} is a SLAVE`);
    return messages.map((msg) => {
      this.createTopicSync(msg.topic);
      const m = this.append(msg.topic, queueId, msg.body);
      return { sendStatus: 'SEND_OK', msgId: m.msgId, offsetMsgId: m.offsetMsgId, messageQueue: { topic: msg.topic, brokerName: this.brokerName, queueId }, queueOffset: m.queueOffset, commitLogOffset: m.commitLogOffset, storeTimestamp: m.storeTimestamp };
    });
  }

  sendOneway(message: Message, queueId?: number): void {
    void this.send([message], queueId).catch(() => undefined);
  }

  async pull(r: PullRequest): Promise<PullResult> {
    this.calls.push('pull');
    const deadline = Date.now() + (r.longPollMs ?? 0);
    for (;;) {
      const q = this.#queue(r.topic, r.queueId);
      const max = q.length;
      const base = { minOffset: 0, maxOffset: max, messages: [] as MessageExt[] };
      let res: PullResult;
      if (max === 0) res = { ...base, status: 'NO_MESSAGE_IN_QUEUE', nextBeginOffset: 0 };
      else if (r.offset === max) res = { ...base, status: 'OFFSET_OVERFLOW_ONE', nextBeginOffset: r.offset };
      else if (r.offset > max) res = { ...base, status: 'OFFSET_OVERFLOW_BADLY', nextBeginOffset: 0 };
      else {
        const messages = q.slice(r.offset, r.offset + r.maxMsgNums);
        return { ...base, status: 'FOUND', messages, nextBeginOffset: r.offset + messages.length };
      }
      const left = deadline - Date.now();
      if (left <= 0 || (res.status !== 'OFFSET_OVERFLOW_ONE' && !(res.status === 'NO_MESSAGE_IN_QUEUE' && r.offset === 0))) return res;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  createTopicSync(topic: string, n = 4): TopicConfig {
    let c = this.topics.get(topic);
    if (c === undefined) {
      c = { topic, readQueueNums: n, writeQueueNums: n, perm: 6, order: false };
      this.topics.set(topic, c);
    }
    return c;
  }

  async createTopic(config: { topic: string; readQueueNums?: number; writeQueueNums?: number }): Promise<TopicConfig> {
    const c: TopicConfig = { topic: config.topic, readQueueNums: config.readQueueNums ?? 4, writeQueueNums: config.writeQueueNums ?? 4, perm: 6, order: false };
    this.topics.set(config.topic, c);
    return c;
  }

  async getTopic(topic: string): Promise<TopicConfig | undefined> {
    return this.topics.get(topic);
  }

  async listTopics(): Promise<TopicConfig[]> {
    return [...this.topics.values()];
  }

  async queryRoute(topic: string): Promise<TopicRoute> {
    const c = this.createTopicSync(topic);
    return { topic, brokers: [{ brokerName: this.brokerName, addrs: {}, readQueueNums: c.readQueueNums, writeQueueNums: c.writeQueueNums, perm: c.perm }] };
  }

  async registerProducer(): Promise<void> {}
  async unregisterProducer(): Promise<void> {}

  async registerConsumer(reg: ConsumerRegistration): Promise<string[]> {
    let g = this.members.get(reg.group);
    if (g === undefined) {
      g = new Set();
      this.members.set(reg.group, g);
    }
    g.add(reg.clientId);
    return this.consumerIds(reg.group);
  }

  async unregisterConsumer(group: string, clientId: string): Promise<void> {
    this.members.get(group)?.delete(clientId);
  }

  async consumerIds(group: string): Promise<string[]> {
    return [...(this.members.get(group) ?? [])].sort();
  }

  async awaitConsumerIdsChange(group: string, known: readonly string[], timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ids = await this.consumerIds(group);
      if (ids.join() !== known.join() || Date.now() >= deadline) return ids;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async commitOffset(group: string, topic: string, queueId: number, offset: number): Promise<void> {
    this.calls.push('commitOffset');
    this.offsets.set(`${group}@${topic}@${queueId}`, offset);
  }

  async queryOffset(group: string, topic: string, queueId: number): Promise<number> {
    return this.offsets.get(`${group}@${topic}@${queueId}`) ?? -1;
  }

  async minOffset(): Promise<number> {
    return 0;
  }

  async maxOffset(topic: string, queueId: number): Promise<number> {
    return this.#queue(topic, queueId).length;
  }

  async searchOffsetByTime(): Promise<number> {
    return 0;
  }

  async sendBack(_group: string, message: MessageExt): Promise<void> {
    this.calls.push(`sendBack:${message.msgId}`);
  }

  async consumerProgress(group: string): Promise<ConsumerProgress> {
    return { group, queues: [], totalLag: 0 };
  }

  async resetOffset(request: OffsetResetRequest): Promise<OffsetResetResult> {
    return { group: request.group, topic: request.topic, epoch: 0, groupCreated: false, queues: [] };
  }
  async awaitOffsetReset(): Promise<OffsetResetState> {
    return { epoch: 0, queues: [] };
  }
  async resetOffsetToLatest(): Promise<void> {}
  async resetOffsetByTime(): Promise<void> {}

  async queryMessageByKey(): Promise<MessageExt[]> {
    return [];
  }

  async queryMessageById(): Promise<MessageExt | undefined> {
    return undefined;
  }

  async viewMessageByOffset(): Promise<MessageExt | undefined> {
    return undefined;
  }

  async allConsumerOffsets(): Promise<CommittedOffset[]> {
    return [];
  }

  async delayOffsets(): Promise<DelayOffset[]> {
    return [];
  }

  async getSubscriptionGroup(): Promise<SubscriptionGroupConfig | undefined> {
    return undefined;
  }

  async listSubscriptionGroups(): Promise<SubscriptionGroupTable> {
    return { version: 0, groups: [] };
  }

  async awaitSubscriptionGroupsChange(): Promise<SubscriptionGroupTable> {
    return { version: 0, groups: [] };
  }

  async updateSubscriptionGroup(_input: SubscriptionGroupInput): Promise<SubscriptionGroupConfig> {
    throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', 'the memory broker keeps no subscription groups');
  }

  async deleteSubscriptionGroup(): Promise<boolean> {
    return false;
  }
}
