/**
 * `npm run bench -- store [--count100 N] [--count1k N] [--reps N] [--fileSize BYTES]`
 *
 * Appends 100-byte and 1-KiB messages through MessageStore.putMessage in this one thread (each
 * put also writes its ConsumeQueue unit and its index entry) and prints msgs/s and MB/s. In the
 * same run it writes the same number of bytes to a plain file with fs.writeSync in 1 MiB chunks
 * (the baseline) and prints the ratio. MB = 10^6 bytes. "log MB/s" counts CommitLog bytes
 * (records with their headers, what the baseline writes); "payload MB/s" counts bodies only.
 * No fsync on either side: the store's flush is a separate actor; the shutdown column (flush +
 * close) is printed apart. Two store variants: "cold" (RocketMQ's defaults: each CommitLog file
 * is created sparse when needed, so page faults happen inside the timed loop) and "warmed"
 * (warmMapedFileEnable: the first file is created and pre-faulted before the clock starts, as
 * RocketMQ's allocation service does off the hot path; files after it are made inline, unwarmed).
 * Each store lives in a fresh folder under os.tmpdir() that is removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MessageStore } from '../storage/MessageStore.js';
import type { MessageToStore } from '../storage/MessageCodec.js';
import { fmt, parseFlag, table, throughput } from './lib/report.js';

interface RunFigures {
  readonly count: number;
  readonly logBytes: number;
  readonly payloadBytes: number;
  readonly putMs: number;
  readonly flushMs: number;
}

const QUEUES = 8;
const TOPIC = 'BenchmarkTest';

function runStore(bodySize: number, count: number, warm: boolean, fileSize: number): RunFigures {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrelmq-bench-store-'));
  try {
    const store = MessageStore.open({
      config: { storePathRootDir: dir, mappedFileSizeCommitLog: fileSize, warmMapedFileEnable: warm },
    });
    const body = new Uint8Array(bodySize).fill(0x61);
    const messages: MessageToStore[] = [];
    for (let q = 0; q < QUEUES; q++) messages.push({ topic: TOPIC, queueId: q, body, tags: 'TagA' });
    // The first CommitLog file is created (and with --warm 1 pre-faulted) before the clock
    // starts, as RocketMQ's allocation service does ahead of need; later files roll inline.
    store.preallocateNextFile();
    const startOffset = store.getMaxPhyOffset();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) store.putMessage(messages[i & (QUEUES - 1)] as MessageToStore);
    const putMs = performance.now() - t0;
    const logBytes = store.getMaxPhyOffset() - startOffset;
    const t1 = performance.now();
    store.shutdown();
    const flushMs = performance.now() - t1;
    return { count, logBytes, payloadBytes: count * bodySize, putMs, flushMs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The baseline: `bytes` written with fs.writeSync in 1 MiB chunks to a new plain file. */
function runBaseline(bytes: number): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrelmq-bench-base-'));
  try {
    const chunk = Buffer.alloc(1 << 20, 0x61);
    const fd = fs.openSync(path.join(dir, 'log'), 'w');
    const t0 = performance.now();
    for (let done = 0; done < bytes; done += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done));
    const ms = performance.now() - t0;
    fs.closeSync(fd);
    return ms;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The median; with an even count, the mean of the middle two. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? Number.NaN) + (s[mid] ?? Number.NaN)) / 2;
}

export async function main(args: string[]): Promise<void> {
  const count100 = parseFlag(args, 'count100', 2_000_000);
  const count1k = parseFlag(args, 'count1k', 1_000_000);
  const reps = Math.max(1, parseFlag(args, 'reps', 2));
  const fileSize = parseFlag(args, 'fileSize', 1024 * 1024 * 1024);
  console.log(
    `store bench: MessageStore.putMessage in one thread (CommitLog + ConsumeQueue + index), ${QUEUES} queues, ` +
      `CommitLog files of ${fileSize} B; ${reps} rep(s), median shown; baseline and store alternate order each rep`,
  );
  console.log(`  load average before: ${os.loadavg()[0]?.toFixed(1)} on ${os.cpus().length} CPUs (other work on the machine slows both columns)`);
  console.log('  cold: RocketMQ defaults, files created sparse when needed, page faults inside the timed loop');
  console.log('  warmed: warmMapedFileEnable, first file created and pre-faulted before the clock; later files are made inline, unwarmed');
  const rows: string[][] = [];
  for (const [bodySize, count] of [
    [100, count100],
    [1024, count1k],
  ] as const) {
    for (const warm of [false, true]) {
      const store: RunFigures[] = [];
      const baseMs: number[] = [];
      for (let r = 0; r < reps; r++) {
        // The bytes the baseline writes: the store's log size, known from the first run.
        const baseFirst = r % 2 === 1 && store[0] !== undefined;
        if (baseFirst) baseMs.push(runBaseline((store[0] as RunFigures).logBytes));
        const fig = runStore(bodySize, count, warm, fileSize);
        store.push(fig);
        if (!baseFirst) baseMs.push(runBaseline(fig.logBytes));
      }
      const putMs = median(store.map((f) => f.putMs));
      const first = store[0] as RunFigures;
      const tp = throughput(count, first.logBytes, putMs);
      const payload = throughput(count, first.payloadBytes, putMs);
      const base = throughput(count, first.logBytes, median(baseMs));
      rows.push([
        `${bodySize} B`,
        warm ? 'warmed' : 'cold',
        String(count),
        fmt(tp.msgsPerSec),
        fmt(payload.mbPerSec),
        fmt(tp.mbPerSec),
        fmt(base.mbPerSec),
        `${((100 * tp.mbPerSec) / base.mbPerSec).toFixed(0)}%`,
        fmt(median(store.map((f) => f.flushMs)), 0),
      ]);
    }
  }
  table(['message', 'files', 'count', 'store msgs/s', 'payload MB/s', 'log MB/s', 'baseline MB/s', 'store/baseline', 'shutdown ms'], rows);
  console.log(`load average after: ${os.loadavg()[0]?.toFixed(1)}`);
}
