/**
 * The transport side of the name server: a link to one name server over a remoting connection
 * and a client of several. The value types and their parsers are in api/nameServer.ts.
 */
import type { TopicRoute } from '../../api/BrokerApi.js';
import { PetrelError, isPetrelError } from '../../common/errors.js';
import { REPLY } from '../../api/parse.js';
import { topicRoute } from '../../api/values.js';
import {
  clusterInfo, registerBrokerResult, splitNamesrvAddr, type BrokerIdentity, type BrokerRegistration, type ClusterInfo, type NameServerApi, type RegisterBrokerResult,
} from '../../api/nameServer.js';
import { RpcClient, type RpcClientOptions } from './RpcClient.js';

/**
 * A client of one or several name servers. Queries go to one server, the next one taking over
 * when it cannot be reached; registrations go to every server (the caller loops over `servers`).
 */
export class NameServerClient {
  readonly servers: readonly NameServerLink[];
  #next = 0;

  constructor(namesrvAddr: string, options: RpcClientOptions = {}) {
    this.servers = splitNamesrvAddr(namesrvAddr).map((a) => new NameServerLink(a, options));
    this.#next = Math.floor(Math.random() * this.servers.length);
  }

  /** The topic's route; ERR_TOPIC_NOT_EXIST when the name server knows no broker serving it. */
  getRouteInfo(topic: string): Promise<TopicRoute> {
    return this.#any((s) => s.getRouteInfo(topic));
  }

  getClusterInfo(): Promise<ClusterInfo> {
    return this.#any((s) => s.getClusterInfo());
  }

  close(): void {
    for (const s of this.servers) s.close();
  }

  async #any<T>(call: (s: NameServerLink) => Promise<T>): Promise<T> {
    let last: unknown;
    for (let i = 0; i < this.servers.length; i++) {
      const s = this.servers[(this.#next + i) % this.servers.length];
      if (s === undefined) continue;
      try {
        const v = await call(s);
        this.#next = (this.#next + i) % this.servers.length;
        return v;
      } catch (err) {
        if (!isPetrelError(err) || !err.retriable) throw err;
        last = err;
      }
    }
    throw last instanceof Error ? last : new PetrelError('ERR_SERVICE_NOT_AVAILABLE', 'no name server answered');
  }
}

/** The link to one name server. */
export class NameServerLink implements NameServerApi {
  readonly #rpc: RpcClient;

  constructor(address: string, options: RpcClientOptions = {}) {
    this.#rpc = new RpcClient(address, options);
  }

  get address(): string {
    return this.#rpc.address;
  }

  async registerBroker(registration: BrokerRegistration): Promise<RegisterBrokerResult> {
    return registerBrokerResult(REPLY, await this.#rpc.call('registerBroker', [registration]), 'result');
  }

  async unregisterBroker(identity: BrokerIdentity): Promise<void> {
    await this.#rpc.call('unregisterBroker', [identity]);
  }

  async getRouteInfo(topic: string): Promise<TopicRoute> {
    return topicRoute(REPLY, await this.#rpc.call('getRouteInfo', [topic]), 'route');
  }

  async getClusterInfo(): Promise<ClusterInfo> {
    return clusterInfo(REPLY, await this.#rpc.call('getClusterInfo', []), 'clusterInfo');
  }

  close(): void {
    this.#rpc.close();
  }
}
