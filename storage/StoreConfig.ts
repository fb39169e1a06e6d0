/**
 * The store part of the broker configuration, with RocketMQ's names and defaults
 * (MessageStoreConfig; ROCKETMQ.md 0, 5.1, 5.5). Every key can be set small for tests. Unknown
 * keys and bad values are refused with ERR_CONFIG_INVALID naming the key. Each store key is
 * declared here only: the broker's schema (actors/BrokerConfig.ts) is this shape and its own keys.
 */
import path from 'node:path';
import { z } from 'zod';
import { PetrelError } from '../common/errors.js';
import { DEFAULT_DELAY_LEVELS, parseDelayLevels } from './DelayLevels.js';
import { parseSocketAddress } from './MessageId.js';
import { commitLogDir } from './StorePaths.js';

const INT_MAX = 0x7fffffff;
const GiB = 1024 * 1024 * 1024;
const int = (min: number, max: number, def: number) => z.number().int().min(min).max(max).default(def);
const bool = (def: boolean) => z.boolean().default(def);

/** The store's keys, each with its type, limits and default. */
export const storeConfigShape = {
  /** Root of the store folder: ./petrelmq-data (RocketMQ's default is ~/store; a leading ~ is the home folder). */
  storePathRootDir: z.string().min(1).default(path.resolve('petrelmq-data')),
  /** CommitLog folder; '' means <storePathRootDir>/commitlog. */
  storePathCommitLog: z.string().default(''),
  /** Size of one CommitLog file: 1 GiB. At most a Java int. */
  mappedFileSizeCommitLog: int(1024, INT_MAX, GiB),
  /** Size of one ConsumeQueue file: 300,000 units of 20 bytes. A multiple of 20. */
  mappedFileSizeConsumeQueue: int(20, INT_MAX, 300_000 * 20),
  /** Hash slots of one IndexFile. */
  maxHashSlotNum: int(1, 50_000_000, 5_000_000),
  /** Entries of one IndexFile. */
  maxIndexNum: int(2, 100_000_000, 20_000_000),
  /** Largest message body, bytes: 4 MiB. At most 64 MiB. */
  maxMessageSize: int(1, 64 * 1024 * 1024, 4 * 1024 * 1024),
  /** Hours a CommitLog file is kept after its last write: 72. */
  fileReservedTime: z.number().min(0).default(72),
  /** Files deleted per clean-up pass at most. */
  deleteFileBatchMax: int(1, 1000, 10),
  /** Clean-up pass period, ms (cleanResourceInterval); the disk-full flag is measured as often. */
  cleanResourceInterval: int(1, INT_MAX, 10_000),
  /**
   * diskSpaceWarningLevelRatio: percent used, of any filesystem holding the root, the CommitLog,
   * consumequeue/ or index/, at which the store is marked full (RocketMQ's DISK_FULL and
   * LOGIC_DISK_FULL running flags) and refuses writes with ERR_DISK_FULL until it is below again.
   */
  diskSpaceWarningLevelRatio: int(1, 100, 90),
  /** Hour of the day when expired files are deleted (deleteWhen, "04"); several as "04;16". */
  deleteWhen: z.string().regex(/^\d{1,2}(;\d{1,2})*$/).default('04'),
  /** ASYNC_FLUSH (default) or SYNC_FLUSH. */
  flushDiskType: z.enum(['ASYNC_FLUSH', 'SYNC_FLUSH']).default('ASYNC_FLUSH'),
  /** Async CommitLog flush period, ms. */
  flushIntervalCommitLog: int(1, INT_MAX, 500),
  /** Dirty 4 KiB pages needed before an async CommitLog flush. */
  flushCommitLogLeastPages: int(0, INT_MAX, 4),
  /** An async CommitLog flush ignores leastPages at least this often, ms. */
  flushCommitLogThoroughInterval: int(0, INT_MAX, 10_000),
  /** ConsumeQueue flush period, ms. */
  flushIntervalConsumeQueue: int(1, INT_MAX, 1000),
  /** Dirty pages needed before a ConsumeQueue flush. */
  flushConsumeQueueLeastPages: int(0, INT_MAX, 2),
  /** A ConsumeQueue flush ignores leastPages at least this often, ms. */
  flushConsumeQueueThoroughInterval: int(0, INT_MAX, 60_000),
  /** Sync-flush deadline, ms. */
  syncFlushTimeout: int(1, INT_MAX, 5000),
  /** Verify body CRCs when recovering. */
  checkCRCOnRecover: bool(true),
  /** Append the whole-record CRC entry to every record's properties. */
  enabledAppendPropCRC: bool(false),
  /** Recovery refuses records without a valid whole-record CRC entry. */
  forceVerifyPropCRC: bool(false),
  /** Build IndexFiles (query by key and unique id). */
  messageIndexEnable: bool(true),
  /** Most offsets one key query returns (maxMsgsNumBatch). */
  maxMsgsNumBatch: int(1, 10_000, 64),
  /** Pull batch limits for data still in memory ("hot") and on disk ("cold"). */
  maxTransferBytesOnMessageInMemory: int(1, INT_MAX, 256 * 1024),
  maxTransferCountOnMessageInMemory: int(1, INT_MAX, 32),
  maxTransferBytesOnMessageInDisk: int(1, INT_MAX, 64 * 1024),
  maxTransferCountOnMessageInDisk: int(1, INT_MAX, 8),
  /**
   * Share of RAM, percent (0..100), of the CommitLog tail counted as hot: a pull's batch limits are
   * the in-memory ones there. A pull that leaves more than this unread behind the CommitLog end is
   * answered with suggestPullingFromSlave, and a cluster client then reads that queue from a slave
   * of the group. The distance is measured, as in RocketMQ, from the start of the last message the
   * pull read, so 0 makes every pull that returns messages suggest the slave (tests); a consumer at
   * the end of its queue is never sent.
   */
  accessMessageInMemoryMaxRatio: int(0, 100, 40),
  /** Delay levels of SCHEDULE_TOPIC_XXXX, level 1 first. */
  messageDelayLevel: z.string().default(DEFAULT_DELAY_LEVELS),
  /**
   * RocketMQ's warmMapedFileEnable: CommitLog files made ahead of need (preallocateNextFile, the
   * writer's idle time) are pre-faulted through the writer's mapping. Files made inline on a roll
   * are not: in the same thread that costs what it saves.
   */
  warmMapedFileEnable: bool(false),
  /** This broker's address as stored in records and offset message ids. */
  storeHost: z.string().default('127.0.0.1:10911'),
  /** petrelmq: queue ids (0..n-1) a topic without a config may use (the broker passes 1024). */
  topicQueueIdLimit: int(1, 65_536, 1024),
  /** petrelmq: 'mmap' (default) or 'fs' (positioned reads and writes, no mapping). */
  mappedFileBackend: z.enum(['mmap', 'fs']).default('mmap'),
  /**
   * petrelmq: how the broker's WriterActor puts records into the CommitLog: 'write' (default),
   * the records of a batch in one positioned write, so no page of the file is faulted into a
   * mapping on the write path (the page cache makes them visible to every reader's mapping at
   * once); or 'mmap', copied through the writer's own mapping of mappedFileBackend.
   */
  commitLogWriteMode: z.enum(['write', 'mmap']).default('write'),
  /** petrelmq: how flushes reach the disk: 'fdatasync' (default) or 'msync'. */
  flushSyncMethod: z.enum(['fdatasync', 'msync']).default('fdatasync'),
};

