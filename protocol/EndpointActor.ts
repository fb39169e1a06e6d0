/**
 * EndpointActor: the gRPC endpoint (GrpcEndpoint) as an actor on its own worker thread. gRPC
 * framing, protobuf decoding, access-key checks and the pop service's bookkeeping run there; the
 * broker stays on its own thread and is reached through a BrokerHandle, the same comlink bridge
 * embedded users on a worker get (one message each way per broker call).
 *
 * Spawned by startGrpcEndpointActor (EndpointThread.ts). The start hook turns the handle into a
 * BrokerApi and binds the port; an incarnation on a new thread after a crash gets a fresh handle
 * and the port the first one bound, so clients keep the address. Pop state (receipt handles,
 * invisible times) lives in the endpoint: after a crash, unacked messages are delivered again.
 */
import type { MessagePort } from 'node:worker_threads';
import type { BrokerApi } from '../api/BrokerApi.js';
import { connectBroker, type BrokerHandle } from './BrokerLink.js';
import { defineActor } from '../runtime/Actor.js';
import { GrpcEndpoint, type GrpcEndpointOptions } from './GrpcEndpoint.js';

/** GrpcEndpointOptions that can cross threads: everything but the injected clock. */
export type EndpointActorOptions = Omit<GrpcEndpointOptions, 'clock'>;

export interface EndpointArgs {
  /** A fresh handle per incarnation: its port moves to this thread. */
  readonly broker: BrokerHandle;
  readonly options: EndpointActorOptions;
}

/** Where the endpoint listens: the address routes advertise, and the port bound. */
export interface EndpointBinding {
  readonly address: string;
  readonly port: number;
}

/**
 * Tests only: 'exit' ends the endpoint's thread (a restart on a new thread follows), 'throw' is a
 * crash in the handler (a restart in place: the stop hook closes the port, the start hook binds it
 * again).
 */
export type EndpointFault = 'exit' | 'throw';

export type EndpointMsg = { readonly type: 'binding' } | { readonly type: 'fault'; readonly kind: EndpointFault };
export interface EndpointReplies {
  binding: EndpointBinding;
  fault: void;
}

interface EndpointState {
  readonly endpoint: GrpcEndpoint;
  readonly binding: EndpointBinding;
  readonly port: MessagePort;
}

/**
 * The bridge to the broker, by handle port. A restart in place (stop hook, then start hook with the
 * same arguments) reuses it: the port cannot be wrapped twice, and the broker has not changed.
 */
const bridges = new Map<MessagePort, BrokerApi & { close(): void }>();

function bridgeOf(handle: BrokerHandle): BrokerApi & { close(): void } {
  let api = bridges.get(handle.port);
  if (api === undefined) {
    api = connectBroker(handle);
    bridges.set(handle.port, api);
  }
  return api;
}

function releaseBridge(port: MessagePort): void {
  bridges.get(port)?.close();
  bridges.delete(port);
  boundPorts.delete(port);
}

/**
 * The port the endpoint bound, by handle port: a restart in place gets the same arguments, whose
 * port may be 0, and must bind the port its clients know, not a new one.
 */
const boundPorts = new Map<MessagePort, number>();

export const endpointActor = defineActor<EndpointMsg, EndpointReplies, EndpointState, EndpointArgs>(import.meta.url, 'endpointActor', {
  async start(args) {
    const endpoint = new GrpcEndpoint(bridgeOf(args.broker));
    try {
      const bound = boundPorts.get(args.broker.port);
      const binding = await endpoint.start(bound === undefined ? args.options : { ...args.options, port: bound });
      boundPorts.set(args.broker.port, binding.port);
      return { endpoint, binding, port: args.broker.port };
    } catch (err) {
      // A port left open would keep this thread alive after a failed start.
      releaseBridge(args.broker.port);
      throw err;
    }
  },
  handlers: {
    binding: (s) => s.binding,
    fault(_s, m) {
      if (m.kind === 'exit') process.exit(1);
      throw new Error('fault injected into the gRPC endpoint');
    },
  },
  async stop(s, reason) {
    await s.endpoint.stop();
    if (reason !== 'restart') releaseBridge(s.port);
  },
});
