/**
 * The supervisor of one actor, on the thread that spawned it. It starts incarnations (an
 * ActorHost on a new worker, or on this thread), applies the supervision strategy when one
 * fails, and keeps every ref to the actor reachable: each ref has a control port here, through
 * which it gets new handles and, after a restart on a new thread, a new data port.
 *
 * A handler crash is restarted in place (same thread, same ports, the queued messages kept); a
 * worker that exited is replaced by a new worker and every ref is rebound to it. Crashes,
 * restarts and stops are published on the common/diagnostics channels, on this thread.
 *
 * Owned by the ActorSystem, on its thread. Never shared.
 */
import { MessageChannel, type MessagePort, type ResourceLimits, type TransferListItem } from 'node:worker_threads';
import { threadId } from 'node:worker_threads';
import type { Clock } from '../common/clock.js';
import { CHANNELS, channel } from '../common/diagnostics.js';
import { PetrelError, fromErrorData, toErrorData } from '../common/errors.js';
import type { ActorMessage, ErasedDefinition, Replies } from './Actor.js';
import { ActorRef, reviveRef } from './ActorRef.js';
import { startLocal, startWorker, type Incarnation } from './Incarnation.js';
import { REF_HANDLE_TAG, parseRefRequest, type HostInit, type HostReport, type RefNotice, type StopReason } from './protocol.js';
import { RestartBudget, type ResolvedSupervision } from './supervision.js';
import { encodeArgs } from './transferArgs.js';

type AnyRef = ActorRef<ActorMessage, Replies<ActorMessage>>;

export type SpawnTarget =
  | { readonly kind: 'worker'; readonly module: string; readonly exportName: string }
  | { readonly kind: 'local'; readonly definition: ErasedDefinition };

export interface SupervisorParams {
  readonly name: string;
  readonly target: SpawnTarget;
  /** Called for each incarnation: a worker restarted on a new thread needs fresh handles. */
  readonly makeArgs: () => unknown;
  /** Extra transferables for the first incarnation only. */
  readonly transfer: readonly TransferListItem[];
  readonly supervision: ResolvedSupervision;
  readonly clock: Clock;
  readonly askTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly onEscalate: (name: string, error: PetrelError) => void;
  readonly onGone: (name: string) => void;
}

export type SupervisorPhase = 'starting' | 'running' | 'backoff' | 'restarting' | 'stopping' | 'stopped';
type Recovery = 'in-place' | 'new-thread';

