/**
 * Which ReplicationActor a broker runs, and how it is spawned: part of Broker.start, on the main
 * thread.
 *
 * - SLAVE: always one, following haMasterAddress (which may be set later, from the name server).
 * - SYNC_MASTER: always one, listening on haListenPort: its sends wait for slaves.
 * - ASYNC_MASTER: one only when the config names haListenPort itself, so that an embedded broker
 *   on defaults opens no socket (and two of them in one machine do not fight over port 10912).
 *
 * A master restarted by its supervisor listens again on the port its first incarnation bound
 * (haListenPort 0 picks one once), so slaves and the name server keep a valid address.
 */
import { readFileSync } from 'node:fs';
import type { ActorSystem } from '../runtime/ActorSystem.js';
import type { ActorRef } from '../runtime/ActorRef.js';
import type { MessageStoreConfig } from '../storage/StoreConfig.js';
import { propertiesToConfig, type BrokerConfig, type BrokerConfigInput } from './BrokerConfig.js';
import type { BrokerPositions } from './BrokerPositions.js';
import type { DispatcherMsg, DispatcherReplies } from './DispatcherActor.js';
import type { FlushMsg, FlushReplies } from './FlushActor.js';
import { replicationActor, type ReplicationArgs, type ReplicationMsg, type ReplicationReplies } from './ReplicationActor.js';
import type { WriterMsg, WriterReplies } from './WriterActor.js';

export type Replication = ActorRef<ReplicationMsg, ReplicationReplies>;

export interface StoreActors {
  readonly writer: ActorRef<WriterMsg, WriterReplies>;
  readonly flush: ActorRef<FlushMsg, FlushReplies>;
  readonly dispatcher: ActorRef<DispatcherMsg, DispatcherReplies>;
}

/** Whether the config as given names haListenPort itself (a default port is not a wish to listen). */
function haListenPortGiven(input: BrokerConfigInput | string | undefined): boolean {
  if (typeof input === 'string') return Object.hasOwn(propertiesToConfig(readFileSync(input, 'utf8')), 'haListenPort');
  return input?.haListenPort !== undefined;
}

/** Spawns the ReplicationActor this broker needs, or none; resolves with it and a master's HA address. */
export async function startReplication(
  system: ActorSystem, cfg: BrokerConfig, input: BrokerConfigInput | string | undefined, store: MessageStoreConfig, positions: BrokerPositions, actors: StoreActors,
): Promise<{ replication: Replication | undefined; haAddress: string | undefined }> {
  const common = { store, positions: positions.buffer, heartbeatInterval: cfg.haHeartbeatInterval, housekeepingInterval: cfg.haHousekeepingInterval };
  let port = cfg.haListenPort;
  let args: () => ReplicationArgs;
  if (cfg.brokerRole === 'SLAVE') {
    args = () => ({ ...common, role: 'slave', masterAddress: cfg.haMasterAddress, ...actors });
  } else if (cfg.brokerRole === 'SYNC_MASTER' || haListenPortGiven(input)) {
    args = () => ({ ...common, role: 'master', host: cfg.brokerIP1, port, transferBatchSize: cfg.haTransferBatchSize });
  } else {
    return { replication: undefined, haAddress: undefined };
  }
  const replication = await system.spawn(replicationActor, { name: 'replication', args, supervision: { strategy: 'restart', maxRestarts: 3, withinMs: 60_000 } });
  const stats = await replication.ask({ type: 'stats' });
  if (stats.role !== 'master') return { replication, haAddress: undefined };
  port = Number(stats.address.slice(stats.address.lastIndexOf(':') + 1));
  return { replication, haAddress: stats.address };
}
