/**
 * The ActorSystem spawns actors, supervises them (one ActorSupervisor each, on this thread) and
 * shuts them down in order. It is the root of supervision: an actor whose strategy escalates is
 * stopped and handed to `onEscalate`, which by default shuts the whole system down cleanly.
 *
 * ```ts
 * const system = new ActorSystem();
 * const writer = await system.spawn(writerActor, { name: 'writer', args: { ring: ring.buffer } });
 * const dispatcher = await system.spawn(dispatcherActor, { name: 'dispatcher', args: { writer } });
 * await writer.ask({ type: 'status' });
 * await system.shutdown(); // reverse spawn order; no thread is left behind
 * ```
 *
 * Owned by the thread that created it; refs it hands out work on any thread.
 */
import { threadId, type ResourceLimits, type TransferListItem } from 'node:worker_threads';
import { systemClock, type Clock } from '../common/clock.js';
import { log } from '../common/diagnostics.js';
import { PetrelError } from '../common/errors.js';
import type { ActorDefinition, ActorLocation, ActorMessage, Replies } from './Actor.js';
import { isActorDefinition } from './Actor.js';
import type { ActorRef } from './ActorRef.js';
import { ActorSupervisor, type SpawnTarget } from './Supervisor.js';
import { resolveSupervision, type SupervisionOptions } from './supervision.js';

export interface ActorSystemOptions {
  /** Drives restart windows. Default: the system clock. */
  readonly clock?: Clock;
  /** Default timeout of `ask`, per actor overridable. Default 5 000 ms. */
  readonly askTimeoutMs?: number;
  /** How long a start hook may take before the start counts as failed. Default 30 000 ms. */
  readonly startTimeoutMs?: number;
  /** How long an orderly stop may take before the actor's thread is terminated. Default 10 000 ms. */
  readonly stopTimeoutMs?: number;
  /** Called after an escalating actor stopped. Default: shut the system down. */
  readonly onEscalate?: (actor: string, error: PetrelError, system: ActorSystem) => void;
}

interface SpawnCommon {
  /** Unique among the system's live actors. */
  readonly name: string;
  /** 'worker' (default): a worker thread of its own; 'local': this thread. */
  readonly thread?: 'worker' | 'local';
  readonly supervision?: SupervisionOptions;
  /** ArrayBuffers to move to the first incarnation (MessagePorts in args are found by themselves). */
  readonly transfer?: readonly TransferListItem[];
  readonly askTimeoutMs?: number;
  readonly startTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  /** V8 heap limits for the actor's worker thread. */
  readonly resourceLimits?: ResourceLimits;
}

/**
 * Arguments: structured-cloneable, SharedArrayBuffers shared, ActorRefs and MessagePorts carried
 * across. A function is called once per incarnation: use one when the args hold raw
 * MessagePorts and the actor may be restarted on a new thread (a port can move only once).
 */
type ArgsOption<A> = undefined extends A ? { readonly args?: A | (() => A) } : { readonly args: A | (() => A) };

export type SpawnOptions<A> = SpawnCommon & ArgsOption<A>;

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new PetrelError('ERR_CONFIG_INVALID', `${name} must be > 0, got ${value}`);
  return value;
}

export class ActorSystem {
  readonly #clock: Clock;
  readonly #askTimeoutMs: number;
  readonly #startTimeoutMs: number;
  readonly #stopTimeoutMs: number;
  readonly #onEscalate: (actor: string, error: PetrelError, system: ActorSystem) => void;
  /** Live supervisors in spawn order. */
  readonly #actors = new Map<string, ActorSupervisor>();
  #shutdown: Promise<void> | undefined;

  constructor(options: ActorSystemOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#askTimeoutMs = positive('askTimeoutMs', options.askTimeoutMs ?? 5_000);
    this.#startTimeoutMs = positive('startTimeoutMs', options.startTimeoutMs ?? 30_000);
    this.#stopTimeoutMs = positive('stopTimeoutMs', options.stopTimeoutMs ?? 10_000);
    this.#onEscalate =
      options.onEscalate ??
      ((actor, error, system) => {
        log('error', `actor ${actor} escalated a failure; shutting the actor system down`, { code: error.code, error: error.message });
        void system.shutdown();
      });
  }

