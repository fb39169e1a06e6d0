/**
 * `npm run bench -- ring`: the SharedRing against postMessage, in the same run.
 *
 * Throughput: 100-byte and 1-KiB records from 1 and 4 writer threads to one reader thread,
 * through (a) the ring with one write() per record, (b) the ring with writeBatch of 64,
 * (c) postMessage of one record per message, (d) postMessage of 256 records packed in a
 * transferred ArrayBuffer. The reader copies every payload into a 1 MiB scratch buffer.
 * Latency: one-way, at a fixed rate (default 100k records/s), ring and postMessage one by one.
 *
 * Each throughput cell runs --reps times (default 3), the four mechanisms one after the other in
 * each round, and prints the median with the min-max spread (the machine is noisy).
 *
 * Options: --seconds (per cell, default 1), --warmup ms (default 200), --reps (default 3),
 * --capacity bytes (ring, default 4 MiB), --rate records/s (default 100000),
 * --latency-seconds (default 2.5),
 * --tick-us (latency sender tick, default 100), --spin-us (the ring reader's spin before
 * sleeping; default: RingReader's), --only throughput|latency.
 */
import { MessageChannel, Worker, type TransferListItem } from 'node:worker_threads';
import { availableParallelism, loadavg } from 'node:os';
import { SharedRing } from '../runtime/SharedRing.js';
import { fmt, parseFlag, table, throughput } from './lib/report.js';
import { Control, type LatencyJob, type LatencyResult, type ReaderResult, type ThroughputJob } from './lib/ringBenchTypes.js';

type Mechanism = 'ring' | 'ring-batch' | 'postMessage' | 'transfer';

const LABELS: Record<Mechanism, string> = {
  ring: 'SharedRing, write() per record',
  'ring-batch': 'SharedRing, writeBatch(64)',
  postMessage: 'postMessage, 1 record per message',
  transfer: 'postMessage, 256 records transferred',
};

const throughputWorker = new URL('./lib/ringThroughputWorker.js', import.meta.url);
const latencyWorker = new URL('./lib/ringLatencyWorker.js', import.meta.url);

interface Started<R> {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  readonly result: Promise<R>;
}

function start<R>(url: URL, workerData: unknown, transferList: TransferListItem[] = []): Started<R> {
  const worker = new Worker(url, { workerData, transferList });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const result = new Promise<R>((resolve, reject) => {
    worker.on('message', (m: unknown) => {
      if (m === 'ready') onReady();
      else resolve(m as R);
    });
    worker.once('error', reject);
  });
  return { worker, ready, result };
}

interface CellOptions {
  readonly spinUs: number | undefined;
  readonly size: number;
  readonly writers: number;
  readonly seconds: number;
  readonly warmupMs: number;
  readonly capacity: number;
}

async function runCell(mechanism: Mechanism, o: CellOptions): Promise<ReaderResult> {
  const control = new SharedArrayBuffer(Control.SIZE * 4);
  const base = { control, size: o.size, warmupMs: o.warmupMs, seconds: o.seconds };
  const started: Started<unknown>[] = [];
  let reader: Started<ReaderResult>;
  if (mechanism === 'ring' || mechanism === 'ring-batch') {
    const ring = SharedRing.create(o.capacity).buffer;
    const batch = mechanism === 'ring' ? 1 : 64;
    reader = start<ReaderResult>(throughputWorker, { ...base, role: 'ring-reader', ring, writers: o.writers, spinUs: o.spinUs } satisfies ThroughputJob);
    for (let i = 0; i < o.writers; i++) started.push(start(throughputWorker, { ...base, role: 'ring-writer', ring, batch } satisfies ThroughputJob));
  } else {
    const channels = Array.from({ length: o.writers }, () => new MessageChannel());
    const ports = channels.map((c) => c.port2);
    reader = start<ReaderResult>(throughputWorker, { ...base, role: 'pm-reader', ports } satisfies ThroughputJob, ports);
    const role = mechanism === 'postMessage' ? 'pm-writer' : 'batch-writer';
    for (const c of channels) started.push(start(throughputWorker, { ...base, role, port: c.port1 } satisfies ThroughputJob, [c.port1]));
  }
  started.push(reader);
  await Promise.all(started.map((s) => s.ready));
  const cells = new Int32Array(control);
  Atomics.store(cells, Control.GO, 1);
  Atomics.notify(cells, Control.GO);
  const result = await reader.result;
  await Promise.all(started.map((s) => s.worker.terminate()));
  return result;
}

