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
import { parseDelayLevels } from '../storage/DelayLevels.js';
import { parseStoreConfig, storeConfigShape, type MessageStoreConfig } from '../storage/StoreConfig.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);

/**
 * The store's keys as a broker.conf sets them: all of storage/StoreConfig.ts but the two the
 * broker derives (storeHost is brokerIP1:listenPort; a topic without a config may use 1024 queue ids).
 */
const { storeHost: _storeHost, topicQueueIdLimit: _queueIdLimit, ...storeKeys } = storeConfigShape;
const STORE_KEYS = Object.keys(storeKeys) as (keyof typeof storeKeys)[];

const schema = z
  .object({
    ...storeKeys,
    /** Name of the broker group (master and slaves share it). */
    brokerName: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/).default('broker-a'),
    brokerClusterName: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/).default('DefaultCluster'),
    /** 0 is the master; >= 1 a slave. */
    brokerId: int(0, 1024).default(0),
    brokerRole: z.enum(['ASYNC_MASTER', 'SYNC_MASTER', 'SLAVE']).default('ASYNC_MASTER'),
    /** SYNC_MASTER: a send whose slave ack takes longer returns FLUSH_SLAVE_TIMEOUT, ms. */
    slaveTimeout: int(1).default(3_000),
    /** Queue count of auto-created topics. */
    defaultTopicQueueNums: int(1, 1024).default(8),
    autoCreateTopicEnable: z.boolean().default(true),
    /** SQL92 subscriptions are refused unless this is on. */
    enablePropertyFilter: z.boolean().default(false),
    /** Compute per-message bloom bits for SQL92 groups at dispatch (needs the CQ extension). */
    enableCalcFilterBitMap: z.boolean().default(false),
    enableConsumeQueueExt: z.boolean().default(false),
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
     * Slave: how often it copies its master's topics, consumer offsets, delay offsets and
     * subscription groups, ms (RocketMQ's SlaveSynchronize runs every 10 s). It also copies them
     * as soon as it learns its master's address.
     */
    slaveSynchronizeInterval: int(10).default(10_000),
    /** Broker -> name server registration period, ms (RocketMQ clamps to 10-60 s). */
    registerNameServerPeriod: int(100).default(30_000),
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
  const given: Record<string, unknown> = {};
  for (const key of STORE_KEYS) given[key] = c[key];
  return parseStoreConfig({ ...given, storeHost: `${c.brokerIP1}:${c.listenPort}`, topicQueueIdLimit: 1024 });
}
