/**
 * SendMessage and EndTransaction.
 *
 * One SendResultEntry per message, carrying the client's own message id. Normal and delay
 * messages go to the topic's write queues in turn; FIFO messages to the queue their message
 * group hashes to; transactional messages are held by the TransactionStore until EndTransaction
 * commits (then stored) or rolls back (then dropped).
 */
import type { TopicConfig } from '../api/BrokerApi.js';
import { refuseBrokerOnlyTopic } from '../api/topics.js';
import { StatusError, codeOfSendStatus, statusOfError } from './status.js';
import { Code, MessageType, TransactionResolution, statusOk, type WireSendResultEntry, type WireStatus } from './wire.js';
import { list, num, rec, str } from './parse.js';
import { parseInboundMessage, toBrokerMessage, type InboundMessage } from './MessageConversion.js';
import { queueForMessageGroup } from './FifoQueueSelector.js';
import { requireTopic, type CallContext } from './RequestContext.js';
import { resourceName } from './RouteHandlers.js';
import { reportUnexpected, type ServiceContext } from './ServiceContext.js';

export interface SendResponse {
  readonly status: WireStatus;
  readonly entries?: readonly WireSendResultEntry[];
}

/** Write queue counts, re-read at most once a few seconds per topic. */
const TOPIC_CACHE_MS = 5_000;
const topicCache = new WeakMap<ServiceContext, Map<string, { config: TopicConfig; at: number }>>();

async function writeQueueNums(ctx: ServiceContext, topic: string): Promise<number> {
  let cache = topicCache.get(ctx);
  if (cache === undefined) {
    cache = new Map();
    topicCache.set(ctx, cache);
  }
  const now = ctx.clock.now();
  const hit = cache.get(topic);
  if (hit !== undefined && now - hit.at < TOPIC_CACHE_MS) return hit.config.writeQueueNums;
  const config = await ctx.broker.getTopic(topic);
  if (config === undefined) return 0;
  cache.set(topic, { config, at: now });
  return config.writeQueueNums;
}

const roundRobin = new WeakMap<ServiceContext, Map<string, number>>();

/** Spreads non-FIFO messages over the write queues in turn. */
function nextQueue(ctx: ServiceContext, topic: string, writeQueueNums: number): number {
  let counters = roundRobin.get(ctx);
  if (counters === undefined) {
    counters = new Map();
    roundRobin.set(ctx, counters);
  }
  const next = ((counters.get(topic) ?? -1) + 1) % writeQueueNums;
  counters.set(topic, next);
  return next;
}

function entry(status: WireStatus, messageId: string, offset = 0, transactionId = ''): WireSendResultEntry {
  return { status, message_id: messageId, transaction_id: transactionId, offset };
}

async function sendOne(ctx: ServiceContext, raw: unknown, call: CallContext): Promise<WireSendResultEntry> {
  let inbound: InboundMessage | undefined;
  try {
    inbound = parseInboundMessage(raw, call.namespace, ctx.settings.limits);
    requireTopic(call, ctx.acl, inbound.topic, 'PUB');
    // The broker refuses these topics on every send; a transactional half is held here before
    // it reaches the broker, so it is refused here too rather than at its commit.
    refuseBrokerOnlyTopic(inbound.topic);
    if (inbound.messageType === MessageType.TRANSACTION) {
      const transactionId = ctx.transactions.hold(inbound, call.clientId, call.namespace);
      return entry(statusOk(), inbound.messageId, 0, transactionId);
    }
    const message = toBrokerMessage(inbound, ctx.clock.now(), ctx.settings.delayLevels);
    // The official client always names queue 0; the queue is chosen here, as the proxy does.
    const n = await writeQueueNums(ctx, inbound.topic);
    let queueId: number | undefined;
    if (n > 0) queueId = inbound.messageGroup !== undefined ? queueForMessageGroup(inbound.messageGroup, n) : nextQueue(ctx, inbound.topic, n);
    const [result] = await ctx.broker.send([message], queueId);
    if (result === undefined) throw new StatusError(Code.INTERNAL_SERVER_ERROR, 'the broker returned no send result');
    return entry({ code: codeOfSendStatus(result.sendStatus), message: result.sendStatus }, inbound.messageId, result.queueOffset);
  } catch (err) {
    reportUnexpected('SendMessage', err);
    const messageId = inbound?.messageId ?? str(rec(rec(raw)['system_properties']), 'message_id');
    return entry(statusOfError(err), messageId);
  }
}

/** The summary status: the entries' code when they agree, MULTIPLE_RESULTS otherwise. */
export function summarize(statuses: readonly WireStatus[]): WireStatus {
  const firstStatus = statuses[0];
  if (firstStatus === undefined) return statusOk();
  return statuses.every((s) => s.code === firstStatus.code) ? firstStatus : { code: Code.MULTIPLE_RESULTS, message: 'entries have different statuses' };
}

export async function sendMessage(ctx: ServiceContext, request: unknown, call: CallContext): Promise<SendResponse> {
  const messages = list(rec(request), 'messages');
  if (messages.length === 0) throw new StatusError(Code.BAD_REQUEST, 'SendMessage without messages');
  if (messages.length > ctx.settings.maxMessagesPerSend) {
    throw new StatusError(Code.BAD_REQUEST, `SendMessage with ${messages.length} messages; at most ${ctx.settings.maxMessagesPerSend}`);
  }
  const entries: WireSendResultEntry[] = [];
  for (const raw of messages) entries.push(await sendOne(ctx, raw, call));
  return { status: summarize(entries.map((e) => e.status)), entries };
}

export async function endTransaction(ctx: ServiceContext, request: unknown, call: CallContext): Promise<{ status: WireStatus }> {
  const req = rec(request);
  const topic = resourceName(req['topic'], 'topic', call, 'topic');
  requireTopic(call, ctx.acl, topic, 'PUB');
  const resolution = num(req, 'resolution');
  if (resolution !== TransactionResolution.COMMIT && resolution !== TransactionResolution.ROLLBACK) {
    throw new StatusError(Code.BAD_REQUEST, 'resolution must be COMMIT or ROLLBACK');
  }
  const half = ctx.transactions.take(str(req, 'transaction_id'), str(req, 'message_id'), topic);
  if (resolution === TransactionResolution.ROLLBACK) return { status: statusOk('rolled back') };
  let result;
  try {
    [result] = await ctx.broker.send([toBrokerMessage(half.message, ctx.clock.now(), ctx.settings.delayLevels)]);
  } catch (err) {
    ctx.transactions.restore(half);
    throw err;
  }
  return { status: result === undefined ? statusOk() : { code: codeOfSendStatus(result.sendStatus), message: result.sendStatus } };
}
