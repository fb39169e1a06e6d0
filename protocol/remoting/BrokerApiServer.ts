/**
 * Serves a BrokerApi (an embedded Broker, usually) over a remoting link. The method table below
 * is the whitelist: exactly the BrokerApi's methods plus `$hello`, each with its arguments
 * checked at the edge before the broker sees them. Long-polling pulls hold their reply here
 * while the broker waits for messages. Replies are sized before the work is done (replyBounds):
 * a pull's reply and a look-up by key are trimmed to fit one frame (a pulling consumer continues
 * from the first message left out), and a send whose results could not fit one frame is refused
 * with ERR_REPLY_TOO_LARGE before anything is stored.
 */
import type { BrokerApi, MessageExt, PullResult } from '../../actors/BrokerApi.js';
import { PetrelError } from '../../common/errors.js';
import { checkMaxFrameBytes } from './Frame.js';
import { ARGUMENT as A, MAX_LIST, int, list, opt, refuse, str } from './narrow.js';
import { message, messageExt, offsetResetRequest, pullRequest, registration, topicRequest } from './brokerValues.js';
import { checkSendReply, fittingPrefix, replyBudget } from './replyBounds.js';
import { subscriptionGroupInput } from './configValues.js';
import { serveRpc, type RpcMethod, type RpcServer, type RpcServerOptions } from './RpcServer.js';

/** Names of the BrokerApi's methods (its only non-method member is brokerName). */
export type BrokerMethodName = { [K in keyof BrokerApi]-?: BrokerApi[K] extends (...args: never[]) => unknown ? K : never }[keyof BrokerApi];

export interface ServeBrokerApiOptions extends Omit<RpcServerOptions, 'name'> {
  /** Longest hold of a long-polling pull, ms; longer requests are shortened. Default 60000. */
  readonly maxLongPollMs?: number;
}

/** What `$hello` answers: who is behind the address. */
export interface BrokerHello {
  readonly brokerName: string;
}

function arity(a: readonly unknown[], min: number, max: number, method: string): void {
  if (a.length < min || a.length > max) throw new PetrelError('ERR_INVALID_ARGUMENT', `${method} takes ${min === max ? min : `${min} to ${max}`} arguments, got ${a.length}`);
}

function optQueueId(v: unknown): number | undefined {
  return opt(v, (x) => int(A, x, 'queueId'));
}

/** A body may be a view of the whole pull's buffer: the frame carries its own bytes only. */
function own(m: MessageExt): MessageExt {
  return m.body.byteLength === m.body.buffer.byteLength ? m : { ...m, body: m.body.slice() };
}

/** Keeps the longest prefix of the messages that fits one frame (at least one message). */
export function fitPullResult(r: PullResult, budget: number): PullResult {
  const keep = fittingPrefix(r.messages, budget);
  if (keep >= r.messages.length) {
    const messages = r.messages.map(own);
    return messages.every((m, i) => m === r.messages[i]) ? r : { ...r, messages };
  }
  const kept = r.messages.slice(0, keep).map(own);
  const last = kept[kept.length - 1];
  return { ...r, messages: kept, nextBeginOffset: last === undefined ? r.nextBeginOffset : last.queueOffset + 1 };
}

type Handler = (api: BrokerApi, a: readonly unknown[], limits: { maxLongPollMs: number; replyBudget: number }) => unknown;

