/**
 * Runs one actor on the thread it is created on: a worker thread of its own (actorWorker.ts) or
 * the spawning thread (a local actor). Both go through this class, so an actor behaves the same
 * wherever it runs.
 *
 * The host reads every data port attached to it into one Mailbox, runs the actor's hooks and
 * handlers one message at a time, answers asks on the port they came from, and reports to its
 * supervisor over the control port: started, crashed (with the hook that failed), stopped.
 * After a crash it keeps its mailbox, pauses, and waits for the supervisor's command: restart in
 * place (stop hook, then start hook again, then the queued messages) or stop. Commands run one
 * after the other, never while a start or stop hook is still running.
 *
 * Owned by its thread; after the thread dies nothing of it remains and the supervisor starts a
 * new host elsewhere.
 */
import type { MessagePort } from 'node:worker_threads';
import { PetrelError, toErrorData, type PetrelErrorData } from '../common/errors.js';
import { log } from '../common/diagnostics.js';
import { LATER, transferOf, type ActorContext, type ActorMessage, type Deferred, type ErasedDefinition, type Replies } from './Actor.js';
import type { ActorRef } from './ActorRef.js';
import { checkCloneSize } from './cloneGuard.js';
import { Mailbox } from './Mailbox.js';
import {
  parseEnvelope,
  parseHostCommand,
  type Envelope,
  type FailurePhase,
  type HostCommand,
  type HostReport,
  type Reply,
  type StopReason,
} from './protocol.js';

type AnyRef = ActorRef<ActorMessage, Replies<ActorMessage>>;
type Phase = 'idle' | 'starting' | 'running' | 'crashed' | 'stopping' | 'stopped';

interface Delivery {
  readonly env: Envelope;
  readonly port: MessagePort;
}

export interface HostParams {
  readonly name: string;
  /** Arguments with their refs already revived. */
  readonly args: unknown;
  /** Refs revived from the arguments: closed when the actor stops for good. */
  readonly argRefs: readonly AnyRef[];
  readonly self: AnyRef;
  readonly restarts: number;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function messageType(msg: unknown): string {
  if (typeof msg === 'object' && msg !== null) {
    const type = (msg as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return '?';
}

/** A Deferred as the host keeps it: `settled` is set here. */
type OpenDeferred = Deferred<unknown> & { settled: boolean };

export class ActorHost {
  readonly #def: ErasedDefinition;
  readonly #params: HostParams;
  readonly #control: MessagePort;
  readonly #ports = new Set<MessagePort>();
  readonly #mailbox: Mailbox<Delivery>;
  #ctx: ActorContext<ActorMessage, Replies<ActorMessage>>;
  #restarts: number;
  #state: unknown;
  #hasState = false;
  #phase: Phase = 'idle';
  #commands: Promise<void> = Promise.resolve();
  /** The delivery whose handler is running now (its synchronous part), for ctx.defer(). */
  #current: Delivery | undefined;
  #currentDeferred: OpenDeferred | undefined;
  /** Answers taken with ctx.defer() and not yet given; failed when the actor stops. */
  readonly #open = new Set<Deferred<unknown>>();

  constructor(def: ErasedDefinition, params: HostParams, control: MessagePort) {
    this.#def = def;
    this.#params = params;
    this.#control = control;
    this.#restarts = params.restarts;
    this.#ctx = this.#context();
    this.#mailbox = new Mailbox<Delivery>((d) => this.#process(d));
  }

  /** Starts listening for commands and runs the start hook. */
  run(): void {
    this.#control.on('message', this.#onCommand);
    this.#enqueue(() => this.#start());
  }

  #context(): ActorContext<ActorMessage, Replies<ActorMessage>> {
    return { name: this.#params.name, self: this.#params.self, restarts: this.#restarts, defer: <T>() => this.#defer() as Deferred<T> };
  }

  #report(report: HostReport): void {
    this.#control.postMessage(report);
  }

  #enqueue(step: () => Promise<void>): void {
    this.#commands = this.#commands.then(step, step);
  }

  readonly #onCommand = (raw: unknown): void => {
    const cmd = parseHostCommand(raw);
    if (cmd === undefined) return;
    // Attaching a port never waits for a hook: messages queue in the (paused) mailbox meanwhile.
    if (cmd.type === 'attach') this.#attach(cmd.port);
    else this.#enqueue(() => this.#command(cmd));
  };

