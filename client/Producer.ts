/**
 * Producer: RocketMQ's DefaultMQProducer over a BrokerApi (an embedded broker, a BrokerHandle
 * revived on a worker thread, or a network client), or over every broker group found through
 * name servers (namesrvAddr): then queues span the groups with a master, a group whose send
 * failed is avoided for a while and a failed send is retried on another group. Safe to share
 * between any number of concurrent async tasks; each worker thread that sends builds its own
 * Producer over its own BrokerHandle. Holds no message state: a crash loses only sends not yet
 * acknowledged.
 */
import { PetrelError, isPetrelError } from '../common/errors.js';
import type { BrokerApi, Message, MessageQueue, SendResult } from '../api/BrokerApi.js';
import { queuesOf } from '../api/BrokerApi.js';
import { clientId as makeClientId, validateGroupName } from './clientIds.js';
import { openBrokerSource, type NameServerOption } from './BrokerSource.js';
import type { ClusterClient } from './ClusterClient.js';

export interface ProducerOptions {
  /** Producer group (RocketMQ producerGroup); required. */
  readonly groupName: string;
  /** Tells producers of one group in one process apart. Default "DEFAULT". */
  readonly instanceName?: string;
  /** Extra attempts after a failed send (sync and async; oneway never retries). Default 2. */
  readonly retryTimesWhenSendFailed?: number;
  /** Total time budget of one send over all attempts, ms. Default 3000. */
  readonly sendMsgTimeout?: number;
  /** The broker to send to. */
  readonly broker: BrokerApi;
}

/** The same settings with name servers instead of one broker: sends spread over every broker group. */
export type ProducerNamesrvOptions = Omit<ProducerOptions, 'broker'> & NameServerOption;

/** Picks the queue of an ordered send from the topic's writable queues. */
export type MessageQueueSelector<A> = (queues: readonly MessageQueue[], message: Message, arg: A) => MessageQueue;

export interface SendCallback {
  onSuccess(result: SendResult): void;
  onException(error: Error): void;
}

const ROUTE_TTL_MS = 30_000;

export class Producer {
  readonly groupName: string;
  readonly instanceName: string;
  readonly clientId: string;
  readonly #retries: number;
  readonly #timeoutMs: number;
  readonly #broker: BrokerApi;
  readonly #cluster: ClusterClient | undefined;
  readonly #ownsCluster: boolean;
  readonly #routes = new Map<string, { queues: MessageQueue[]; fetchedAt: number }>();
  #state: 'created' | 'running' | 'stopped' = 'created';
  #next = Math.floor(Math.random() * 1024);

  constructor(options: ProducerNamesrvOptions);
  constructor(options: ProducerOptions);
  constructor(options: ProducerOptions | ProducerNamesrvOptions) {
    this.groupName = validateGroupName(options.groupName, 'groupName');
    this.instanceName = options.instanceName ?? 'DEFAULT';
    if (this.instanceName.length === 0) throw new PetrelError('ERR_INVALID_ARGUMENT', 'instanceName must not be empty');
    this.#retries = nonNegativeInt(options.retryTimesWhenSendFailed ?? 2, 'retryTimesWhenSendFailed');
    this.#timeoutMs = nonNegativeInt(options.sendMsgTimeout ?? 3000, 'sendMsgTimeout');
    const source = openBrokerSource(options, 'Producer');
    this.#broker = source.broker;
    this.#cluster = source.cluster;
    this.#ownsCluster = source.owned;
    this.clientId = makeClientId(this.instanceName);
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new PetrelError('ERR_CLIENT_STATE', `producer ${this.groupName} was already started`);
    await this.#broker.registerProducer(this.groupName, this.instanceName, this.clientId);
    this.#state = 'running';
  }

