/**
 * The CLI's one doorway to the remoting transport (protocol/remoting/): `petrelmq start` serves
 * its broker's API on it, and the admin and bench commands reach a running broker through it.
 * The transport is loaded on first use, so `petrelmq --help` does not pay for it.
 */
import type { BrokerApi } from '../api/BrokerApi.js';

export interface RemotingServer {
  /** host:port it listens on. */
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function serveRemoting(api: BrokerApi, host: string, port: number): Promise<RemotingServer> {
  const { serveBrokerApi } = await import('../protocol/remoting/BrokerApiServer.js');
  return serveBrokerApi(api, { host, port });
}

export interface RemoteBroker {
  readonly api: BrokerApi;
  close(): Promise<void>;
}

/**
 * A one-shot command waits longer than a client's 3 s default: an admin scan of a big store, or a
 * broker on a busy machine, may take that long, and nothing else is waiting on the answer.
 */
const REQUEST_TIMEOUT_MS = 30_000;

/** Connects and asks the broker's name: an unreachable address fails here, in one clear error. */
export async function connectBroker(address: string): Promise<RemoteBroker> {
  const { connectBrokerApi } = await import('../protocol/remoting/RemoteBrokerApi.js');
  const api = await connectBrokerApi(address, { requestTimeoutMs: REQUEST_TIMEOUT_MS });
  return {
    api,
    close: async () => api.close(),
  };
}
