/**
 * Serves a BrokerApi (an embedded Broker, usually) over a remoting link. The operation table
 * (api/operations.ts) is the whitelist: exactly its operations plus `$hello`, each with its
 * arguments parsed by the table's parsers before the broker sees them. Long-polling pulls hold their reply here
 * while the broker waits for messages. Replies are sized before the work is done (replyBounds):
 * a pull's reply and a look-up by key are trimmed to fit one frame (a pulling consumer continues
 * from the first message left out), and a send whose results could not fit one frame is refused
 * with ERR_REPLY_TOO_LARGE before anything is stored.
 */
import type { BrokerApi, Message, MessageExt, PullResult } from '../../api/BrokerApi.js';
import { operationEntries, parseArguments, type BrokerMethodName } from '../../api/operations.js';
import { ARGUMENT } from '../../api/parse.js';
import { PetrelError } from '../../common/errors.js';
import { checkMaxFrameBytes } from './Frame.js';
import { checkSendReply, fittingPrefix, replyBudget } from './replyBounds.js';
import { serveRpc, type RpcMethod, type RpcServer, type RpcServerOptions } from './RpcServer.js';

export type { BrokerMethodName } from '../../api/operations.js';

export interface ServeBrokerApiOptions extends Omit<RpcServerOptions, 'name'> {
  /** Longest hold of a long-polling pull, ms; longer requests are shortened. Default 60000. */
  readonly maxLongPollMs?: number;
}

/** What `$hello` answers: who is behind the address. */
export interface BrokerHello {
  readonly brokerName: string;
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

/**
 * What one frame can carry, checked at this edge: a send whose results could not fit one reply is
 * refused before anything is stored; a pull and a look-up by key keep what fits.
 */
interface FrameRule {
  before?(args: readonly unknown[], api: BrokerApi, budget: number): void;
  after?(reply: unknown, budget: number): unknown;
}

const FRAME_RULES: Partial<Record<BrokerMethodName, FrameRule>> = {
  send: { before: (a, api, budget) => checkSendReply(a[0] as readonly Message[], api.brokerName, budget) },
  pull: { after: (r, budget) => fitPullResult(r as PullResult, budget) },
  // maxNum is a ceiling: the answer keeps the messages that fit one frame.
  queryMessageByKey: { after: (r, budget) => (r as MessageExt[]).slice(0, fittingPrefix(r as MessageExt[], budget)) },
};

/** The whitelist as served: method name -> handler bound to `api`. */
export function brokerApiMethods(api: BrokerApi, options: { maxLongPollMs?: number; maxFrameBytes?: number } = {}): Map<string, RpcMethod> {
  const limits = {
    maxLongPollMs: options.maxLongPollMs ?? 60_000,
    replyBudget: replyBudget(checkMaxFrameBytes(options.maxFrameBytes)),
  };
  const methods = new Map<string, RpcMethod>();
  const target = api as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const [name, op] of operationEntries()) {
    const rule = FRAME_RULES[name];
    methods.set(name, async (raw) => {
      const parsed = parseArguments(ARGUMENT, name, op, raw);
      const args = op.hold === undefined ? parsed : op.hold.capped(parsed, limits.maxLongPollMs);
      rule?.before?.(args, api, limits.replyBudget);
      const reply = await target[name]?.(...args);
      return rule?.after === undefined ? reply : rule.after(reply, limits.replyBudget);
    });
  }
  methods.set('$hello', (args): BrokerHello => {
    if (args.length !== 0) throw new PetrelError('ERR_INVALID_ARGUMENT', `$hello takes 0 arguments, got ${args.length}`);
    return { brokerName: api.brokerName };
  });
  return methods;
}

/** Serves `api` on host:port (default 127.0.0.1, a free port); resolves once listening. */
export function serveBrokerApi(api: BrokerApi, options: ServeBrokerApiOptions = {}): Promise<RpcServer> {
  return serveRpc(brokerApiMethods(api, options), { ...options, name: `broker ${api.brokerName}` });
}
