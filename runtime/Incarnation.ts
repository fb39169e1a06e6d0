/**
 * One life of an actor: an ActorHost on a new worker thread, or on the current thread. The
 * supervisor talks to both the same way (HostCommand out, HostReport in); only a worker can
 * exit, and only a worker can be terminated.
 *
 * A local incarnation gets its init through structuredClone with the same transfer list a worker
 * would get, so the actor sees the same copies, revived refs and moved ports either way.
 */
import { MessageChannel, Worker, type MessagePort, type ResourceLimits, type TransferListItem } from 'node:worker_threads';
import type { ErasedDefinition } from './Actor.js';
import { ActorHost } from './ActorHost.js';
import { reviveRef } from './ActorRef.js';
import { parseHostReport, type HostCommand, type HostInit, type HostReport } from './protocol.js';
import { decodeArgs } from './transferArgs.js';

export interface IncarnationEvents {
  onReport(report: HostReport): void;
  /** A worker thread ended; `error` is its uncaught error, if it had one. */
  onExit(code: number, error: Error | undefined): void;
}

export interface Incarnation {
  readonly kind: 'worker' | 'local';
  /** The worker's threadId, or the current thread's for a local host. */
  readonly threadId: number;
  send(cmd: HostCommand, transfer?: readonly TransferListItem[]): void;
  /** Resolves once the thread is gone (at once for a local host). */
  readonly exited: Promise<void>;
  /** Ends the thread now (a local host only stops listening). */
  terminate(): Promise<void>;
}

const actorWorkerUrl = new URL('./actorWorker.js', import.meta.url);

export function startWorker(
  init: HostInit,
  transfer: readonly TransferListItem[],
  resourceLimits: ResourceLimits | undefined,
  events: IncarnationEvents,
): Incarnation {
  const worker = new Worker(actorWorkerUrl, {
    // Shown by the inspector and in diagnostics; the OS thread name is set by the worker itself.
    name: init.name,
    workerData: init,
    transferList: [...transfer],
    ...(resourceLimits === undefined ? {} : { resourceLimits }),
  });
  let lastError: Error | undefined;
  let markExited!: () => void;
  const exited = new Promise<void>((resolve) => (markExited = resolve));
  worker.on('message', (raw: unknown) => {
    const report = parseHostReport(raw);
    if (report !== undefined) events.onReport(report);
  });
  // Without a listener an uncaught error in the actor's thread would be thrown on this one.
  worker.on('error', (err: Error) => (lastError = err));
  worker.once('exit', (code: number) => {
    markExited();
    events.onExit(code, lastError);
  });
  return {
    kind: 'worker',
    threadId: worker.threadId,
    send: (cmd, t) => worker.postMessage(cmd, t),
    exited,
    terminate: async () => {
      await worker.terminate();
      await exited;
    },
  };
}

export function startLocal(
  definition: ErasedDefinition,
  init: HostInit,
  transfer: readonly TransferListItem[],
  threadId: number,
  events: IncarnationEvents,
): Incarnation {
  const { port1: supervisorSide, port2: hostSide } = new MessageChannel();
  const copy = structuredClone({ args: init.args, self: init.self }, { transfer: [...transfer] });
  const { value: args, refs } = decodeArgs(copy.args);
  const host = new ActorHost(
    definition,
    { name: init.name, args, argRefs: refs, self: reviveRef(copy.self), restarts: init.restarts },
    hostSide,
  );
  supervisorSide.on('message', (raw: unknown) => {
    const report = parseHostReport(raw);
    if (report !== undefined) events.onReport(report);
  });
  host.run();
  // A local actor never keeps its thread alive by itself: the supervisor's timers do while it
  // starts, restarts or stops.
  supervisorSide.unref();
  hostSide.unref();
  const close = (port: MessagePort): void => {
    port.removeAllListeners();
    port.close();
  };
  return {
    kind: 'local',
    threadId,
    send: (cmd, t) => supervisorSide.postMessage(cmd, t),
    exited: Promise.resolve(),
    terminate: () => {
      close(supervisorSide);
      close(hostSide);
      return Promise.resolve();
    },
  };
}