const HANDLERS: { readonly [K in BrokerMethodName]: Handler } = {
  send: (api, a, limits) => {
    arity(a, 1, 2, 'send');
    const messages = list(A, a[0], 'messages').map((m, i) => message(A, m, `messages[${i}]`));
    // One SendResult per message: a batch whose answer cannot fit one frame is refused unstored.
    checkSendReply(messages, api.brokerName, limits.replyBudget);
    return api.send(messages, optQueueId(a[1]));
  },
  sendOneway: (api, a) => {
    arity(a, 1, 2, 'sendOneway');
    api.sendOneway(message(A, a[0], 'message'), optQueueId(a[1]));
    return undefined;
  },
  pull: async (api, a, limits) => {
    arity(a, 1, 1, 'pull');
    const req = pullRequest(A, a[0], 'request');
    const capped = req.longPollMs !== undefined && req.longPollMs > limits.maxLongPollMs ? { ...req, longPollMs: limits.maxLongPollMs } : req;
    return fitPullResult(await api.pull(capped), limits.replyBudget);
  },
  createTopic: (api, a) => {
    arity(a, 1, 1, 'createTopic');
    return api.createTopic(topicRequest(A, a[0], 'config'));
  },
  getTopic: (api, a) => (arity(a, 1, 1, 'getTopic'), api.getTopic(str(A, a[0], 'topic'))),
  listTopics: (api, a) => (arity(a, 0, 0, 'listTopics'), api.listTopics()),
  queryRoute: (api, a) => (arity(a, 1, 1, 'queryRoute'), api.queryRoute(str(A, a[0], 'topic'))),
  registerProducer: (api, a) => (arity(a, 3, 3, 'registerProducer'), api.registerProducer(str(A, a[0], 'group'), str(A, a[1], 'instanceName'), str(A, a[2], 'clientId'))),
  unregisterProducer: (api, a) => (arity(a, 3, 3, 'unregisterProducer'), api.unregisterProducer(str(A, a[0], 'group'), str(A, a[1], 'instanceName'), str(A, a[2], 'clientId'))),
  registerConsumer: (api, a) => (arity(a, 1, 1, 'registerConsumer'), api.registerConsumer(registration(A, a[0], 'registration'))),
  unregisterConsumer: (api, a) => (arity(a, 2, 2, 'unregisterConsumer'), api.unregisterConsumer(str(A, a[0], 'group'), str(A, a[1], 'clientId'))),
  consumerIds: (api, a) => (arity(a, 1, 1, 'consumerIds'), api.consumerIds(str(A, a[0], 'group'))),
  awaitConsumerIdsChange: (api, a, limits) => {
    arity(a, 3, 3, 'awaitConsumerIdsChange');
    const known = list(A, a[1], 'known').map((x, i) => str(A, x, `known[${i}]`));
    const timeout = int(A, a[2], 'timeoutMs');
    return api.awaitConsumerIdsChange(str(A, a[0], 'group'), known, Math.max(0, Math.min(timeout, limits.maxLongPollMs)));
  },
  commitOffset: (api, a) => {
    arity(a, 4, 5, 'commitOffset');
    const args = [str(A, a[0], 'group'), str(A, a[1], 'topic'), int(A, a[2], 'queueId'), int(A, a[3], 'offset')] as const;
    const epoch = opt(a[4], (x) => int(A, x, 'resetEpoch'));
    return epoch === undefined ? api.commitOffset(...args) : api.commitOffset(...args, epoch);
  },
  queryOffset: (api, a) => (arity(a, 3, 3, 'queryOffset'), api.queryOffset(str(A, a[0], 'group'), str(A, a[1], 'topic'), int(A, a[2], 'queueId'))),
  minOffset: (api, a) => (arity(a, 2, 2, 'minOffset'), api.minOffset(str(A, a[0], 'topic'), int(A, a[1], 'queueId'))),
  maxOffset: (api, a) => (arity(a, 2, 2, 'maxOffset'), api.maxOffset(str(A, a[0], 'topic'), int(A, a[1], 'queueId'))),
  searchOffsetByTime: (api, a) => (arity(a, 3, 3, 'searchOffsetByTime'), api.searchOffsetByTime(str(A, a[0], 'topic'), int(A, a[1], 'queueId'), int(A, a[2], 'timestampMs'))),
  sendBack: (api, a) => {
    arity(a, 4, 4, 'sendBack');
    return api.sendBack(str(A, a[0], 'group'), messageExt(A, a[1], 'message'), int(A, a[2], 'delayLevel'), int(A, a[3], 'maxReconsumeTimes'));
  },
  consumerProgress: (api, a) => (arity(a, 1, 1, 'consumerProgress'), api.consumerProgress(str(A, a[0], 'group'))),
  resetOffset: (api, a) => (arity(a, 1, 1, 'resetOffset'), api.resetOffset(offsetResetRequest(A, a[0], 'request'))),
  awaitOffsetReset: (api, a, limits) => {
    arity(a, 4, 4, 'awaitOffsetReset');
    const timeout = int(A, a[3], 'timeoutMs');
    return api.awaitOffsetReset(str(A, a[0], 'group'), str(A, a[1], 'topic'), int(A, a[2], 'knownEpoch'), Math.max(0, Math.min(timeout, limits.maxLongPollMs)));
  },
  resetOffsetToLatest: (api, a) => (arity(a, 2, 2, 'resetOffsetToLatest'), api.resetOffsetToLatest(str(A, a[0], 'group'), str(A, a[1], 'topic'))),
  resetOffsetByTime: (api, a) => (arity(a, 3, 3, 'resetOffsetByTime'), api.resetOffsetByTime(str(A, a[0], 'group'), str(A, a[1], 'topic'), int(A, a[2], 'timestampMs'))),
  queryMessageByKey: async (api, a, limits) => {
    arity(a, 5, 5, 'queryMessageByKey');
    const maxNum = int(A, a[2], 'maxNum');
    if (maxNum < 0 || maxNum > MAX_LIST) throw refuse(A, 'maxNum', `an integer in [0, ${MAX_LIST}]`);
    // maxNum is a ceiling: the answer keeps the messages that fit one frame.
    const found = await api.queryMessageByKey(str(A, a[0], 'topic'), str(A, a[1], 'key'), maxNum, int(A, a[3], 'beginMs'), int(A, a[4], 'endMs'));
    return found.slice(0, fittingPrefix(found, limits.replyBudget));
  },
  queryMessageById: (api, a) => (arity(a, 1, 1, 'queryMessageById'), api.queryMessageById(str(A, a[0], 'msgId'))),
  viewMessageByOffset: (api, a) => (arity(a, 1, 1, 'viewMessageByOffset'), api.viewMessageByOffset(int(A, a[0], 'commitLogOffset'))),
  allConsumerOffsets: (api, a) => (arity(a, 0, 0, 'allConsumerOffsets'), api.allConsumerOffsets()),
  delayOffsets: (api, a) => (arity(a, 0, 0, 'delayOffsets'), api.delayOffsets()),
  getSubscriptionGroup: (api, a) => (arity(a, 1, 1, 'getSubscriptionGroup'), api.getSubscriptionGroup(str(A, a[0], 'group'))),
  listSubscriptionGroups: (api, a) => (arity(a, 0, 0, 'listSubscriptionGroups'), api.listSubscriptionGroups()),
  awaitSubscriptionGroupsChange: (api, a, limits) => {
    arity(a, 2, 2, 'awaitSubscriptionGroupsChange');
    return api.awaitSubscriptionGroupsChange(int(A, a[0], 'version'), Math.max(0, Math.min(int(A, a[1], 'timeoutMs'), limits.maxLongPollMs)));
  },
  updateSubscriptionGroup: (api, a) => (arity(a, 1, 1, 'updateSubscriptionGroup'), api.updateSubscriptionGroup(subscriptionGroupInput(A, a[0], 'config'))),
  deleteSubscriptionGroup: (api, a) => (arity(a, 1, 1, 'deleteSubscriptionGroup'), api.deleteSubscriptionGroup(str(A, a[0], 'group'))),
};

/** The whitelist as served: method name -> handler bound to `api`. */
export function brokerApiMethods(api: BrokerApi, options: { maxLongPollMs?: number; maxFrameBytes?: number } = {}): Map<string, RpcMethod> {
  const limits = {
    maxLongPollMs: options.maxLongPollMs ?? 60_000,
    replyBudget: replyBudget(checkMaxFrameBytes(options.maxFrameBytes)),
  };
  const methods = new Map<string, RpcMethod>();
  for (const [name, handler] of Object.entries(HANDLERS) as [BrokerMethodName, Handler][]) methods.set(name, (args) => handler(api, args, limits));
  methods.set('$hello', (args): BrokerHello => {
    arity(args, 0, 0, '$hello');
    return { brokerName: api.brokerName };
  });
  return methods;
}

/** Serves `api` on host:port (default 127.0.0.1, a free port); resolves once listening. */
export function serveBrokerApi(api: BrokerApi, options: ServeBrokerApiOptions = {}): Promise<RpcServer> {
  return serveRpc(brokerApiMethods(api, options), { ...options, name: `broker ${api.brokerName}` });
}
