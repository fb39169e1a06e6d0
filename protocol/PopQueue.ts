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
 *
 * An offset reset of the group (resetTo) drops every owned message and moves the cursor and the
 * committed offset to the reset's offset. Generations of messages pulled afterwards start above
 * every generation a receipt handle was ever issued with here, so a handle from before the reset
 * is told apart (isFromBeforeReset): its ack changes nothing.
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
  /** The group's reset epoch the cursor comes from; pulls and commits carry it. */
  resetEpoch = 0;
  /** Generation of messages pulled from now on: above every generation issued before the last reset. */
  generationBase = 0;
  /** The highest generation a receipt handle was issued with for this queue. */
  highestIssued = 0;
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

  /** A receipt handle was issued with this generation. */
  issued(generation: number): void {
    if (generation > this.highestIssued) this.highestIssued = generation;
  }

  /** True for the generation of a handle issued before the queue's last offset reset. */
  isFromBeforeReset(generation: number): boolean {
    return generation < this.generationBase;
  }

  /**
   * Adopts an offset reset: every owned message is dropped (and returned, for the topic's lists),
   * the cursor and committed offset move to `offset`. A message being handed out right now sees
   * its generation moved and is not delivered.
   */
  resetTo(offset: number, epoch: number): OwnedMessage[] {
    const dropped = [...this.owned.values()];
    for (const m of dropped) {
      m.generation++;
      m.message = undefined;
      this.issued(m.generation);
    }
    this.owned.clear();
    this.#inflight = 0;
    this.#ordered = true;
    this.#lastInserted = -1;
    this.cursor = offset;
    this.committed = offset;
    this.resetEpoch = epoch;
    this.generationBase = this.highestIssued + 1;
    this.backoffUntil = 0;
    return dropped;
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
