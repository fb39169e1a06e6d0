/**
 * The send path on the broker's main thread. Each send is validated and sized at once (bad input
 * fails that send alone, before anything is written), queued, and encoded with its neighbours
 * into one shared buffer (BatchBuffers) handed to WriterActor in one ask: concurrent sends share the
 * crossing the same way they share a flush. A batch goes at the end of the event-loop turn, or as
 * soon as EAGER_BATCH sends are queued; at most MAX_IN_FLIGHT batches are in flight, so the next
 * is built while the writer appends the last.
 *
 * A send resolves when the positions its flush mode requires are reached: `wrote` (the reply
 * itself) under ASYNC_FLUSH, `flushed` under SYNC_FLUSH, else FLUSH_DISK_TIMEOUT after
 * syncFlushTimeout. The message is stored either way; only the durability status differs.
 */
import { channel, CHANNELS } from '../common/diagnostics.js';
import { PetrelError } from '../common/errors.js';
import type { ActorRef } from '../runtime/ActorRef.js';
import type { MessageEncoder, MessageToStore } from '../storage/MessageCodec.js';
import { createOffsetMessageId, type SocketAddress } from '../storage/MessageId.js';
import type { SendResult, SendStatus } from '../api/BrokerApi.js';
import { PositionWaiters } from './PositionWaiters.js';
import { APPEND_META_FIELDS, type WriterMsg, type WriterReplies } from './WriterActor.js';
import { BatchBuffers } from './BatchBuffers.js';

export interface PendingSend {
  readonly msg: MessageToStore;
  readonly uniqKey: string;
  readonly size: number;
  readonly noQueue: boolean;
  readonly waitStore: boolean;
  /** Topic and queue the client addressed (a delayed message is stored under the schedule topic). */
  readonly shownTopic: string;
  readonly shownQueueId: number;
  resolve(r: SendResult): void;
  reject(e: unknown): void;
}

export interface SendPathOptions {
  readonly writer: ActorRef<WriterMsg, WriterReplies>;
  readonly encoder: MessageEncoder;
  readonly storeHost: SocketAddress;
  readonly brokerName: string;
  /** Resolves true when the send's end is durable (or replicated) as its mode requires. */
  readonly flushWaiter: PositionWaiters | undefined;
  readonly syncFlushTimeout: number;
  /** Extra wait for SYNC_MASTER; resolves to a non-OK status to report. */
  readonly replicaWait?: (end: number) => Promise<SendStatus>;
}

const MAX_IN_FLIGHT = 4;
/** Sends queued in one turn that make a batch worth sending before the turn ends. */
const EAGER_BATCH = 128;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

const putChannel = channel(CHANNELS.storePut);
const replicatedChannel = channel(CHANNELS.storeReplicated);

export class SendPath {
  readonly #o: SendPathOptions;
  #queue: PendingSend[] = [];
  /** Arrival time (performance.now) of each queued send, parallel to #queue, for the put metrics (0 when nobody listens). */
  #queuedAt: number[] = [];
  #queuedBytes = 0;
  #inFlight = 0;
  #closed = false;
  #scheduled = false;
  readonly #buffers = new BatchBuffers(MAX_IN_FLIGHT + 1, 2 * MAX_BATCH_BYTES);

  constructor(options: SendPathOptions) {
    this.#o = options;
  }

  get idle(): boolean {
    return this.#queue.length === 0 && this.#inFlight === 0;
  }

