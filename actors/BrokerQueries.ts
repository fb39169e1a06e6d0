/**
 * The broker's read-side requests (RocketMQ's admin and query paths): queue offsets and look-ups
 * served by the DispatcherActor, which owns the ConsumeQueues and the index, and a group's
 * progress and offset resets over the committed offsets (OffsetResets stamps and announces them).
 * Main thread; holds no state of its own.
 */
import type { Clock } from '../common/clock.js';
import type { ActorRef } from '../runtime/ActorRef.js';
import { PetrelError } from '../common/errors.js';
import { decodeOffsetMessageId } from '../storage/MessageId.js';
import { decodeMessage } from '../storage/MessageDecoder.js';
import type { ConsumerProgress, ConsumerRegistration, MessageExt, OffsetResetRequest, OffsetResetResult, OffsetResetTarget, QueueLag } from '../api/BrokerApi.js';
import type { ConsumerOffsets } from './ConsumerOffsets.js';
import type { OffsetResets } from './OffsetResets.js';
import type { DispatcherMsg, DispatcherReplies } from './DispatcherActor.js';
import { toPublic } from './messageConvert.js';
import type { TopicConfigs } from './TopicConfigs.js';

export interface BrokerQueriesDeps {
  /** Reset epochs; times compared with store timestamps (stamped by the writer's thread) stay on the system clock. */
  readonly clock: Clock;
  readonly brokerName: string;
  readonly dispatcher: ActorRef<DispatcherMsg, DispatcherReplies>;
  readonly offsets: ConsumerOffsets;
  readonly topics: TopicConfigs;
  /** The registrations of a group's live members (where they start, what they subscribe). */
  readonly registrationsOf: (group: string) => readonly ConsumerRegistration[];
  readonly resets: OffsetResets;
  /** Whether the broker knows the group: a subscription group entry, a committed offset or a live consumer. */
  readonly groupKnown: (group: string) => boolean;
  /** Creates the group's subscription group entry with every setting at its default. */
  readonly createGroup: (group: string) => void;
}

export class BrokerQueries {
  readonly #brokerName: string;
  readonly #dispatcher: ActorRef<DispatcherMsg, DispatcherReplies>;
  readonly #offsets: ConsumerOffsets;
  readonly #topics: TopicConfigs;
  readonly #registrationsOf: (group: string) => readonly ConsumerRegistration[];
  readonly #resets: OffsetResets;
  readonly #groupKnown: (group: string) => boolean;
  readonly #createGroup: (group: string) => void;
  readonly #clock: Clock;

  constructor(deps: BrokerQueriesDeps) {
    this.#clock = deps.clock;
    this.#brokerName = deps.brokerName;
    this.#dispatcher = deps.dispatcher;
    this.#offsets = deps.offsets;
    this.#topics = deps.topics;
    this.#registrationsOf = deps.registrationsOf;
    this.#resets = deps.resets;
    this.#groupKnown = deps.groupKnown;
    this.#createGroup = deps.createGroup;
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

  /**
   * Computes each queue's new offset, then applies them all at once with a new epoch (OffsetResets),
   * so a commit that lands while the targets are looked up is overwritten by the reset, and one
   * that lands after it is checked against the epoch.
   */
  async resetOffset(request: OffsetResetRequest): Promise<OffsetResetResult> {
    const { group, topic, target } = request;
    if (typeof group !== 'string' || group.length === 0) throw new PetrelError('ERR_GROUP_INVALID', 'an offset reset needs a consumer group');
    const cfg = this.#topics.get(topic);
    if (cfg === undefined) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `cannot reset offsets of topic ${topic}: it does not exist on broker ${this.#brokerName}`);
    checkTarget(target);
    const queueIds = request.queueId === undefined ? [...Array(cfg.readQueueNums).keys()] : [request.queueId];
    if (request.queueId !== undefined && (!Number.isSafeInteger(request.queueId) || request.queueId < 0 || request.queueId >= cfg.readQueueNums)) {
      throw new PetrelError('ERR_QUEUE_ID_INVALID', `queue ${String(request.queueId)} is not a read queue of ${topic} (0..${cfg.readQueueNums - 1})`);
    }
    const unknown = request.ifGroupUnknown ?? 'refuse';
    let groupCreated = false;
    if (!this.#groupKnown(group)) {
      if (unknown === 'refuse') {
        throw new PetrelError('ERR_GROUP_NOT_EXIST', `consumer group ${group} does not exist on broker ${this.#brokerName} (no subscription group entry, committed offset or live consumer); ask to create it to reset anyway`);
      }
      if (unknown === 'create') {
        this.#createGroup(group);
        groupCreated = true;
      }
    }
    const moves: { queueId: number; offset: number }[] = [];
    for (const queueId of queueIds) moves.push({ queueId, offset: await this.#targetOffset(topic, queueId, target) });
    // Old offsets are read where the new ones are written: nothing runs in between.
    const old = moves.map((m) => this.#offsets.query(group, topic, m.queueId));
    const epoch = this.#resets.apply(group, topic, moves, this.#clock.now());
    return {
      group,
      topic,
      epoch,
      groupCreated,
      queues: moves.map((m, i) => ({ brokerName: this.#brokerName, queueId: m.queueId, oldOffset: old[i] ?? -1, newOffset: m.offset })),
    };
  }

  async #targetOffset(topic: string, queueId: number, target: OffsetResetTarget): Promise<number> {
    switch (target.type) {
      case 'LATEST':
        return this.maxOffset(topic, queueId);
      case 'EARLIEST':
        return this.minOffset(topic, queueId);
      case 'TIMESTAMP':
        return this.searchOffsetByTime(topic, queueId, target.timestampMs);
      case 'OFFSET': {
        const { min, max } = await this.#dispatcher.ask({ type: 'offsets', topic, queueId });
        return Math.min(max, Math.max(min, target.offset));
      }
    }
  }

  async resetOffsetToLatest(group: string, topic: string): Promise<void> {
    await this.resetOffset({ group, topic, target: { type: 'LATEST' }, ifGroupUnknown: 'reset' });
  }

  async resetOffsetByTime(group: string, topic: string, timestampMs: number): Promise<void> {
    await this.resetOffset({ group, topic, target: { type: 'TIMESTAMP', timestampMs }, ifGroupUnknown: 'reset' });
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

function checkTarget(target: OffsetResetTarget): void {
  const type = (target as { type?: unknown } | undefined)?.type;
  if (type === 'LATEST' || type === 'EARLIEST') return;
  if (type === 'TIMESTAMP') {
    const ts = (target as { timestampMs?: unknown }).timestampMs;
    if (typeof ts === 'number' && Number.isSafeInteger(ts) && ts >= 0) return;
    throw new PetrelError('ERR_INVALID_ARGUMENT', `an offset reset by time needs timestampMs, an integer >= 0 (ms since the epoch), got ${String(ts)}`);
  }
  if (type === 'OFFSET') {
    const offset = (target as { offset?: unknown }).offset;
    if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) return;
    throw new PetrelError('ERR_OFFSET_INVALID', `an offset reset to an offset needs an integer >= 0, got ${String(offset)}`);
  }
  throw new PetrelError('ERR_INVALID_ARGUMENT', `an offset reset target must be LATEST, EARLIEST, TIMESTAMP or OFFSET, got ${String(type)}`);
}
