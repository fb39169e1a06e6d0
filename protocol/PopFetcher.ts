/**
 * The broker side of the pop service: finds a group's queues and start positions, pulls for
 * waiting receives (one pull at a time per queue, with the broker's long polling), keeps what
 * matches the filter as BUFFERED owned messages, and writes the committed offset whenever the
 * smallest owned offset moves. Pulls and commits carry the queue's reset epoch; a pull answered
 * with a reset notice (or a reset told by awaitOffsetReset) is adopted here (adopt).
 */
import type { BrokerApi, OffsetResetNotice } from '../api/BrokerApi.js';
import type { Clock } from '../common/clock.js';
import { isPetrelError, type PetrelError } from '../common/errors.js';
import { log } from '../common/diagnostics.js';
import { PopQueue, type OwnedMessage } from './PopQueue.js';
import { PopTopic } from './PopTopic.js';
import { StatusError } from './status.js';
import { Code } from './wire.js';

export interface FetchOptions {
  readonly maxOwnedPerQueue: number;
  readonly maxBufferedPerTopic: number;
  readonly pullBatchSize: number;
  readonly maxBufferedBytes: number;
  readonly maxPullLongPollMs: number;
  readonly newGroupStartsAt: 'head' | 'tail';
  readonly queueRefreshMs: number;
}

/** Bytes of message bodies pulled and not yet handed out. */
function bufferedBytes(t: PopTopic): number {
  let n = 0;
  for (const m of t.buffered) n += m.message?.body.byteLength ?? 0;
  return n;
}

const ERROR_BACKOFF_MS = 1000;
const EMPTY_BACKOFF_MS = 100;

export class PopFetcher {
  readonly #broker: BrokerApi;
  readonly #clock: Clock;
  readonly #opt: FetchOptions;
  readonly #onChange: (t: PopTopic) => void;
  readonly #onFatal: (t: PopTopic, err: PetrelError) => void;

  /**
   * onChange runs after every pull (new messages may be there); onFatal when a pull fails for a
   * reason waiting will not fix (a bad filter, a missing permission).
   */
  constructor(broker: BrokerApi, clock: Clock, options: FetchOptions, onChange: (t: PopTopic) => void, onFatal: (t: PopTopic, err: PetrelError) => void) {
    this.#broker = broker;
    this.#clock = clock;
    this.#opt = options;
    this.#onChange = onChange;
    this.#onFatal = onFatal;
  }

