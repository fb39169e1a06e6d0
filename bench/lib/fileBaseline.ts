/** Plain-file baselines: the same bytes appended with fs.writeSync, as the store benches compare. */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { throughput, type Throughput } from './report.js';

/** Appends count records of `size` bytes in 1 MiB writes; one fdatasync at the end. */
export function fileAppendBaseline(dir: string, count: number, size: number): Throughput {
  const file = path.join(dir, 'baseline.bin');
  const chunk = Buffer.alloc(1024 * 1024, 7);
  const total = count * size;
  const fd = openSync(file, 'w');
  const t0 = performance.now();
  for (let written = 0; written < total; ) {
    const n = Math.min(chunk.length, total - written);
    written += writeSync(fd, chunk, 0, n);
  }
  fdatasyncSync(fd);
  const ms = performance.now() - t0;
  closeSync(fd);
  rmSync(file);
  return throughput(count, total, ms);
}

/** Appends count records one write each, with an fdatasync every `group` records (group commit). */
export function fileGroupCommitBaseline(dir: string, count: number, size: number, group: number): Throughput {
  const file = path.join(dir, 'baseline-sync.bin');
  const rec = Buffer.alloc(size, 7);
  const fd = openSync(file, 'w');
  const t0 = performance.now();
  for (let i = 1; i <= count; i++) {
    writeSync(fd, rec);
    if (i % group === 0) fdatasyncSync(fd);
  }
  fdatasyncSync(fd);
  const ms = performance.now() - t0;
  closeSync(fd);
  rmSync(file);
  return throughput(count, count * size, ms);
}
