/**
 * The name server's remoting surface (RocketMQ's REGISTER_BROKER, UNREGISTER_BROKER,
 * GET_ROUTEINFO_BY_TOPIC and GET_BROKER_CLUSTER_INFO), its value types and their parsers, and the
 * client brokers and producers/consumers use to reach one or several name servers.
 */
import type { TopicRoute } from '../../api/BrokerApi.js';
import { PetrelError, isPetrelError } from '../../common/errors.js';
import { REPLY, defined, int, list, opt, rec, str, type Check } from '../../api/parse.js';
import { addrTable, topicRoute } from '../../api/values.js';
import { RpcClient, type RpcClientOptions } from './RpcClient.js';

/** One topic as a broker serves it. */
export interface TopicQueueData {
  readonly topic: string;
  readonly readQueueNums: number;
  readonly writeQueueNums: number;
  /** RocketMQ perm bits: READ 4, WRITE 2. */
  readonly perm: number;
}

/** What a broker tells every name server, every registerNameServerPeriod and on topic changes. */
export interface BrokerRegistration {
  readonly clusterName: string;
  readonly brokerName: string;
  /** 0 is the master; >= 1 a slave. */
  readonly brokerId: number;
  /** host:port of the broker's remoting server (what clients dial). */
  readonly brokerAddr: string;
  /** host:port a master's slaves replicate from. */
  readonly haAddr?: string;
  readonly topics: readonly TopicQueueData[];
}

export interface RegisterBrokerResult {
  /** For a slave: its group's master, when one is registered. */
  readonly masterAddr?: string;
  readonly haMasterAddr?: string;
}

export interface BrokerIdentity {
  readonly clusterName: string;
  readonly brokerName: string;
  readonly brokerId: number;
  readonly brokerAddr: string;
}

export interface BrokerGroupInfo {
  readonly clusterName: string;
  readonly brokerName: string;
  /** brokerId -> address; 0 is the master. */
  readonly addrs: Readonly<Record<number, string>>;
}

export interface ClusterInfo {
  readonly brokers: readonly BrokerGroupInfo[];
}

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function name(c: Check, v: unknown, path: string): string {
  const s = str(c, v, path);
  if (!NAME.test(s)) throw new PetrelError(c.code, `${c.what} ${path} must be 1-64 letters, digits, _ or -`);
  return s;
}

function brokerId(c: Check, v: unknown, path: string): number {
  const id = int(c, v, path);
  if (id < 0 || id > 1024) throw new PetrelError(c.code, `${c.what} ${path} must be a broker id in [0, 1024]`);
  return id;
}

export function brokerIdentity(c: Check, v: unknown, path: string): BrokerIdentity {
  const r = rec(c, v, path);
  return {
    clusterName: name(c, r['clusterName'], `${path}.clusterName`),
    brokerName: name(c, r['brokerName'], `${path}.brokerName`),
    brokerId: brokerId(c, r['brokerId'], `${path}.brokerId`),
    brokerAddr: str(c, r['brokerAddr'], `${path}.brokerAddr`),
  };
}

export function brokerRegistration(c: Check, v: unknown, path: string): BrokerRegistration {
  const r = rec(c, v, path);
  return defined({
    ...brokerIdentity(c, v, path),
    haAddr: opt(r['haAddr'], (x) => str(c, x, `${path}.haAddr`)),
    topics: list(c, r['topics'], `${path}.topics`).map((x, i) => {
      const t = rec(c, x, `${path}.topics[${i}]`);
      const p = `${path}.topics[${i}]`;
      return {
        topic: str(c, t['topic'], `${p}.topic`),
        readQueueNums: int(c, t['readQueueNums'], `${p}.readQueueNums`),
        writeQueueNums: int(c, t['writeQueueNums'], `${p}.writeQueueNums`),
        perm: int(c, t['perm'], `${p}.perm`),
      };
    }),
  });
}

export function registerBrokerResult(c: Check, v: unknown, path: string): RegisterBrokerResult {
  const r = rec(c, v, path);
  return defined({
    masterAddr: opt(r['masterAddr'], (x) => str(c, x, `${path}.masterAddr`)),
    haMasterAddr: opt(r['haMasterAddr'], (x) => str(c, x, `${path}.haMasterAddr`)),
  });
}

export function clusterInfo(c: Check, v: unknown, path: string): ClusterInfo {
  const r = rec(c, v, path);
  return {
    brokers: list(c, r['brokers'], `${path}.brokers`).map((x, i) => {
      const b = rec(c, x, `${path}.brokers[${i}]`);
      return {
        clusterName: str(c, b['clusterName'], `${path}.brokers[${i}].clusterName`),
        brokerName: str(c, b['brokerName'], `${path}.brokers[${i}].brokerName`),
        addrs: addrTable(c, b['addrs'], `${path}.brokers[${i}].addrs`),
      };
    }),
  };
}

/** "host:port;host:port" into its addresses; empty entries are ignored. */
export function splitNamesrvAddr(namesrvAddr: string): string[] {
  const addrs = namesrvAddr.split(/[;,]/).map((a) => a.trim()).filter((a) => a !== '');
  if (addrs.length === 0) throw new PetrelError('ERR_CONFIG_INVALID', `namesrvAddr "${namesrvAddr}" names no name server`);
  return addrs;
}

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
export class NameServerLink {
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