  async #command(cmd: Exclude<HostCommand, { type: 'attach' }>): Promise<void> {
    if (cmd.type === 'stop') return this.#stop(cmd.reason);
    if (this.#phase !== 'crashed') return;
    await this.#release('restart');
    this.#restarts++;
    this.#ctx = this.#context();
    await this.#start();
  }

  #attach(port: MessagePort): void {
    if (this.#phase === 'stopped') {
      port.close();
      return;
    }
    this.#ports.add(port);
    port.on('message', (raw: unknown) => this.#deliver(raw, port));
    port.once('close', () => this.#ports.delete(port));
    port.unref();
  }

  #deliver(raw: unknown, port: MessagePort): void {
    const env = parseEnvelope(raw);
    if (env === undefined) return;
    const d: Delivery = { env, port };
    if (this.#phase === 'stopping' || this.#phase === 'stopped') this.#refuse(d);
    else this.#mailbox.push(d);
  }

  async #start(): Promise<void> {
    this.#phase = 'starting';
    try {
      this.#state = await this.#def.start(this.#params.args, this.#ctx);
      this.#hasState = true;
    } catch (err) {
      this.#phase = 'crashed';
      // A PetrelError from start (bad configuration...) keeps its code for whoever spawned.
      this.#report({ type: 'crashed', during: 'start', error: toErrorData(err) });
      return;
    }
    this.#phase = 'running';
    this.#report({ type: 'started' });
    this.#mailbox.resume();
  }

