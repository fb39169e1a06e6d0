/**
 * The comlink bridge: an object (or an actor) that lives on one thread, used from another as a
 * typed async proxy. The embedded API uses it to hand users plain async objects whose work is
 * done on the broker's threads.
 *
 * ```ts
 * const { port1, port2 } = new MessageChannel();
 * const server = exposeObject(api, port1);               // on the thread that owns `api`
 * const client = wrapObject<typeof api>(port2);          // on any thread port2 was moved to
 * await client.proxy.send(msg);
 * client.close(); server.close();
 * ```
 *
 * A PetrelError thrown on the serving side is rebuilt as a PetrelError with its code on the
 * calling side (comlink alone would keep only the message). Calls and answers go through the clone
 * bound (cloneGuard.ts): one that would copy a large buffer behind a view fails with
 * ERR_MESSAGE_CLONE_TOO_LARGE at the caller. Every call is a round trip through
 * comlink (tens of microseconds): use it for control calls, never per message on a data path.
 */
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { PetrelError, fromErrorData, isErrorCode, toErrorData } from '../common/errors.js';
import type { ActorMessage, MessageOf, Replies } from './Actor.js';
import type { ActorRef, AskOptions } from './ActorRef.js';
import { checkCloneSize } from './cloneGuard.js';

type Listener = ((ev: { data: unknown }) => void) | { handleEvent(ev: { data: unknown }): void };

/** Marks a PetrelError on the wire. */
const PETREL_ERROR = 'petrelmq.error';

/** comlink's answers are wire values of these types; its requests have others (GET, APPLY...). */
function replyId(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const m = message as Record<string, unknown>;
  return (m['type'] === 'RAW' || m['type'] === 'HANDLER') && typeof m['id'] === 'string' ? m['id'] : undefined;
}

function callName(message: unknown): string {
  const path = typeof message === 'object' && message !== null ? (message as Record<string, unknown>)['path'] : undefined;
  return Array.isArray(path) && path.length > 0 ? `bridge call '${path.join('.')}'` : 'a bridge call';
}

/**
 * Every post goes through the clone bound first. An oversized call fails at the caller; an
 * oversized answer is replaced by the error, thrown at the caller as comlink throws (with its code).
 */
function guardedPost(port: MessagePort, message: unknown, transfer: readonly TransferListItem[] | undefined): void {
  const id = replyId(message);
  try {
    checkCloneSize(message, id === undefined ? callName(message) : 'the answer to a bridge call', transfer);
  } catch (err) {
    if (id === undefined || !(err instanceof PetrelError)) throw err;
    port.postMessage({ id, type: 'HANDLER', name: 'throw', value: { [PETREL_ERROR]: toErrorData(err) } });
    return;
  }
  port.postMessage(message, transfer);
}

/** comlink speaks DOM-style endpoints; a Node MessagePort speaks EventEmitter. */
function endpointOf(port: MessagePort): Comlink.Endpoint {
  const wrapped = new Map<Listener, (data: unknown) => void>();
  const endpoint = {
    postMessage: (message: unknown, transfer?: readonly TransferListItem[]) => guardedPost(port, message, transfer),
    addEventListener: (_type: string, listener: Listener) => {
      const onMessage = (data: unknown): void => {
        if (typeof listener === 'function') listener({ data });
        else listener.handleEvent({ data });
      };
      wrapped.set(listener, onMessage);
      port.on('message', onMessage);
    },
    removeEventListener: (_type: string, listener: Listener) => {
      const onMessage = wrapped.get(listener);
      if (onMessage === undefined) return;
      port.off('message', onMessage);
      wrapped.delete(listener);
    },
    start: () => port.start(),
  };
  // The shapes match; comlink's typings name DOM types this project does not load.
  return endpoint as unknown as Comlink.Endpoint;
}

function installErrorHandler(): void {
  const base = Comlink.transferHandlers.get('throw');
  if (base === undefined || (base as { petrel?: boolean }).petrel === true) return;
  const handler: Comlink.TransferHandler<unknown, unknown> & { petrel: boolean } = {
    petrel: true,
    canHandle: (value: unknown): value is unknown => base.canHandle(value),
    serialize(thrown: unknown) {
      const inner = (thrown as { value?: unknown }).value;
      if (inner instanceof PetrelError) return [{ [PETREL_ERROR]: toErrorData(inner) }, []];
      return base.serialize(thrown);
    },
    deserialize(serialized: unknown) {
      if (typeof serialized === 'object' && serialized !== null && PETREL_ERROR in serialized) {
        const data = (serialized as Record<string, unknown>)[PETREL_ERROR];
        const code = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['code'] : undefined;
        if (isErrorCode(code)) throw fromErrorData(data);
      }
      return base.deserialize(serialized);
    },
  };
  Comlink.transferHandlers.set('throw', handler);
}

installErrorHandler();

export interface BridgeServer {
  /** Stops serving and closes the port. */
  close(): void;
}

export interface BridgeClient<T> {
  /** Every property of T, as comlink sees it: methods return promises. */
  readonly proxy: Comlink.Remote<T>;
  /** Releases the proxy and closes the port. */
  close(): void;
}

/** Serves `target` to whoever holds the other end of `port`. */
export function exposeObject<T extends object>(target: T, port: MessagePort): BridgeServer {
  Comlink.expose(target, endpointOf(port));
  return {
    close: () => {
      port.removeAllListeners('message');
      port.close();
    },
  };
}

/** A typed async proxy for the object served at the other end of `port`. */
export function wrapObject<T>(port: MessagePort): BridgeClient<T> {
  const proxy = Comlink.wrap<T>(endpointOf(port));
  let closed = false;
  return {
    proxy,
    close: () => {
      if (closed) return;
      closed = true;
      proxy[Comlink.releaseProxy]();
      port.close();
    },
  };
}

/** An actor seen as an object: one method per message type, each an `ask` of that message. */
export type ActorFacade<M extends ActorMessage, R extends Replies<M>> = {
  readonly [K in M['type']]: (fields: Omit<MessageOf<M, K>, 'type'>, options?: Pick<AskOptions, 'timeoutMs'>) => Promise<R[K]>;
};

/**
 * The facade of an actor: `facade.get({})` asks `{ type: 'get' }`. Expose it with exposeObject
 * to reach the actor from a thread that should not deal with refs, as a plain async object.
 */
export function actorFacade<M extends ActorMessage, R extends Replies<M>>(ref: ActorRef<M, R>): ActorFacade<M, R> {
  const methods = new Map<string, (fields: object, options?: Pick<AskOptions, 'timeoutMs'>) => Promise<unknown>>();
  return new Proxy({} as ActorFacade<M, R>, {
    get(_target, prop) {
      // Not a thenable, not a symbol-keyed protocol: only message types are methods.
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      let method = methods.get(prop);
      if (method === undefined) {
        // The message is built from the method name; its type is the actor's contract.
        method = (fields, options) => ref.ask({ ...fields, type: prop } as unknown as M, options ?? {});
        methods.set(prop, method);
      }
      return method;
    },
  });
}
