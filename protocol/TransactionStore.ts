/**
 * Half messages of transactional sends: held by the endpoint, invisible to every consumer, until
 * the producer commits (the message is then sent to the broker) or rolls back (it is dropped).
 *
 * A half message left unresolved for checkAfterMs is "orphaned": the endpoint asks a producer of
 * its topic (the sender first) through its Telemetry stream with a
 * RecoverOrphanedTransactionCommand, again every checkIntervalMs, and drops the message after
 * maxChecks unanswered checks, as RocketMQ discards after transactionCheckMax.
 *
 * Bounded: at most maxPending messages and maxPendingBytes of bodies; past that a transactional
 * send is refused with TOO_MANY_REQUESTS. Held in memory on the endpoint's thread: a restart
 * forgets unresolved transactions, which is a rollback.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../common/clock.js';
import { log } from '../common/diagnostics.js';
import type { InboundMessage } from './MessageConversion.js';
import { StatusError } from './status.js';
import { Code } from './wire.js';

export interface TransactionOptions {
  /** Unresolved this long, a half message is checked with its producer. Default 6 s (RocketMQ transactionTimeOut). */
  readonly checkAfterMs: number;
  /** Between two checks of one message. Default 60 s (RocketMQ transactionCheckInterval). */
  readonly checkIntervalMs: number;
  /** Checks before an unresolved message is dropped. Default 15 (RocketMQ transactionCheckMax). */
  readonly maxChecks: number;
  readonly maxPending: number;
  readonly maxPendingBytes: number;
}

export const DEFAULT_TRANSACTION_OPTIONS: TransactionOptions = {
  checkAfterMs: 6_000,
  checkIntervalMs: 60_000,
  maxChecks: 15,
  maxPending: 10_000,
  maxPendingBytes: 256 * 1024 * 1024,
};

export interface HalfMessage {
  readonly transactionId: string;
  readonly message: InboundMessage;
  readonly producerClientId: string;
  readonly namespace: string;
  readonly createdAt: number;
  checks: number;
  nextCheckAt: number;
}

export class TransactionStore {
  readonly #opt: TransactionOptions;
  readonly #clock: Clock;
  readonly #check: (half: HalfMessage) => void;
  readonly #pending = new Map<string, HalfMessage>();
  readonly #timer: NodeJS.Timeout;
  #bytes = 0;

  /** `check` asks a producer about one orphaned half message. */
  constructor(options: TransactionOptions, clock: Clock, check: (half: HalfMessage) => void) {
    this.#opt = options;
    this.#clock = clock;
    this.#check = check;
    this.#timer = setInterval(() => this.sweep(), Math.max(100, Math.min(1000, options.checkAfterMs))).unref();
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Holds a half message; returns its transaction id. */
  hold(message: InboundMessage, producerClientId: string, namespace: string): string {
    if (this.#pending.size >= this.#opt.maxPending || this.#bytes + message.body.length > this.#opt.maxPendingBytes) {
      throw new StatusError(Code.TOO_MANY_REQUESTS, 'too many unresolved transactional messages; commit or roll back some first');
    }
    const transactionId = randomUUID();
    const now = this.#clock.now();
    this.#pending.set(transactionId, {
      transactionId,
      message,
      producerClientId,
      namespace,
      createdAt: now,
      checks: 0,
      nextCheckAt: now + this.#opt.checkAfterMs,
    });
    this.#bytes += message.body.length;
    return transactionId;
  }

  /** Removes and returns the half message when transaction id, message id and topic all match. */
  take(transactionId: string, messageId: string, topic: string): HalfMessage {
    const half = this.#pending.get(transactionId);
    if (half === undefined || half.message.messageId !== messageId || half.message.topic !== topic) {
      throw new StatusError(Code.INVALID_TRANSACTION_ID, 'no unresolved transaction with this id, message id and topic (ended, expired, or never begun)');
    }
    this.#pending.delete(transactionId);
    this.#bytes -= half.message.body.length;
    return half;
  }

  /** Puts back a half message whose commit could not be stored, so the producer can try again. */
  restore(half: HalfMessage): void {
    if (this.#pending.has(half.transactionId)) return;
    this.#pending.set(half.transactionId, half);
    this.#bytes += half.message.body.length;
  }

  /** Checks orphaned half messages and drops those checked too often. */
  sweep(): void {
    const now = this.#clock.now();
    for (const half of [...this.#pending.values()]) {
      if (half.nextCheckAt > now) continue;
      if (half.checks >= this.#opt.maxChecks) {
        this.#pending.delete(half.transactionId);
        this.#bytes -= half.message.body.length;
        log('warn', 'grpc: unresolved transactional message dropped after its checks', { transactionId: half.transactionId, topic: half.message.topic });
        continue;
      }
      half.checks++;
      half.nextCheckAt = now + this.#opt.checkIntervalMs;
      this.#check(half);
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#pending.clear();
    this.#bytes = 0;
  }
}
