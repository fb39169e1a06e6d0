/**
 * Broker configuration with RocketMQ's broker.conf names and defaults. A config comes from an
 * object or from a broker.conf file (Java properties); unknown keys and bad values are refused
 * with ERR_CONFIG_INVALID naming the key. Parsed once on the main thread; actors receive the
 * plain, validated object.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { PetrelError } from '../common/errors.js';
import { DEFAULT_DELAY_LEVELS, parseDelayLevels } from '../storage/DelayLevels.js';
import { parseStoreConfig, type MessageStoreConfig } from '../storage/StoreConfig.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);

const schema = z
  .object({
    /** Name of the broker group (master and slaves share it). */
    brokerName: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/).default('broker-a'),
    brokerClusterName: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/).default('DefaultCluster'),
    /** 0 is the master; >= 1 a slave. */
    brokerId: int(0, 1024).default(0),
    brokerRole: z.enum(['ASYNC_MASTER', 'SYNC_MASTER', 'SLAVE']).default('ASYNC_MASTER'),
    flushDiskType: z.enum(['ASYNC_FLUSH', 'SYNC_FLUSH']).default('ASYNC_FLUSH'),
    /** Store root; RocketMQ's default is ~/store, petrelmq's is ./petrelmq-data. */
    storePathRootDir: z.string().min(1).default(path.resolve('petrelmq-data')),
    /** CommitLog file size: 1 GiB. Small values (>= 4 KiB) are for tests. */
    mappedFileSizeCommitLog: int(4096, 2 ** 31 - 1).default(1024 * 1024 * 1024),
    /** ConsumeQueue file size: 300,000 units of 20 bytes. */
    mappedFileSizeConsumeQueue: int(20 * 10, 2 ** 31 - 1).default(300_000 * 20),
    maxHashSlotNum: int(1, 50_000_000).default(5_000_000),
    maxIndexNum: int(1, 100_000_000).default(20_000_000),
    /** Async flush period, ms. */
    flushIntervalCommitLog: int(1).default(500),
    /** Dirty 4 KiB pages needed before an async flush. */
    flushCommitLogLeastPages: int(0).default(4),
    /** A full flush happens at least this often, ms. */
    flushCommitLogThoroughInterval: int(1).default(10_000),
    /** SYNC_FLUSH: a send whose flush takes longer returns FLUSH_DISK_TIMEOUT, ms. */
    syncFlushTimeout: int(1).default(5_000),
    /** SYNC_MASTER: a send whose slave ack takes longer returns FLUSH_SLAVE_TIMEOUT, ms. */
    slaveTimeout: int(1).default(3_000),
    /** Largest message body, bytes: 4 MiB. */
    maxMessageSize: int(1, 64 * 1024 * 1024).default(4 * 1024 * 1024),
    /** Queue count of auto-created topics. */
    defaultTopicQueueNums: int(1, 1024).default(8),
    autoCreateTopicEnable: z.boolean().default(true),
    /** Hours a CommitLog file is kept after its last write. */
    fileReservedTime: int(0).default(72),
    /** Clean-up period, ms: the store's disk use is measured this often (cleanResourceInterval). */
    cleanResourceInterval: int(1).default(10_000),
    /**
     * Percent of the store's filesystem (root, CommitLog folder) used at which the broker marks
     * its disk full and refuses sends with ERR_DISK_FULL (retriable) until space is freed.
     */
    diskSpaceWarningLevelRatio: int(1, 100).default(90),
    /** SQL92 subscriptions are refused unless this is on. */
    enablePropertyFilter: z.boolean().default(false),
    /** Compute per-message bloom bits for SQL92 groups at dispatch (needs the CQ extension). */
    enableCalcFilterBitMap: z.boolean().default(false),
    enableConsumeQueueExt: z.boolean().default(false),
    /** Delay levels, RocketMQ's syntax: "1s 5s 10s 30s 1m ... 2h" (ms also accepted). */
    messageDelayLevel: z.string().default(DEFAULT_DELAY_LEVELS),
    /** Consumer offsets are persisted this often, ms. */
    flushConsumerOffsetInterval: int(10).default(5_000),
    /** How long a pull with nothing new is held, ms. */
    longPollingTimeout: int(0).default(15_000),
    /** Writer ring size in bytes (producers encode into it). */
    writerRingBytes: int(64 * 1024, 1024 * 1024 * 1024).default(16 * 1024 * 1024),
    /** Name server addresses, "host:port;host:port". */
    namesrvAddr: z.string().default(''),
    /** Address this broker advertises (RocketMQ brokerIP1). */
    brokerIP1: z.string().default('127.0.0.1'),
    listenPort: int(0, 65535).default(10911),
    /** Master: port slaves connect to. 0 picks a free port. */
    haListenPort: int(0, 65535).default(10912),
    /** Slave: the master's HA address, host:port. */
    haMasterAddress: z.string().default(''),
    /** A slave this far behind (bytes) is not in sync: SLAVE_NOT_AVAILABLE. 256 MiB. */
    haMaxGapNotInSync: int(0).default(256 * 1024 * 1024),
    /** Largest CommitLog chunk in one replication frame: 32 KiB. */
    haTransferBatchSize: int(1024, 64 * 1024 * 1024).default(32 * 1024),
    haHeartbeatInterval: int(10).default(5_000),
    haHousekeepingInterval: int(100).default(20_000),
    /**
     * Share of RAM, percent (0..100), of the CommitLog tail counted as hot. A pull that leaves more
     * than this unread behind the CommitLog end is answered with suggestPullingFromSlave, and a
     * cluster client then reads that queue from a slave of the group. The distance is measured, as
     * in RocketMQ, from the start of the last message the pull read, so 0 makes every pull that
     * returns messages suggest the slave (tests); a consumer at the end of its queue is never sent.
     */
    accessMessageInMemoryMaxRatio: int(0, 100).default(40),
    /**
     * Slave: how often it copies its master's topics, consumer offsets, delay offsets and
     * subscription groups, ms (RocketMQ's SlaveSynchronize runs every 10 s). It also copies them
     * as soon as it learns its master's address.
     */
    slaveSynchronizeInterval: int(10).default(10_000),
    /** Broker -> name server registration period, ms (RocketMQ clamps to 10-60 s). */
    registerNameServerPeriod: int(100).default(30_000),
    /**
     * petrelmq: how the writer puts records into the CommitLog. 'write' (default): one positioned
     * write per batch into the file, readers still map it (as RocketMQ does with
     * transientStorePoolEnable); 'mmap': copied into the writer's own mapping, page by page.
     */
    commitLogWriteMode: z.enum(['write', 'mmap']).default('write'),
  })
  .strict();

