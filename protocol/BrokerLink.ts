/**
 * Reaching a broker from another thread. `brokerHandle(broker)` on the broker's thread gives a
 * small transferable handle (a MessagePort and the broker's name); `connectBroker(handle)` on any
 * worker thread turns it into a BrokerApi whose calls cross to the broker through the actor
 * bridge (comlink), so a Producer or PushConsumer on that thread works exactly as on the main
 * thread. Both ends are built from the operation table (api/operations.ts): the handle serves
 * exactly the table's operations, and the far end has one stub per entry. Each call is one
 * message each way; sends from many async tasks on that thread are batched again by the
 * broker's send path.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { BrokerApi, MessageExt } from '../api/BrokerApi.js';
import { operationEntries, type Arg } from '../api/operations.js';
import { exposeObject, wrapObject } from '../runtime/bridge.js';
import { ownedCopy } from '../runtime/cloneGuard.js';

export interface BrokerHandle {
  readonly brokerName: string;
  /** Put it in the transfer list when posting the handle to a worker. */
  readonly port: MessagePort;
}

type Method = (...args: unknown[]) => unknown;

/** Serves `api`'s operations on a fresh channel; the handle goes to exactly one other thread. */
export function brokerHandle(api: BrokerApi): BrokerHandle {
  const { port1, port2 } = new MessageChannel();
  // comlink calls members by name: a plain object of the table's operations, nothing else of the broker.
  const methods: Record<string, Method> = Object.create(null) as Record<string, Method>;
  const target = api as unknown as Record<string, Method>;
  for (const [name] of operationEntries()) {
    const fn = target[name];
    if (typeof fn !== 'function') throw new TypeError(`broker has no operation ${name}`);
    methods[name] = fn.bind(api);
  }
  exposeObject(methods, port1);
  port1.unref();
  return { brokerName: api.brokerName, port: port2 };
}

/** A message pulled on this thread has a body that views its whole pull's buffer: post its own bytes. */
export function withOwnBody(m: MessageExt): MessageExt {
  const b = m.body;
  if (b.buffer instanceof SharedArrayBuffer || (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength)) return m;
  return { ...m, body: ownedCopy(b) };
}

/** A BrokerApi on this thread for a broker on another; close() releases the port. */
export function connectBroker(handle: BrokerHandle): BrokerApi & { close(): void } {
  // The port stays referenced: a thread waiting on a reply must not see its event loop empty.
  const client = wrapObject<Record<string, (...args: unknown[]) => Promise<unknown>>>(handle.port);
  const remote = client.proxy as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const out: Record<string, unknown> = { brokerName: handle.brokerName, close: () => client.close() };
  for (const [name, op] of operationEntries()) {
    const args = op.args as readonly Arg<unknown>[];
    const owned = args.some((a) => a.ownBody === true);
    const call = (...a: unknown[]): Promise<unknown> => {
      const fn = remote[name];
      if (fn === undefined) return Promise.reject(new TypeError(`no operation ${name}`));
      return fn(...(owned ? a.map((v, i) => (args[i]?.ownBody === true && v !== undefined ? withOwnBody(v as MessageExt) : v)) : a));
    };
    out[name] = op.kind === 'oneway' ? (...a: unknown[]): void => void call(...a).catch(() => undefined) : call;
  }
  return out as unknown as BrokerApi & { close(): void };
}
