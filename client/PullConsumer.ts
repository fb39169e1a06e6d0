/**
 * PullConsumer: for users who drive their own loop (RocketMQ's DefaultMQPullConsumer / lite pull).
 * It pulls a queue from an offset with a tag or SQL92 filter (tags re-checked here, as RocketMQ's
 * client does), reads and commits the group's offsets, and offers an async iterator over a queue
 * that commits each message's offset once the loop asks for the next one (at-least-once: the
 * message a loop ended on is not committed). Lives on the thread that created it.
 *
 * The iterator follows the group's offset resets: its pulls and commits carry the queue's reset
 * epoch, and when the broker answers that the offset was reset it drops the rest of the batch it
 * held and goes on from the new offset. A program driving pull() itself may pass resetEpoch and
 * read PullResult.offsetReset the same way.
 */
import { PetrelError, isPetrelError } from '../common/errors.js';
import type { BrokerApi, FilterSpec, MessageExt, MessageQueue, PullResult } from '../api/BrokerApi.js';
import { queuesOf } from '../api/BrokerApi.js';
import { clientId as makeClientId, validateGroupName } from './clientIds.js';
import { SubscriptionFilter } from './SubscriptionFilter.js';

export interface PullConsumerOptions {
  readonly groupName: string;
  readonly broker: BrokerApi;
  readonly instanceName?: string;
  /** Messages asked for per pull. Default 32, range 1..1024. */
  readonly pullBatchSize?: number;
  /** Long-poll hold of a pull with nothing new, ms. Default 15000. */
  readonly pullLongPollMs?: number;
}

export interface QueueIteratorOptions {
  /** Tag expression or SQL92 filter. Default "*". */
  readonly filter?: string | FilterSpec;
  /** Where to start: the group's committed offset (default), the queue's first or last offset, or a number. */
  readonly from?: 'committed' | 'first' | 'last' | number;
  /** Ends the iteration when aborted. */
  readonly signal?: AbortSignal;
}

export class PullConsumer {
  readonly groupName: string;
  readonly clientId: string;
  readonly #broker: BrokerApi;
  readonly #batch: number;
  readonly #longPollMs: number;
  #state: 'created' | 'running' | 'stopped' = 'created';

  constructor(options: PullConsumerOptions) {
    this.groupName = validateGroupName(options.groupName, 'groupName');
    if (options.broker === undefined) throw new PetrelError('ERR_INVALID_ARGUMENT', 'PullConsumer needs a broker');
    this.#broker = options.broker;
    const batch = options.pullBatchSize ?? 32;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new PetrelError('ERR_INVALID_ARGUMENT', `pullBatchSize must be an integer in [1, 1024], got ${String(batch)}`);
    this.#batch = batch;
    this.#longPollMs = options.pullLongPollMs ?? 15_000;
    this.clientId = makeClientId(options.instanceName ?? 'DEFAULT');
  }