export type BrokerConfig = z.infer<typeof schema>;
export type BrokerConfigInput = z.input<typeof schema>;

const KEYS = Object.keys(schema.shape) as (keyof BrokerConfig)[];

function invalid(key: string, why: string): PetrelError {
  return new PetrelError('ERR_CONFIG_INVALID', `broker config ${key}: ${why}`);
}

/** Validates an object of broker settings; missing keys take RocketMQ's defaults. */
export function parseBrokerConfig(input: unknown): BrokerConfig {
  if (input === undefined) input = {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new PetrelError('ERR_CONFIG_INVALID', 'broker config must be an object');
  }
  for (const key of Object.keys(input)) {
    if (!(KEYS as string[]).includes(key)) throw invalid(key, 'unknown key');
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue?.path.map(String).join('.') ?? '?';
    throw invalid(key, issue?.message ?? 'invalid value');
  }
  const cfg = result.data;
  try {
    parseDelayLevels(cfg.messageDelayLevel);
  } catch (err) {
    throw invalid('messageDelayLevel', (err as Error).message);
  }
  if (cfg.brokerRole === 'SLAVE' && cfg.brokerId === 0) throw invalid('brokerId', 'a SLAVE needs brokerId >= 1');
  if (cfg.brokerRole !== 'SLAVE' && cfg.brokerId !== 0) throw invalid('brokerId', 'a master has brokerId 0');
  return cfg;
}

/** Reads a broker.conf (Java properties: key=value or key: value, # and ! comments). */
export function readBrokerConf(file: string): BrokerConfig {
  return parseBrokerConfig(readBrokerConfInput(file));
}

/**
 * The settings a broker.conf names, checked like readBrokerConf but without the defaults filled
 * in: a caller that merges flags over it, or Broker.start, can still tell a key the file sets
 * (haListenPort opens an ASYNC_MASTER's HA port) from a default.
 */
export function readBrokerConfInput(file: string): BrokerConfigInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PetrelError('ERR_CONFIG_INVALID', `cannot read broker config ${file}: ${(err as Error).message}`);
  }
  const given = propertiesToConfig(text);
  parseBrokerConfig(given);
  return given as BrokerConfigInput;
}

/** Converts properties text into typed values, using each key's declared type. */
export function propertiesToConfig(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const m = /^([^=:\s]+)\s*[=:]?\s*(.*)$/.exec(line);
    if (!m || m[1] === undefined) throw new PetrelError('ERR_CONFIG_INVALID', `broker config line ${i + 1}: cannot parse "${line}"`);
    const key = m[1];
    const value = (m[2] ?? '').trim();
    if (!(KEYS as string[]).includes(key)) throw invalid(key, `unknown key (line ${i + 1})`);
    out[key] = convert(key as keyof BrokerConfig, value);
  });
  return out;
}

function convert(key: keyof BrokerConfig, value: string): unknown {
  const field = schema.shape[key];
  const def: unknown = field.parse(undefined);
  if (typeof def === 'number') {
    if (!/^-?\d+$/.test(value)) throw invalid(key, `"${value}" is not an integer`);
    return Number(value);
  }
  if (typeof def === 'boolean') {
    if (value !== 'true' && value !== 'false') throw invalid(key, `"${value}" is not true or false`);
    return value === 'true';
  }
  if (key === 'storePathRootDir' && value.startsWith('~')) return path.join(os.homedir(), value.slice(1));
  return value;
}

/** The store's part of a broker config, validated by storage/StoreConfig.ts. */
export function storeConfigOf(c: BrokerConfig): MessageStoreConfig {
  return parseStoreConfig({
    storePathRootDir: c.storePathRootDir,
    mappedFileSizeCommitLog: c.mappedFileSizeCommitLog,
    mappedFileSizeConsumeQueue: c.mappedFileSizeConsumeQueue,
    maxHashSlotNum: c.maxHashSlotNum,
    maxIndexNum: c.maxIndexNum,
    maxMessageSize: c.maxMessageSize,
    fileReservedTime: c.fileReservedTime,
    cleanResourceInterval: c.cleanResourceInterval,
    diskSpaceWarningLevelRatio: c.diskSpaceWarningLevelRatio,
    flushDiskType: c.flushDiskType,
    flushIntervalCommitLog: c.flushIntervalCommitLog,
    flushCommitLogLeastPages: c.flushCommitLogLeastPages,
    flushCommitLogThoroughInterval: c.flushCommitLogThoroughInterval,
    syncFlushTimeout: c.syncFlushTimeout,
    messageDelayLevel: c.messageDelayLevel,
    storeHost: `${c.brokerIP1}:${c.listenPort}`,
    accessMessageInMemoryMaxRatio: c.accessMessageInMemoryMaxRatio,
    commitLogWriteMode: c.commitLogWriteMode,
    defaultTopicQueueNums: 1024,
  });
}
