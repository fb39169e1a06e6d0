/**
 * A BrokerApi whose broker is at the other end of a remoting link (BrokerApiServer). Every reply
 * is parsed into its declared type before it is returned. Requests that wait on the broker
 * (long-polling pulls, membership waits) get the broker's hold added to their deadline.
 *
 * A dead or unreachable broker fails calls with ERR_SERVICE_NOT_AVAILABLE (or ERR_REMOTE for a
 * connection lost mid-request); the link reconnects on the next call.
 */
import type {
  BrokerApi, CommittedOffset, ConsumerProgress, ConsumerRegistration, DelayOffset, Message, MessageExt, OffsetResetRequest, OffsetResetResult,
  OffsetResetState, PullRequest, PullResult, SendResult, SubscriptionGroupConfig, SubscriptionGroupInput, SubscriptionGroupTable, TopicConfig, TopicRoute,
} from '../../actors/BrokerApi.js';
import { PetrelError } from '../../common/errors.js';
import { REPLY as R, bool, int, list, rec, str, strList } from './narrow.js';
import { consumerProgress, messageExt, offsetResetResult, offsetResetState, pullResult, sendResult, topicConfig, topicRoute } from './brokerValues.js';
import { checkMaxFrameBytes } from './Frame.js';
import { checkSendReply, replyBudget } from './replyBounds.js';
import { committedOffset, delayOffset, subscriptionGroupConfig, subscriptionGroupTable } from './configValues.js';
import { RpcClient, type RpcClientOptions } from './RpcClient.js';

export interface RemoteBrokerApiOptions extends RpcClientOptions {
  /** The broker name expected behind the address; `connectBrokerApi` asks when absent. */
  readonly brokerName?: string;
}

function none(v: unknown): void {
  if (v !== undefined && v !== null) throw new PetrelError('ERR_REMOTE', 'reply must be empty');
}

export class RemoteBrokerApi implements BrokerApi {
  readonly #rpc: RpcClient;
  readonly #timeoutMs: number;
  /** What this end can read back in one reply frame. */
  readonly #replyBudget: number;
  #brokerName: string;

  /** A link opened lazily, on the first call; `brokerName` is what the caller expects there. */
  constructor(address: string, options: RemoteBrokerApiOptions & { brokerName: string }) {
    this.#brokerName = options.brokerName;
    this.#rpc = new RpcClient(address, options);
    this.#timeoutMs = options.requestTimeoutMs ?? 3000;
    this.#replyBudget = replyBudget(checkMaxFrameBytes(options.maxFrameBytes));
  }

  /** Connects to the broker served at `address` and asks its name; rejects if it cannot be reached. */
  static async connect(address: string, options: RemoteBrokerApiOptions = {}): Promise<RemoteBrokerApi> {
    const api = new RemoteBrokerApi(address, { ...options, brokerName: options.brokerName ?? '' });
    try {
      const hello = await api.hello();
      if (options.brokerName !== undefined && options.brokerName !== hello.brokerName) {
        throw new PetrelError('ERR_CONFIG_INVALID', `${address} serves broker ${hello.brokerName}, not ${options.brokerName}`);
      }
      api.#brokerName = hello.brokerName;
      return api;
    } catch (err) {
      api.close();
      throw err;
    }
  }

  get brokerName(): string {
    return this.#brokerName;
  }

  get address(): string {
    return this.#rpc.address;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.#rpc.connected;
  }

  close(): void {
    this.#rpc.close();
  }

