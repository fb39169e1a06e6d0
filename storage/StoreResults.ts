/**
 * Data-path outcomes of the store as status values with RocketMQ's names (PutMessageStatus,
 * GetMessageStatus), not exceptions. Bad input and a closed store throw PetrelErrors instead.
 */
import { createOffsetMessageId, type SocketAddress } from './MessageId.js';
import type { MessageFilter } from './MessageFilter.js';

/**
 * RocketMQ's PutMessageStatus. The store itself answers PUT_OK; the flush and replication
 * stages (actors) turn it into the others.
 */
export const PutMessageStatus = {
  PUT_OK: 'PUT_OK',
  FLUSH_DISK_TIMEOUT: 'FLUSH_DISK_TIMEOUT',
  FLUSH_SLAVE_TIMEOUT: 'FLUSH_SLAVE_TIMEOUT',
  SLAVE_NOT_AVAILABLE: 'SLAVE_NOT_AVAILABLE',
  SERVICE_NOT_AVAILABLE: 'SERVICE_NOT_AVAILABLE',
  OS_PAGE_CACHE_BUSY: 'OS_PAGE_CACHE_BUSY',
} as const;
export type PutMessageStatus = (typeof PutMessageStatus)[keyof typeof PutMessageStatus];

/**
 * The outcome of an append; ids are built only when read. Made by the writer and handed to the
 * caller; plain values (the store host aside), nothing to recover.
 */
export class PutMessageResult {
  readonly status: PutMessageStatus;
  /** Physical offset of the record. */
  readonly wroteOffset: number;
  /** Record size (a blank record written before it is not counted). */
  readonly wroteBytes: number;
  /** Queue offset given to the message (0 for prepared and rolled-back transactions). */
  readonly queueOffset: number;
  readonly storeTimestamp: number;
  /** UNIQ_KEY: what a RocketMQ SendResult shows as msgId. */
  readonly uniqKey: string;
  readonly #storeHost: SocketAddress;

  constructor(
    status: PutMessageStatus,
    wroteOffset: number,
    wroteBytes: number,
    queueOffset: number,
    storeTimestamp: number,
    uniqKey: string,
    storeHost: SocketAddress,
  ) {
    this.status = status;
    this.wroteOffset = wroteOffset;
    this.wroteBytes = wroteBytes;
    this.queueOffset = queueOffset;
    this.storeTimestamp = storeTimestamp;
    this.uniqKey = uniqKey;
    this.#storeHost = storeHost;
  }

  /** The offset message id (store host + physical offset). */
  get offsetMsgId(): string {
    return createOffsetMessageId(this.#storeHost, this.wroteOffset);
  }
}

/** RocketMQ's GetMessageStatus (ROCKETMQ.md 2.5). */
export const GetMessageStatus = {
  FOUND: 'FOUND',
  NO_MATCHED_MESSAGE: 'NO_MATCHED_MESSAGE',
  MESSAGE_WAS_REMOVING: 'MESSAGE_WAS_REMOVING',
  OFFSET_FOUND_NULL: 'OFFSET_FOUND_NULL',
  OFFSET_OVERFLOW_BADLY: 'OFFSET_OVERFLOW_BADLY',
  OFFSET_OVERFLOW_ONE: 'OFFSET_OVERFLOW_ONE',
  OFFSET_TOO_SMALL: 'OFFSET_TOO_SMALL',
  NO_MATCHED_LOGIC_QUEUE: 'NO_MATCHED_LOGIC_QUEUE',
  NO_MESSAGE_IN_QUEUE: 'NO_MESSAGE_IN_QUEUE',
} as const;
export type GetMessageStatus = (typeof GetMessageStatus)[keyof typeof GetMessageStatus];

/** One message of a GetMessageResult: its record is buffer[bufferOffset, bufferOffset + size). */
export interface GotMessage {
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly size: number;
  readonly tagsCode: number;
  readonly bufferOffset: number;
}

export interface GetMessageResult {
  readonly status: GetMessageStatus;
  /** Where the next pull should start. */
  readonly nextBeginOffset: number;
  readonly minOffset: number;
  readonly maxOffset: number;
  readonly messages: readonly GotMessage[];
  /**
   * The records found, copied out of the CommitLog back to back into a buffer of their own
   * (never pooled memory, so it can go in a transfer list).
   */
  readonly buffer: Uint8Array;
  readonly bufferTotalSize: number;
  /** The data read is far behind the CommitLog's end (more than the hot-data share of RAM). */
  readonly suggestPullingFromSlave: boolean;
  /**
   * Units walked whose record failed the read check (damaged CommitLog bytes): skipped like
   * filtered messages, so nextBeginOffset moves past them and readers go on.
   */
  readonly corrupt: readonly CorruptUnit[];
}

/** A ConsumeQueue unit whose record is damaged. */
export interface CorruptUnit {
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly size: number;
}

export interface GetMessageRequest {
  readonly group: string;
  readonly topic: string;
  readonly queueId: number;
  readonly offset: number;
  readonly maxMsgNums: number;
  /** Byte budget of the batch; RocketMQ caps it at 128 MiB. Default: the cap. */
  readonly maxTotalSize?: number;
  /** Default: ACCEPT_ALL. */
  readonly filter?: MessageFilter;
}