async function runLatency(
  mechanism: 'ring' | 'postMessage',
  rate: number,
  seconds: number,
  capacity: number,
  spinUs: number | undefined,
  tickUs: number,
): Promise<LatencyResult> {
  const control = new SharedArrayBuffer(4);
  const count = Math.round(rate * seconds);
  const base = { control, rate, tickUs, count, warmup: Math.floor(count / 10), size: 100, spinUs };
  let writer: Started<number>;
  let reader: Started<LatencyResult>;
  if (mechanism === 'ring') {
    const ring = SharedRing.create(capacity).buffer;
    reader = start(latencyWorker, { ...base, role: 'ring-reader', ring } satisfies LatencyJob);
    writer = start(latencyWorker, { ...base, role: 'ring-writer', ring } satisfies LatencyJob);
  } else {
    const { port1, port2 } = new MessageChannel();
    reader = start(latencyWorker, { ...base, role: 'pm-reader', port: port2 } satisfies LatencyJob, [port2]);
    writer = start(latencyWorker, { ...base, role: 'pm-writer', port: port1 } satisfies LatencyJob, [port1]);
  }
  await Promise.all([reader.ready, writer.ready]);
  const cells = new Int32Array(control);
  Atomics.store(cells, 0, 1);
  Atomics.notify(cells, 0);
  const [sentRate, result] = await Promise.all([writer.result, reader.result]);
  await Promise.all([reader.worker.terminate(), writer.worker.terminate()]);
  return { ...result, rate: sentRate };
}

function ratio(a: number, b: number): string {
  return b > 0 ? `${(a / b).toFixed(2)}x` : '-';
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** "median (min-max)" as PERF.md prints it. */
function spread(values: readonly number[]): string {
  if (values.length < 2) return fmt(values[0] ?? Number.NaN);
  return `${fmt(median(values))} (${fmt(Math.min(...values))}-${fmt(Math.max(...values))})`;
}

const MECHANISMS = ['ring', 'ring-batch', 'postMessage', 'transfer'] as const;

interface Cell {
  readonly label: string;
  readonly rates: Record<Mechanism, number[]>;
  readonly mbs: Record<Mechanism, number[]>;
}

/** Each repetition runs the four mechanisms back to back, so machine noise hits them alike. */
async function throughputCells(o: Omit<CellOptions, 'size' | 'writers'>, reps: number): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const size of [100, 1024]) {
    for (const writers of [1, 4]) {
      const rates = { ring: [], 'ring-batch': [], postMessage: [], transfer: [] } as Record<Mechanism, number[]>;
      const mbs = { ring: [], 'ring-batch': [], postMessage: [], transfer: [] } as Record<Mechanism, number[]>;
      for (let rep = 0; rep < reps; rep++) {
        for (const m of MECHANISMS) {
          const r = await runCell(m, { ...o, size, writers });
          const tp = throughput(r.records, r.bytes, r.elapsedMs);
          rates[m].push(tp.msgsPerSec);
          mbs[m].push(tp.mbPerSec);
        }
      }
      cells.push({ label: `${size === 100 ? '100 B' : '1 KiB'} x ${writers}`, rates, mbs });
    }
  }
  return cells;
}