const schema = z.strictObject(storeConfigShape);

export type MessageStoreConfig = z.output<typeof schema>;
export type MessageStoreConfigInput = Partial<MessageStoreConfig>;

/** Parses untrusted config into a full, validated MessageStoreConfig (defaults filled in). */
export function parseStoreConfig(input: unknown): MessageStoreConfig {
  const result = schema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue?.path.join('.');
    throw new PetrelError('ERR_CONFIG_INVALID', `store config ${key ?? '?'}: ${issue?.message ?? 'invalid'}`);
  }
  const c = result.data;
  const bad = (key: string, why: string): never => {
    throw new PetrelError('ERR_CONFIG_INVALID', `store config ${key}: ${why}`);
  };
  if (c.mappedFileSizeConsumeQueue % 20 !== 0) bad('mappedFileSizeConsumeQueue', 'must be a multiple of 20 (the unit size)');
  try {
    parseDelayLevels(c.messageDelayLevel);
  } catch (err) {
    bad('messageDelayLevel', (err as Error).message);
  }
  try {
    parseSocketAddress(c.storeHost);
  } catch {
    bad('storeHost', 'must be ip:port');
  }
  const indexSize = 40 + c.maxHashSlotNum * 4 + c.maxIndexNum * 20;
  if (indexSize > INT_MAX) bad('maxIndexNum', `an IndexFile of ${indexSize} bytes exceeds 2 GiB`);
  return c;
}

/** The CommitLog folder: storePathCommitLog, or <storePathRootDir>/commitlog. */
export function commitLogPath(config: MessageStoreConfig): string {
  return config.storePathCommitLog === '' ? commitLogDir(config.storePathRootDir) : config.storePathCommitLog;
}