  /** Who is behind the address. */
  async hello(): Promise<{ brokerName: string }> {
    const r = rec(R, await this.#rpc.call('$hello', []), 'hello');
    return { brokerName: str(R, r['brokerName'], 'brokerName') };
  }

  /**
   * Refused with ERR_REPLY_TOO_LARGE before it leaves when this end could not read back the
   * results in one frame (the broker refuses it too, against its own limit): a batch is either
   * answered in one reply or not stored at all.
   */
  async send(messages: readonly Message[], queueId?: number): Promise<SendResult[]> {
    checkSendReply(messages, this.#brokerName, this.#replyBudget);
    const v = await this.#rpc.call('send', queueId === undefined ? [messages] : [messages, queueId]);
    return list(R, v, 'results').map((x, i) => sendResult(R, x, `results[${i}]`));
  }

  sendOneway(message: Message, queueId?: number): void {
    this.#rpc.notify('sendOneway', queueId === undefined ? [message] : [message, queueId]);
  }

  async pull(request: PullRequest): Promise<PullResult> {
    return pullResult(R, await this.#rpc.call('pull', [request], this.#timeoutMs + (request.longPollMs ?? 0)), 'pull');
  }

  async createTopic(config: { topic: string; readQueueNums?: number; writeQueueNums?: number; perm?: number; order?: boolean }): Promise<TopicConfig> {
    return topicConfig(R, await this.#rpc.call('createTopic', [config]), 'topic');
  }

  async getTopic(topic: string): Promise<TopicConfig | undefined> {
    const v = await this.#rpc.call('getTopic', [topic]);
    return v === undefined ? undefined : topicConfig(R, v, 'topic');
  }

  async listTopics(): Promise<TopicConfig[]> {
    return list(R, await this.#rpc.call('listTopics', []), 'topics').map((x, i) => topicConfig(R, x, `topics[${i}]`));
  }

  async queryRoute(topic: string): Promise<TopicRoute> {
    return topicRoute(R, await this.#rpc.call('queryRoute', [topic]), 'route');
  }

  async registerProducer(group: string, instanceName: string, clientId: string): Promise<void> {
    none(await this.#rpc.call('registerProducer', [group, instanceName, clientId]));
  }

  async unregisterProducer(group: string, instanceName: string, clientId: string): Promise<void> {
    none(await this.#rpc.call('unregisterProducer', [group, instanceName, clientId]));
  }

  async registerConsumer(registration: ConsumerRegistration): Promise<string[]> {
    return strList(R, await this.#rpc.call('registerConsumer', [registration]), 'ids');
  }

  async unregisterConsumer(group: string, clientId: string): Promise<void> {
    none(await this.#rpc.call('unregisterConsumer', [group, clientId]));
  }

  async consumerIds(group: string): Promise<string[]> {
    return strList(R, await this.#rpc.call('consumerIds', [group]), 'ids');
  }

  async awaitConsumerIdsChange(group: string, known: readonly string[], timeoutMs: number): Promise<string[]> {
    return strList(R, await this.#rpc.call('awaitConsumerIdsChange', [group, known, timeoutMs], this.#timeoutMs + Math.max(0, timeoutMs)), 'ids');
  }

  async commitOffset(group: string, topic: string, queueId: number, offset: number, resetEpoch?: number): Promise<void> {
    none(await this.#rpc.call('commitOffset', resetEpoch === undefined ? [group, topic, queueId, offset] : [group, topic, queueId, offset, resetEpoch]));
  }

  async queryOffset(group: string, topic: string, queueId: number): Promise<number> {
    return int(R, await this.#rpc.call('queryOffset', [group, topic, queueId]), 'offset');
  }

  async minOffset(topic: string, queueId: number): Promise<number> {
    return int(R, await this.#rpc.call('minOffset', [topic, queueId]), 'offset');
  }

  async maxOffset(topic: string, queueId: number): Promise<number> {
    return int(R, await this.#rpc.call('maxOffset', [topic, queueId]), 'offset');
  }

  async searchOffsetByTime(topic: string, queueId: number, timestampMs: number): Promise<number> {
    return int(R, await this.#rpc.call('searchOffsetByTime', [topic, queueId, timestampMs]), 'offset');
  }

  async sendBack(group: string, message: MessageExt, delayLevel: number, maxReconsumeTimes: number): Promise<void> {
    none(await this.#rpc.call('sendBack', [group, message, delayLevel, maxReconsumeTimes]));
  }

  async consumerProgress(group: string): Promise<ConsumerProgress> {
    return consumerProgress(R, await this.#rpc.call('consumerProgress', [group]), 'progress');
  }

  async resetOffset(request: OffsetResetRequest): Promise<OffsetResetResult> {
    return offsetResetResult(R, await this.#rpc.call('resetOffset', [request]), 'reset');
  }

  async awaitOffsetReset(group: string, topic: string, knownEpoch: number, timeoutMs: number): Promise<OffsetResetState> {
    const v = await this.#rpc.call('awaitOffsetReset', [group, topic, knownEpoch, timeoutMs], this.#timeoutMs + Math.max(0, timeoutMs));
    return offsetResetState(R, v, 'state');
  }

  async resetOffsetToLatest(group: string, topic: string): Promise<void> {
    none(await this.#rpc.call('resetOffsetToLatest', [group, topic]));
  }

  async resetOffsetByTime(group: string, topic: string, timestampMs: number): Promise<void> {
    none(await this.#rpc.call('resetOffsetByTime', [group, topic, timestampMs]));
  }

  async queryMessageByKey(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): Promise<MessageExt[]> {
    const v = await this.#rpc.call('queryMessageByKey', [topic, key, maxNum, beginMs, endMs]);
    return list(R, v, 'messages').map((x, i) => messageExt(R, x, `messages[${i}]`));
  }

  async queryMessageById(msgId: string): Promise<MessageExt | undefined> {
    const v = await this.#rpc.call('queryMessageById', [msgId]);
    return v === undefined ? undefined : messageExt(R, v, 'message');
  }

  async viewMessageByOffset(commitLogOffset: number): Promise<MessageExt | undefined> {
    const v = await this.#rpc.call('viewMessageByOffset', [commitLogOffset]);
    return v === undefined ? undefined : messageExt(R, v, 'message');
  }

  async allConsumerOffsets(): Promise<CommittedOffset[]> {
    return list(R, await this.#rpc.call('allConsumerOffsets', []), 'offsets').map((x, i) => committedOffset(R, x, `offsets[${i}]`));
  }

  async delayOffsets(): Promise<DelayOffset[]> {
    return list(R, await this.#rpc.call('delayOffsets', []), 'offsets').map((x, i) => delayOffset(R, x, `offsets[${i}]`));
  }

  async getSubscriptionGroup(group: string): Promise<SubscriptionGroupConfig | undefined> {
    const v = await this.#rpc.call('getSubscriptionGroup', [group]);
    return v === undefined ? undefined : subscriptionGroupConfig(R, v, 'group');
  }

  async listSubscriptionGroups(): Promise<SubscriptionGroupTable> {
    return subscriptionGroupTable(R, await this.#rpc.call('listSubscriptionGroups', []), 'table');
  }

  async awaitSubscriptionGroupsChange(version: number, timeoutMs: number): Promise<SubscriptionGroupTable> {
    const v = await this.#rpc.call('awaitSubscriptionGroupsChange', [version, timeoutMs], this.#timeoutMs + Math.max(0, timeoutMs));
    return subscriptionGroupTable(R, v, 'table');
  }

  async updateSubscriptionGroup(input: SubscriptionGroupInput): Promise<SubscriptionGroupConfig> {
    return subscriptionGroupConfig(R, await this.#rpc.call('updateSubscriptionGroup', [input]), 'group');
  }

  async deleteSubscriptionGroup(group: string): Promise<boolean> {
    return bool(R, await this.#rpc.call('deleteSubscriptionGroup', [group]), 'deleted');
  }
}

/** Connects to the broker served at `address` and asks its name; rejects if it cannot be reached. */
export function connectBrokerApi(address: string, options: RemoteBrokerApiOptions = {}): Promise<RemoteBrokerApi> {
  return RemoteBrokerApi.connect(address, options);
}
