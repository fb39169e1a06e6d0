/**
 * PushConsumer: RocketMQ's DefaultMQPushConsumer over a BrokerApi, or over every broker group found
 * through name servers (namesrvAddr: queues of all groups; each queue read from its group's master,
 * or a slave of that group while the master is unreachable). It joins its group, takes its
 * share of the read queues (AllocateMessageQueueAveragely; members beyond the queue count idle),
 * long-polls each queue, hands batches of at most consumeMessageBatchMaxSize messages to the
 * listener with at most consumeThreadMax batches at once, commits offsets as batches succeed, and
 * sends failed messages back for retry (then to the DLQ). Lives on the thread that created it;
 * after a crash the group resumes from the committed offsets (at-least-once).
 *
 * Offset resets while it runs: pulls and commits carry each queue's reset epoch; a pull the broker
 * answers with a reset notice replaces the queue's process queue (what it pulled from the old
 * position is dropped, uncommitted) and pulling resumes at the new offset. Commits from before
 * the reset are refused by the broker, so the reset sticks.
 */
import { PetrelError } from '../common/errors.js';
import type { BrokerApi, FilterSpec, MessageExt, MessageModel, MessageQueue, OffsetResetNotice, QueueLag } from '../api/BrokerApi.js';
import { queuesOf } from '../api/BrokerApi.js';
import { allocateAveragely } from './allocateAveragely.js';
import { clientId as makeClientId, validateGroupName } from './clientIds.js';
import { ProcessQueue } from './ProcessQueue.js';
import { ConsumeService } from './ConsumeService.js';
import { SubscriptionFilter } from './SubscriptionFilter.js';
import { openBrokerSource } from './BrokerSource.js';
import type { ClusterClient } from './ClusterClient.js';
import type { ConsumeFromWhere, MessageListener, PushConsumerNamesrvOptions, PushConsumerOptions } from './consumeTypes.js';
import { sleep } from './sleep.js';

export { ConsumeStatus, ConsumeOrderlyStatus } from './consumeTypes.js';
export type { PushConsumerOptions, PushConsumerNamesrvOptions, MessageListener } from './consumeTypes.js';

function boundedInt(v: number | undefined, def: number, min: number, max: number, name: string): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max) throw new PetrelError('ERR_INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  return x;
}

export class PushConsumer {
  readonly groupName: string;
  readonly clientId: string;
  readonly messageModel: MessageModel;
  readonly consumeThreadMin: number;
  readonly consumeThreadMax: number;
  readonly consumeMessageBatchMaxSize: number;
  readonly pullBatchSize: number;
  readonly maxReconsumeTimes: number;
  readonly #broker: BrokerApi;
  readonly #cluster: ClusterClient | undefined;
  readonly #ownsCluster: boolean;
  readonly #opts: Omit<PushConsumerOptions, 'broker'>;
  readonly #subs = new Map<string, SubscriptionFilter>();
  readonly #pqs = new Map<string, ProcessQueue>();
  #listener: MessageListener | undefined;
  #service: ConsumeService | undefined;
  #state: 'created' | 'running' | 'stopping' | 'stopped' = 'created';
  #members: string[] = [];
  #rebalanceLoop: Promise<void> | undefined;
  readonly #pullLoops = new Set<Promise<void>>();
  readonly #stopController = new AbortController();
  /** Pulls in flight that shutdown() lets go of (one entry per queue's pull, not per signal listener). */
  readonly #onStop = new Set<() => void>();

