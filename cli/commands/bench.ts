/**
 * `petrelmq bench produce|consume`: load against an embedded broker (a fresh temporary store,
 * removed afterwards) or a running one (--broker host:port, over the remoting transport).
 *
 * produce: --concurrency tasks share --messages sends of --size-byte bodies through one Producer;
 *          latency is each send's round trip.
 * consume: a PushConsumer of a new group is started first, then the same sends run; latency is
 *          end to end, from the send to the listener (the send time travels in the body), and
 *          throughput counts the first delivery of each message until the last one arrives.
 * A progress bar runs on stderr when it is a terminal (never with --json); the summary goes to
 * stdout: msgs/s, MB/s (payload bytes, MB = 10^6) and latency p50/p99/p999 from bench/lib/report.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SingleBar } from 'cli-progress';
import { Option, type Command } from 'commander';
import type { Broker } from '../../actors/Broker.js';
import type { BrokerApi, MessageExt } from '../../api/BrokerApi.js';
import { Latency, fmt, throughput } from '../../bench/lib/report.js';
import type { Producer } from '../../client/Producer.js';
import type { PushConsumer } from '../../client/PushConsumer.js';
import { PetrelError } from '../../common/errors.js';
import { parseHostPort, parseIntAtLeast, parseLogLevel, type LogLevel } from '../args.js';
import { printJson, printLine } from '../output.js';
import { connectBroker } from '../remoting.js';

// The broker, the clients and the progress bar are loaded when a bench runs, not for --help.
const lib = async () => {
  const [{ Broker }, { Producer }, { PushConsumer }, { default: cliProgress }, { startLogging }] = await Promise.all([
    import('../../actors/Broker.js'),
    import('../../client/Producer.js'),
    import('../../client/PushConsumer.js'),
    import('cli-progress'),
    import('../logging.js'),
  ]);
  return { Broker, Producer, PushConsumer, cliProgress, startLogging };
};
type Lib = Awaited<ReturnType<typeof lib>>;

interface BenchOptions {
  readonly messages: number;
  readonly size: number;
  readonly concurrency: number;
  readonly topic: string;
  readonly queues: number;
  readonly broker?: string;
  readonly store?: string;
  readonly flush: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  readonly timeout: number;
  readonly progress: boolean;
  readonly logLevel: LogLevel;
  readonly json?: boolean;
}

type Mode = 'produce' | 'consume';

/** Body header of consume runs: send time (float64 ms), run id (uint32), sequence (uint32). */
const HEADER_BYTES = 16;

interface Target {
  readonly api: BrokerApi;
  readonly label: string;
  close(): Promise<void>;
}

