/**
 * The address of an actor: `tell` (fire and forget) and `ask` (typed reply, with a timeout), on
 * any thread. A ref owns two MessagePorts: a data port whose other end the actor's host reads
 * (one port per ref, so messages from one ref arrive in the order they were sent) and a control
 * port to the actor's supervisor, which hands out new handles and rebinds the data port when the
 * actor is restarted on a new thread.
 *
 * A ref crosses threads as a handle: `ref.handle()` makes a RefHandle (two fresh ports, to be put
 * in the transfer list; spawn arguments do this by themselves) and `reviveRef(handle)` on the
 * other thread gives a typed ref that talks to the actor directly, not through the spawning
 * thread. Holding a ref never keeps a thread alive; a pending `ask` does, until it settles.
 */
import { MessageChannel, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { PetrelError, fromErrorData } from '../common/errors.js';
import type { ActorMessage, Replies } from './Actor.js';
import { checkCloneSize } from './cloneGuard.js';
import {
  REF_HANDLE_TAG,
  parseRefNotice,
  parseReply,
  type Envelope,
  type RefHandleData,
  type RefRequest,
} from './protocol.js';

declare const refTypes: unique symbol;

/** A ref in transit between threads. Its `data` and `control` ports go in the transfer list. */
export interface RefHandle<M extends ActorMessage, R extends Replies<M>> extends RefHandleData {
  /** Type-level only: never present at run time. */
  readonly [refTypes]?: { readonly msg: M; readonly replies: R };
}

export interface AskOptions {
  /** Default: the ask timeout the actor was spawned with (5 s unless set). */
  readonly timeoutMs?: number;
  /** Aborting rejects the ask with ERR_CANCELLED (the actor may still handle the message). */
  readonly signal?: AbortSignal;
  /** ArrayBuffers and ports in the message to move rather than copy. */
  readonly transfer?: readonly TransferListItem[];
}

interface PendingAsk {
  resolve(value: unknown): void;
  reject(error: PetrelError): void;
  readonly timer: NodeJS.Timeout;
  readonly unlisten: (() => void) | undefined;
}

export class ActorRef<M extends ActorMessage, R extends Replies<M>> {
  readonly name: string;
  readonly #askTimeoutMs: number;
  #data: MessagePort;
  readonly #control: MessagePort;
  readonly #pending = new Map<number, PendingAsk>();
  #nextId = 1;
  /** Why the data port closed: the actor stopped, or its thread ended; a rebind may follow. */
  #broken: PetrelError | undefined;
  /** Set once the actor is gone for good or this ref was closed. */
  #gone: PetrelError | undefined;

  private constructor(handle: RefHandleData) {
    this.name = handle.name;
    this.#askTimeoutMs = handle.askTimeoutMs;
    this.#data = handle.data;
    this.#control = handle.control;
    this.#listenData(this.#data);
    this.#control.on('message', this.#onNotice);
    this.#control.once('close', this.#onControlClosed);
    this.#control.unref();
  }

  /** @internal Use reviveRef. */
  static revive<M extends ActorMessage, R extends Replies<M>>(handle: RefHandleData): ActorRef<M, R> {
    return new ActorRef<M, R>(handle);
  }

  /** False once the actor is stopped, while it restarts on a new thread, or after close(). */
  get available(): boolean {
    return this.#unavailable() === undefined;
  }

  /**
   * Sends a message and returns at once. Throws ERR_ACTOR_STOPPED if the actor is unreachable,
   * ERR_MESSAGE_CLONE_TOO_LARGE if posting it would copy more than the clone bound.
   */
  tell(msg: M, transfer?: readonly TransferListItem[]): void {
    const unavailable = this.#unavailable();
    if (unavailable !== undefined) throw unavailable;
    const env: Envelope = { type: 'tell', msg };
    checkCloneSize(env, `message '${msg.type}' to ${this.name}`, transfer);
    this.#data.postMessage(env, transfer);
  }

  /**
   * Sends a message and resolves with the handler's result. Rejects with ERR_TIMEOUT when no
   * answer comes in time, with the handler's PetrelError when it throws one, ERR_ACTOR_CRASHED
   * when the handler crashes or the actor's thread ends first, ERR_ACTOR_STOPPED when the actor
   * is stopped or restarting, ERR_MESSAGE_CLONE_TOO_LARGE when posting the message (or the
   * answer) would copy more than the clone bound.
   */
  ask<K extends M>(msg: K, options: AskOptions = {}): Promise<R[K['type']]> {
    const unavailable = this.#unavailable();
    if (unavailable !== undefined) return Promise.reject(unavailable);
    const { signal, transfer } = options;
    if (signal?.aborted === true) return Promise.reject(cancelled(this.name, msg.type));
    try {
      checkCloneSize(msg, `message '${msg.type}' to ${this.name}`, transfer);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = options.timeoutMs ?? this.#askTimeoutMs;
    const id = this.#nextId++;
    return new Promise<R[K['type']]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#take(id)?.reject(
          new PetrelError('ERR_TIMEOUT', `actor ${this.name} did not answer '${msg.type}' within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      let unlisten: (() => void) | undefined;
      if (signal !== undefined) {
        const onAbort = (): void => this.#take(id)?.reject(cancelled(this.name, msg.type));
        signal.addEventListener('abort', onAbort, { once: true });
        unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      // The reply's type is the actor's contract for K; the port only carries `unknown`.
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer, unlisten });
      const env: Envelope = { type: 'ask', id, msg };
      try {
        this.#data.postMessage(env, transfer);
      } catch (err) {
        this.#take(id)?.reject(
          new PetrelError('ERR_INVALID_ARGUMENT', `message '${msg.type}' cannot be sent to ${this.name}`, { cause: err }),
        );
      }
    });
  }

  /**
   * A new handle to the same actor, for another thread. Put `handle.data` and `handle.control`
   * in the transfer list (refHandleTransfer does), or pass the ref itself in spawn arguments.
   */
  handle(): RefHandle<M, R> {
    if (this.#gone !== undefined) throw this.#gone;
    const data = new MessageChannel();
    const control = new MessageChannel();
    const request: RefRequest = { type: 'connect', data: data.port1, control: control.port1 };
    this.#control.postMessage(request, [data.port1, control.port1]);
    return { type: REF_HANDLE_TAG, name: this.name, data: data.port2, control: control.port2, askTimeoutMs: this.#askTimeoutMs };
  }

  /** Releases this ref's ports; pending asks fail with ERR_ACTOR_STOPPED. The actor is not affected. */
  close(): void {
    if (this.#gone !== undefined) return;
    this.#shutDown(new PetrelError('ERR_ACTOR_STOPPED', `this ref to ${this.name} is closed`));
  }

  #unavailable(): PetrelError | undefined {
    if (this.#gone !== undefined) return this.#gone;
    return this.#broken;
  }

  #listenData(port: MessagePort): void {
    port.on('message', this.#onReply);
    port.once('close', () => this.#onDataClosed(port));
    port.unref();
  }

  #take(id: number): PendingAsk | undefined {
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.unlisten?.();
    return pending;
  }

  #rejectAll(error: PetrelError): void {
    for (const id of [...this.#pending.keys()]) this.#take(id)?.reject(error);
  }

  readonly #onReply = (raw: unknown): void => {
    const reply = parseReply(raw);
    if (reply === undefined) return;
    if (reply.type === 'closed') {
      // The host stopped in order; asks it never received will get no answer.
      this.#broken = fromErrorData(reply.error);
      this.#rejectAll(this.#broken);
      return;
    }
    const pending = this.#take(reply.id);
    if (pending === undefined) return; // answered after its timeout or cancellation
    if (reply.type === 'reply') pending.resolve(reply.value);
    else pending.reject(fromErrorData(reply.error));
  };

  #onDataClosed(port: MessagePort): void {
    if (port !== this.#data || this.#gone !== undefined) return;
    // Without a 'closed' notice first, the actor's thread ended: it restarts or is gone.
    if (this.#broken === undefined) {
      this.#rejectAll(new PetrelError('ERR_ACTOR_CRASHED', `actor ${this.name}'s thread ended before answering`));
      this.#broken = new PetrelError('ERR_ACTOR_STOPPED', `actor ${this.name} is restarting`);
    }
  }

  readonly #onNotice = (raw: unknown): void => {
    const notice = parseRefNotice(raw);
    if (notice === undefined || this.#gone !== undefined) return;
    if (notice.type === 'gone') {
      this.#shutDown(fromErrorData(notice.error));
      return;
    }
    // Asks in flight on the old port went to an incarnation that is gone.
    const old = this.#data;
    old.removeAllListeners();
    old.close();
    this.#rejectAll(new PetrelError('ERR_ACTOR_CRASHED', `actor ${this.name} restarted before answering`));
    this.#data = notice.data;
    this.#broken = undefined;
    this.#listenData(notice.data);
  };

  readonly #onControlClosed = (): void => {
    if (this.#gone === undefined) this.#shutDown(new PetrelError('ERR_ACTOR_STOPPED', `actor ${this.name} is stopped`));
  };

  #shutDown(error: PetrelError): void {
    this.#gone = error;
    this.#rejectAll(error);
    this.#data.removeAllListeners();
    this.#control.removeAllListeners();
    this.#data.close();
    this.#control.close();
  }
}

function cancelled(name: string, type: string): PetrelError {
  return new PetrelError('ERR_CANCELLED', `ask '${type}' to ${name} was cancelled`);
}

const revived = new WeakMap<RefHandleData, ActorRef<ActorMessage, Replies<ActorMessage>>>();

/** The typed ref for a handle that arrived from another thread. Reviving the same handle twice gives the same ref. */
export function reviveRef<M extends ActorMessage, R extends Replies<M>>(handle: RefHandle<M, R>): ActorRef<M, R> {
  const known = revived.get(handle);
  // A handle revives into one ref; its type parameters were fixed when the handle was made.
  if (known !== undefined) return known as unknown as ActorRef<M, R>;
  const ref = ActorRef.revive<M, R>(handle);
  revived.set(handle, ref as unknown as ActorRef<ActorMessage, Replies<ActorMessage>>);
  return ref;
}

/** The ports to transfer with a handle. */
export function refHandleTransfer(handle: RefHandleData): MessagePort[] {
  return [handle.data, handle.control];
}