  constructor(options: PushConsumerNamesrvOptions);
  constructor(options: PushConsumerOptions);
  constructor(options: PushConsumerOptions | PushConsumerNamesrvOptions) {
    this.groupName = validateGroupName(options.groupName, 'groupName');
    const source = openBrokerSource(options, 'PushConsumer');
    this.#broker = source.broker;
    this.#cluster = source.cluster;
    this.#ownsCluster = source.owned;
    this.#opts = options;
    this.messageModel = options.messageModel ?? 'CLUSTERING';
    if (this.messageModel !== 'CLUSTERING' && this.messageModel !== 'BROADCASTING') {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `messageModel must be CLUSTERING or BROADCASTING, got ${String(this.messageModel)}`);
    }
    // An unset min follows a smaller max down, so { consumeThreadMax: 4 } alone is valid.
    this.consumeThreadMin = boundedInt(options.consumeThreadMin, Math.min(20, options.consumeThreadMax ?? 20), 1, 1000, 'consumeThreadMin');
    this.consumeThreadMax = boundedInt(options.consumeThreadMax, Math.max(20, this.consumeThreadMin), 1, 1000, 'consumeThreadMax');
    if (this.consumeThreadMax < this.consumeThreadMin) throw new PetrelError('ERR_INVALID_ARGUMENT', 'consumeThreadMax must be >= consumeThreadMin');
    this.consumeMessageBatchMaxSize = boundedInt(options.consumeMessageBatchMaxSize, 1, 1, 1024, 'consumeMessageBatchMaxSize');
    this.pullBatchSize = boundedInt(options.pullBatchSize, 32, 1, 1024, 'pullBatchSize');
    const maxRe = options.maxReconsumeTimes ?? -1;
    if (!Number.isInteger(maxRe) || maxRe < -1) throw new PetrelError('ERR_INVALID_ARGUMENT', 'maxReconsumeTimes must be -1 or a non-negative integer');
    this.maxReconsumeTimes = maxRe;
    this.clientId = makeClientId(options.instanceName ?? 'DEFAULT');
  }

  /** Subscribes to a topic with a tag expression ("*", "TagA || TagB") or a SQL92 selector. */
  subscribe(topic: string, expression: string | FilterSpec = '*'): void {
    if (this.#state !== 'created') throw new PetrelError('ERR_CLIENT_STATE', 'subscribe before start()');
    if (typeof topic !== 'string' || topic.length === 0) throw new PetrelError('ERR_TOPIC_INVALID', 'subscribe needs a topic');
    const filter: FilterSpec = typeof expression === 'string' ? { type: 'TAG', expression } : expression;
    this.#subs.set(topic, new SubscriptionFilter(filter));
  }

  registerMessageListener(listener: MessageListener): void {
    if (this.#state !== 'created') throw new PetrelError('ERR_CLIENT_STATE', 'register the listener before start()');
    this.#listener = listener;
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new PetrelError('ERR_CLIENT_STATE', `consumer ${this.groupName} was already started`);
    if (this.#listener === undefined) throw new PetrelError('ERR_CLIENT_STATE', 'registerMessageListener before start()');
    if (this.#subs.size === 0) throw new PetrelError('ERR_CLIENT_STATE', 'subscribe to at least one topic before start()');
    if (this.messageModel === 'CLUSTERING') this.#subs.set(`%RETRY%${this.groupName}`, new SubscriptionFilter({ type: 'TAG', expression: '*' }));
    this.#service = new ConsumeService(this.#listener, {
      group: this.groupName,
      broker: this.#broker,
      threadMin: this.consumeThreadMin,
      threadMax: this.consumeThreadMax,
      batchMax: this.consumeMessageBatchMaxSize,
      maxReconsumeTimes: this.maxReconsumeTimes,
      messageModel: this.messageModel,
      suspendMs: this.#opts.suspendCurrentQueueTimeMillis ?? 1000,
      onOffset: (pq, offset) => this.#commit(pq, offset),
    });
    const from = this.#opts.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET';
    this.#members = await this.#broker.registerConsumer({
      group: this.groupName,
      clientId: this.clientId,
      messageModel: this.messageModel,
      subscriptions: [...this.#subs].map(([topic, f]) => ({ topic, filter: f.spec })),
      // the broker counts the lag of queues the group has not committed on from here
      consumeFromWhere: from,
      ...(from === 'CONSUME_FROM_TIMESTAMP' ? { consumeTimestamp: this.#consumeTimestamp() } : {}),
    });
    this.#state = 'running';
    await this.#rebalance();
    this.#rebalanceLoop = this.#watchMembership();
  }

  /** Stops pulling, lets accepted batches finish, commits offsets and leaves the group. */
  async shutdown(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.#stopController.abort();
    for (const letGo of this.#onStop) letGo();
    this.#onStop.clear();
    await this.#rebalanceLoop;
    for (const pq of this.#pqs.values()) pq.dropped = true;
    await Promise.all(this.#pullLoops);
    await this.#service?.drain();
    await this.#service?.close();
    await Promise.all([...this.#pqs.values()].map((pq) => this.#commit(pq, pq.committableOffset)));
    try {
      await this.#broker.unregisterConsumer(this.groupName, this.clientId);
    } finally {
      if (this.#ownsCluster) this.#cluster?.close();
    }
    this.#pqs.clear();
    this.#state = 'stopped';
  }

  /** The queues this consumer owns now. */
  assignedQueues(): MessageQueue[] {
    return [...this.#pqs.values()].map((pq) => pq.mq);
  }

  /** Lag per owned queue: broker max offset minus this consumer's committable offset. */
  async lag(): Promise<QueueLag[]> {
    return Promise.all(
      [...this.#pqs.values()].map(async (pq) => {
        const brokerOffset = await this.#api(pq.mq).maxOffset(pq.mq.topic, pq.mq.queueId);
        return { topic: pq.mq.topic, queueId: pq.mq.queueId, brokerOffset, consumerOffset: pq.committableOffset, lag: Math.max(0, brokerOffset - pq.committableOffset) };
      }),
    );
  }

  /** Messages skipped so far by the skipLagThreshold policy. */
  get skippedMessages(): number {
    let n = 0;
    for (const pq of this.#pqs.values()) n += pq.skipped;
    return n + this.#skippedOnDroppedQueues;
  }
  #skippedOnDroppedQueues = 0;

  /** What the consume service saw: the most batches at once and the largest batch. */
  get stats(): { maxConcurrentBatches: number; maxBatchSize: number; poolThreads: number } {
    return this.#service?.stats ?? { maxConcurrentBatches: 0, maxBatchSize: 0, poolThreads: 0 };
  }

  async #watchMembership(): Promise<void> {
    const interval = this.#opts.rebalanceInterval ?? 20_000;
    while (this.#state === 'running') {
      try {
        const members = await this.#broker.awaitConsumerIdsChange(this.groupName, this.#members, Math.min(interval, 1_000));
        if (this.#state !== 'running') return;
        this.#members = members;
        await this.#rebalance();
      } catch (err) {
        if (this.#state !== 'running') return;
        await sleep(200, this.#stopController.signal);
      }
    }
  }

  async #rebalance(): Promise<void> {
    const wanted = new Map<string, MessageQueue>();
    for (const topic of this.#subs.keys()) {
      let route;
      try {
        route = await this.#broker.queryRoute(topic);
      } catch {
        continue; // the retry topic does not exist until a first message fails
      }
      const all = queuesOf(route, 'read');
      const mine = this.messageModel === 'BROADCASTING' ? all : allocateAveragely(all, this.#members, this.clientId);
      for (const mq of mine) wanted.set(key(mq), mq);
    }
    for (const [k, pq] of this.#pqs) {
      if (wanted.has(k)) continue;
      pq.dropped = true;
      this.#skippedOnDroppedQueues += pq.skipped;
      this.#pqs.delete(k);
      await this.#commit(pq, pq.committableOffset, true);
    }
    for (const [k, mq] of wanted) {
      if (this.#pqs.has(k) || this.#state !== 'running') continue;
      const start = await this.#startOffset(mq);
      // Epoch 0: a queue the group had reset gets the reset's notice on its first pull.
      this.#startPulling(k, new ProcessQueue(mq, start));
    }
  }

  #startPulling(k: string, pq: ProcessQueue): void {
    this.#pqs.set(k, pq);
    const loop = this.#pullLoop(pq).finally(() => this.#pullLoops.delete(loop));
    this.#pullLoops.add(loop);
  }

  /**
   * The group's offset of the queue was reset (RocketMQ's RESET_CONSUMER_CLIENT_OFFSET): the old
   * process queue is dropped with what it holds (batches already with the listener finish, but
   * nothing of it is committed), and a new one pulls from the offset the broker named, committing
   * with the reset's epoch.
   */
  #adoptReset(pq: ProcessQueue, notice: OffsetResetNotice): void {
    pq.dropped = true;
    pq.superseded = true;
    this.#service?.discard(pq);
    this.#skippedOnDroppedQueues += pq.skipped;
    const k = key(pq.mq);
    if (this.#pqs.get(k) !== pq || this.#state !== 'running') return;
    this.#startPulling(k, new ProcessQueue(pq.mq, notice.offset, notice.epoch));
  }

  async #startOffset(mq: MessageQueue): Promise<number> {
    const broker = this.#api(mq);
    const committed = await broker.queryOffset(this.groupName, mq.topic, mq.queueId);
    if (committed >= 0) return committed;
    const from: ConsumeFromWhere = this.#opts.consumeFromWhere ?? 'CONSUME_FROM_LAST_OFFSET';
    if (mq.topic.startsWith('%RETRY%') || from === 'CONSUME_FROM_FIRST_OFFSET') return broker.minOffset(mq.topic, mq.queueId);
    if (from === 'CONSUME_FROM_TIMESTAMP') {
      return broker.searchOffsetByTime(mq.topic, mq.queueId, this.#consumeTimestamp());
    }
    return broker.maxOffset(mq.topic, mq.queueId);
  }

  /** CONSUME_FROM_TIMESTAMP's start: consumeTimestamp, or half an hour before start() (RocketMQ's default). */
  #consumeTimestamp(): number {
    this.#startedAt ??= Date.now();
    return this.#opts.consumeTimestamp ?? this.#startedAt - 30 * 60_000;
  }
  #startedAt: number | undefined;

  /** The pull's answer, or undefined as soon as shutdown() begins (a long poll is not waited out). */
  #unlessStopped<T>(pull: Promise<T>): Promise<T | undefined> {
    if (this.#stopController.signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const onStop = (): void => resolve(undefined);
      this.#onStop.add(onStop);
      pull.then(
        (v) => {
          this.#onStop.delete(onStop);
          resolve(v);
        },
        (e: unknown) => {
          this.#onStop.delete(onStop);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  async #pullLoop(pq: ProcessQueue): Promise<void> {
    const sub = this.#subs.get(pq.mq.topic);
    const service = this.#service;
    if (sub === undefined || service === undefined) return;
    const threshold = this.#opts.pullThresholdForQueue ?? 1000;
    const longPollMs = this.#opts.pullLongPollMs ?? 15_000;
    while (!pq.dropped && this.#state === 'running') {
      if (pq.inFlight >= threshold) {
        await service.waitForProgress(50);
        continue;
      }
      try {
        const res = await this.#unlessStopped(this.#api(pq.mq).pull({
          group: this.groupName,
          topic: pq.mq.topic,
          queueId: pq.mq.queueId,
          offset: pq.nextPullOffset,
          maxMsgNums: this.pullBatchSize,
          filter: sub.spec,
          longPollMs: pq.inFlight > 0 ? Math.min(longPollMs, 100) : longPollMs,
          // a broadcasting consumer's position is its own: the group's resets do not move it
          ...(this.messageModel === 'CLUSTERING' ? { resetEpoch: pq.resetEpoch } : {}),
        }));
        // stopped while the broker held the pull: what it brings later is not taken
        if (res === undefined || pq.dropped) return;
        if (res.offsetReset !== undefined) {
          this.#adoptReset(pq, res.offsetReset);
          return;
        }
        const skip = this.#opts.skipLagThreshold;
        if (skip !== undefined && res.maxOffset - pq.nextPullOffset > skip) {
          pq.skipTo(res.maxOffset);
          await this.#commit(pq, res.maxOffset);
          continue;
        }
        if (res.status === 'FOUND') {
          const kept = res.messages.filter((m) => sub.recheck(m));
          pq.track(res.messages.map((m) => m.queueOffset), res.nextBeginOffset);
          const dropped = res.messages.filter((m) => !kept.includes(m)).map((m) => m.queueOffset);
          if (dropped.length > 0) await this.#onOffset(pq, pq.complete(dropped));
          if (kept.length > 0) service.submit(pq, kept);
        } else if (res.status === 'NO_MATCHED_MESSAGE') {
          pq.track([], res.nextBeginOffset);
          await this.#onOffset(pq, pq.complete([]));
        } else if (res.status === 'OFFSET_TOO_SMALL' || res.status === 'OFFSET_OVERFLOW_BADLY' || (res.status === 'NO_MESSAGE_IN_QUEUE' && pq.nextPullOffset !== 0)) {
          pq.skipTo(res.nextBeginOffset);
          await this.#commit(pq, res.nextBeginOffset);
        }
      } catch (err) {
        if (pq.dropped || this.#state !== 'running') return;
        await sleep(1000, this.#stopController.signal);
      }
    }
  }

  /** Where one queue's pulls and offsets go: its broker group when consuming from a cluster. */
  #api(mq: MessageQueue): BrokerApi {
    return this.#cluster !== undefined ? this.#cluster.group(mq.brokerName) : this.#broker;
  }

  async #onOffset(pq: ProcessQueue, offset: number | undefined): Promise<void> {
    if (offset !== undefined) await this.#commit(pq, offset);
  }

  async #commit(pq: ProcessQueue, offset: number, evenIfDropped = false): Promise<void> {
    if (pq.dropped && !evenIfDropped && this.#state === 'running') return;
    if (this.messageModel === 'BROADCASTING') return;
    if (pq.superseded) return;
    try {
      await this.#api(pq.mq).commitOffset(this.groupName, pq.mq.topic, pq.mq.queueId, offset, pq.resetEpoch);
    } catch {
      // the next commit of this queue carries a later offset; at-least-once either way. A commit
      // refused as stale (ERR_OFFSET_STALE) means a reset came: the next pull brings its notice.
    }
  }
}

function key(mq: MessageQueue): string {
  return `${mq.brokerName}/${mq.topic}/${mq.queueId}`;
}


export type { MessageExt };
