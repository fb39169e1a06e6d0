/**
 * Every diagnostics_channel petrelmq publishes on, named once. Metrics and logs subscribe here;
 * actors publish and never import a logger or metrics library themselves.
 */
import diagnostics from 'node:diagnostics_channel';

export const CHANNELS = {
  /** { actor: string; error: PetrelErrorData; restarts: number } */
  actorCrashed: 'petrelmq:actor:crashed',
  /** { actor: string; restarts: number } */
  actorRestarted: 'petrelmq:actor:restarted',
  /** { actor: string; reason: string } */
  actorStopped: 'petrelmq:actor:stopped',
  /**
   * { messages: number; bytes: number; latencyUs: number }: a MessageStore put, or one batch of the
   * broker's send path (main thread; latency from the oldest send's arrival to the writer's reply).
   */
  storePut: 'petrelmq:store:put',
  /** { bytes: number; latencyUs: number } */
  storeFlush: 'petrelmq:store:flush',
  /** { latencyUs: number; status: string }: how long a send waited for its slave's ack (main thread) */
  storeReplicated: 'petrelmq:store:replicated',
  /**
   * { from: number; to: number; truncatedBytes: number; abnormal: boolean; damagedRanges: number;
   *   damagedBytes: number; repairedQueues: number }
   */
  storeRecovered: 'petrelmq:store:recovered',
  /**
   * { full: boolean; diskFull: boolean; logicFull: boolean; dispatchHeld?: 'consumequeue' | 'index';
   *   usedRatio: number; path: string; folders: string[]; freeBytes: number; threshold: number;
   *   reason?: string }: the store's disk-full flag was set (with the reason ERR_DISK_FULL gives)
   * or cleared; path and folders are the fullest filesystem's (storage/DiskSpaceGuard.ts, main
   * thread)
   */
  storeDiskSpace: 'petrelmq:store:diskSpace',
  /** SlaveSyncResult: a slave copied its master's topics, offsets, delay offsets and groups (main thread) */
  slaveSynced: 'petrelmq:slave:synced',
  /**
   * { where: 'recovery'; file: 'commitlog'; from: number; to: number; bytes: number; kept: boolean }:
   * a damaged CommitLog stretch (kept: the records after it were kept), published by recovery on
   * the thread that opens the store. Reads on worker threads log at error instead ('a pull skipped
   * damaged CommitLog records', 'a look-up found a damaged CommitLog record'), and count what they
   * find for the petrelmq_store_corrupt_* metrics (storage/DamageTally.ts).
   */
  storeCorrupt: 'petrelmq:store:corrupt',
  /** { level: 'debug' | 'info' | 'warn' | 'error'; msg: string; [k: string]: unknown } */
  log: 'petrelmq:log',
} as const;

export type ChannelName = (typeof CHANNELS)[keyof typeof CHANNELS];

export function channel(name: ChannelName): diagnostics.Channel {
  return diagnostics.channel(name);
}

/** Publish a log record; costs nothing when nobody listens (embedded default). */
export function log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void {
  const ch = diagnostics.channel(CHANNELS.log);
  if (ch.hasSubscribers) ch.publish({ level, msg, ...fields });
}
