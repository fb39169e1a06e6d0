/**
 * How an actor is written. One module per actor exports one definition made by `defineActor`:
 * its message union, the reply type of each message, its state, its spawn arguments, and the
 * hooks. The same definition runs on its own worker thread (the worker imports the module by URL
 * and picks the export by name) or on the current thread, through the same host code.
 *
 * ```ts
 * export type CounterMsg = { type: 'add'; n: number } | { type: 'get' };
 * export interface CounterReplies { add: void; get: number }
 * export const counter = defineActor<CounterMsg, CounterReplies, { n: number }, { from: number }>(
 *   import.meta.url, 'counter', {
 *     start: (args) => ({ n: args.from }),
 *     handlers: { add: (s, m) => { s.n += m.n; }, get: (s) => s.n },
 *   });
 * ```
 *
 * A handler may be async; the next message is not handed over before it settles. A handler that
 * must wait for something without holding up the mailbox takes its answer with `ctx.defer()` and
 * returns LATER. A handler that throws a PetrelError answers the asker with that error and the
 * actor carries on (bad input is not a crash); anything else it throws is a crash, reported to
 * the supervisor.
 */
import type { TransferListItem } from 'node:worker_threads';
import type { ActorRef } from './ActorRef.js';
import type { StopReason } from './protocol.js';

export type { StopReason } from './protocol.js';

/** Every actor message is an object with a string `type`: one discriminated union per actor. */
export interface ActorMessage {
  readonly type: string;
}

/** For each message type, what an `ask` of it resolves to (`void` for messages only told). */
export type Replies<M extends ActorMessage> = { readonly [K in M['type']]: unknown };

/** The member of the union M whose type is K. */
export type MessageOf<M extends ActorMessage, K extends M['type']> = Extract<M, { readonly type: K }>;

/**
 * What a handler returns when it answers later through `ctx.defer()`: the actor goes on with the
 * next message, and the asker waits for the Deferred to be settled.
 */
export const LATER: unique symbol = Symbol('petrelmq.later');
export type Later = typeof LATER;

/**
 * The answer to the ask being handled, to be given after the handler has returned (a request held
 * until something happens, as a long-polling pull is). Settling it twice, or after the actor
 * stopped, does nothing; a Deferred still open when the actor stops is failed with
 * ERR_ACTOR_STOPPED. For a told message it leads nowhere.
 */
export interface Deferred<T> {
  resolve(value: T): void;
  /** A PetrelError reaches the asker as itself; anything else as ERR_ACTOR_CRASHED. */
  reject(error: unknown): void;
  readonly settled: boolean;
}

/** What an actor's hooks get besides its state. */
export interface ActorContext<M extends ActorMessage, R extends Replies<M>> {
  /** The name the actor was spawned under, unique in its system. */
  readonly name: string;
  /** A ref to this actor, to hand to others (its `handle()` crosses threads). */
  readonly self: ActorRef<M, R>;
  /** How many times this actor has been restarted before this incarnation started. */
  readonly restarts: number;
  /**
   * Inside a synchronous handler only: takes over the answer to the message being handled. The
   * handler then returns LATER.
   */
  defer<K extends M['type']>(): Deferred<R[K]>;
}

export type Handlers<M extends ActorMessage, R extends Replies<M>, S> = {
  readonly [K in M['type']]: (state: S, msg: MessageOf<M, K>, ctx: ActorContext<M, R>) => R[K] | Promise<R[K]> | Later;
};

export interface ActorSpec<M extends ActorMessage, R extends Replies<M>, S, A> {
  /** Builds the state from the spawn arguments (ActorRefs in them arrive revived). */
  start(args: A, ctx: ActorContext<M, R>): S | Promise<S>;
  /** One handler per message type. */
  readonly handlers: Handlers<M, R, S>;
  /** Releases what the state holds. Runs after the accepted messages on an orderly stop. */
  stop?(state: S, reason: StopReason, ctx: ActorContext<M, R>): void | Promise<void>;
  /**
   * Checks a message that arrived from another thread before a handler sees it; throw a
   * PetrelError (ERR_INVALID_ARGUMENT) to refuse it. Without it the runtime only checks that
   * `type` names a handler.
   */
  parse?(msg: unknown): M;
}

declare const actorTypes: unique symbol;

/**
 * Where a definition lives: enough for a worker to import it. The type parameters let a thread
 * spawn an actor by location without importing the actor's module.
 */
export interface ActorLocation<M extends ActorMessage, R extends Replies<M>, A> {
  readonly module: string;
  readonly exportName: string;
  /** Type-level only: never present at run time. */
  readonly [actorTypes]?: { readonly msg: M; readonly replies: R; readonly args: A };
}

const DEFINITION = Symbol.for('petrelmq.actorDefinition');

export interface ActorDefinition<M extends ActorMessage, R extends Replies<M>, S, A> extends ActorSpec<M, R, S, A> {
  readonly location: ActorLocation<M, R, A>;
  readonly [DEFINITION]: true;
}

function toHref(module: string | URL): string {
  return typeof module === 'string' ? new URL(module).href : module.href;
}

/** A typed location, for spawning on a worker by module URL and export name. */
export function actorLocation<M extends ActorMessage, R extends Replies<M>, A>(
  module: string | URL,
  exportName: string,
): ActorLocation<M, R, A> {
  return { module: toHref(module), exportName };
}

/**
 * Defines an actor. `module` is the defining module's `import.meta.url` and `exportName` the name
 * it is exported under, so that a worker can find it.
 */
export function defineActor<M extends ActorMessage, R extends Replies<M>, S, A>(
  module: string | URL,
  exportName: string,
  spec: ActorSpec<M, R, S, A>,
): ActorDefinition<M, R, S, A> {
  return Object.freeze({ ...spec, location: actorLocation<M, R, A>(module, exportName), [DEFINITION]: true as const });
}

/**
 * The shape the host drives, with the type parameters erased: the host checks message types at
 * the port, so the handler table can be called by name.
 */
export interface ErasedDefinition {
  readonly location: { readonly module: string; readonly exportName: string };
  start(args: unknown, ctx: unknown): unknown;
  readonly handlers: Readonly<Record<string, (state: unknown, msg: unknown, ctx: unknown) => unknown>>;
  stop?(state: unknown, reason: StopReason, ctx: unknown): unknown;
  parse?(msg: unknown): unknown;
}

export function isActorDefinition(value: unknown): value is ErasedDefinition {
  if (typeof value !== 'object' || value === null || !(DEFINITION in value)) return false;
  const v = value as Partial<Record<'start' | 'handlers', unknown>>;
  return typeof v.start === 'function' && typeof v.handlers === 'object' && v.handlers !== null;
}

const replyTransfers = new WeakMap<object, readonly TransferListItem[]>();

/**
 * Marks a handler's answer to be posted with `transfer` as its transfer list: the ArrayBuffers
 * in it move to the asker instead of being copied (the handler must not touch them afterwards).
 * Returns `value` itself, so a handler writes `return transferring(bytes, [bytes.buffer])`.
 */
export function transferring<T extends object>(value: T, transfer: readonly TransferListItem[]): T {
  replyTransfers.set(value, transfer);
  return value;
}

/** @internal The transfer list a handler attached to its answer, if any. */
export function transferOf(value: unknown): readonly TransferListItem[] | undefined {
  return typeof value === 'object' && value !== null ? replyTransfers.get(value) : undefined;
}