async function openTarget(L: Lib, o: BenchOptions): Promise<Target> {
  if (o.broker !== undefined) {
    const remote = await connectBroker(o.broker);
    return { api: remote.api, label: `broker ${o.broker}`, close: () => remote.close() };
  }
  const dir = o.store ?? mkdtempSync(path.join(os.tmpdir(), 'petrelmq-bench-'));
  const cleanup = (): void => {
    if (o.store === undefined) rmSync(dir, { recursive: true, force: true });
  };
  let broker: Broker;
  try {
    broker = await L.Broker.start({ storePathRootDir: path.resolve(dir), flushDiskType: o.flush });
  } catch (err) {
    cleanup();
    throw err;
  }
  return {
    api: broker,
    label: `embedded broker (${o.flush}, store ${o.store === undefined ? 'temporary' : dir})`,
    close: async () => {
      await broker.shutdown();
      cleanup();
    },
  };
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

function progressBar(L: Lib, o: BenchOptions, what: string): SingleBar | undefined {
  if (o.json === true || !o.progress || process.stderr.isTTY !== true) return undefined;
  const bar = new L.cliProgress.SingleBar(
    { format: `${what} [{bar}] {percentage}% | {value}/{total} | {rate} msgs/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    L.cliProgress.Presets.shades_classic,
  );
  bar.start(o.messages, 0, { rate: '-' });
  return bar;
}

/** Sends o.messages bodies from o.concurrency tasks; `body(seq)` builds each. */
async function produce(
  producer: Producer, o: BenchOptions, body: (seq: number) => Uint8Array, latency: Latency | undefined, onSent: () => void,
): Promise<Map<string, number>> {
  const statuses = new Map<string, number>();
  let next = 0;
  const task = async (): Promise<void> => {
    while (next < o.messages) {
      const seq = next++;
      const t0 = performance.now();
      const r = await producer.send({ topic: o.topic, body: body(seq) });
      latency?.recordMs(performance.now() - t0);
      statuses.set(r.sendStatus, (statuses.get(r.sendStatus) ?? 0) + 1);
      onSent();
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.messages) }, task));
  return statuses;
}

interface Summary {
  readonly mode: Mode;
  readonly target: string;
  readonly messages: number;
  readonly size: number;
  readonly concurrency: number;
  readonly elapsedMs: number;
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
  readonly latencyUs: { readonly p50: number; readonly p99: number; readonly p999: number };
  readonly sendStatus: Record<string, number>;
}

async function runBench(L: Lib, mode: Mode, o: BenchOptions): Promise<Summary> {
  if (mode === 'consume' && o.size < HEADER_BYTES) throw new PetrelError('ERR_INVALID_ARGUMENT', `bench consume needs --size >= ${HEADER_BYTES} (the send time travels in the body)`);
  const target = await openTarget(L, o);
  const latency = new Latency();
  const runId = (Math.random() * 0x100000000) >>> 0;
  const producer = new L.Producer({ groupName: `petrelmq_bench_${process.pid}`, broker: target.api, sendMsgTimeout: 30_000 });
  let consumer: PushConsumer | undefined;
  let bar: SingleBar | undefined;
  try {
    // An existing topic is used as it is: a benchmark must not change a running broker's topics.
    if ((await target.api.getTopic(o.topic)) === undefined) await target.api.createTopic({ topic: o.topic, readQueueNums: o.queues, writeQueueNums: o.queues });
    await producer.start();
    const template = new Uint8Array(o.size).fill(0x61);
    let done = 0;
    let started = 0;
    const tick = (): void => {
      done += 1;
      if (bar !== undefined && (done & 255) === 0) bar.update(done, { rate: fmt((done * 1000) / (performance.now() - started), 0) });
    };

    if (mode === 'produce') {
      bar = progressBar(L, o, 'produce');
      started = performance.now();
      const statuses = await produce(producer, o, () => template, latency, tick);
      const elapsedMs = performance.now() - started;
      bar?.update(done);
      return summary(mode, o, target.label, elapsedMs, latency, statuses);
    }

    const seen = new Uint8Array(o.messages);
    let allIn: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      allIn = resolve;
    });
    let lastAt = 0;
    consumer = new L.PushConsumer({
      groupName: `petrelmq_bench_${process.pid}_${runId.toString(16)}`,
      broker: target.api,
      consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
      consumeMessageBatchMaxSize: 32,
      pullBatchSize: 64,
      pullLongPollMs: 1000,
    });
    consumer.subscribe(o.topic, '*');
    consumer.registerMessageListener((msgs: MessageExt[]) => {
      const at = nowMs();
      for (const m of msgs) {
        if (m.body.length < HEADER_BYTES) continue;
        const view = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
        const seq = view.getUint32(12);
        // Messages of other runs, and second deliveries, do not count.
        if (view.getUint32(8) !== runId || seq >= o.messages || seen[seq] === 1) continue;
        seen[seq] = 1;
        latency.recordMs(at - view.getFloat64(0));
        tick();
      }
      if (done >= o.messages) {
        lastAt = performance.now();
        allIn();
      }
      return 'CONSUME_SUCCESS';
    });
    await consumer.start();
    bar = progressBar(L, o, 'consume');
    started = performance.now();
    const statuses = await produce(producer, o, (seq) => {
      const b = template.slice();
      const view = new DataView(b.buffer);
      view.setFloat64(0, nowMs());
      view.setUint32(8, runId);
      view.setUint32(12, seq);
      return b;
    }, undefined, () => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), o.timeout * 1000);
    });
    const outcome = await Promise.race([finished.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    bar?.update(done);
    if (outcome === 'timeout') {
      throw new PetrelError('ERR_TIMEOUT', `bench consume: ${done} of ${o.messages} messages arrived within --timeout ${o.timeout} s`);
    }
    return summary(mode, o, target.label, lastAt - started, latency, statuses);
  } finally {
    bar?.stop();
    await consumer?.shutdown();
    await producer.shutdown();
    await target.close();
  }
}

function summary(mode: Mode, o: BenchOptions, target: string, elapsedMs: number, latency: Latency, statuses: Map<string, number>): Summary {
  const t = throughput(o.messages, o.messages * o.size, elapsedMs);
  return {
    mode,
    target,
    messages: o.messages,
    size: o.size,
    concurrency: o.concurrency,
    elapsedMs,
    msgsPerSec: t.msgsPerSec,
    mbPerSec: t.mbPerSec,
    latencyUs: { p50: latency.percentileUs(50), p99: latency.percentileUs(99), p999: latency.percentileUs(99.9) },
    sendStatus: Object.fromEntries(statuses),
  };
}

function printSummary(s: Summary, json: boolean): void {
  if (json) {
    printJson(s);
    return;
  }
  const what = s.mode === 'produce' ? 'send round trip' : 'end to end (send to listener)';
  printLine(`bench ${s.mode}: ${s.messages} messages of ${s.size} bytes, concurrency ${s.concurrency}, ${s.target}`);
  printLine(`  elapsed     ${fmt(s.elapsedMs / 1000, 2)} s`);
  printLine(`  throughput  ${fmt(s.msgsPerSec)} msgs/s, ${fmt(s.mbPerSec, 2)} MB/s`);
  printLine(`  latency     p50 ${fmt(s.latencyUs.p50)} us, p99 ${fmt(s.latencyUs.p99)} us, p999 ${fmt(s.latencyUs.p999)} us (${what})`);
  printLine(`  sends       ${Object.entries(s.sendStatus).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('produce or consume load against an embedded broker (or --broker) with a summary');
  for (const mode of ['produce', 'consume'] as const) {
    bench
      .command(mode)
      .description(mode === 'produce' ? 'send messages and report msgs/s, MB/s and send latency' : 'send and consume at once and report consume msgs/s, MB/s and end-to-end latency')
      .addOption(new Option('--messages <n>', 'messages to send').argParser(parseIntAtLeast(1)).default(100_000))
      .addOption(new Option('--size <bytes>', 'body size').argParser(parseIntAtLeast(1)).default(128))
      .addOption(new Option('--concurrency <n>', 'sends in flight at once').argParser(parseIntAtLeast(1)).default(32))
      .addOption(new Option('--topic <topic>', 'topic').default('BenchmarkTest'))
      .addOption(new Option('--queues <n>', 'queues of the topic when the bench creates it').argParser(parseIntAtLeast(1)).default(8))
      .addOption(new Option('--broker <host:port>', 'a running broker to load (remoting address) instead of an embedded one').argParser(parseHostPort))
      .addOption(new Option('--store <dir>', 'embedded broker: keep the store here instead of a temporary folder').conflicts('broker'))
      .addOption(new Option('--flush <type>', 'embedded broker: flushDiskType').choices(['ASYNC_FLUSH', 'SYNC_FLUSH']).default('ASYNC_FLUSH').conflicts('broker'))
      .addOption(new Option('--timeout <seconds>', 'consume: give up when not every message arrived by then').argParser(parseIntAtLeast(1)).default(300))
      .option('--no-progress', 'no progress bar')
      .addOption(new Option('--log-level <level>', 'broker logs on stderr').argParser(parseLogLevel).default('warn'))
      .option('--json', 'print the summary as JSON (and no progress bar)')
      .action(async (_o: unknown, cmd: Command) => {
        const o = cmd.opts<BenchOptions>();
        const L = await lib();
        const logs = L.startLogging(o.logLevel);
        try {
          printSummary(await runBench(L, mode, o), o.json === true);
        } finally {
          logs.close();
        }
      });
  }
}
