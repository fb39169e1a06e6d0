/**
 * Reaching a broker from another thread. `brokerHandle(broker)` on the broker's thread gives a
 * small transferable handle (a MessagePort and the broker's name); `connectBroker(handle)` on any
 * worker thread turns it into a BrokerApi whose calls cross to the broker through the actor
 * bridge (comlink), so a Producer or PushConsumer on that thread works exactly as on the main
 * thread. Each call is one message each way; sends from many async tasks on that thread are
 * batched again by the broker's send path.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { exposeObject, wrapObject } from '../runtime/bridge.js';
import type { BrokerApi, Message } from './BrokerApi.js';
import { withOwnBody } from './messageConvert.js';

export interface BrokerHandle {
  readonly brokerName: string;
  /** Put it in the transfer list when posting the handle to a worker. */
  readonly port: MessagePort;
}

/** Serves `api` on a fresh channel; the handle goes to exactly one other thread. */
export function brokerHandle(api: BrokerApi): BrokerHandle {
  const { port1, port2 } = new MessageChannel();
  // comlink calls members by name: expose a plain object so private fields stay behind the methods.
  const methods: Record<string, unknown> = {};
  let proto: object | null = Object.getPrototypeOf(api) as object | null;
  const names = new Set<string>(Object.keys(api));
  while (proto !== null && proto !== Object.prototype) {
    for (const n of Object.getOwnPropertyNames(proto)) names.add(n);
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  for (const n of names) {
    const v: unknown = (api as unknown as Record<string, unknown>)[n];
    if (typeof v === 'function' && n !== 'constructor') methods[n] = (v as (...a: unknown[]) => unknown).bind(api);
  }
  exposeObject(methods, port1);
  port1.unref();
  return { brokerName: api.brokerName, port: port2 };
}

type Remote = { [K in keyof BrokerApi]: BrokerApi[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : never };

/** A BrokerApi on this thread for a broker on another; close() releases the port. */
export function connectBroker(handle: BrokerHandle): BrokerApi & { close(): void } {
  // The port stays referenced: a thread waiting on a reply must not see its event loop empty.
  const client = wrapObject<Remote>(handle.port);
  const r = client.proxy as unknown as Remote;
  return {
    brokerName: handle.brokerName,
    send: (messages, queueId) => r.send(messages, queueId),
    sendOneway: (message: Message, queueId?: number) => {
      r.sendOneway(message, queueId).catch(() => undefined);
    },
    pull: (req) => r.pull(req),
    createTopic: (c) => r.createTopic(c),
    getTopic: (topic) => r.getTopic(topic),
    listTopics: () => r.listTopics(),
    queryRoute: (topic) => r.queryRoute(topic),
    registerProducer: (g, i, c) => r.registerProducer(g, i, c),
    unregisterProducer: (g, i, c) => r.unregisterProducer(g, i, c),
    registerConsumer: (reg) => r.registerConsumer(reg),
    unregisterConsumer: (g, c) => r.unregisterConsumer(g, c),
    consumerIds: (g) => r.consumerIds(g),
    awaitConsumerIdsChange: (g, k, ms) => r.awaitConsumerIdsChange(g, k, ms),
    commitOffset: (g, t, q, o, e) => (e === undefined ? r.commitOffset(g, t, q, o) : r.commitOffset(g, t, q, o, e)),
    queryOffset: (g, t, q) => r.queryOffset(g, t, q),
    minOffset: (t, q) => r.minOffset(t, q),
    maxOffset: (t, q) => r.maxOffset(t, q),
    searchOffsetByTime: (t, q, ts) => r.searchOffsetByTime(t, q, ts),
    // A message pulled on this thread has a body that views its whole pull's buffer.
    sendBack: (g, m, d, max) => r.sendBack(g, withOwnBody(m), d, max),
    consumerProgress: (g) => r.consumerProgress(g),
    resetOffset: (req) => r.resetOffset(req),
    resetOffsetToLatest: (g, t) => r.resetOffsetToLatest(g, t),
    resetOffsetByTime: (g, t, ts) => r.resetOffsetByTime(g, t, ts),
    awaitOffsetReset: (g, t, e, ms) => r.awaitOffsetReset(g, t, e, ms),
    queryMessageByKey: (t, k, n, b, e) => r.queryMessageByKey(t, k, n, b, e),
    queryMessageById: (id) => r.queryMessageById(id),
    viewMessageByOffset: (o) => r.viewMessageByOffset(o),
    allConsumerOffsets: () => r.allConsumerOffsets(),
    delayOffsets: () => r.delayOffsets(),
    getSubscriptionGroup: (g) => r.getSubscriptionGroup(g),
    listSubscriptionGroups: () => r.listSubscriptionGroups(),
    awaitSubscriptionGroupsChange: (v, ms) => r.awaitSubscriptionGroupsChange(v, ms),
    updateSubscriptionGroup: (input) => r.updateSubscriptionGroup(input),
    deleteSubscriptionGroup: (g) => r.deleteSubscriptionGroup(g),
    close: () => client.close(),
  };
}