  async #stop(reason: StopReason): Promise<void> {
    if (this.#phase === 'stopped') return;
    const orderly = reason === 'shutdown' && this.#phase === 'running';
    this.#phase = 'stopping';
    if (orderly) await this.#mailbox.whenIdle();
    this.#mailbox.pause();
    for (const d of this.#mailbox.takeAll()) this.#refuse(d);
    await this.#release(reason);
    this.#phase = 'stopped';
    for (const ref of this.#params.argRefs) ref.close();
    this.#params.self.close();
    const closed: Reply = { type: 'closed', error: toErrorData(new PetrelError('ERR_ACTOR_STOPPED', `actor ${this.#params.name} is stopped`)) };
    for (const port of this.#ports) {
      port.removeAllListeners();
      port.postMessage(closed);
      port.close();
    }
    this.#ports.clear();
    this.#report({ type: 'stopped' });
    // Nothing of the host is left listening: a worker thread can now end on its own.
    this.#control.off('message', this.#onCommand);
    this.#control.unref();
  }

  /** Runs the stop hook on the current state, if there is one. */
  async #release(reason: StopReason): Promise<void> {
    if (!this.#hasState) return;
    const state = this.#state;
    this.#state = undefined;
    this.#hasState = false;
    try {
      if (this.#def.stop !== undefined) await this.#def.stop(state, reason, this.#ctx);
    } catch (err) {
      this.#report({ type: 'crashed', during: 'stop', error: this.#crashData('stop', err) });
    } finally {
      const stopped = new PetrelError('ERR_ACTOR_STOPPED', `actor ${this.#params.name} stopped before answering`);
      for (const open of [...this.#open]) open.reject(stopped);
    }
  }

  #defer(): Deferred<unknown> {
    const d = this.#current;
    if (d === undefined) throw new PetrelError('ERR_INVALID_ARGUMENT', `actor ${this.#params.name}: ctx.defer() is for the synchronous part of a handler`);
    const open = this.#open;
    const deferred: OpenDeferred = {
      settled: false,
      resolve: (value) => {
        if (deferred.settled) return;
        deferred.settled = true;
        open.delete(deferred);
        this.#answer(d, value);
      },
      reject: (error) => {
        if (deferred.settled) return;
        deferred.settled = true;
        open.delete(deferred);
        const err = error instanceof PetrelError ? error : new PetrelError('ERR_ACTOR_CRASHED', `actor ${this.#params.name} failed a deferred answer: ${describe(error)}`);
        this.#fail(d, toErrorData(err));
      },
    };
    open.add(deferred);
    this.#currentDeferred = deferred;
    return deferred;
  }

  #process(d: Delivery): void | Promise<void> {
    let msg: unknown = d.env.msg;
    let handler: (state: unknown, msg: unknown, ctx: unknown) => unknown;
    try {
      if (this.#def.parse !== undefined) msg = this.#def.parse(msg);
      handler = this.#handlerFor(msg);
    } catch (err) {
      const bad = err instanceof PetrelError ? err : new PetrelError('ERR_INVALID_ARGUMENT', describe(err), { cause: err });
      this.#fail(d, toErrorData(bad));
      return;
    }
    let result: unknown;
    this.#current = d;
    this.#currentDeferred = undefined;
    try {
      result = handler.call(this.#def.handlers, this.#state, msg, this.#ctx);
    } catch (err) {
      // the error is the answer: a Deferred taken before the throw must not answer again
      const taken = this.#currentDeferred as OpenDeferred | undefined;
      if (taken !== undefined) {
        taken.settled = true;
        this.#open.delete(taken);
      }
      this.#onError(d, err);
      return;
    } finally {
      this.#current = undefined;
    }
    if (result === LATER) {
      if (this.#currentDeferred === undefined) this.#fail(d, toErrorData(new PetrelError('ERR_ACTOR_CRASHED', `actor ${this.#params.name} returned LATER for '${messageType(msg)}' without ctx.defer()`)));
      return;
    }
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then(
        (value) => this.#answer(d, value),
        (err: unknown) => this.#onError(d, err),
      );
    }
    this.#answer(d, result);
  }

  #handlerFor(msg: unknown): (state: unknown, msg: unknown, ctx: unknown) => unknown {
    const type = messageType(msg);
    const handler = Object.hasOwn(this.#def.handlers, type) ? this.#def.handlers[type] : undefined;
    if (handler === undefined) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `actor ${this.#params.name} has no handler for message type '${type}'`);
    }
    return handler;
  }

  #answer(d: Delivery, value: unknown): void {
    if (d.env.type !== 'ask') return;
    const reply: Reply = { type: 'reply', id: d.env.id, value };
    const transfer = transferOf(value);
    try {
      checkCloneSize(value, `the reply to '${messageType(d.env.msg)}' from ${this.#params.name}`, transfer);
    } catch (err) {
      // The asker gets the code; the log says which actor answered with a view it should not post.
      log('error', `actor ${this.#params.name} answered with a reply too large to post`, { error: toErrorData(err) });
      this.#fail(d, toErrorData(err));
      return;
    }
    try {
      d.port.postMessage(reply, transfer);
    } catch (err) {
      this.#onError(d, new Error(`the reply to '${messageType(d.env.msg)}' cannot be cloned: ${describe(err)}`));
    }
  }

  #fail(d: Delivery, error: PetrelErrorData): void {
    if (d.env.type === 'ask') {
      const reply: Reply = { type: 'fail', id: d.env.id, error };
      d.port.postMessage(reply);
    } else {
      log('warn', `actor ${this.#params.name} refused a told message`, { error });
    }
  }

  #refuse(d: Delivery): void {
    this.#fail(d, toErrorData(new PetrelError('ERR_ACTOR_STOPPED', `actor ${this.#params.name} is stopping`)));
  }

  #crashData(during: FailurePhase, err: unknown): PetrelErrorData {
    const what = during === 'receive' ? 'handling a message' : `in its ${during} hook`;
    return toErrorData(new PetrelError('ERR_ACTOR_CRASHED', `actor ${this.#params.name} crashed ${what}: ${describe(err)}`));
  }

  /** A PetrelError is an answer; anything else thrown by a handler is a crash. */
  #onError(d: Delivery, err: unknown): void {
    if (err instanceof PetrelError) {
      this.#fail(d, toErrorData(err));
      return;
    }
    const error = this.#crashData('receive', err);
    this.#fail(d, error);
    this.#mailbox.pause();
    if (this.#phase !== 'stopping') this.#phase = 'crashed';
    this.#report({ type: 'crashed', during: 'receive', error });
  }
}
