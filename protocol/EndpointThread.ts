/**
 * Runs the gRPC endpoint on a worker thread of its own (EndpointActor), serving a broker that
 * lives on this thread.
 *
 * ```ts
 * const grpc = await startGrpcEndpointActor(broker, { port: 8081 });
 * console.log(grpc.address);   // 127.0.0.1:8081
 * await grpc.stop();           // the endpoint drains, its thread ends
 * ```
 *
 * The endpoint is supervised: if its thread dies it is started again on a new thread, with a new
 * BrokerHandle and the port the first incarnation bound. Once the restart budget is spent,
 * `onFailure` is told and the endpoint stays down. Owned by the thread that called it (the
 * broker's); nothing of the broker moves to the endpoint's thread but the handle's port.
 */
import type { BrokerApi } from '../api/BrokerApi.js';
import { brokerHandle } from './BrokerLink.js';
import { actorLocation } from '../runtime/Actor.js';
import { ActorSystem } from '../runtime/ActorSystem.js';
import type { SupervisionOptions } from '../runtime/supervision.js';
import type { PetrelError } from '../common/errors.js';
import type { EndpointActorOptions, EndpointArgs, EndpointFault, EndpointMsg, EndpointReplies } from './EndpointActor.js';

export type { EndpointActorOptions } from './EndpointActor.js';

export interface EndpointThreadOptions {
  /**
   * Restarts of the endpoint's thread. Default: restart up to 3 times a minute (backoff from
   * 100 ms), then give up and call onFailure.
   */
  readonly supervision?: SupervisionOptions;
  /** Called once when the endpoint is down for good (restart budget spent). */
  readonly onFailure?: (error: PetrelError) => void;
  /** How long stop() waits for the endpoint to drain before its thread is terminated. Default 10 s. */
  readonly stopTimeoutMs?: number;
}

export interface EndpointThread {
  /** The host:port clients dial (what routes advertise). */
  readonly address: string;
  /** The endpoint's worker thread now, or undefined while it restarts or after stop(). */
  readonly threadId: number | undefined;
  /** Restarts of the endpoint's thread so far. */
  readonly restarts: number;
  /** Stops the endpoint (graceful, then forced) and ends its thread. Safe to call twice. */
  stop(): Promise<void>;
  /** Tests only: crashes the endpoint ('exit' its thread, or 'throw' in a handler). */
  injectFault(kind: EndpointFault): void;
}

/** Loaded by the worker by URL: this thread never imports the actor's module. */
const location = actorLocation<EndpointMsg, EndpointReplies, EndpointArgs>(new URL('./EndpointActor.js', import.meta.url), 'endpointActor');

const NAME = 'grpc-endpoint';

const DEFAULT_SUPERVISION: SupervisionOptions = { strategy: 'restart', maxRestarts: 3, withinMs: 60_000, onExhausted: 'escalate' };

export async function startGrpcEndpointActor(
  broker: BrokerApi,
  options: EndpointActorOptions = {},
  thread: EndpointThreadOptions = {},
): Promise<EndpointThread> {
  const system = new ActorSystem({
    // A start binds a port and loads the protos; a long drain is the endpoint's own grace time.
    startTimeoutMs: 30_000,
    stopTimeoutMs: thread.stopTimeoutMs ?? 10_000,
    onEscalate: (_actor, error, sys) => {
      void sys.shutdown();
      thread.onFailure?.(error);
    },
  });
  // Port 0 picks a free port once; later incarnations bind the same one, so the address holds.
  let port = options.port;
  const ref = await system
    .spawn(location, {
      name: NAME,
      args: (): EndpointArgs => ({ broker: brokerHandle(broker), options: { ...options, ...(port === undefined ? {} : { port }) } }),
      supervision: thread.supervision ?? DEFAULT_SUPERVISION,
    })
    .catch(async (err: unknown) => {
      await system.shutdown();
      throw err;
    });
  const binding = await ref.ask({ type: 'binding' });
  port = binding.port;
  return {
    address: binding.address,
    get threadId() {
      return system.workerThreadIds[0];
    },
    get restarts() {
      return system.restarts(NAME);
    },
    stop: () => system.shutdown(),
    injectFault: (kind) => ref.tell({ type: 'fault', kind }),
  };
}
