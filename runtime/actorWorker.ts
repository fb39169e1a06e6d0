/**
 * Entry point of an actor's worker thread. workerData is a HostInit: the worker imports the
 * actor's module, picks the definition by export name, revives the refs in the arguments and
 * runs an ActorHost on parentPort. Log records published on the thread are forwarded to the
 * supervisor. The thread ends on its own once the host has stopped (nothing is left listening), or
 * is terminated by its supervisor after the stop timeout.
 */
import diagnostics from 'node:diagnostics_channel';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { CHANNELS } from '../common/diagnostics.js';
import { PetrelError, toErrorData } from '../common/errors.js';
import { isActorDefinition } from './Actor.js';
import { ActorHost } from './ActorHost.js';
import { reviveRef } from './ActorRef.js';
import { parseHostInit, type HostReport } from './protocol.js';
import { nameThread } from './threadName.js';
import { decodeArgs } from './transferArgs.js';

async function main(): Promise<void> {
  const control = parentPort;
  if (control === null) throw new Error('actorWorker.js must run on a worker thread');
  const fail = (message: string, cause?: unknown): void => {
    const error = toErrorData(new PetrelError('ERR_ACTOR_CRASHED', message, { cause }));
    const report: HostReport = { type: 'crashed', during: 'start', error };
    control.postMessage(report);
  };
  forwardLogs(control);
  const init = parseHostInit(workerData);
  if (init === undefined) {
    fail('actor worker started without a valid init message');
    return;
  }
  nameThread(init.name);
  let definition: unknown;
  try {
    const mod = (await import(init.module)) as Record<string, unknown>;
    definition = mod[init.exportName];
  } catch (err) {
    fail(`cannot import actor module ${init.module}: ${err instanceof Error ? err.message : String(err)}`, err);
    return;
  }
  if (!isActorDefinition(definition)) {
    fail(`${init.module} has no actor definition exported as '${init.exportName}'`);
    return;
  }
  const { value: args, refs } = decodeArgs(init.args);
  const host = new ActorHost(
    definition,
    { name: init.name, args, argRefs: refs, self: reviveRef(init.self), restarts: init.restarts },
    control,
  );
  host.run();
}

/**
 * Log records published on this thread go to the supervisor, which publishes them again on the
 * spawning thread, where the logger listens (a worker's channels are its own). A record that
 * cannot be cloned goes with its fields as text.
 */
function forwardLogs(control: MessagePort): void {
  diagnostics.subscribe(CHANNELS.log, (record: unknown) => {
    const report = { type: 'log', record };
    try {
      control.postMessage(report);
    } catch {
      const text = Object.fromEntries(Object.entries(record as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : String(v)]));
      control.postMessage({ type: 'log', record: text });
    }
  });
}

await main();