  async start(): Promise<void> {
    if (this.#state !== 'created') throw new PetrelError('ERR_CLIENT_STATE', `pull consumer ${this.groupName} was already started`);
    this.#state = 'running';
  }

  async shutdown(): Promise<void> {
    this.#state = 'stopped';
  }

  /** The topic's readable queues. */
  async fetchMessageQueues(topic: string): Promise<MessageQueue[]> {
    this.#checkRunning();
    const route = await this.#broker.queryRoute(topic);
    return queuesOf(route, 'read');
  }

  /**
   * One pull from `offset`: up to pullBatchSize messages that pass the filter. A tag filter is
   * re-checked on the tag strings; `nextBeginOffset` moves past everything scanned.
   */
  async pull(mq: MessageQueue, filter: string | FilterSpec, offset: number, options: { longPollMs?: number; resetEpoch?: number } = {}): Promise<PullResult> {
    this.#checkRunning();
    const spec: FilterSpec = typeof filter === 'string' ? { type: 'TAG', expression: filter } : filter;
    const sub = new SubscriptionFilter(spec);
    const r = await this.#broker.pull({
      group: this.groupName, topic: mq.topic, queueId: mq.queueId, offset, maxMsgNums: this.#batch, filter: spec, longPollMs: options.longPollMs ?? 0,
      ...(options.resetEpoch === undefined ? {} : { resetEpoch: options.resetEpoch }),
    });
    return { ...r, messages: r.messages.filter((m) => sub.recheck(m)) };
  }

  /** The group's committed offset for the queue, or -1 when it has none. */
  async fetchConsumeOffset(mq: MessageQueue): Promise<number> {
    this.#checkRunning();
    return this.#broker.queryOffset(this.groupName, mq.topic, mq.queueId);
  }

  /**
   * Commits the group's offset of the queue. With resetEpoch (what the pulls carried), a commit
   * from before a later reset of the queue is refused with ERR_OFFSET_STALE.
   */
  async updateConsumeOffset(mq: MessageQueue, offset: number, options: { resetEpoch?: number } = {}): Promise<void> {
    this.#checkRunning();
    if (!Number.isInteger(offset) || offset < 0) throw new PetrelError('ERR_OFFSET_INVALID', `offset must be a non-negative integer, got ${String(offset)}`);
    if (options.resetEpoch === undefined) return this.#broker.commitOffset(this.groupName, mq.topic, mq.queueId, offset);
    return this.#broker.commitOffset(this.groupName, mq.topic, mq.queueId, offset, options.resetEpoch);
  }

  /** The group's reset epoch of the queue now (0 when never reset, or when the broker cannot say). */
  async #resetEpochOf(mq: MessageQueue): Promise<number> {
    try {
      const state = await this.#broker.awaitOffsetReset(this.groupName, mq.topic, Number.MAX_SAFE_INTEGER, 0);
      return state.queues.find((q) => q.queueId === mq.queueId)?.epoch ?? 0;
    } catch {
      return 0;
    }
  }

  /** False when the commit was refused because the queue's offset was reset since `epoch`. */
  async #commitUnlessReset(mq: MessageQueue, offset: number, epoch: number): Promise<boolean> {
    try {
      await this.updateConsumeOffset(mq, offset, { resetEpoch: epoch });
      return true;
    } catch (err) {
      if (isPetrelError(err) && err.code === 'ERR_OFFSET_STALE') return false;
      throw err;
    }
  }

  /**
   * Every message of the queue from the start point on, long-polling at the end of the queue.
   * The offset past a message is committed when the loop asks for the next one; a loop that ends
   * (break, return or throw) leaves its last message uncommitted, so the group gets it again.
   */
  async *messages(mq: MessageQueue, options: QueueIteratorOptions = {}): AsyncGenerator<MessageExt, void, undefined> {
    this.#checkRunning();
    const filter = options.filter ?? '*';
    // The epoch first, then the offset: a reset in between is told by the first pull.
    let epoch = await this.#resetEpochOf(mq);
    let offset = await this.#startOffset(mq, options.from ?? 'committed');
    let committed = offset;
    pulling: while (this.#state === 'running' && options.signal?.aborted !== true) {
      const r = await this.pull(mq, filter, offset, { longPollMs: this.#longPollMs, resetEpoch: epoch });
      if (r.offsetReset !== undefined) {
        // The group's offset was reset: go on from there.
        epoch = r.offsetReset.epoch;
        offset = committed = r.offsetReset.offset;
        continue;
      }
      if (r.status === 'OFFSET_TOO_SMALL' || r.status === 'OFFSET_OVERFLOW_BADLY') {
        offset = r.nextBeginOffset;
        continue;
      }
      for (const m of r.messages) {
        yield m;
        // The loop asked for more: this message is done. Refused: a reset came, the rest of the batch is dropped.
        committed = m.queueOffset + 1;
        if (!(await this.#commitUnlessReset(mq, committed, epoch))) continue pulling;
      }
      // Messages the filter skipped after the last delivered one are done too.
      if ((r.status === 'FOUND' || r.status === 'NO_MATCHED_MESSAGE') && r.nextBeginOffset > committed) {
        committed = r.nextBeginOffset;
        if (!(await this.#commitUnlessReset(mq, committed, epoch))) continue;
      }
      offset = r.nextBeginOffset;
    }
  }

  async #startOffset(mq: MessageQueue, from: 'committed' | 'first' | 'last' | number): Promise<number> {
    if (typeof from === 'number') return from;
    if (from === 'first') return this.#broker.minOffset(mq.topic, mq.queueId);
    if (from === 'last') return this.#broker.maxOffset(mq.topic, mq.queueId);
    const committed = await this.#broker.queryOffset(this.groupName, mq.topic, mq.queueId);
    return committed >= 0 ? committed : this.#broker.minOffset(mq.topic, mq.queueId);
  }

  #checkRunning(): void {
    if (this.#state !== 'running') throw new PetrelError('ERR_CLIENT_STATE', `pull consumer ${this.groupName} is not running (call start())`);
  }
}
