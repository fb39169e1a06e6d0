/**
 * The pop consumption model of RocketMQ 5 over the broker's pull API: per consumer group, pull
 * from every queue of a topic, filter, hand messages out with receipt handles, keep each
 * invisible to the group until it is acked or its invisible time runs out, then deliver it again
 * with delivery_attempt + 1; past the group's max attempts it goes to %DLQ%<group>.
 *
 * - A receive waits (long polling) until it gets at least one message or its poll time ends. Pulls
 *   are issued only while somebody waits, one at a time per queue, with the broker's own long
 *   polling; a pull that answers after its waiters left leaves its messages BUFFERED for the next
 *   receive.
 * - auto_renew deliveries (push consumers) are kept invisible in steps of autoRenewInvisibleMs
 *   while their client is alive, up to maxRenewMs; the receipt handle does not change.
 * - The committed offset of a queue is its smallest owned offset (PopQueue), written with
 *   commitOffset whenever it moves.
 * - Offset resets of a group (`petrelmq offset reset`) are followed per topic with one long poll
 *   at a time (awaitOffsetReset), and told by pulls too: the queue drops what it owns and pops
 *   from the reset offset. Commits carry the queue's reset epoch, so none from before the reset
 *   lands over it; acks of messages received before it succeed and change nothing.
 *
 * Owned by one endpoint on one thread. Nothing but committed offsets survives a restart.
 */
import type { BrokerApi } from '../api/BrokerApi.js';
import { systemClock, type Clock } from '../common/clock.js';
import { log } from '../common/diagnostics.js';
import { InvisibleTimer } from './InvisibleTimer.js';
import type { PopQueue, OwnedMessage } from './PopQueue.js';
import { PopFetcher } from './PopFetcher.js';
import { PopTopic, type PopRequest, type Waiter } from './PopTopic.js';
import { ReceiptHandleCodec } from './ReceiptHandle.js';
import { DEFAULT_MAX_DELIVERY_ATTEMPTS, type GroupPolicy, type PopServiceOptions, type PoppedMessage } from './PopOptions.js';
import { DeadLetterForwarder } from './DeadLetterForwarder.js';
import { StatusError } from './status.js';
import { Code } from './wire.js';

export type { PopRequest } from './PopTopic.js';

export { DEFAULT_MAX_DELIVERY_ATTEMPTS } from './PopOptions.js';
export type { GroupPolicy, PopServiceOptions, PoppedMessage } from './PopOptions.js';

interface Located {
  readonly topic: PopTopic;
  readonly queue: PopQueue;
  readonly owned: OwnedMessage;
}

/** How long one awaitOffsetReset poll is held by the broker. */
const RESET_POLL_MS = 20_000;
/** Pause after a failed reset poll. */
const RESET_RETRY_MS = 1000;

export class PopService {
  readonly #broker: BrokerApi;
  readonly #clock: Clock;
  readonly #codec: ReceiptHandleCodec;
  readonly #policy: (group: string) => GroupPolicy;
  readonly #alive: (clientId: string) => boolean;
  readonly #opt: Required<Omit<PopServiceOptions, 'clock' | 'codec' | 'groupPolicy' | 'isClientAlive'>>;
  readonly #topics = new Map<string, PopTopic>();
  readonly #timer: InvisibleTimer<Located>;
  readonly #dlq: DeadLetterForwarder;
  readonly #fetcher: PopFetcher;
  readonly #housekeeping: NodeJS.Timeout;
  #stopped = false;

