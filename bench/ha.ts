/**
 * `npm run bench -- ha [--count N] [--concurrency N] [--size BYTES] [--in-process]`
 *
 * Replication cost on 127.0.0.1: one master in this process and one slave in a child process
 * (test/helpers/brokerProcess.js; `--in-process` runs it on this process's thread pool instead).
 * `--concurrency` senders (256) each send one `--size`-byte message (100) at a time until `--count`
 * messages (100,000) are sent, to 8 queues of one topic, ASYNC_FLUSH on both ends. Rows:
 *
 * - ASYNC_MASTER, no slave: the baseline, the send path alone.
 * - ASYNC_MASTER + slave: replication running beside the send path, sends do not wait for it.
 * - SYNC_MASTER + slave: every send waits for the slave's ack (RocketMQ 4 rule).
 *
 * Figures: msgs/s over the timed run, send latency p50/p99 (from the call to the result), the
 * statuses seen, replication lag in bytes (master's `wrote` minus the slave's ack, sampled every
 * 5 ms during the run: p50/p99/max) and in ms (from the master seeing bytes written to the slave
 * acknowledging them, p50/p99), and how long the slave took to hold everything once the run ended.
 * The goal printed last: SYNC_MASTER keeps at least 50% of ASYNC_MASTER's throughput.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker } from '../actors/Broker.js';
import type { BrokerConfigInput } from '../actors/BrokerConfig.js';
import { Position } from '../actors/BrokerPositions.js';
import { startChildBroker, type ChildBroker } from '../test/helpers/childBroker.js';
import { fmt, Latency, parseFlag, table, throughput } from './lib/report.js';

const TOPIC = 'BenchHa';
const QUEUES = 8;

interface Row {
  readonly name: string;
  readonly msgsPerSec: number;
  readonly latency: Latency;
  readonly statuses: Map<string, number>;
  readonly lagBytes: Latency | undefined;
  readonly lagMs: { p50: number; p99: number } | undefined;
  readonly drainMs: number | undefined;
}

interface Slave {
  wrote(): Promise<number>;
  stop(): Promise<void>;
}

function tmp(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `petrelmq-bench-ha-${tag}-`));
}

const storeConfig: BrokerConfigInput = { mappedFileSizeCommitLog: 256 * 1024 * 1024, flushDiskType: 'ASYNC_FLUSH' };

async function startSlave(masterHa: string, dir: string, inProcess: boolean): Promise<Slave> {
  const config: BrokerConfigInput = { ...storeConfig, storePathRootDir: dir, brokerRole: 'SLAVE', brokerId: 1, haMasterAddress: masterHa };
  if (inProcess) {
    const b = await Broker.start(config);
    return { wrote: () => Promise.resolve(b.positions.get(Position.WROTE)), stop: () => b.shutdown() };
  }
  const child: ChildBroker = await startChildBroker(config);
  return {
    wrote: async () => Number((await child.command('stats'))['wrote']),
    stop: () => child.stop(),
  };
}

async function sendLoop(master: Broker, count: number, concurrency: number, body: Uint8Array, latency: Latency | undefined, statuses: Map<string, number>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      const [r] = await master.send([{ topic: TOPIC, body }], i % QUEUES);
      latency?.recordMs(performance.now() - t0);
      const s = r?.sendStatus ?? 'NONE';
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function runOne(name: string, role: 'ASYNC_MASTER' | 'SYNC_MASTER', withSlave: boolean, o: { count: number; concurrency: number; size: number; inProcess: boolean }): Promise<Row> {
  const masterDir = tmp('master');
  const slaveDir = tmp('slave');
  const master = await Broker.start({ ...storeConfig, storePathRootDir: masterDir, brokerRole: role, haListenPort: 0, slaveTimeout: 3000 });
  let slave: Slave | undefined;
  try {
    if (withSlave) {
      slave = await startSlave(master.haAddress ?? '', slaveDir, o.inProcess);
      const deadline = performance.now() + 20_000;
      while (master.positions.get(Position.SLAVE_CONNECTED) < 1) {
        if (performance.now() > deadline) throw new Error('the slave did not connect');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    await master.createTopic({ topic: TOPIC, readQueueNums: QUEUES, writeQueueNums: QUEUES });
    const body = new Uint8Array(o.size).fill(0x61);
    // Warm-up: files mapped and faulted on both ends, JIT warm.
    await sendLoop(master, Math.min(20_000, o.count), o.concurrency, body, undefined, new Map());
    await master.resetReplicationLag();

    const latency = new Latency();
    const statuses = new Map<string, number>();
    const lagBytes = withSlave ? new Latency() : undefined;
    const sampler = setInterval(() => {
      const p = master.positions;
      // The histogram takes values >= 1: a lag of n bytes is recorded as n + 1.
      lagBytes?.recordNs(1 + Math.max(0, p.get(Position.WROTE) - p.get(Position.SLAVE_LIVE_ACK)));
    }, 5);
    const t0 = performance.now();
    await sendLoop(master, o.count, o.concurrency, body, latency, statuses);
    const elapsed = performance.now() - t0;
    clearInterval(sampler);

    let lagMs: Row['lagMs'];
    let drainMs: number | undefined;
    if (slave !== undefined) {
      const end = master.positions.get(Position.WROTE);
      const d0 = performance.now();
      while ((await slave.wrote()) < end) await new Promise((r) => setTimeout(r, 1));
      drainMs = performance.now() - d0;
      const stats = await master.replicationStats();
      if (stats?.role === 'master') lagMs = { p50: stats.lagMs.p50, p99: stats.lagMs.p99 };
    }
    return { name, msgsPerSec: throughput(o.count, o.count * o.size, elapsed).msgsPerSec, latency, statuses, lagBytes, lagMs, drainMs };
  } finally {
    await slave?.stop();
    await master.shutdown();
    fs.rmSync(masterDir, { recursive: true, force: true });
    fs.rmSync(slaveDir, { recursive: true, force: true });
  }
}

export async function main(args: string[]): Promise<void> {
  const o = {
    count: parseFlag(args, 'count', 100_000),
    concurrency: parseFlag(args, 'concurrency', 256),
    size: parseFlag(args, 'size', 100),
    inProcess: args.includes('--in-process'),
  };
  console.log(
    `ha bench: ${o.count} sends of ${o.size} B, ${o.concurrency} concurrent, ${QUEUES} queues, ASYNC_FLUSH; ` +
      `master in this process, slave ${o.inProcess ? 'in this process (own worker threads)' : 'in a child process'}, 127.0.0.1; ${os.cpus().length} CPUs`,
  );
  const rows: Row[] = [];
  rows.push(await runOne('ASYNC_MASTER, no slave (baseline)', 'ASYNC_MASTER', false, o));
  rows.push(await runOne('ASYNC_MASTER + slave', 'ASYNC_MASTER', true, o));
  rows.push(await runOne('SYNC_MASTER + slave', 'SYNC_MASTER', true, o));
  const ms = (us: number): string => fmt(us / 1000, 2);
  const lag = (h: Latency | undefined, p: number): string => (h === undefined ? '-' : fmt(h.percentileUs(p) * 1000 - 1, 0));
  table(
    ['mode', 'msgs/s', 'send p50 ms', 'send p99 ms', 'statuses', 'lag B p50', 'lag B p99', 'lag B max', 'lag ms p50', 'lag ms p99', 'catch-up ms'],
    rows.map((r) => [
      r.name,
      fmt(r.msgsPerSec),
      ms(r.latency.percentileUs(50)),
      ms(r.latency.percentileUs(99)),
      [...r.statuses].map(([s, n]) => `${s}:${n}`).join(' '),
      lag(r.lagBytes, 50),
      lag(r.lagBytes, 99),
      lag(r.lagBytes, 100),
      r.lagMs === undefined ? '-' : fmt(r.lagMs.p50, 2),
      r.lagMs === undefined ? '-' : fmt(r.lagMs.p99, 2),
      r.drainMs === undefined ? '-' : fmt(r.drainMs, 1),
    ]),
  );
  const asyncRow = rows[1];
  const syncRow = rows[2];
  if (asyncRow !== undefined && syncRow !== undefined) {
    const ratio = syncRow.msgsPerSec / asyncRow.msgsPerSec;
    console.log(`SYNC_MASTER / ASYNC_MASTER (both with a slave): ${(100 * ratio).toFixed(0)}% of the throughput (goal >= 50%: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
  }
}
