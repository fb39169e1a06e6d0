/** Shared figures for benchmarks: throughput, percentiles and a plain table printer. */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export interface Throughput {
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
}

/** MB = 10^6 bytes, as PERF.md counts them. */
export function throughput(count: number, bytes: number, elapsedMs: number): Throughput {
  const secs = elapsedMs / 1000;
  return { msgsPerSec: count / secs, mbPerSec: bytes / 1e6 / secs };
}

/** A latency histogram in nanoseconds (perf_hooks), reported in microseconds. */
export class Latency {
  readonly #h: RecordableHistogram = createHistogram();

  recordNs(ns: number | bigint): void {
    const v = typeof ns === 'bigint' ? ns : BigInt(Math.max(1, Math.round(ns)));
    this.#h.record(v > 0n ? v : 1n);
  }

  recordMs(ms: number): void {
    this.recordNs(ms * 1e6);
  }

  reset(): void {
    this.#h.reset();
  }

  get count(): number {
    return this.#h.count;
  }

  percentileUs(p: number): number {
    return this.#h.count === 0 ? Number.NaN : this.#h.percentile(p) / 1000;
  }

  summary(): string {
    return `p50 ${fmt(this.percentileUs(50))} us, p99 ${fmt(this.percentileUs(99))} us, p999 ${fmt(this.percentileUs(99.9))} us`;
  }
}

export function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(digits);
}

/** Prints rows as an aligned text table. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

export function parseFlag(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
}
