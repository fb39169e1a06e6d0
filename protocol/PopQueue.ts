/**
 * One consume queue as one consumer group pops it: the pull cursor, and every message of the
 * queue the group has pulled but not yet finished with ("owned").
 *
 * An owned message is BUFFERED (pulled and matching the filter, not yet handed out), INFLIGHT
 * (handed out and invisible until `invisibleUntil`), READY (visible again, waiting to be
 * redelivered) or DEAD_LETTERING (on its way to the DLQ). An ack removes it. The group's
 * committed offset is therefore the smallest owned offset, or the cursor when nothing is owned:
 * it only ever passes messages that were acked, dead-lettered, or skipped by the filter.
 *
 * Owned by the PopService of one endpoint (one thread). Nothing here survives a restart: the
 * committed offset does, so every message not yet acked is delivered again after one.
 */
import type { MessageExt } from '../api/BrokerApi.js';

export type OwnedState = 'BUFFERED' | 'INFLIGHT' | 'READY' | 'DEAD_LETTERING';

export interface OwnedMessage {
  readonly queueId: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  state: OwnedState;
  /** Deliveries so far; the next delivery is attempt + 1. Starts at the stored reconsume count. */
  attempt: number;
  /** Bumped on every delivery and every invisible-time change: older receipt handles go stale. */
  generation: number;
  invisibleUntil: number;
  invisibleMs: number;
  autoRenew: boolean;
  /** An auto-renewed message stops being renewed here. */
  renewDeadline: number;
  /** The client the message was last handed to. */
  clientId: string;
  /** The message as pulled, kept only until its first delivery (redeliveries re-read it). */
  message: MessageExt | undefined;
}

export class PopQueue {
  readonly queueId: number;
  /** Next offset to pull; -1 until the group's start position is known. */
  cursor = -1;
  readonly owned = new Map<number, OwnedMessage>();
  pulling = false;
  /** No pull before this wall-clock time (after an error or an empty answer). */
  backoffUntil = 0;
  /** Last offset written with commitOffset (or read at start). */
  committed = -1;
  committing = false;
  commitAgain = false;
  #inflight = 0;
  #ordered = true;
  #lastInserted = -1;

  constructor(queueId: number) {
    this.queueId = queueId;
  }

  /** Messages of this queue currently invisible to the group (FIFO groups lock the queue on them). */
  get inflight(): number {
    return this.#inflight;
  }

  add(message: OwnedMessage): void {
    if (message.queueOffset < this.#lastInserted) this.#ordered = false;
    this.#lastInserted = message.queueOffset;
    this.owned.set(message.queueOffset, message);
    if (message.state === 'INFLIGHT') this.#inflight++;
  }

  setState(message: OwnedMessage, state: OwnedState): void {
    if (message.state === state) return;
    if (message.state === 'INFLIGHT') this.#inflight--;
    if (state === 'INFLIGHT') this.#inflight++;
    message.state = state;
  }

  remove(message: OwnedMessage): boolean {
    if (this.owned.get(message.queueOffset) !== message) return false;
    if (message.state === 'INFLIGHT') this.#inflight--;
    this.owned.delete(message.queueOffset);
    message.message = undefined;
    if (this.owned.size === 0) {
      this.#ordered = true;
      this.#lastInserted = -1;
    }
    return true;
  }

  /** The offset the group may commit: nothing below it is still owned. */
  commitCandidate(): number {
    if (this.owned.size === 0) return this.cursor;
    if (this.#ordered) {
      const first = this.owned.keys().next();
      return first.done === true ? this.cursor : first.value;
    }
    let min = this.cursor;
    for (const offset of this.owned.keys()) if (offset < min) min = offset;
    return min;
  }
}
