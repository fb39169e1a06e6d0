/**
 * The broker's operations as one declared table: for each method of BrokerApi its kind (a
 * command changes state, a query reads it, a long poll may be held by the broker, a oneway gets
 * no answer), which broker of a group serves it (the master only, or the master and else a slave),
 * its arguments with their runtime parsers, and the parser of its reply.
 *
 * Everything that carries the operations is built from this table, not written out again: the
 * in-process handle across threads (protocol/BrokerLink.ts), the network server's dispatch and
 * the network client's stubs (protocol/remoting), and the view of a broker group that forwards
 * each call to its master or a slave (client/BrokerGroupView.ts). The mapped type below makes a
 * method of BrokerApi without an entry, or an entry whose parsers disagree with the method's
 * types, a compile error. Adding an operation is its line in BrokerApi, its entry here and its
 * implementation in the broker.
 */
import { PetrelError } from '../common/errors.js';
import type { BrokerApi } from './BrokerApi.js';
import { MAX_LIST, bool, int, list, refuse, str, strList, type Check } from './parse.js';
import {
  committedOffset, consumerProgress, delayOffset, message, messageExt, offsetResetRequest, offsetResetResult, offsetResetState, pullRequest, pullResult,
  registration, sendResult, subscriptionGroupConfig, subscriptionGroupInput, subscriptionGroupTable, topicConfig, topicRequest, topicRoute,
} from './values.js';

/** Checks an untrusted value into a T, or throws the check's PetrelError naming `path`. */
export type Parse<T> = (c: Check, v: unknown, path: string) => T;

export type OperationKind = 'command' | 'query' | 'longPoll' | 'oneway';

export interface Arg<T> {
  readonly name: string;
  readonly parse: Parse<T>;
  /** May be left out (trailing arguments only). */
  readonly optional: boolean;
  /**
   * A consumed message whose body may be a view of a whole pull's buffer: a carrier that posts it
   * to another thread gives it its own bytes first.
   */
  readonly ownBody?: true;
}

/** How long the broker may hold a long poll, and the same arguments with the hold capped. */
export interface Hold<A extends readonly unknown[]> {
  holdMs(args: A): number;
  capped(args: A, maxMs: number): A;
}

export interface Operation<A extends readonly unknown[], R> {
  readonly kind: OperationKind;
  /** 'master': writes and registrations; 'any': the master, else a slave of the group. */
  readonly replica: 'master' | 'any';
  readonly args: { readonly [I in keyof A]-?: Arg<Exclude<A[I], undefined>> };
  readonly reply: Parse<R>;
  /** Long polls only. */
  readonly hold?: Hold<A>;
}

/** Names of the BrokerApi's methods (its only other member is brokerName). */
export type BrokerMethodName = { [K in keyof BrokerApi]-?: BrokerApi[K] extends (...args: never[]) => unknown ? K : never }[keyof BrokerApi];

type MethodOf<K extends BrokerMethodName> = BrokerApi[K] extends (...args: infer A) => infer R ? { args: A; reply: Awaited<R> } : never;

export type OperationOf<K extends BrokerMethodName> = Operation<MethodOf<K>['args'], MethodOf<K>['reply']>;

export type OperationTable = { readonly [K in BrokerMethodName]: OperationOf<K> };

function arg<T>(name: string, parse: Parse<T>): Arg<T> {
  return { name, parse, optional: false };
}

function optional<T>(name: string, parse: Parse<T>): Arg<T> {
  return { name, parse, optional: true };
}

const text = (name: string): Arg<string> => arg(name, str);
const integer = (name: string): Arg<number> => arg(name, int);

function listOf<T>(parse: Parse<T>): Parse<T[]> {
  return (c, v, path) => list(c, v, path).map((x, i) => parse(c, x, `${path}[${i}]`));
}

/** A reply that may be absent (undefined or null on the wire). */
function maybe<T>(parse: Parse<T>): Parse<T | undefined> {
  return (c, v, path) => (v === undefined || v === null ? undefined : parse(c, v, path));
}

/** The reply of an operation that answers nothing. */
const none: Parse<void> = (c, v, path) => {
  if (v !== undefined && v !== null) throw refuse(c, path, 'empty');
};

function between(min: number, max: number): Parse<number> {
  return (c, v, path) => {
    const n = int(c, v, path);
    if (n < min || n > max) throw refuse(c, path, `an integer in [${min}, ${max}]`);
    return n;
  };
}

const clampHold = (ms: number, max: number): number => Math.max(0, Math.min(ms, max));

