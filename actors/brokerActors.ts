/**
 * Spawns the broker's storage actors, each on a worker thread of its own: the DispatcherActor and
 * FlushActor restart from the files (up to 3 times a minute); the WriterActor escalates, which
 * stops the broker cleanly (its queue-offset table would have to be rebuilt while sends are in
 * flight), and the next start recovers from the files.
 */
import type { ActorRef } from '../runtime/ActorRef.js';
import type { ActorSystem } from '../runtime/ActorSystem.js';
import type { MessageStoreConfig } from '../storage/StoreConfig.js';
import type { BrokerConfig } from './BrokerConfig.js';
import type { BrokerPositions } from './BrokerPositions.js';
import { dispatcherActor, type DispatcherMsg, type DispatcherReplies } from './DispatcherActor.js';
import { flushActor, type FlushMsg, type FlushReplies } from './FlushActor.js';
import { writerActor, type WriterMsg, type WriterReplies } from './WriterActor.js';

export interface BrokerActors {
  readonly dispatcher: ActorRef<DispatcherMsg, DispatcherReplies>;
  readonly flush: ActorRef<FlushMsg, FlushReplies>;
  readonly writer: ActorRef<WriterMsg, WriterReplies>;
}

export async function spawnBrokerActors(
  system: ActorSystem,
  cfg: BrokerConfig,
  store: MessageStoreConfig,
  positions: BrokerPositions,
  maxPhy: number,
  queueOffsets: { topic: string; queueId: number; nextOffset: number }[],
  options: { readonly flushDelayMs?: number },
  damaged: readonly { readonly from: number; readonly to: number }[] = [],
): Promise<BrokerActors> {
  const dispatcher = await system.spawn(dispatcherActor, {
    name: 'dispatcher',
    // A slave dispatches what it wrote: its bytes are already acknowledged by its master.
    args: { store, confirm: cfg.flushDiskType === 'SYNC_FLUSH' && cfg.brokerRole !== 'SLAVE' ? 'FLUSHED' : 'WROTE', positions: positions.buffer, dispatchFrom: maxPhy, enablePropertyFilter: cfg.enablePropertyFilter,
      enableConsumeQueueExt: cfg.enableConsumeQueueExt, enableCalcFilterBitMap: cfg.enableCalcFilterBitMap, damaged },
    supervision: { strategy: 'restart', maxRestarts: 3, withinMs: 60_000 },
  });
  const flush = await system.spawn(flushActor, {
    name: 'flush',
    args: {
      store, flushDiskType: cfg.flushDiskType, flushIntervalCommitLog: cfg.flushIntervalCommitLog,
      flushCommitLogLeastPages: cfg.flushCommitLogLeastPages, flushCommitLogThoroughInterval: cfg.flushCommitLogThoroughInterval,
      positions: positions.buffer, ...(options.flushDelayMs === undefined ? {} : { flushDelayMs: options.flushDelayMs }),
    },
    supervision: { strategy: 'restart', maxRestarts: 3, withinMs: 60_000 },
  });
  // The writer is not restarted in place: its queue offsets would have to be re-derived.
  // A writer failure stops the broker cleanly; the next start recovers from the files.
  const writer = await system.spawn(writerActor, {
    name: 'writer',
    args: { store, maxPhyOffset: maxPhy, queueOffsets, positions: positions.buffer },
    supervision: { strategy: 'escalate' },
  });
  return { dispatcher, flush, writer };
}