  /** Names of the live actors, in spawn order. */
  get actors(): string[] {
    return [...this.#actors.keys()];
  }

  /** threadIds of the worker threads the system's actors run on now. */
  get workerThreadIds(): number[] {
    const ids: number[] = [];
    for (const s of this.#actors.values()) {
      const id = s.workerThreadId;
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  /** The thread the system (and its local actors) live on. */
  get threadId(): number {
    return threadId;
  }

  /**
   * Starts an actor and resolves with a ref once its start hook has finished. Rejects with the
   * start hook's error (its PetrelError code kept) if the first start fails.
   */
  spawn<M extends ActorMessage, R extends Replies<M>, S, A>(
    actor: ActorDefinition<M, R, S, A> | ActorLocation<M, R, A>,
    options: SpawnOptions<A>,
  ): Promise<ActorRef<M, R>> {
    try {
      const supervisor = this.#supervisor(actor, options);
      this.#actors.set(options.name, supervisor);
      // The ref's types are the definition's; the supervisor only deals in erased refs.
      return supervisor.start() as unknown as Promise<ActorRef<M, R>>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #supervisor<A>(actor: unknown, options: SpawnOptions<A>): ActorSupervisor {
    if (this.#shutdown !== undefined) throw new PetrelError('ERR_ACTOR_STOPPED', 'the actor system is shut down');
    if (!NAME.test(options.name)) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `actor name '${options.name}' must be 1-128 characters of A-Z a-z 0-9 _ . : -`);
    }
    if (this.#actors.has(options.name)) throw new PetrelError('ERR_INVALID_ARGUMENT', `an actor named '${options.name}' is already running`);
    const thread = options.thread ?? 'worker';
    let target: SpawnTarget;
    if (isActorDefinition(actor)) {
      target = thread === 'local' ? { kind: 'local', definition: actor } : { kind: 'worker', ...actor.location };
    } else if (thread === 'worker' && isLocation(actor)) {
      target = { kind: 'worker', module: actor.module, exportName: actor.exportName };
    } else {
      throw new PetrelError('ERR_INVALID_ARGUMENT', 'spawn needs an actor definition, or an actor location for a worker thread');
    }
    const args: unknown = options.args;
    return new ActorSupervisor({
      name: options.name,
      target,
      makeArgs: typeof args === 'function' ? (args as () => unknown) : () => args,
      transfer: options.transfer ?? [],
      supervision: resolveSupervision(options.supervision),
      clock: this.#clock,
      askTimeoutMs: positive('askTimeoutMs', options.askTimeoutMs ?? this.#askTimeoutMs),
      startTimeoutMs: positive('startTimeoutMs', options.startTimeoutMs ?? this.#startTimeoutMs),
      stopTimeoutMs: positive('stopTimeoutMs', options.stopTimeoutMs ?? this.#stopTimeoutMs),
      resourceLimits: options.resourceLimits,
      onEscalate: (name, error) => this.#onEscalate(name, error, this),
      onGone: (name) => {
        if (this.#actors.get(name)?.phase === 'stopped') this.#actors.delete(name);
      },
    });
  }

  /** A new ref to a live actor, typed by the caller. Throws ERR_ACTOR_STOPPED if there is none. */
  ref<M extends ActorMessage, R extends Replies<M>>(name: string): ActorRef<M, R> {
    const s = this.#actors.get(name);
    if (s === undefined) throw new PetrelError('ERR_ACTOR_STOPPED', `no live actor named '${name}'`);
    return s.newRef() as unknown as ActorRef<M, R>;
  }

  /** Restarts so far of a live actor (for tests and admin). */
  restarts(name: string): number {
    return this.#actors.get(name)?.restarts ?? 0;
  }

  /** Orderly stop of one actor. */
  async stop(name: string): Promise<void> {
    await this.#actors.get(name)?.stop();
  }

  /**
   * Stops every actor in reverse spawn order, each after the messages it accepted; resolves when
   * every actor's thread has ended. Later spawns fail with ERR_ACTOR_STOPPED.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      for (const s of [...this.#actors.values()].reverse()) await s.stop();
    })();
    return this.#shutdown;
  }
}

function isLocation(value: unknown): value is { module: string; exportName: string } {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Record<'module' | 'exportName', unknown>>;
  return typeof v.module === 'string' && typeof v.exportName === 'string';
}
