/**
 * What bench/ring.ts and its worker threads (ringThroughputWorker, ringLatencyWorker) exchange:
 * jobs in workerData, results back, and the shared control block's slots.
 */
import type { MessagePort } from 'node:worker_threads';

export type ThroughputRole =
  | { readonly role: 'ring-writer'; readonly ring: SharedArrayBuffer; readonly batch: number }
  | { readonly role: 'ring-reader'; readonly ring: SharedArrayBuffer; readonly writers: number; readonly spinUs: number | undefined }
  | { readonly role: 'pm-writer'; readonly port: MessagePort }
  | { readonly role: 'batch-writer'; readonly port: MessagePort }
  | { readonly role: 'pm-reader'; readonly ports: readonly MessagePort[] };

export type ThroughputJob = ThroughputRole & {
  /** Int32 cells, see Control. */
  readonly control: SharedArrayBuffer;
  readonly size: number;
  readonly warmupMs: number;
  readonly seconds: number;
};

/** Int32 slots of the shared control block. */
export const Control = { GO: 0, WRITERS_DONE: 1, SIZE: 2 } as const;

export interface ReaderResult {
  readonly records: number;
  readonly bytes: number;
  readonly elapsedMs: number;
}

export type LatencyJob = (
  | { readonly role: 'ring-writer' | 'ring-reader'; readonly ring: SharedArrayBuffer }
  | { readonly role: 'pm-writer' | 'pm-reader'; readonly port: MessagePort }
) & {
  /** Int32 cells: [GO]. */
  readonly control: SharedArrayBuffer;
  readonly rate: number;
  /** Sending tick: rate * tickUs / 1e6 records are sent together each tick. */
  readonly tickUs: number;
  readonly count: number;
  readonly warmup: number;
  readonly size: number;
  /** The ring reader's spinUs (undefined: its default). */
  readonly spinUs: number | undefined;
};

export interface LatencyResult {
  readonly count: number;
  readonly p50us: number;
  readonly p99us: number;
  readonly p999us: number;
  readonly maxUs: number;
  /** Achieved send rate, records/s. */
  readonly rate: number;
}