  constructor(broker: BrokerApi, options: PopServiceOptions = {}) {
    this.#broker = broker;
    this.#clock = options.clock ?? systemClock;
    this.#codec = options.codec ?? new ReceiptHandleCodec();
    this.#policy = options.groupPolicy ?? (() => ({ fifo: false, maxDeliveryAttempts: DEFAULT_MAX_DELIVERY_ATTEMPTS }));
    this.#alive = options.isClientAlive ?? (() => true);
    this.#opt = {
      autoRenewInvisibleMs: options.autoRenewInvisibleMs ?? 60_000,
      maxRenewMs: options.maxRenewMs ?? 3 * 3600_000,
      maxOwnedPerQueue: options.maxOwnedPerQueue ?? 1024,
      maxBufferedPerTopic: options.maxBufferedPerTopic ?? 256,
      pullBatchSize: options.pullBatchSize ?? 32,
      maxBufferedBytes: options.maxBufferedBytes ?? 32 * 1024 * 1024,
      maxPullLongPollMs: options.maxPullLongPollMs ?? 20_000,
      newGroupStartsAt: options.newGroupStartsAt ?? 'head',
      queueRefreshMs: options.queueRefreshMs ?? 30_000,
      idleMs: options.idleMs ?? 300_000,
    };
    this.#timer = new InvisibleTimer(this.#clock, (at, generation) => this.#expired(at, generation));
    this.#dlq = new DeadLetterForwarder(broker);
    this.#fetcher = new PopFetcher(
      broker,
      this.#clock,
      this.#opt,
      (t) => this.#pump(t),
      (t, err) => {
        for (const w of t.waiters.splice(0)) this.#settle(w, [], err);
      },
    );
    this.#housekeeping = setInterval(() => this.#dropIdle(), Math.min(60_000, this.#opt.idleMs)).unref();
  }

  get autoRenewInvisibleMs(): number {
    return this.#opt.autoRenewInvisibleMs;
  }

  /** Pops up to batchSize messages, waiting up to pollMs for the first; [] when none came. */
  async receive(request: PopRequest): Promise<PoppedMessage[]> {
    if (this.#stopped) throw new StatusError(Code.INTERNAL_ERROR, 'the endpoint is stopping');
    const t = this.#topic(request.group, request.topic, request);
    t.useFilter(request.filter);
    t.lastActive = this.#clock.now();
    const started = this.#clock.now();
    await this.#fetcher.loadQueues(t);
    // The poll time counts from the call, not from when the queues were known.
    let attempt: PopRequest = { ...request, pollMs: Math.max(0, request.pollMs - (this.#clock.now() - started)) };
    for (;;) {
      const picked = await this.#wait(t, attempt);
      const popped = await this.#materialize(t, picked);
      if (popped.length > 0 || picked.length === 0) return popped;
      // Everything picked was gone or no longer matched: wait again with what time is left.
      const left = request.pollMs - (this.#clock.now() - started);
      if (left <= 0 || this.#stopped) return [];
      attempt = { ...request, pollMs: left };
    }
  }

  /** Acks one delivery; a malformed, forged, stale or unknown handle is INVALID_RECEIPT_HANDLE. */
  async ack(group: string, topic: string, receiptHandle: string): Promise<void> {
    const found = this.#locate(group, topic, receiptHandle, true);
    // A message received before an offset reset: the reset decided where the group is.
    if (found === undefined) return;
    this.#finish(found);
  }

  /**
   * Sets a new invisible time (0 = visible again now) and returns the handle that replaces the
   * given one; the old handle is stale from here on.
   */
  changeInvisibleDuration(group: string, topic: string, receiptHandle: string, invisibleMs: number): string {
    const { topic: t, queue, owned } = this.#locate(group, topic, receiptHandle);
    const now = this.#clock.now();
    owned.generation++;
    owned.autoRenew = false;
    owned.invisibleMs = invisibleMs;
    owned.invisibleUntil = now + invisibleMs;
    t.ready.delete(owned);
    if (invisibleMs <= 0) {
      this.#becomeVisible(t, queue, owned);
    } else {
      queue.setState(owned, 'INFLIGHT');
      this.#timer.schedule(owned.invisibleUntil, { topic: t, queue, owned }, owned.generation);
    }
    return this.#handleOf(t, owned);
  }

  /** Sends one delivered message to the group's DLQ and treats it as consumed. */
  async forwardToDeadLetterQueue(group: string, topic: string, receiptHandle: string): Promise<void> {
    const found = this.#locate(group, topic, receiptHandle);
    await this.#deadLetter(found, true);
  }

  /** A delivery that never reached its client (the call was gone): visible again, not counted. */
  abandon(group: string, topic: string, receiptHandle: string): void {
    let found: Located | undefined;
    try {
      found = this.#locate(group, topic, receiptHandle, true);
    } catch {
      return;
    }
    if (found === undefined) return;
    const { topic: t, queue, owned } = found;
    owned.attempt = Math.max(0, owned.attempt - 1);
    owned.generation++;
    queue.setState(owned, 'READY');
    t.ready.add(owned);
    this.#pump(t);
  }

  /** A client left: its auto-renewed messages become visible to the rest of its group now. */
  releaseClient(clientId: string): void {
    for (const t of this.#topics.values()) {
      for (const q of t.queues.values()) {
        for (const m of q.owned.values()) {
          if (m.state === 'INFLIGHT' && m.clientId === clientId && m.autoRenew) this.#becomeVisible(t, q, m);
        }
      }
    }
  }

  /** Runs due invisibility expiries now (tests drive this with a ManualClock). */
  sweep(): number {
    return this.#timer.sweep();
  }

  /** Messages the group currently owns on a topic (buffered, in flight or waiting to be redelivered). */
  ownedCount(group: string, topic: string): number {
    return this.#topics.get(`${group}\0${topic}`)?.ownedCount() ?? 0;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#housekeeping);
    this.#timer.stop();
    const commits: Promise<void>[] = [];
    for (const t of this.#topics.values()) {
      if (t.retryTimer !== undefined) clearTimeout(t.retryTimer);
      for (const w of t.waiters.splice(0)) this.#settle(w, []);
      for (const q of t.queues.values()) commits.push(this.#fetcher.commit(t, q));
      t.dropped = true;
    }
    this.#topics.clear();
    await Promise.allSettled(commits);
  }

  #topic(group: string, topicName: string, request: PopRequest): PopTopic {
    const key = `${group}\0${topicName}`;
    let t = this.#topics.get(key);
    if (t === undefined) {
      t = new PopTopic(group, topicName, this.#policy(group).fifo, request.filter, this.#clock.now());
      this.#topics.set(key, t);
      void this.#followResets(t);
    }
    return t;
  }

  /**
   * Follows the group's offset resets on the topic while its state lives (RocketMQ's broker
   * pushes RESET_CONSUMER_CLIENT_OFFSET; here one long poll at a time): a queue whose reset is
   * newer than the one it holds drops what it owns and pops from the reset offset. Without this,
   * messages buffered before a reset would still be handed out until the queue's next pull.
   */
  async #followResets(t: PopTopic): Promise<void> {
    let known = 0;
    while (!t.dropped && !this.#stopped) {
      let state;
      try {
        state = await this.#broker.awaitOffsetReset(t.group, t.topic, known, RESET_POLL_MS);
      } catch (err) {
        if (t.dropped || this.#stopped) return;
        log('debug', 'pop: cannot follow offset resets', { group: t.group, topic: t.topic, error: String(err) });
        await new Promise<void>((resolve) => setTimeout(resolve, RESET_RETRY_MS).unref());
        continue;
      }
      if (t.dropped || this.#stopped) return;
      known = Math.max(known, state.epoch);
      let moved = false;
      for (const r of state.queues) {
        const q = t.queues.get(r.queueId);
        if (q === undefined || r.epoch <= q.resetEpoch) continue;
        this.#fetcher.adopt(t, q, r);
        moved = true;
      }
      if (moved) this.#pump(t);
    }
  }

  #wait(t: PopTopic, request: PopRequest): Promise<OwnedMessage[]> {
    return new Promise<OwnedMessage[]>((resolve, reject) => {
      const waiter: Waiter = { request, deadline: this.#clock.now() + request.pollMs, settled: false, timer: undefined, resolve, reject };
      t.waiters.push(waiter);
      waiter.timer = setTimeout(() => {
        const i = t.waiters.indexOf(waiter);
        if (i >= 0) t.waiters.splice(i, 1);
        this.#settle(waiter, []);
      }, Math.max(0, request.pollMs));
      this.#pump(t);
    });
  }

  #settle(waiter: Waiter, messages: OwnedMessage[], err?: unknown): void {
    if (waiter.settled) return;
    waiter.settled = true;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (err === undefined) waiter.resolve(messages);
    else waiter.reject(err);
  }

  /** Hands out what is visible to waiters in arrival order, then pulls for those still waiting. */
  #pump(t: PopTopic): void {
    if (t.dropped || this.#stopped) return;
    if (t.pumping) {
      t.pumpAgain = true;
      return;
    }
    t.pumping = true;
    try {
      do {
        t.pumpAgain = false;
        for (const waiter of [...t.waiters]) {
          const picked = t.pick(waiter);
          if (picked.length === 0) continue;
          t.waiters.splice(t.waiters.indexOf(waiter), 1);
          for (const m of picked) this.#deliver(t, m, waiter.request);
          this.#settle(waiter, picked);
        }
        if (t.waiters.length > 0) this.#fetcher.pullFor(t);
      } while (t.pumpAgain);
    } finally {
      t.pumping = false;
    }
  }

  #deliver(t: PopTopic, m: OwnedMessage, request: PopRequest): void {
    const q = t.queues.get(m.queueId);
    if (q === undefined) return;
    const now = this.#clock.now();
    t.ready.delete(m);
    t.buffered.delete(m);
    q.setState(m, 'INFLIGHT');
    m.attempt++;
    m.generation++;
    m.clientId = request.clientId;
    m.autoRenew = request.autoRenew;
    m.invisibleMs = request.invisibleMs;
    m.invisibleUntil = now + request.invisibleMs;
    m.renewDeadline = now + this.#opt.maxRenewMs;
    this.#timer.schedule(m.invisibleUntil, { topic: t, queue: q, owned: m }, m.generation);
  }

  /** Reads back bodies of redeliveries and re-checks the filter; what vanished counts as consumed. */
  async #materialize(t: PopTopic, picked: OwnedMessage[]): Promise<PoppedMessage[]> {
    const out: PoppedMessage[] = [];
    for (const m of picked) {
      const q = t.queues.get(m.queueId);
      if (q === undefined) continue;
      const generation = m.generation;
      let message = m.message;
      m.message = undefined;
      if (message === undefined) {
        try {
          message = await this.#broker.viewMessageByOffset(m.commitLogOffset);
        } catch (err) {
          // Not readable right now: hand it back untouched rather than lose it.
          log('warn', 'pop: cannot read a message back for redelivery', { group: t.group, topic: t.topic, error: String(err) });
          if (m.generation === generation && m.state === 'INFLIGHT') this.abandon(t.group, t.topic, this.#handleOf(t, m));
          continue;
        }
      }
      if (m.generation !== generation || m.state !== 'INFLIGHT') continue;
      // Gone from the store (retention) or no longer matching the subscription: done for the group.
      if (message === undefined || !t.filter.matches(message)) {
        this.#finish({ topic: t, queue: q, owned: m });
        continue;
      }
      out.push({ message, receiptHandle: this.#handleOf(t, m), deliveryAttempt: m.attempt, invisibleMs: m.invisibleMs });
    }
    return out;
  }

  #handleOf(t: PopTopic, m: OwnedMessage): string {
    t.queues.get(m.queueId)?.issued(m.generation);
    return this.#codec.encode(t.group, t.topic, {
      queueId: m.queueId,
      queueOffset: m.queueOffset,
      generation: m.generation,
      deliveryAttempt: m.attempt,
      invisibleUntil: m.invisibleUntil,
    });
  }

  /** With fromBeforeReset, a handle issued before the queue's last offset reset gives undefined. */
  #locate(group: string, topic: string, receiptHandle: string): Located;
  #locate(group: string, topic: string, receiptHandle: string, fromBeforeReset: true): Located | undefined;
  #locate(group: string, topic: string, receiptHandle: string, fromBeforeReset = false): Located | undefined {
    const decoded = this.#codec.decode(group, topic, receiptHandle);
    if (!decoded.ok) throw new StatusError(Code.INVALID_RECEIPT_HANDLE, `receipt handle is ${decoded.reason === 'FORGED' ? 'not ours' : 'malformed'}`);
    const { queueId, queueOffset, generation } = decoded.fields;
    const t = this.#topics.get(`${group}\0${topic}`);
    const q = t?.queues.get(queueId);
    const owned = q?.owned.get(queueOffset);
    if (q !== undefined && q.isFromBeforeReset(generation) && owned?.generation !== generation) {
      if (fromBeforeReset) return undefined;
      throw new StatusError(Code.INVALID_RECEIPT_HANDLE, "receipt handle is from before the group's offset reset: the message is no longer the group's to handle");
    }
    if (t === undefined || q === undefined || owned === undefined) {
      throw new StatusError(Code.INVALID_RECEIPT_HANDLE, 'receipt handle is unknown: the message was acked already or the endpoint restarted');
    }
    if (owned.generation !== generation || (owned.state !== 'INFLIGHT' && owned.state !== 'READY')) {
      throw new StatusError(Code.INVALID_RECEIPT_HANDLE, 'receipt handle is stale: the message was redelivered or its handle replaced');
    }
    return { topic: t, queue: q, owned };
  }

  /** The message is done for the group (acked, dead-lettered, vanished or filtered out). */
  #finish({ topic: t, queue: q, owned }: Located): void {
    t.ready.delete(owned);
    t.buffered.delete(owned);
    if (q.remove(owned)) {
      void this.#fetcher.commit(t, q);
      if (t.fifo) this.#pump(t);
    }
  }

  #expired(at: Located, generation: number): void {
    const { topic: t, queue: q, owned: m } = at;
    if (t.dropped || m.generation !== generation || m.state !== 'INFLIGHT' || q.owned.get(m.queueOffset) !== m) return;
    const now = this.#clock.now();
    if (m.invisibleUntil > now) return;
    if (m.autoRenew && now < m.renewDeadline && this.#alive(m.clientId)) {
      m.invisibleUntil = now + m.invisibleMs;
      this.#timer.schedule(m.invisibleUntil, at, m.generation);
      return;
    }
    this.#becomeVisible(t, q, m);
  }

  #becomeVisible(t: PopTopic, q: PopQueue, m: OwnedMessage): void {
    if (m.attempt >= this.#policy(t.group).maxDeliveryAttempts) {
      void this.#deadLetter({ topic: t, queue: q, owned: m }, false);
      return;
    }
    q.setState(m, 'READY');
    t.ready.add(m);
    this.#pump(t);
  }

  async #deadLetter(found: Located, rethrow: boolean): Promise<void> {
    const { topic: t, queue: q, owned: m } = found;
    const previous = m.state;
    t.ready.delete(m);
    q.setState(m, 'DEAD_LETTERING');
    try {
      const message = m.message ?? (await this.#broker.viewMessageByOffset(m.commitLogOffset));
      if (message !== undefined) await this.#dlq.forward(t.group, message);
      this.#finish(found);
    } catch (err) {
      log('warn', 'pop: dead-lettering failed; the message stays with the group', { group: t.group, topic: t.topic, error: String(err) });
      q.setState(m, previous === 'INFLIGHT' ? 'INFLIGHT' : 'READY');
      if (previous !== 'INFLIGHT') t.ready.add(m);
      if (rethrow) throw err;
    }
  }

  #dropIdle(): void {
    const now = this.#clock.now();
    for (const [key, t] of this.#topics) {
      if (now - t.lastActive > this.#opt.idleMs && t.quiescent()) {
        t.dropped = true;
        if (t.retryTimer !== undefined) clearTimeout(t.retryTimer);
        this.#topics.delete(key);
      }
    }
  }
}
