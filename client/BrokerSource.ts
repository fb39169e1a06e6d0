/**
 * Where a Producer or PushConsumer finds its brokers: a BrokerApi given directly (an embedded
 * Broker, a BrokerHandle, a remote link or a ClusterClient), or name servers, through which the
 * client builds and owns a ClusterClient spanning every broker group.
 */
import type { BrokerApi } from '../api/BrokerApi.js';
import { PetrelError } from '../common/errors.js';
import { ClusterClient, type ClusterClientOptions } from './ClusterClient.js';

/** One broker, or anything that implements its API. */
export interface BrokerOption {
  readonly broker: BrokerApi;
  readonly namesrvAddr?: never;
}

/** Name servers ("host:port;host:port"); the client finds every broker group through them. */
export interface NameServerOption {
  readonly namesrvAddr: string;
  readonly broker?: never;
  /** Tuning of the cluster client made for it (route polling, fault isolation, slave reads). */
  readonly cluster?: Omit<ClusterClientOptions, 'namesrvAddr'>;
}

export type BrokerSource = BrokerOption | NameServerOption;

export interface OpenedBrokerSource {
  /** What group-wide requests go to. */
  readonly broker: BrokerApi;
  /** Set when requests must be routed per broker group. */
  readonly cluster: ClusterClient | undefined;
  /** True when the client made the cluster client and must close it. */
  readonly owned: boolean;
}

export function openBrokerSource(source: BrokerSource, what: string): OpenedBrokerSource {
  if (source.broker !== undefined) {
    const cluster = source.broker instanceof ClusterClient ? source.broker : undefined;
    return { broker: source.broker, cluster, owned: false };
  }
  if (typeof source.namesrvAddr !== 'string' || source.namesrvAddr.trim() === '') {
    throw new PetrelError('ERR_INVALID_ARGUMENT', `${what} needs a broker or a namesrvAddr`);
  }
  const cluster = new ClusterClient({ ...source.cluster, namesrvAddr: source.namesrvAddr });
  return { broker: cluster, cluster, owned: true };
}
