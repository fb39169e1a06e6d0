/**
 * What a broker needs of the network to take part in a cluster: links to its name servers (to
 * register) and to another broker's operations (a slave copying its master's tables). The broker
 * is given an implementation when it starts (protocol/remoting/brokerNetwork.ts for the remoting
 * transport), so that actors/ never imports a transport.
 */
import type { BrokerApi } from './BrokerApi.js';
import type { NameServerApi } from './nameServer.js';

export interface LinkOptions {
  /** Deadline of one request, ms. */
  readonly requestTimeoutMs: number;
  /** Longest pause between reconnection attempts, ms. */
  readonly reconnectMaxMs: number;
}

export interface BrokerNetwork {
  /** A lazily connecting link to one name server. */
  nameServer(address: string, options: LinkOptions): NameServerApi;
  /** Connects to the broker served at `address`, which must be `brokerName`'s. */
  broker(address: string, brokerName: string): Promise<BrokerApi & { close(): void }>;
}