  async shutdown(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopped';
    try {
      await this.#broker.unregisterProducer(this.groupName, this.instanceName, this.clientId);
    } finally {
      if (this.#ownsCluster) this.#cluster?.close();
    }
  }

  /** Sends one message and resolves once the broker's flush mode and role are satisfied. */
  send(message: Message): Promise<SendResult>;
  /** Ordered send: the selector picks the queue (e.g. by a business key); no retries. */
  send<A>(message: Message, selector: MessageQueueSelector<A>, arg: A): Promise<SendResult>;
  async send<A>(message: Message, selector?: MessageQueueSelector<A>, arg?: A): Promise<SendResult> {
    this.#checkRunning();
    checkMessage(message);
    if (selector !== undefined) {
      const queues = await this.#writeQueues(message.topic);
      const mq = selector(queues, message, arg as A);
      if (!queues.some((q) => q.queueId === mq.queueId && q.brokerName === mq.brokerName)) {
        throw new PetrelError('ERR_QUEUE_ID_INVALID', `selector chose queue ${mq.queueId}, which is not a writable queue of ${message.topic}`);
      }
      const [result] = await this.#sendTo(mq, [message]);
      return one(result);
    }
    return this.#sendWithRetries([message]);
  }

  /** RocketMQ's async send: the callback gets the result or the error; returns at once. */
  sendAsync(message: Message, callback: SendCallback): void {
    this.send(message).then(
      (r) => callback.onSuccess(r),
      (e: unknown) => callback.onException(e instanceof Error ? e : new Error(String(e))),
    );
  }

  /** Fire and forget: handed to the writer, no result, no retry. */
  sendOneway(message: Message): void {
    this.#checkRunning();
    checkMessage(message);
    this.#broker.sendOneway(message);
  }

  /** A batch: same topic, stored in one queue with consecutive offsets. */
  async sendBatch(messages: readonly Message[]): Promise<SendResult[]> {
    this.#checkRunning();
    if (messages.length === 0) throw new PetrelError('ERR_MESSAGE_ILLEGAL', 'a batch needs at least one message');
    const topic = messages[0]?.topic;
    for (const m of messages) {
      checkMessage(m);
      if (m.topic !== topic) throw new PetrelError('ERR_MESSAGE_ILLEGAL', 'all messages of a batch must have the same topic');
      if (m.delayLevel !== undefined && m.delayLevel > 0) throw new PetrelError('ERR_MESSAGE_ILLEGAL', 'a batch cannot hold delayed messages');
    }
    return this.#sendWithRetriesBatch(messages);
  }

  async #sendWithRetries(messages: readonly Message[]): Promise<SendResult> {
    return one((await this.#sendWithRetriesBatch(messages))[0]);
  }

  async #sendWithRetriesBatch(messages: readonly Message[]): Promise<SendResult[]> {
    const topic = messages[0]?.topic ?? '';
    // The retry budget is timed from the first failure: a send that succeeds reads no clock.
    let deadline = Number.POSITIVE_INFINITY;
    let lastError: unknown;
    let lastBroker: string | undefined;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      if (attempt > 0 && performance.now() > deadline) break;
      let mq: MessageQueue | undefined;
      try {
        const queues = this.#cachedQueues(topic) ?? (await this.#writeQueues(topic));
        mq = this.#cluster !== undefined ? this.#cluster.selectWriteQueue(queues, lastBroker) : queues[this.#next++ % queues.length];
        if (mq === undefined) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `topic ${topic} has no writable queue`);
        return await this.#sendTo(mq, messages);
      } catch (err) {
        lastError = err;
        if (!isPetrelError(err) || !err.retriable) throw err;
        if (attempt === 0) deadline = performance.now() + this.#timeoutMs;
        lastBroker = mq?.brokerName;
        this.#routes.delete(topic);
      }
    }
    throw lastError instanceof Error ? lastError : new PetrelError('ERR_TIMEOUT', `send to ${topic} failed`);
  }

  /** One attempt: to the queue's group master (through the cluster's fault tolerance), or the broker. */
  #sendTo(mq: MessageQueue, messages: readonly Message[]): Promise<SendResult[]> {
    return this.#cluster !== undefined ? this.#cluster.sendToQueue(mq, messages) : this.#broker.send(messages, mq.queueId);
  }

  /** The write queues of `topic` from the route cache while it is fresh (embedded broker only). */
  #cachedQueues(topic: string): MessageQueue[] | undefined {
    if (this.#cluster !== undefined) return undefined;
    const cached = this.#routes.get(topic);
    return cached !== undefined && performance.now() - cached.fetchedAt < ROUTE_TTL_MS ? cached.queues : undefined;
  }

  async #writeQueues(topic: string): Promise<MessageQueue[]> {
    if (this.#cluster !== undefined) return this.#cluster.writeQueues(topic);
    const cached = this.#cachedQueues(topic);
    if (cached !== undefined) return cached;
    const route = await this.#broker.queryRoute(topic);
    const queues = queuesOf(route, 'write');
    if (queues.length === 0) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `topic ${topic} has no writable queue`);
    this.#routes.set(topic, { queues, fetchedAt: performance.now() });
    return queues;
  }

  #checkRunning(): void {
    if (this.#state !== 'running') throw new PetrelError('ERR_CLIENT_STATE', `producer ${this.groupName} is not running (call start())`);
  }
}

function one(result: SendResult | undefined): SendResult {
  if (result === undefined) throw new PetrelError('ERR_ACTOR_CRASHED', 'the broker returned no send result');
  return result;
}

function checkMessage(m: Message): void {
  if (typeof m !== 'object' || m === null) throw new PetrelError('ERR_MESSAGE_ILLEGAL', 'a message must be an object');
  if (typeof m.topic !== 'string') throw new PetrelError('ERR_TOPIC_INVALID', 'message.topic must be a string');
  if (!(m.body instanceof Uint8Array)) throw new PetrelError('ERR_MESSAGE_ILLEGAL', 'message.body must be a Buffer or Uint8Array');
}

function nonNegativeInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0) throw new PetrelError('ERR_INVALID_ARGUMENT', `${name} must be a non-negative integer`);
  return v;
}