  async loadQueues(t: PopTopic): Promise<void> {
    if (this.#clock.now() - t.queuesCheckedAt < this.#opt.queueRefreshMs) return;
    t.queuesLoading ??= (async () => {
      try {
        const config = await this.#broker.getTopic(t.topic);
        if (config === undefined) throw new StatusError(Code.TOPIC_NOT_FOUND, `topic ${t.topic} does not exist`);
        const fresh: PopQueue[] = [];
        for (let id = 0; id < config.readQueueNums; id++) {
          if (!t.queues.has(id)) fresh.push(new PopQueue(id));
        }
        await Promise.all(fresh.map((q) => this.#startPosition(t, q)));
        for (const q of fresh) t.queues.set(q.queueId, q);
        t.queuesCheckedAt = this.#clock.now();
      } finally {
        t.queuesLoading = undefined;
      }
    })();
    await t.queuesLoading;
  }

  async #startPosition(t: PopTopic, q: PopQueue): Promise<void> {
    const committed = await this.#broker.queryOffset(t.group, t.topic, q.queueId);
    if (committed >= 0) {
      q.cursor = committed;
      q.committed = committed;
      return;
    }
    q.cursor =
      this.#opt.newGroupStartsAt === 'head' ? await this.#broker.minOffset(t.topic, q.queueId) : await this.#broker.maxOffset(t.topic, q.queueId);
  }

  pullFor(t: PopTopic): void {
    const now = this.#clock.now();
    let soonest = Infinity;
    for (const q of t.queues.values()) {
      if (q.pulling || q.cursor < 0) continue;
      if (t.buffered.size >= this.#opt.maxBufferedPerTopic || bufferedBytes(t) >= this.#opt.maxBufferedBytes) break;
      if (q.owned.size >= this.#opt.maxOwnedPerQueue || (t.fifo && q.inflight > 0)) continue;
      if (!t.waiters.some((w) => PopTopic.wants(w, q.queueId))) continue;
      if (now < q.backoffUntil) {
        soonest = Math.min(soonest, q.backoffUntil);
        continue;
      }
      this.#pull(t, q, now);
    }
    if (soonest < Infinity && t.retryTimer === undefined) {
      t.retryTimer = setTimeout(() => {
        t.retryTimer = undefined;
        this.#onChange(t);
      }, soonest - now).unref();
    }
  }

  /**
   * The group's offset of the queue was reset: what the queue owns is dropped (receipts handed
   * out before stay valid for acks, which change nothing), and the next pull starts at the offset.
   */
  adopt(t: PopTopic, q: PopQueue, notice: OffsetResetNotice): void {
    if (notice.epoch <= q.resetEpoch) return;
    for (const m of q.resetTo(notice.offset, notice.epoch)) {
      t.ready.delete(m);
      t.buffered.delete(m);
    }
    log('info', 'pop: the group adopted an offset reset', { group: t.group, topic: t.topic, queueId: q.queueId, offset: notice.offset, epoch: notice.epoch });
  }

  #pull(t: PopTopic, q: PopQueue, now: number): void {
    const longest = Math.max(0, ...t.waiters.map((w) => w.deadline - now));
    const from = q.cursor;
    const epoch = q.resetEpoch;
    q.pulling = true;
    this.#broker
      .pull({
        group: t.group,
        topic: t.topic,
        queueId: q.queueId,
        offset: from,
        // No more than the largest waiting receive can take: the rest would only sit in memory.
        maxMsgNums: Math.min(this.#opt.pullBatchSize, Math.max(1, ...t.waiters.map((w) => w.request.batchSize))),
        filter: t.filter.spec,
        longPollMs: Math.min(longest, this.#opt.maxPullLongPollMs),
        resetEpoch: epoch,
      })
      .then((result) => {
        if (t.dropped) return;
        if (result.offsetReset !== undefined) {
          this.adopt(t, q, result.offsetReset);
          return;
        }
        // A reset was adopted while this pull was out: what it brings is from the old position.
        if (q.resetEpoch !== epoch) return;
        let added = 0;
        for (const message of result.messages) {
          if (message.queueOffset < from || q.owned.has(message.queueOffset) || !t.filter.matches(message)) continue;
          const owned: OwnedMessage = {
            queueId: q.queueId,
            queueOffset: message.queueOffset,
            commitLogOffset: message.commitLogOffset,
            state: 'BUFFERED',
            attempt: message.reconsumeTimes,
            generation: q.generationBase,
            invisibleUntil: 0,
            invisibleMs: 0,
            autoRenew: false,
            renewDeadline: 0,
            clientId: '',
            message,
          };
          q.add(owned);
          t.buffered.add(owned);
          added++;
        }
        if (q.cursor === from) q.cursor = result.nextBeginOffset;
        if (added === 0 && q.cursor === from) q.backoffUntil = this.#clock.now() + EMPTY_BACKOFF_MS;
        if (result.status === 'NO_MATCHED_LOGIC_QUEUE') t.queuesCheckedAt = -Infinity;
        void this.commit(t, q);
      })
      .catch((err: unknown) => {
        q.backoffUntil = this.#clock.now() + ERROR_BACKOFF_MS;
        if (isPetrelError(err) && !err.retriable) {
          this.#onFatal(t, err);
        } else {
          log('warn', 'pop: pull failed', { group: t.group, topic: t.topic, queueId: q.queueId, error: String(err) });
        }
      })
      .finally(() => {
        q.pulling = false;
        this.#onChange(t);
      });
  }

  async commit(t: PopTopic, q: PopQueue): Promise<void> {
    if (q.committing) {
      q.commitAgain = true;
      return;
    }
    q.committing = true;
    try {
      do {
        q.commitAgain = false;
        const offset = q.commitCandidate();
        if (offset <= q.committed || offset < 0) break;
        const epoch = q.resetEpoch;
        await this.#broker.commitOffset(t.group, t.topic, q.queueId, offset, epoch);
        if (q.resetEpoch === epoch) q.committed = offset;
      } while (q.commitAgain);
    } catch (err) {
      if (isPetrelError(err) && err.code === 'ERR_OFFSET_STALE') {
        // A reset this queue has not adopted yet: its next pull (or the reset watch) brings it.
        q.backoffUntil = 0;
        log('debug', 'pop: a commit from before an offset reset was refused', { group: t.group, topic: t.topic, queueId: q.queueId });
      } else {
        log('warn', 'pop: commitOffset failed', { group: t.group, topic: t.topic, queueId: q.queueId, error: String(err) });
      }
    } finally {
      q.committing = false;
    }
  }
}
