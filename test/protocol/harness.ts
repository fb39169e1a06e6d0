/**
 * Integration harness for the gRPC endpoint: a real Broker (worker threads, real files) on a temp
 * folder, the endpoint on 127.0.0.1 port 0 in front of it, both torn down after the test. Short
 * long polls and invisible times keep every test bounded.
 */
import { createRequire } from 'node:module';
import type { ExecutionContext } from 'ava';
import type { Broker } from '../../actors/Broker.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import { GrpcEndpoint, type GrpcEndpointOptions } from '../../protocol/GrpcEndpoint.js';
import { startBroker } from '../helpers/broker.js';

export interface Harness {
  readonly broker: Broker;
  readonly endpoint: GrpcEndpoint;
  readonly address: string;
}

/** Endpoint settings that keep official-client tests fast. */
export const FAST: GrpcEndpointOptions = {
  longPollingTimeoutMs: 1000,
  minInvisibleMs: 500,
  autoRenewInvisibleMs: 5000,
  shutdownGraceMs: 2000,
};

export async function startEndpoint(t: ExecutionContext, brokerConfig: BrokerConfigInput = {}, options: GrpcEndpointOptions = {}): Promise<Harness> {
  const broker = await startBroker(t, { enablePropertyFilter: true, ...brokerConfig });
  const endpoint = new GrpcEndpoint(broker);
  const { address } = await endpoint.start({ ...FAST, ...options });
  // Registered after the broker's teardown, so it runs first.
  t.teardown(() => endpoint.stop());
  return { broker, endpoint, address };
}

/** The official client's logger, silenced. */
export const quietLogger = {
  info: (): void => undefined,
  warn: (): void => undefined,
  error: (): void => undefined,
  debug: (): void => undefined,
};

/** Shuts a client down after the test, before the endpoint stops. */
export function closeAfter(t: ExecutionContext, client: { shutdown(): Promise<void> }): void {
  t.teardown(async () => {
    await client.shutdown().catch(() => undefined);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Repeats `step` until `done` holds, or fails after timeoutMs. */
export async function repeatUntil(step: () => Promise<void>, done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await step();
  }
}

/**
 * The official client's push consume services always create a default egg-logger (ignoring the
 * logger option), whose flush interval keeps the process alive after the client shuts down.
 * Unref'ing that interval lets a test process exit; the client is otherwise untouched.
 */
function unrefEggLoggerIntervals(): void {
  const require = createRequire(import.meta.url);
  const transport: unknown = require('egg-logger/lib/transports/file_buffer.js');
  if (typeof transport !== 'function') return;
  const proto = (transport as { prototype: Record<string, unknown> }).prototype;
  const create = proto['_createInterval'];
  if (typeof create !== 'function' || proto['__petrelUnref'] === true) return;
  proto['_createInterval'] = function (this: unknown): unknown {
    const timer: unknown = create.call(this);
    if (timer !== null && typeof timer === 'object' && 'unref' in timer && typeof timer.unref === 'function') timer.unref();
    return timer;
  };
  proto['__petrelUnref'] = true;
}
unrefEggLoggerIntervals();