export const BROKER_OPERATIONS: OperationTable = {
  send: { kind: 'command', replica: 'master', args: [arg('messages', listOf(message)), optional('queueId', int)], reply: listOf(sendResult) },
  sendOneway: { kind: 'oneway', replica: 'master', args: [arg('message', message), optional('queueId', int)], reply: none },
  pull: {
    kind: 'longPoll',
    replica: 'any',
    args: [arg('request', pullRequest)],
    reply: pullResult,
    hold: {
      holdMs: ([r]) => r.longPollMs ?? 0,
      capped: ([r], max) => [r.longPollMs !== undefined && r.longPollMs > max ? { ...r, longPollMs: max } : r],
    },
  },
  createTopic: { kind: 'command', replica: 'master', args: [arg('config', topicRequest)], reply: topicConfig },
  getTopic: { kind: 'query', replica: 'any', args: [text('topic')], reply: maybe(topicConfig) },
  listTopics: { kind: 'query', replica: 'any', args: [], reply: listOf(topicConfig) },
  queryRoute: { kind: 'query', replica: 'any', args: [text('topic')], reply: topicRoute },
  registerProducer: { kind: 'command', replica: 'master', args: [text('group'), text('instanceName'), text('clientId')], reply: none },
  unregisterProducer: { kind: 'command', replica: 'master', args: [text('group'), text('instanceName'), text('clientId')], reply: none },
  registerConsumer: { kind: 'command', replica: 'any', args: [arg('registration', registration)], reply: strList },
  unregisterConsumer: { kind: 'command', replica: 'any', args: [text('group'), text('clientId')], reply: none },
  consumerIds: { kind: 'query', replica: 'any', args: [text('group')], reply: strList },
  awaitConsumerIdsChange: {
    kind: 'longPoll',
    replica: 'any',
    args: [text('group'), arg('known', strList), integer('timeoutMs')],
    reply: strList,
    hold: { holdMs: (a) => a[2], capped: ([g, known, ms], max) => [g, known, clampHold(ms, max)] },
  },
  commitOffset: { kind: 'command', replica: 'any', args: [text('group'), text('topic'), integer('queueId'), integer('offset'), optional('resetEpoch', int)], reply: none },
  queryOffset: { kind: 'query', replica: 'any', args: [text('group'), text('topic'), integer('queueId')], reply: int },
  minOffset: { kind: 'query', replica: 'any', args: [text('topic'), integer('queueId')], reply: int },
  maxOffset: { kind: 'query', replica: 'any', args: [text('topic'), integer('queueId')], reply: int },
  searchOffsetByTime: { kind: 'query', replica: 'any', args: [text('topic'), integer('queueId'), integer('timestampMs')], reply: int },
  sendBack: {
    kind: 'command',
    replica: 'master',
    args: [text('group'), { ...arg('message', messageExt), ownBody: true }, integer('delayLevel'), integer('maxReconsumeTimes')],
    reply: none,
  },
  consumerProgress: { kind: 'query', replica: 'any', args: [text('group')], reply: consumerProgress },
  resetOffset: { kind: 'command', replica: 'master', args: [arg('request', offsetResetRequest)], reply: offsetResetResult },
  // resets are made on the master: it alone is asked
  awaitOffsetReset: {
    kind: 'longPoll',
    replica: 'master',
    args: [text('group'), text('topic'), integer('knownEpoch'), integer('timeoutMs')],
    reply: offsetResetState,
    hold: { holdMs: (a) => a[3], capped: ([g, t, e, ms], max) => [g, t, e, clampHold(ms, max)] },
  },
  resetOffsetToLatest: { kind: 'command', replica: 'master', args: [text('group'), text('topic')], reply: none },
  resetOffsetByTime: { kind: 'command', replica: 'master', args: [text('group'), text('topic'), integer('timestampMs')], reply: none },
  queryMessageByKey: {
    kind: 'query',
    replica: 'any',
    args: [text('topic'), text('key'), arg('maxNum', between(0, MAX_LIST)), integer('beginMs'), integer('endMs')],
    reply: listOf(messageExt),
  },
  queryMessageById: { kind: 'query', replica: 'any', args: [text('msgId')], reply: maybe(messageExt) },
  viewMessageByOffset: { kind: 'query', replica: 'any', args: [integer('commitLogOffset')], reply: maybe(messageExt) },
  allConsumerOffsets: { kind: 'query', replica: 'any', args: [], reply: listOf(committedOffset) },
  delayOffsets: { kind: 'query', replica: 'any', args: [], reply: listOf(delayOffset) },
  getSubscriptionGroup: { kind: 'query', replica: 'any', args: [text('group')], reply: maybe(subscriptionGroupConfig) },
  listSubscriptionGroups: { kind: 'query', replica: 'any', args: [], reply: subscriptionGroupTable },
  awaitSubscriptionGroupsChange: {
    kind: 'longPoll',
    replica: 'any',
    args: [integer('version'), integer('timeoutMs')],
    reply: subscriptionGroupTable,
    hold: { holdMs: (a) => a[1], capped: ([v, ms], max) => [v, clampHold(ms, max)] },
  },
  updateSubscriptionGroup: { kind: 'command', replica: 'master', args: [arg('config', subscriptionGroupInput)], reply: subscriptionGroupConfig },
  deleteSubscriptionGroup: { kind: 'command', replica: 'master', args: [text('group')], reply: bool },
};

/** Every operation's name, in the table's order. */
export const OPERATION_NAMES = Object.keys(BROKER_OPERATIONS) as readonly BrokerMethodName[];

/** Operations as an untyped list, for carriers that handle every entry alike. */
export type AnyOperation = Operation<unknown[], unknown>;

export function operationEntries(): readonly (readonly [BrokerMethodName, AnyOperation])[] {
  return OPERATION_NAMES.map((n) => [n, BROKER_OPERATIONS[n] as unknown as AnyOperation] as const);
}

/**
 * Parses a call's arguments as they arrived (another thread, a socket): the count, then each
 * argument with its parser; a missing optional one stays undefined.
 */
export function parseArguments(c: Check, name: string, op: AnyOperation, raw: readonly unknown[]): unknown[] {
  const args = op.args as readonly Arg<unknown>[];
  const required = args.filter((a) => !a.optional).length;
  if (raw.length < required || raw.length > args.length) {
    throw new PetrelError(c.code, `${name} takes ${required === args.length ? required : `${required} to ${args.length}`} arguments, got ${raw.length}`);
  }
  return args.map((a, i) => (a.optional && raw[i] === undefined ? undefined : a.parse(c, raw[i], `${name}.${a.name}`)));
}

/** The arguments as sent: trailing optional ones left out rather than sent as undefined. */
export function trimArguments(args: readonly unknown[]): unknown[] {
  let n = args.length;
  while (n > 0 && args[n - 1] === undefined) n--;
  return args.slice(0, n);
}
