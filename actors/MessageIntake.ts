/**
 * Where messages enter a broker on its main thread: producers' sends, consumers' send-backs
 * (%RETRY% and %DLQ%) and the schedule service's re-puts. Each message is checked against its
 * topic and queue, turned into its stored form (delay levels rewritten to SCHEDULE_TOPIC_XXXX, a
 * unique key made when the client gave none), sized by the encoder (bad input fails here, before
 * anything is written) and handed to the SendPath, which batches it to WriterActor. While the
 * store's disk is marked full (DiskSpaceGuard) every message is refused with ERR_DISK_FULL.
 */
import { PetrelError } from '../common/errors.js';
import { systemClock, type Clock } from '../common/clock.js';
import type { ActorRef } from '../runtime/ActorRef.js';
import type { DiskSpaceGuard } from '../storage/DiskSpaceGuard.js';
import { MessageEncoder, type MessageToStore } from '../storage/MessageCodec.js';
import { UniqKeyGenerator, type SocketAddress } from '../storage/MessageId.js';
import type { Message, MessageExt, SendResult, TopicConfig } from '../api/BrokerApi.js';
import type { BrokerConfig } from './BrokerConfig.js';
import { BrokerPositions, Position } from './BrokerPositions.js';
import { refuseBrokerOnlyTopic } from '../api/topics.js';
import { delayed, reput, toStore } from './messageConvert.js';
import { PositionWaiters } from './PositionWaiters.js';
import { syncMasterReplicaWait } from './ReplicaWait.js';
import { SendPath } from './SendPath.js';
import type { WriterMsg, WriterReplies } from './WriterActor.js';

export interface MessageIntakeOptions {
  readonly clock: Clock;
  readonly config: BrokerConfig;
  readonly storeHost: SocketAddress;
  readonly writer: ActorRef<WriterMsg, WriterReplies>;
  readonly positions: BrokerPositions;
  /** RocketMQ's delay levels, level 1 first (ms). */
  readonly levels: readonly number[];
  /** The topic's config, created when allowed; throws when it cannot be written or made. */
  readonly topicFor: (topic: string, forWrite: boolean) => TopicConfig;
  /** The disk-full flag: while it is set every message is refused with ERR_DISK_FULL. */
  readonly disk?: DiskSpaceGuard;
}

export class MessageIntake {
  readonly #o: MessageIntakeOptions;
  readonly #encoder: MessageEncoder;
  readonly #uniq: UniqKeyGenerator;
  readonly #path: SendPath;

  constructor(options: MessageIntakeOptions) {
    this.#o = options;
    const c = options.config;
    this.#encoder = new MessageEncoder({ storeHost: options.storeHost, maxMessageSize: c.maxMessageSize });
    this.#uniq = new UniqKeyGenerator(systemClock, options.storeHost.address, process.pid, (Math.random() * 0x100000000) >>> 0);
    this.#path = new SendPath({
      writer: options.writer,
      encoder: this.#encoder,
      storeHost: options.storeHost,
      brokerName: c.brokerName,
      flushWaiter: c.flushDiskType === 'SYNC_FLUSH' ? new PositionWaiters(options.positions, Position.FLUSHED) : undefined,
      syncFlushTimeout: c.syncFlushTimeout,
      ...(c.brokerRole === 'SYNC_MASTER' ? { replicaWait: syncMasterReplicaWait(options.positions, c) } : {}),
    });
  }

  /** Producers' messages, all to `queueId` (default 0) of their topics. */
  send(messages: readonly Message[], queueId?: number): Promise<SendResult[]> {
    this.#refuseOnSlave('takes no sends');
    // once per call, so that the messages of one call are all refused or all taken
    this.#o.disk?.assertWritable();
    const pending: Promise<SendResult>[] = [];
    const now = this.#o.clock.now();
    for (const m of messages) {
      refuseBrokerOnlyTopic(m.topic);
      const cfg = this.#o.topicFor(m.topic, true);
      const qid = queueId ?? 0;
      if (!Number.isInteger(qid) || qid < 0 || qid >= cfg.writeQueueNums) {
        throw new PetrelError('ERR_QUEUE_ID_INVALID', `queue ${String(qid)} is not a write queue of ${m.topic} (0..${cfg.writeQueueNums - 1})`);
      }
      const { msg, shownTopic } = toStore(m, qid, this.#o.levels.length);
      pending.push(this.put(msg, clientUniqKey(m) ?? this.#uniq.next(now), shownTopic, qid, m.waitStoreMsgOK ?? true));
    }
    return Promise.all(pending);
  }

  /**
   * A message its consumer group could not handle: to %RETRY%<group> with a delay level (the
   * given one, else 3 + reconsumeTimes), or to %DLQ%<group> past maxReconsumeTimes or when
   * delayLevel < 0.
   */
  async sendBack(group: string, message: MessageExt, delayLevel: number, maxReconsumeTimes: number): Promise<void> {
    this.#refuseOnSlave('takes no messages back');
    this.#o.disk?.assertWritable();
    const origin = message.properties['RETRY_TOPIC'] ?? message.topic;
    const extra = { RETRY_TOPIC: origin, ORIGIN_MESSAGE_ID: message.properties['ORIGIN_MESSAGE_ID'] ?? message.msgId };
    const toDlq = delayLevel < 0 || message.reconsumeTimes >= maxReconsumeTimes;
    const topic = toDlq ? `%DLQ%${group}` : `%RETRY%${group}`;
    this.#o.topicFor(topic, true);
    const { msg, uniqKey } = reput(message, topic, 0, message.reconsumeTimes + 1, extra);
    const level = toDlq ? 0 : Math.min(delayLevel > 0 ? delayLevel : 3 + message.reconsumeTimes, this.#o.levels.length);
    await this.put(level > 0 ? delayed(msg, level) : msg, uniqKey, topic, 0, false);
  }

  /** A message already in stored form (a re-put), shown to the sender as `shownTopic`/`shownQueueId`. */
  put(msg: MessageToStore, uniqKey: string, shownTopic: string, shownQueueId: number, waitStore: boolean): Promise<SendResult> {
    const disk = this.#o.disk;
    if (disk?.full === true) {
      try {
        disk.assertWritable();
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const size = this.#encoder.encodedSize(msg, uniqKey);
    return new Promise((resolve, reject) => {
      this.#path.submit({ msg, uniqKey, size, noQueue: false, waitStore, shownTopic, shownQueueId, resolve, reject });
    });
  }

  /** Sends after this are refused; those accepted finish. */
  close(): void {
    this.#path.close();
  }

  #refuseOnSlave(what: string): void {
    const c = this.#o.config;
    if (c.brokerRole === 'SLAVE') throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `broker ${c.brokerName} is a SLAVE and ${what}`);
  }
}

function clientUniqKey(m: Message): string | undefined {
  if (m.uniqKey === undefined) return undefined;
  if (typeof m.uniqKey !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(m.uniqKey)) {
    throw new PetrelError('ERR_MESSAGE_ILLEGAL', 'message.uniqKey must be 1-128 characters of letters, digits, - or _');
  }
  return m.uniqKey;
}
