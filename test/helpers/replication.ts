/** Masters, slaves and CommitLog comparisons for the replication tests (real threads, files, sockets). */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { Broker } from '../../actors/Broker.js';
import type { MessageExt, SendResult } from '../../api/BrokerApi.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import { Position } from '../../actors/BrokerPositions.js';
import { tempDir } from './tmp.js';
import { until } from './broker.js';
import { remotingNetwork } from '../../protocol/remoting/brokerNetwork.js';

/** Small files, so that a few hundred messages roll several of them (blank records included). */
export const SMALL_FILES: BrokerConfigInput = { mappedFileSizeCommitLog: 64 * 1024, mappedFileSizeConsumeQueue: 20 * 1000 };

/** Starts a broker whose shutdown is part of the test's teardown (calling it earlier is fine). */
export async function startNode(t: ExecutionContext, config: BrokerConfigInput): Promise<Broker> {
  const broker = await Broker.start({ ...SMALL_FILES, storePathRootDir: tempDir(t), ...config }, { network: remotingNetwork });
  t.teardown(() => broker.shutdown());
  return broker;
}

/** A master listening for slaves on a free port of 127.0.0.1. */
export function startMaster(t: ExecutionContext, config: BrokerConfigInput = {}): Promise<Broker> {
  return startNode(t, { brokerRole: 'ASYNC_MASTER', haListenPort: 0, ...config });
}

/** A slave of `master`, in this process, with a store of its own. */
export function startSlave(t: ExecutionContext, master: Broker, config: BrokerConfigInput = {}): Promise<Broker> {
  return startNode(t, { brokerRole: 'SLAVE', brokerId: 1, haMasterAddress: master.haAddress ?? '', ...config });
}

export function waitConnected(master: Broker, n = 1, timeoutMs = 10_000): Promise<void> {
  return until(() => master.positions.get(Position.SLAVE_CONNECTED) >= n, timeoutMs, `${n} slave(s) connected`);
}

/** Resolves once the slave's CommitLog ends where the master's does. */
export function waitCaughtUp(master: Broker, slave: Broker, timeoutMs = 10_000): Promise<void> {
  return until(() => slave.positions.get(Position.WROTE) === master.positions.get(Position.WROTE), timeoutMs, 'the slave to catch up');
}

const enc = new TextEncoder();

/** Resolves once every broker has dispatched its whole CommitLog (ConsumeQueues complete). */
export function waitDispatched(...brokers: Broker[]): Promise<void> {
  return until(() => brokers.every((b) => b.positions.get(Position.DISPATCHED) === b.positions.get(Position.WROTE)), 10_000, 'dispatch');
}

/** `count` messages of about `size` bytes over `queues` queues of `topic`, `prefix` in each body. */
export async function sendMany(broker: Broker, topic: string, count: number, prefix: string, queues = 4, size = 200): Promise<SendResult[]> {
  await broker.createTopic({ topic, readQueueNums: queues, writeQueueNums: queues });
  const out: SendResult[] = [];
  for (let i = 0; i < count; i += 16) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 16); j++) {
      batch.push(broker.send([{ topic, body: enc.encode(`${prefix}-${j}-`.padEnd(size + (j % 37), 'x')), tags: `T${j % 3}`, keys: [`${prefix}-k${j}`] }], j % queues));
    }
    for (const r of await Promise.all(batch)) out.push(...r);
  }
  return out;
}

/** Every message of one queue from offset 0, read through the broker's ConsumeQueue. */
export async function pullAll(broker: Broker, topic: string, queueId: number): Promise<MessageExt[]> {
  const out: MessageExt[] = [];
  let offset = 0;
  for (;;) {
    const r = await broker.pull({ group: 'replication-test', topic, queueId, offset, maxMsgNums: 32 });
    if (r.status !== 'FOUND') return out;
    out.push(...r.messages);
    offset = r.nextBeginOffset;
  }
}

/** The bytes of the CommitLog folder of `broker` in [from, to), read from the files. */
export function commitLogBytes(broker: Broker, from: number, to: number): Buffer {
  return commitLogBytesIn(broker.config.storePathRootDir, broker.config.mappedFileSizeCommitLog, from, to);
}

/** The same for a store folder of a broker in another process. */
export function commitLogBytesIn(storeRoot: string, size: number, from: number, to: number): Buffer {
  const dir = path.join(storeRoot, 'commitlog');
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir).sort()) {
    const start = Number(name);
    const lo = Math.max(from, start);
    const hi = Math.min(to, start + size);
    if (lo >= hi) continue;
    parts.push(readFileSync(path.join(dir, name)).subarray(lo - start, hi - start));
  }
  return Buffer.concat(parts);
}

/** First CommitLog offset the broker stores (its oldest file's name). */
export function firstFileOffset(broker: Broker): number {
  const names = readdirSync(path.join(broker.config.storePathRootDir, 'commitlog')).sort();
  return names.length === 0 ? 0 : Number(names[0]);
}