function printThroughput(cells: readonly Cell[]): void {
  const rows: string[][] = [];
  for (const c of cells) {
    const pm = median(c.rates.postMessage);
    const batch = median(c.rates.transfer);
    for (const m of MECHANISMS) {
      const rate = median(c.rates[m]);
      const ring = m === 'ring' || m === 'ring-batch';
      rows.push([LABELS[m], c.label, spread(c.rates[m]), fmt(median(c.mbs[m])), ring ? ratio(rate, pm) : '', ring ? ratio(rate, batch) : '']);
    }
  }
  console.log('\nthroughput: records/s median (min-max), MB/s of payload; ratios of medians against the postMessage baselines');
  table(['mechanism', 'records x writers', 'records/s', 'MB/s', 'vs 1-by-1', 'vs batches'], rows);
}

function printLatency(lat: readonly LatencyResult[], rate: number, tickUs: number, seconds: number): void {
  console.log(
    `\none-way latency, 100 B records at a fixed ${fmt(rate)} records/s (${fmt((rate * tickUs) / 1e6)} every ${tickUs} us) ` +
      `for ${seconds} s, first 10% not counted`,
  );
  table(
    ['mechanism', 'sent/s', 'records', 'p50 us', 'p99 us', 'p99.9 us', 'max us'],
    lat.map((r, i) => [
      i === 0 ? 'SharedRing, write() per record' : 'postMessage, 1 record per message',
      fmt(r.rate),
      String(r.count),
      fmt(r.p50us),
      fmt(r.p99us),
      fmt(r.p999us),
      fmt(r.maxUs),
    ]),
  );
}

function printGoals(cells: readonly Cell[], ringLatency: LatencyResult | undefined, rate: number): void {
  console.log('\ngoals (ring = write() per record, medians)');
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  for (const c of cells) {
    const ring = median(c.rates.ring);
    const pm = median(c.rates.postMessage);
    const batch = median(c.rates.transfer);
    console.log(
      `  ${c.label.padEnd(10)} ring/postMessage 1-by-1 ${ratio(ring, pm).padStart(7)} (>= 10x: ${met(ring >= 10 * pm)})` +
        `   ring/transferred batches ${ratio(ring, batch).padStart(6)} (>= 0.7x: ${met(ring >= 0.7 * batch)})`,
    );
  }
  if (ringLatency !== undefined) {
    console.log(`  ring p99 at ${fmt(rate)} records/s: ${fmt(ringLatency.p99us)} us (< 100 us: ${met(ringLatency.p99us < 100)})`);
  }
}

export async function main(args: string[]): Promise<void> {
  const seconds = parseFlag(args, 'seconds', 1);
  const warmupMs = parseFlag(args, 'warmup', 200);
  const reps = parseFlag(args, 'reps', 3);
  const capacity = parseFlag(args, 'capacity', 1 << 22);
  const rate = parseFlag(args, 'rate', 100_000);
  const latencySeconds = parseFlag(args, 'latency-seconds', 2.5);
  const tickUs = parseFlag(args, 'tick-us', 100);
  const spinFlag = parseFlag(args, 'spin-us', -1);
  const spinUs = spinFlag < 0 ? undefined : spinFlag;
  const onlyAt = args.indexOf('--only');
  const only = onlyAt < 0 ? undefined : args[onlyAt + 1];
  console.log(
    `ring benchmark: ${availableParallelism()} cores (load average ${loadavg()[0]?.toFixed(1)} at start), Node ${process.version}; ` +
      `${reps} x ${seconds} s per cell after ${warmupMs} ms warm-up; ring capacity ${capacity} bytes; ` +
      'every reader copies each payload into a 1 MiB scratch buffer',
  );
  const cells = only === 'latency' ? [] : await throughputCells({ seconds, warmupMs, capacity, spinUs }, reps);
  if (cells.length > 0) printThroughput(cells);
  const lat =
    only === 'throughput'
      ? []
      : [
          await runLatency('ring', rate, latencySeconds, capacity, spinUs, tickUs),
          await runLatency('postMessage', rate, latencySeconds, capacity, spinUs, tickUs),
        ];
  if (lat.length > 0) printLatency(lat, rate, tickUs, latencySeconds);
  printGoals(cells, lat[0], rate);
  console.log(`load average at the end: ${loadavg()[0]?.toFixed(1)}`);
}
