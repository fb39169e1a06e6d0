/**
 * The name server's value types and their parsers: what a broker registers (its identity, its
 * addresses and its topics), what the name server answers, and the operations a name server
 * offers, whichever transport carries them.
 */
import type { TopicRoute } from './BrokerApi.js';
import { PetrelError } from '../common/errors.js';
import { defined, int, list, opt, rec, str, type Check } from './parse.js';
import { addrTable } from './values.js';


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

/** A name server's operations, as a broker and a client reach one. */
export interface NameServerApi {
  readonly address: string;
  registerBroker(registration: BrokerRegistration): Promise<RegisterBrokerResult>;
  unregisterBroker(identity: BrokerIdentity): Promise<void>;
  /** The topic's route; ERR_TOPIC_NOT_EXIST when the name server knows no broker serving it. */
  getRouteInfo(topic: string): Promise<TopicRoute>;
  getClusterInfo(): Promise<ClusterInfo>;
  close(): void;
}
