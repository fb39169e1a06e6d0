/**
 * WriterActor: the only appender to the CommitLog. It owns the current CommitLog file and the
 * topic-queueId -> next queue offset table; it assigns each record its queue offset, physical
 * offset and store timestamp (monotone in file order), puts the batch's records into the file
 * (one positioned write under commitLogWriteMode 'write', else through its mapping) and publishes
 * the new `wrote` position. Producers encode records on their own threads; a batch arrives as
 * views of shared memory, so the writer pays one thread crossing per batch, not per message. On a
 * slave the ReplicationActor is its only client: `appendRaw` writes the master's bytes at the
 * master's offsets and `truncate` cuts a tail the master does not have.
 *
 * Runs on its own worker thread. After a crash it is restarted from the files: the broker
 * re-runs recovery (the CommitLog end and the queue offsets come back from disk), so nothing it
 * acknowledged is lost; a batch it had not answered is answered with an error and retried.
 */
import { defineActor } from '../runtime/Actor.js';
import { systemClock } from '../common/clock.js';
import { CommitLog } from '../storage/CommitLog.js';
import { QueueOffsetTable } from '../storage/QueueOffsetTable.js';
import type { MessageStoreConfig } from '../storage/StoreConfig.js';
import { commitLogPath } from '../storage/StoreConfig.js';
import { BrokerPositions, Position } from './BrokerPositions.js';

export interface WriterArgs {
  readonly store: MessageStoreConfig;
  /** Where recovery found the CommitLog's end. */
  readonly maxPhyOffset: number;
  /** Recovered next queue offsets. */
  readonly queueOffsets: readonly { topic: string; queueId: number; nextOffset: number }[];
  readonly positions: SharedArrayBuffer;
}

/** Int32 fields per record in AppendBatch.meta: size, topic index, queue id, no-queue flag. */
export const APPEND_META_FIELDS = 4;

/**
 * One batch of encoded records, back to back in `bytes`. For record i, meta[4i..4i+3]: its size,
 * the topic (an index into `topics`, the batch's distinct topics) and queue id its queue offset
 * is drawn from, and 1 when it takes none (prepared and rolled-back transactional records). Both
 * arrays may be views of SharedArrayBuffers (the send path's BatchBuffers): the writer patches the
 * records in place and is done with them when it answers, so a batch costs one structured clone of
 * a short topic list.
 */
export interface AppendBatch {
  readonly type: 'append';
  readonly bytes: Uint8Array;
  readonly meta: Int32Array;
  readonly topics: readonly string[];
}

/**
 * A slave's copy of its master's CommitLog bytes, to be written at `offset` (the end of this log)
 * exactly as they are; they stay inside one file. Replies with the new end of the log.
 */
export interface AppendRaw {
  readonly type: 'appendRaw';
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * A slave cutting the tail its master does not have: the log ends at `offset` afterwards (bytes
 * past it zeroed, later files deleted). Replies with the new end of the log.
 */
export interface TruncateLog {
  readonly type: 'truncate';
  readonly offset: number;
}

export type WriterMsg = AppendBatch | AppendRaw | TruncateLog | { readonly type: 'maxOffset' } | { readonly type: 'queueOffsets' };

/** Per record: physical offset, queue offset, store timestamp (3 numbers each). */
export interface WriterReplies {
  append: Float64Array;
  appendRaw: number;
  truncate: number;
  maxOffset: number;
  queueOffsets: { topic: string; queueId: number; nextOffset: number }[];
}

interface WriterState {
  readonly log: CommitLog;
  readonly offsets: QueueOffsetTable;
  readonly positions: BrokerPositions;
}

export const writerActor = defineActor<WriterMsg, WriterReplies, WriterState, WriterArgs>(import.meta.url, 'writerActor', {
  start(args) {
    const log = new CommitLog({
      dir: commitLogPath(args.store),
      fileSize: args.store.mappedFileSizeCommitLog,
      backend: args.store.commitLogWriteMode === 'write' ? 'fs' : args.store.mappedFileBackend,
      syncMethod: args.store.flushSyncMethod,
      clock: systemClock,
      warm: args.store.warmMapedFileEnable,
      appendPropertiesCrc: args.store.enabledAppendPropCRC,
    });
    log.load();
    log.truncate(args.maxPhyOffset, false);
    const offsets = new QueueOffsetTable();
    for (const q of args.queueOffsets) offsets.set(q.topic, q.queueId, q.nextOffset);
    const positions = new BrokerPositions(args.positions);
    positions.publish(Position.WROTE, log.maxOffset());
    return { log, offsets, positions };
  },
  handlers: {
    append(s, m) {
      const meta = m.meta;
      const n = meta.length / APPEND_META_FIELDS;
      const out = new Float64Array(n * 3);
      const now = Date.now();
      const mark = s.log.mark();
      // The queue offsets the batch drew, to give back should it fail: (table, queue id) pairs.
      const drawnFrom: number[][] = [];
      const drawnQueue: number[] = [];
      let at = 0;
      try {
        for (let i = 0; i < n; i++) {
          const f = i * APPEND_META_FIELDS;
          const size = meta[f] as number;
          const topic = m.topics[meta[f + 1] as number] as string;
          const qid = meta[f + 2] as number;
          const skipQueue = meta[f + 3] === 1;
          const table = s.offsets.offsetsOf(topic);
          const queueOffset = skipQueue ? 0 : (table[qid] ?? 0);
          const phy = s.log.appendDeferred(m.bytes, at, size, queueOffset, now);
          if (!skipQueue) {
            table[qid] = queueOffset + 1;
            drawnFrom.push(table);
            drawnQueue.push(qid);
          }
          out[i * 3] = phy;
          out[i * 3 + 1] = queueOffset;
          out[i * 3 + 2] = s.log.lastStoreTimestamp;
          at += size;
        }
        s.log.commit();
      } catch (err) {
        // All or nothing: a batch whose bytes did not all reach the file (ENOSPC) leaves no
        // trace. The log goes back to the mark, every queue offset drawn is given back, and
        // every send of the batch gets the error; the next batch starts where this one did.
        s.log.rollback(mark);
        for (let i = drawnFrom.length - 1; i >= 0; i--) {
          const table = drawnFrom[i] as number[];
          const qid = drawnQueue[i] as number;
          table[qid] = (table[qid] ?? 1) - 1;
        }
        throw err;
      } finally {
        // Only bytes that are in the file are published.
        s.positions.publish(Position.WROTE, s.log.maxOffset());
      }
      return out;
    },
    appendRaw(s, m) {
      try {
        s.log.appendRaw(m.offset, m.bytes, 0, m.bytes.length);
      } finally {
        s.positions.publish(Position.WROTE, s.log.maxOffset());
      }
      return s.log.maxOffset();
    },
    truncate(s, m) {
      if (m.offset < s.log.maxOffset()) {
        s.log.truncate(m.offset, true);
        s.positions.set(Position.WROTE, s.log.maxOffset());
      }
      return s.log.maxOffset();
    },
    maxOffset: (s) => s.log.maxOffset(),
    queueOffsets: (s) => s.offsets.entries(),
  },
  stop(s) {
    s.log.close();
  },
});
