/**
 * One topic as one consumer group pops it: its queues, its filter, the receive calls waiting on
 * it, and the two lists the next deliveries come from (READY redeliveries first, then BUFFERED
 * fresh messages). Plain state; PopService drives it.
 */
import type { FilterSpec } from '../api/BrokerApi.js';
import { compileFilter, type FilterMatcher } from './FilterMatcher.js';
import { PopQueue, type OwnedMessage } from './PopQueue.js';

/** A receive call waiting for messages. */
export interface PopRequest {
  readonly group: string;
  readonly topic: string;
  readonly clientId: string;
  /** Only this queue (a FIFO push consumer's assignment); undefined pops across all queues. */
  readonly queueId?: number;
  readonly filter: FilterSpec;
  readonly batchSize: number;
  readonly invisibleMs: number;
  readonly autoRenew: boolean;
  /** How long the call may wait for a first message. */
  readonly pollMs: number;
}

export interface Waiter {
  readonly request: PopRequest;
  readonly deadline: number;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve(messages: OwnedMessage[]): void;
  reject(err: unknown): void;
}

export class PopTopic {
  readonly group: string;
  readonly topic: string;
  readonly fifo: boolean;
  readonly queues = new Map<number, PopQueue>();
  /** Messages visible again, in the order they became so. */
  readonly ready = new Set<OwnedMessage>();
  /** Messages pulled and not yet handed out, in pull order. */
  readonly buffered = new Set<OwnedMessage>();
  readonly waiters: Waiter[] = [];
  filter: FilterMatcher;
  queuesCheckedAt = -Infinity;
  queuesLoading: Promise<void> | undefined;
  lastActive: number;
  pumping = false;
  pumpAgain = false;
  retryTimer: NodeJS.Timeout | undefined;
  dropped = false;

  constructor(group: string, topic: string, fifo: boolean, filter: FilterSpec, now: number) {
    this.group = group;
    this.topic = topic;
    this.fifo = fifo;
    this.filter = compileFilter(filter);
    this.lastActive = now;
  }

  /** Takes the filter a receive call brings; a changed subscription replaces the old one. */
  useFilter(spec: FilterSpec): void {
    if (`${spec.type}:${spec.expression}` !== this.filter.key) this.filter = compileFilter(spec);
  }

  /** Whether a waiter may take messages of this queue. */
  static wants(waiter: Waiter, queueId: number): boolean {
    return waiter.request.queueId === undefined || waiter.request.queueId === queueId;
  }

  /** Messages owned in any state, over all queues. */
  ownedCount(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.owned.size;
    return n;
  }

  /** True when nothing is handed out or about to be: the state may be dropped when idle. */
  quiescent(): boolean {
    if (this.waiters.length > 0) return false;
    for (const q of this.queues.values()) {
      if (q.pulling || q.committing) return false;
      for (const m of q.owned.values()) if (m.state !== 'BUFFERED') return false;
    }
    return true;
  }

  /**
   * Picks up to the waiter's batch size from READY then BUFFERED messages, honouring FIFO: a
   * queue with a message in flight gives nothing, and a queue's messages go out in offset order.
   */
  pick(waiter: Waiter): OwnedMessage[] {
    const max = waiter.request.batchSize;
    const out: OwnedMessage[] = [];
    if (this.fifo) {
      for (const q of this.queues.values()) {
        if (out.length >= max) break;
        if (q.inflight > 0 || !PopTopic.wants(waiter, q.queueId)) continue;
        for (const m of q.owned.values()) {
          if (out.length >= max || m.state === 'DEAD_LETTERING') break;
          if (m.state === 'READY' || m.state === 'BUFFERED') out.push(m);
        }
      }
      return out;
    }
    for (const list of [this.ready, this.buffered]) {
      for (const m of list) {
        if (out.length >= max) return out;
        if (PopTopic.wants(waiter, m.queueId)) out.push(m);
      }
    }
    return out;
  }
}