/** After the host says it stopped, how long its worker gets to end on its own. */
const EXIT_GRACE_MS = 2_000;

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function sleep(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

export class ActorSupervisor {
  readonly #p: SupervisorParams;
  readonly #budget: RestartBudget;
  #phase: SupervisorPhase = 'starting';
  #inc: Incarnation | undefined;
  #launches = 0;
  /** The supervisor's end of every ref's control port. */
  readonly #controls = new Set<MessagePort>();
  /** Data ports of new refs waiting for a live host. */
  #pendingAttach: MessagePort[] = [];
  /** The control port of the current incarnation's own `self` ref. */
  #selfControl: MessagePort | undefined;
  #firstStart = deferred<AnyRef>();
  #timer: NodeJS.Timeout | undefined;
  #hostStopped: (() => void) | undefined;
  #stopping: Promise<void> | undefined;

  constructor(params: SupervisorParams) {
    this.#p = params;
    this.#budget = new RestartBudget(params.supervision, params.clock);
    // Spawn failures are delivered by start(); keep an early one from counting as unhandled.
    this.#firstStart.promise.catch(() => undefined);
  }

  get phase(): SupervisorPhase {
    return this.#phase;
  }

  get restarts(): number {
    return this.#budget.total;
  }

  /** The live worker's threadId, or undefined for a local actor or between incarnations. */
  get workerThreadId(): number | undefined {
    return this.#inc?.kind === 'worker' ? this.#inc.threadId : undefined;
  }

  /** Launches the first incarnation; resolves with a ref once its start hook has finished. */
  start(): Promise<AnyRef> {
    this.#launch();
    return this.#firstStart.promise;
  }

  /** A new ref on this thread. */
  newRef(): AnyRef {
    if (this.#phase === 'stopped') throw new PetrelError('ERR_ACTOR_STOPPED', `actor ${this.#p.name} is stopped`);
    const data = new MessageChannel();
    const control = new MessageChannel();
    this.#connect(data.port1, control.port1);
    return reviveRef({ type: REF_HANDLE_TAG, name: this.#p.name, data: data.port2, control: control.port2, askTimeoutMs: this.#p.askTimeoutMs });
  }

  /** Orderly stop: the actor finishes the messages it accepted, runs its stop hook, its thread ends. */
  stop(): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    this.#stopping = this.#stopNow('shutdown', 'stopped', undefined);
    return this.#stopping;
  }

  #launch(): void {
    const p = this.#p;
    const first = this.#launches === 0;
    this.#launches++;
    const selfData = new MessageChannel();
    const selfControl = new MessageChannel();
    let inc: Incarnation;
    try {
      const args = encodeArgs(p.makeArgs());
      const init: HostInit = {
        type: 'init',
        name: p.name,
        module: p.target.kind === 'worker' ? p.target.module : p.target.definition.location.module,
        exportName: p.target.kind === 'worker' ? p.target.exportName : p.target.definition.location.exportName,
        args: args.value,
        self: { type: REF_HANDLE_TAG, name: p.name, data: selfData.port2, control: selfControl.port2, askTimeoutMs: p.askTimeoutMs },
        restarts: this.#budget.total,
      };
      const transfer = [selfData.port2, selfControl.port2, ...args.transfer, ...(first ? p.transfer : [])];
      const events = {
        onReport: (r: HostReport) => this.#onReport(inc, r),
        onExit: (code: number, err: Error | undefined) => this.#onExit(inc, code, err),
      };
      inc =
        p.target.kind === 'worker'
          ? startWorker(init, transfer, p.resourceLimits, events)
          : startLocal(p.target.definition, init, transfer, threadId, events);
    } catch (err) {
      selfData.port1.close();
      selfControl.port1.close();
      const error = err instanceof PetrelError ? err : new PetrelError('ERR_ACTOR_CRASHED', `cannot launch actor ${p.name}: ${String(err)}`, { cause: err });
      queueMicrotask(() => this.#onFailure(error, 'new-thread'));
      return;
    }
    this.#inc = inc;
    this.#armTimer(p.startTimeoutMs, () => this.#onStartTimeout(inc));
    // The previous incarnation's self ref died with its thread.
    if (this.#selfControl !== undefined) {
      this.#controls.delete(this.#selfControl);
      this.#selfControl.removeAllListeners();
      this.#selfControl.close();
    }
    this.#selfControl = selfControl.port1;
    this.#register(selfControl.port1);
    this.#attach(selfData.port1);
    if (!first) {
      // Every ref still pointing at the previous thread gets a data port to this one.
      for (const control of this.#controls) {
        if (control === selfControl.port1) continue;
        const ch = new MessageChannel();
        this.#attach(ch.port1);
        const notice: RefNotice = { type: 'rebind', data: ch.port2 };
        control.postMessage(notice, [ch.port2]);
      }
    }
    const pending = this.#pendingAttach;
    this.#pendingAttach = [];
    for (const port of pending) this.#attach(port);
  }

  #register(control: MessagePort): void {
    this.#controls.add(control);
    control.on('message', (raw: unknown) => {
      const req = parseRefRequest(raw);
      if (req !== undefined) this.#connect(req.data, req.control);
    });
    control.once('close', () => this.#controls.delete(control));
    control.unref();
  }

  #connect(data: MessagePort, control: MessagePort): void {
    if (this.#phase === 'stopped') {
      const notice: RefNotice = { type: 'gone', error: toErrorData(this.#goneError('stopped')) };
      control.postMessage(notice);
      control.close();
      data.close();
      return;
    }
    this.#register(control);
    this.#attach(data);
  }

  #attach(data: MessagePort): void {
    if (this.#inc === undefined) this.#pendingAttach.push(data);
    else this.#inc.send({ type: 'attach', port: data }, [data]);
  }

  #armTimer(ms: number, fn: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(fn, ms);
  }

  #clearTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onReport(inc: Incarnation, report: HostReport): void {
    if (report.type === 'log') {
      // records of an earlier incarnation still count: they tell what happened before it ended
      const ch = channel(CHANNELS.log);
      if (ch.hasSubscribers) ch.publish({ ...report.record, actor: this.#p.name });
      return;
    }
    if (inc !== this.#inc) return;
    switch (report.type) {
      case 'started':
        this.#clearTimer();
        if (this.#phase === 'starting') {
          this.#phase = 'running';
          this.#firstStart.resolve(this.newRef());
        } else if (this.#phase === 'restarting') {
          this.#phase = 'running';
          const ch = channel(CHANNELS.actorRestarted);
          if (ch.hasSubscribers) ch.publish({ actor: this.#p.name, restarts: this.#budget.total });
        }
        return;
      case 'crashed':
        if (report.during === 'stop') this.#publishCrash(fromErrorData(report.error));
        else this.#onFailure(fromErrorData(report.error), 'in-place');
        return;
      case 'stopped':
        this.#hostStopped?.();
        return;
    }
  }

  #onExit(inc: Incarnation, code: number, err: Error | undefined): void {
    if (inc !== this.#inc) return;
    this.#inc = undefined;
    if (this.#phase === 'stopping' || this.#phase === 'stopped') {
      this.#hostStopped?.();
      return;
    }
    // Already waiting to restart after a crash: the restart will start a new thread.
    if (this.#phase === 'backoff') return;
    const why = err === undefined ? `exited with code ${code}` : `exited after an uncaught ${err.name}: ${err.message}`;
    this.#onFailure(new PetrelError('ERR_ACTOR_CRASHED', `actor ${this.#p.name}'s worker thread ${why}`), 'new-thread');
  }

  #onStartTimeout(inc: Incarnation): void {
    if (inc !== this.#inc) return;
    // A start hook that hangs is not waited for: that thread is given up and a new one started.
    this.#inc = undefined;
    void inc.terminate();
    this.#onFailure(new PetrelError('ERR_TIMEOUT', `actor ${this.#p.name} did not start within ${this.#p.startTimeoutMs} ms`), 'new-thread');
  }

  #publishCrash(error: PetrelError): void {
    const ch = channel(CHANNELS.actorCrashed);
    if (ch.hasSubscribers) ch.publish({ actor: this.#p.name, error: toErrorData(error), restarts: this.#budget.total });
  }

  #onFailure(error: PetrelError, recovery: Recovery): void {
    this.#publishCrash(error);
    if (this.#phase === 'stopping' || this.#phase === 'stopped') return;
    this.#clearTimer();
    if (this.#phase === 'starting') {
      // The first start failed: spawn fails with the actor's error and there is nothing to supervise.
      this.#stopping = this.#stopNow('failure', 'start failed', undefined, error);
      return;
    }
    const decision = this.#budget.onFailure();
    if (decision.action === 'restart') {
      this.#phase = 'backoff';
      this.#armTimer(decision.delayMs, () => this.#restart(recovery));
      return;
    }
    const why = decision.exhausted ? `restart limit reached (${this.#p.supervision.maxRestarts} in ${this.#p.supervision.withinMs} ms)` : `failed (${decision.action})`;
    this.#stopping = this.#stopNow('failure', why, decision.action === 'escalate' ? error : undefined);
  }

  #restart(recovery: Recovery): void {
    this.#phase = 'restarting';
    const inc = this.#inc;
    if (recovery === 'in-place' && inc !== undefined) {
      this.#armTimer(this.#p.startTimeoutMs, () => this.#onStartTimeout(inc));
      inc.send({ type: 'restart' });
    } else {
      if (inc !== undefined) {
        this.#inc = undefined;
        void inc.terminate();
      }
      this.#launch();
    }
  }

  /** Stops the current incarnation, if any, and retires the actor. Spawn, if pending, fails after. */
  async #stopNow(reason: StopReason, why: string, escalate: PetrelError | undefined, startError?: PetrelError): Promise<void> {
    const wasStarting = this.#phase === 'starting';
    this.#phase = 'stopping';
    this.#clearTimer();
    const inc = this.#inc;
    if (inc !== undefined) {
      const stopped = new Promise<void>((resolve) => (this.#hostStopped = resolve));
      const deadline = sleep(this.#p.stopTimeoutMs);
      inc.send({ type: 'stop', reason });
      await Promise.race([stopped, deadline.promise]);
      const grace = sleep(EXIT_GRACE_MS);
      await Promise.race([inc.exited, deadline.promise, grace.promise]);
      deadline.cancel();
      grace.cancel();
      await inc.terminate();
      this.#inc = undefined;
    }
    this.#finish(why);
    if (wasStarting) {
      this.#firstStart.reject(startError ?? new PetrelError('ERR_ACTOR_STOPPED', `actor ${this.#p.name} was stopped while starting`));
    }
    if (escalate !== undefined) this.#p.onEscalate(this.#p.name, escalate);
  }

  #goneError(why: string): PetrelError {
    return new PetrelError('ERR_ACTOR_STOPPED', `actor ${this.#p.name} is stopped (${why})`);
  }

  #finish(why: string): void {
    this.#phase = 'stopped';
    const notice: RefNotice = { type: 'gone', error: toErrorData(this.#goneError(why)) };
    for (const control of this.#controls) {
      control.postMessage(notice);
      control.removeAllListeners();
      control.close();
    }
    this.#controls.clear();
    for (const port of this.#pendingAttach) port.close();
    this.#pendingAttach = [];
    const ch = channel(CHANNELS.actorStopped);
    if (ch.hasSubscribers) ch.publish({ actor: this.#p.name, reason: why });
    this.#p.onGone(this.#p.name);
  }
}
