/**
 * FlushActor: makes the CommitLog durable and publishes the `flushed` position.
 *
 * SYNC_FLUSH (group commit): it sleeps on the `wrote` position; when the writer publishes, one
 * fdatasync covers everything appended so far, however many sends are waiting on it, and the new
 * `flushed` wakes them all. ASYNC_FLUSH: every flushIntervalCommitLog ms it flushes when at least
 * flushCommitLogLeastPages pages are dirty, and fully at least every
 * flushCommitLogThoroughInterval ms.
 *
 * Runs on its own worker thread with its own read-only view of the CommitLog files. After a crash
 * it restarts from offset 0 of the current file (flushing again is harmless); sends waiting on it
 * time out with FLUSH_DISK_TIMEOUT rather than being acknowledged falsely.
 */
import { defineActor } from '../runtime/Actor.js';
import { channel, CHANNELS } from '../common/diagnostics.js';
import { CommitLogFlusher } from '../storage/CommitLogFlusher.js';
import type { MessageStoreConfig } from '../storage/StoreConfig.js';
import { commitLogPath } from '../storage/StoreConfig.js';
import { BrokerPositions, Position } from './BrokerPositions.js';

export interface FlushArgs {
  readonly store: MessageStoreConfig;
  readonly flushDiskType: 'SYNC_FLUSH' | 'ASYNC_FLUSH';
  readonly flushIntervalCommitLog: number;
  readonly flushCommitLogLeastPages: number;
  readonly flushCommitLogThoroughInterval: number;
  readonly positions: SharedArrayBuffer;
  /** Fault injection for tests: sleep this long before every flush. */
  readonly flushDelayMs?: number;
}

/** A slave cut its log at `offset`: nothing past it is flushed any more. */
export interface FlushRewind {
  readonly type: 'rewind';
  readonly offset: number;
}

export type FlushMsg = { readonly type: 'flushNow' } | { readonly type: 'stats' } | { readonly type: 'takeFlushTimes' } | FlushRewind;
export interface FlushReplies {
  flushNow: number;
  rewind: void;
  stats: { flushes: number; flushed: number };
  /** Durations (us) of the flushes since the last take; `dropped` counts those past the buffer. */
  takeFlushTimes: { latenciesUs: number[]; dropped: number };
}

/** Flush durations kept for the main thread's metrics between two takes. */
const MAX_KEPT_FLUSH_TIMES = 4096;

interface FlushState {
  readonly flusher: CommitLogFlusher;
  readonly positions: BrokerPositions;
  readonly args: FlushArgs;
  running: boolean;
  flushes: number;
  lastThorough: number;
  loop: Promise<void>;
  /** Ends the current interval sleep early (shutdown). */
  wake: () => void;
  /** Channels published here never reach the main thread, so metrics take these instead. */
  flushTimesUs: number[];
  flushTimesDropped: number;
}

const flushChannel = channel(CHANNELS.storeFlush);

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function flushOnce(s: FlushState, leastPages: number): number {
  const upTo = s.positions.get(Position.WROTE);
  if (upTo <= s.flusher.flushedPosition) return s.flusher.flushedPosition;
  if (s.args.flushDelayMs !== undefined && s.args.flushDelayMs > 0) sleepMs(s.args.flushDelayMs);
  const started = performance.now();
  const before = s.flusher.flushedPosition;
  const flushed = s.flusher.flush(upTo, leastPages);
  s.flushes += 1;
  s.positions.publish(Position.FLUSHED, flushed);
  const latencyUs = (performance.now() - started) * 1000;
  if (s.flushTimesUs.length < MAX_KEPT_FLUSH_TIMES) s.flushTimesUs.push(latencyUs);
  else s.flushTimesDropped += 1;
  if (flushChannel.hasSubscribers) flushChannel.publish({ bytes: flushed - before, latencyUs });
  return flushed;
}

async function run(s: FlushState): Promise<void> {
  const sync = s.args.flushDiskType === 'SYNC_FLUSH';
  while (s.running) {
    if (sync) {
      // Sleep until the writer publishes more (or 10 ms, RocketMQ's GroupCommitService period);
      // one flush then serves every send that arrived meanwhile.
      // waitChangeFrom compares with the value read here: a publish just after it still wakes this.
      const wrote = s.positions.get(Position.WROTE);
      if (wrote <= s.flusher.flushedPosition) await s.positions.waitChangeFrom(Position.WROTE, wrote, 10);
      if (!s.running) break;
      flushOnce(s, 0);
    } else {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, s.args.flushIntervalCommitLog);
        s.wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      if (!s.running) break;
      const now = Date.now();
      const thorough = now - s.lastThorough >= s.args.flushCommitLogThoroughInterval;
      if (thorough) s.lastThorough = now;
      flushOnce(s, thorough ? 0 : s.args.flushCommitLogLeastPages);
    }
  }
}

export const flushActor = defineActor<FlushMsg, FlushReplies, FlushState, FlushArgs>(import.meta.url, 'flushActor', {
  start(args) {
    const positions = new BrokerPositions(args.positions);
    const flusher = new CommitLogFlusher({
      dir: commitLogPath(args.store),
      fileSize: args.store.mappedFileSizeCommitLog,
      syncMethod: args.store.flushSyncMethod,
      flushedFrom: positions.get(Position.FLUSHED),
    });
    const s: FlushState = { flusher, positions, args, running: true, flushes: 0, lastThorough: Date.now(), loop: Promise.resolve(), wake: () => undefined, flushTimesUs: [], flushTimesDropped: 0 };
    s.loop = run(s);
    return s;
  },
  handlers: {
    flushNow: (s) => flushOnce(s, 0),
    stats: (s) => ({ flushes: s.flushes, flushed: s.flusher.flushedPosition }),
    rewind(s, m) {
      s.flusher.rewind(m.offset);
      if (s.positions.get(Position.FLUSHED) > m.offset) s.positions.set(Position.FLUSHED, m.offset);
    },
    takeFlushTimes: (s) => {
      const taken = { latenciesUs: s.flushTimesUs, dropped: s.flushTimesDropped };
      s.flushTimesUs = [];
      s.flushTimesDropped = 0;
      return taken;
    },
  },
  async stop(s) {
    s.running = false;
    s.wake();
    await s.loop;
    flushOnce(s, 0);
    s.flusher.close();
  },
});