  submit(p: PendingSend): void {
    if (this.#closed) {
      p.reject(new PetrelError('ERR_SERVICE_NOT_AVAILABLE', 'the broker is shutting down'));
      return;
    }
    this.#queue.push(p);
    this.#queuedAt.push(putChannel.hasSubscribers ? performance.now() : 0);
    this.#queuedBytes += p.size;
    // A full batch goes at once, so the writer appends it while this thread goes on with the
    // sends still arriving in this turn (many tasks resuming together after one reply).
    if (this.#queue.length >= EAGER_BATCH && this.#inFlight < MAX_IN_FLIGHT) {
      this.#dispatch();
      return;
    }
    // Otherwise dispatch at the end of this turn of the event loop, so that the sends made in the
    // same turn share one batch instead of the first going out alone.
    if (this.#inFlight < MAX_IN_FLIGHT && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#dispatch();
      });
    }
  }

  close(): void {
    this.#closed = true;
  }

  #dispatch(): void {
    while (this.#queue.length > 0 && this.#inFlight < MAX_IN_FLIGHT) {
      let n = 0;
      let bytes = 0;
      while (n < this.#queue.length && (n === 0 || bytes + (this.#queue[n] as PendingSend).size <= MAX_BATCH_BYTES)) {
        bytes += (this.#queue[n] as PendingSend).size;
        n += 1;
      }
      const batch = this.#queue.splice(0, n);
      const oldest = this.#queuedAt.splice(0, n)[0] ?? performance.now();
      this.#queuedBytes -= bytes;
      this.#inFlight += 1;
      void this.#send(batch, bytes, oldest).finally(() => {
        this.#inFlight -= 1;
        this.#dispatch();
      });
    }
  }

  async #send(batch: PendingSend[], total: number, oldest: number): Promise<void> {
    const lease = this.#buffers.take(total, batch.length * APPEND_META_FIELDS);
    const { bytes: buf, meta } = lease;
    const topics: string[] = [];
    const topicIndex = new Map<string, number>();
    let at = 0;
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as PendingSend;
      const size = this.#o.encoder.encode(p.msg, buf, at, p.uniqKey, true);
      let ti = topicIndex.get(p.msg.topic);
      if (ti === undefined) {
        ti = topics.push(p.msg.topic) - 1;
        topicIndex.set(p.msg.topic, ti);
      }
      const m = i * APPEND_META_FIELDS;
      meta[m] = size;
      meta[m + 1] = ti;
      meta[m + 2] = p.msg.queueId;
      meta[m + 3] = p.noQueue ? 1 : 0;
      at += size;
    }
    let out: Float64Array;
    try {
      out = await this.#o.writer.ask({ type: 'append', bytes: buf, meta, topics });
    } catch (err) {
      // the lease is not given back: a writer that did not answer may still be reading it
      for (const p of batch) p.reject(err);
      return;
    }
    this.#buffers.give(lease);
    if (putChannel.hasSubscribers && oldest > 0) putChannel.publish({ messages: batch.length, bytes: total, latencyUs: (performance.now() - oldest) * 1000 });
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as PendingSend;
      const phy = out[i * 3] as number;
      const result: SendResult = {
        sendStatus: 'SEND_OK',
        msgId: p.uniqKey,
        offsetMsgId: createOffsetMessageId(this.#o.storeHost, phy),
        messageQueue: { topic: p.shownTopic, brokerName: this.#o.brokerName, queueId: p.shownQueueId },
        queueOffset: out[i * 3 + 1] as number,
        commitLogOffset: phy,
        storeTimestamp: out[i * 3 + 2] as number,
      };
      if (!p.waitStore) {
        p.resolve(result);
        continue;
      }
      void this.#complete(p, result, phy + p.size);
    }
  }

  async #complete(p: PendingSend, result: SendResult, end: number): Promise<void> {
    let status: SendStatus = 'SEND_OK';
    if (this.#o.flushWaiter !== undefined) {
      const ok = await this.#o.flushWaiter.wait(end, this.#o.syncFlushTimeout);
      if (!ok) status = 'FLUSH_DISK_TIMEOUT';
    }
    if (this.#o.replicaWait !== undefined) {
      const started = performance.now();
      const replica = await this.#o.replicaWait(end);
      if (replicatedChannel.hasSubscribers) replicatedChannel.publish({ latencyUs: (performance.now() - started) * 1000, status: replica });
      if (replica !== 'SEND_OK') status = replica;
    }
    p.resolve(status === 'SEND_OK' ? result : { ...result, sendStatus: status });
  }
}
