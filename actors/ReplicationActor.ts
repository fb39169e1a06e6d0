/**
 * ReplicationActor (RocketMQ's HAService): master/slave replication of the CommitLog on a worker
 * thread of its own. On a master it listens for slaves and streams them the CommitLog's bytes
 * (HaMaster.ts), publishing their acks into the shared positions the send path of a SYNC_MASTER
 * waits on. On a slave it connects to the master, checks each frame and has the WriterActor write
 * the bytes at the master's offsets (HaSlave.ts); the slave's DispatcherActor builds its own
 * ConsumeQueues and index from them as it would from its own writes.
 *
 * A slave cutting a diverged tail does it in this order, so no thread reads a byte of the old
 * tail once the log is cut: the DispatcherActor drops derived units from the start of the record
 * holding the cut and holds dispatch there; this actor's own reader lets go of later files; the
 * WriterActor cuts the log (zeroing the old bytes); the FlushActor forgets what it flushed past
 * the cut; the dispatcher resumes.
 *
 * After a crash the supervisor restarts it: a master listens again on the same port and slaves
 * reconnect; a slave reconnects and reports its CommitLog end. Nothing it holds is durable.
 */
import { defineActor } from '../runtime/Actor.js';
import type { ActorRef } from '../runtime/ActorRef.js';
import { CommitLogReader } from '../storage/CommitLogReader.js';
import type { MessageStoreConfig } from '../storage/StoreConfig.js';
import { commitLogPath } from '../storage/StoreConfig.js';
import { BrokerPositions, Position } from './BrokerPositions.js';
import type { DispatcherMsg, DispatcherReplies } from './DispatcherActor.js';
import type { FlushMsg, FlushReplies } from './FlushActor.js';
import { HaMaster, type HaMasterStats } from './HaMaster.js';
import { HaSlave, type HaSlaveStats, type SlaveStore } from './HaSlave.js';
import type { WriterMsg, WriterReplies } from './WriterActor.js';

interface CommonArgs {
  readonly store: MessageStoreConfig;
  readonly positions: SharedArrayBuffer;
  /** haHeartbeatInterval, ms. */
  readonly heartbeatInterval: number;
  /** haHousekeepingInterval, ms. */
  readonly housekeepingInterval: number;
}

export interface MasterReplicationArgs extends CommonArgs {
  readonly role: 'master';
  readonly host: string;
  /** haListenPort (0: a free port; a restart reuses the port first bound). */
  readonly port: number;
  /** haTransferBatchSize. */
  readonly transferBatchSize: number;
}

export interface SlaveReplicationArgs extends CommonArgs {
  readonly role: 'slave';
  /** haMasterAddress; '' until one is set. */
  readonly masterAddress: string;
  readonly writer: ActorRef<WriterMsg, WriterReplies>;
  readonly dispatcher: ActorRef<DispatcherMsg, DispatcherReplies>;
  readonly flush: ActorRef<FlushMsg, FlushReplies>;
}

export type ReplicationArgs = MasterReplicationArgs | SlaveReplicationArgs;

/** Faults for tests: a slave going silent or a link cut, without killing anything. */
export type HaFault = 'suspendAcks' | 'resumeAcks' | 'cutLinks';

export type ReplicationMsg =
  | { readonly type: 'stats' }
  | { readonly type: 'resetLag' }
  | { readonly type: 'setMasterAddress'; readonly address: string }
  | { readonly type: 'fault'; readonly fault: HaFault };

export type ReplicationStats = ({ readonly role: 'master' } & HaMasterStats) | ({ readonly role: 'slave' } & HaSlaveStats);

export interface ReplicationReplies {
  stats: ReplicationStats;
  resetLag: void;
  setMasterAddress: void;
  fault: void;
}

type ReplicationState =
  | { readonly role: 'master'; readonly master: HaMaster }
  | { readonly role: 'slave'; readonly slave: HaSlave; readonly reader: CommitLogReader };

function slaveStore(args: SlaveReplicationArgs, positions: BrokerPositions, reader: CommitLogReader): SlaveStore {
  const { writer, dispatcher, flush } = args;
  return {
    maxOffset: () => positions.get(Position.WROTE),
    minOffset: () => reader.minOffset(),
    read: (offset, size) => reader.read(offset, size, positions.get(Position.WROTE)),
    append: (offset, bytes) => writer.ask({ type: 'appendRaw', offset, bytes }, { transfer: [bytes.buffer] }),
    async truncate(offset) {
      const recordStart = reader.recordStartAtOrBefore(offset, positions.get(Position.WROTE));
      await dispatcher.ask({ type: 'truncate', offset: recordStart });
      reader.forgetAfter(offset);
      try {
        return await writer.ask({ type: 'truncate', offset });
      } finally {
        await flush.ask({ type: 'rewind', offset });
        dispatcher.tell({ type: 'resume' });
      }
    },
  };
}

export const replicationActor = defineActor<ReplicationMsg, ReplicationReplies, ReplicationState, ReplicationArgs>(import.meta.url, 'replicationActor', {
  async start(args) {
    const positions = new BrokerPositions(args.positions);
    const store = args.store;
    if (args.role === 'master') {
      const master = await HaMaster.listen({
        host: args.host,
        port: args.port,
        commitLogDir: commitLogPath(store),
        fileSize: store.mappedFileSizeCommitLog,
        backend: store.mappedFileBackend,
        positions,
        transferBatchSize: args.transferBatchSize,
        heartbeatInterval: args.heartbeatInterval,
        housekeepingInterval: args.housekeepingInterval,
      });
      return { role: 'master', master };
    }
    // A previous incarnation may have died between a dispatcher truncate and its resume.
    args.dispatcher.tell({ type: 'resume' });
    const reader = new CommitLogReader({ dir: commitLogPath(store), fileSize: store.mappedFileSizeCommitLog, backend: store.mappedFileBackend });
    const slave = new HaSlave({
      masterAddress: args.masterAddress,
      fileSize: store.mappedFileSizeCommitLog,
      heartbeatInterval: args.heartbeatInterval,
      housekeepingInterval: args.housekeepingInterval,
      store: slaveStore(args, positions, reader),
    });
    return { role: 'slave', slave, reader };
  },
  handlers: {
    stats: (s) => (s.role === 'master' ? { role: 'master', ...s.master.stats() } : { role: 'slave', ...s.slave.stats() }),
    resetLag(s) {
      if (s.role === 'master') s.master.resetLag();
    },
    setMasterAddress(s, m) {
      if (s.role === 'slave') s.slave.setMasterAddress(m.address);
    },
    fault(s, m) {
      if (s.role === 'master') {
        if (m.fault === 'cutLinks') s.master.cutLinks();
        return;
      }
      if (m.fault === 'cutLinks') s.slave.cutLink();
      else s.slave.suspendAcks(m.fault === 'suspendAcks');
    },
  },
  async stop(s) {
    if (s.role === 'master') {
      await s.master.close();
    } else {
      await s.slave.close();
      s.reader.close();
    }
  },
});
