/**
 * `npm run bench -- produce`: embedded producers against a broker on worker threads (writer,
 * flush, dispatcher), ASYNC_FLUSH and SYNC_FLUSH, 100-byte and 1-KiB bodies, 1/4/16/256 concurrent
 * senders (each an async task awaiting its sends one by one), plus batch sends. Prints msgs/s,
 * MB/s and send latency percentiles, and in the same run the plain-file baselines of the same
 * bytes (1 MiB writes; one fdatasync per 256 records for the durable case). The batch rows run
 * once more with commitLogWriteMode 'mmap' (marked), against the default positioned writes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker } from '../actors/Broker.js';
import { Producer } from '../client/Producer.js';
import { fileAppendBaseline, fileGroupCommitBaseline } from './lib/fileBaseline.js';
import { Latency, fmt, parseFlag, table, throughput } from './lib/report.js';

interface Cell {
  flush: 'ASYNC_FLUSH' | 'SYNC_FLUSH';
  size: number;
  senders: number;
  batch: number;
  /** commitLogWriteMode; the broker's default ('write') unless set. */
  writeMode?: 'write' | 'mmap';
}

async function runCell(cell: Cell, seconds: number): Promise<string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'petrelmq-bench-'));
  const broker = await Broker.start({ storePathRootDir: dir, flushDiskType: cell.flush, ...(cell.writeMode === undefined ? {} : { commitLogWriteMode: cell.writeMode }) });
  try {
    await broker.createTopic({ topic: 'Bench', readQueueNums: 8, writeQueueNums: 8 });
    const producer = new Producer({ groupName: 'bench', broker });
    await producer.start();
    const body = new Uint8Array(cell.size).fill(97);
    const lat = new Latency();
    let sent = 0;
    const warmEnd = performance.now() + 300;
    const end = warmEnd + seconds * 1000;
    let measuring = false;
    let t0 = 0;
    const sender = async (): Promise<void> => {
      const batch = Array.from({ length: cell.batch }, () => ({ topic: 'Bench', body }));
      for (;;) {
        const now = performance.now();
        if (now >= end) return;
        if (!measuring && now >= warmEnd) {
          measuring = true;
          t0 = now;
          sent = 0;
        }
        const s = performance.now();
        if (cell.batch > 1) await producer.sendBatch(batch);
        else await producer.send(batch[0] as (typeof batch)[number]);
        if (measuring) {
          lat.recordMs(performance.now() - s);
          sent += cell.batch;
        }
      }
    };
    await Promise.all(Array.from({ length: cell.senders }, sender));
    const tp = throughput(sent, sent * cell.size, performance.now() - t0);
    await producer.shutdown();
    return [cell.flush, String(cell.size), (cell.batch > 1 ? `${cell.senders}x batch ${cell.batch}` : String(cell.senders)) + (cell.writeMode === 'mmap' ? ' (mmap)' : ''), fmt(tp.msgsPerSec), fmt(tp.mbPerSec), fmt(lat.percentileUs(50)), fmt(lat.percentileUs(99)), fmt(lat.percentileUs(99.9))];
  } finally {
    await broker.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(args: string[]): Promise<void> {
  const seconds = parseFlag(args, 'seconds', 3);
  const cells: Cell[] = [];
  for (const flush of ['ASYNC_FLUSH', 'SYNC_FLUSH'] as const) {
    for (const size of [100, 1024]) {
      for (const senders of flush === 'SYNC_FLUSH' ? [1, 16, 256] : [1, 4, 16, 256]) cells.push({ flush, size, senders, batch: 1 });
      if (flush === 'ASYNC_FLUSH') cells.push({ flush, size, senders: 4, batch: 64 }, { flush, size, senders: 4, batch: 64, writeMode: 'mmap' });
    }
  }
  console.log(`produce: embedded broker, ${seconds} s per cell after 0.3 s warm-up, ${os.cpus().length} cores`);
  const rows: string[][] = [];
  for (const c of cells) rows.push(await runCell(c, seconds));
  table(['flush', 'body B', 'senders', 'msgs/s', 'MB/s', 'p50 us', 'p99 us', 'p999 us'], rows);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'petrelmq-baseline-'));
  try {
    console.log('\nbaseline: the same bytes to a plain file');
    const base: string[][] = [];
    for (const size of [100, 1024]) {
      const a = fileAppendBaseline(dir, 2_000_000 / (size / 100), size);
      base.push([`fs.writeSync 1 MiB chunks, 1 fdatasync`, String(size), fmt(a.msgsPerSec), fmt(a.mbPerSec)]);
      const g = fileGroupCommitBaseline(dir, 200_000, size, 256);
      base.push([`one write per record, fdatasync every 256`, String(size), fmt(g.msgsPerSec), fmt(g.mbPerSec)]);
    }
    table(['baseline', 'body B', 'msgs/s', 'MB/s'], base);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
