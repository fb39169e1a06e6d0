/**
 * Worker side of `npm run bench -- ring`, latency part: one writer sends 100-byte records at a
 * fixed rate, stamping each with the time it is handed over (performance.timeOrigin +
 * performance.now(), a clock all threads share); the reader takes the difference on arrival.
 *
 * The writer sends on ticks (default 100 us, 10 records a tick at 100k records/s) and sleeps
 * between them, as a producer on an event loop would, rather than spinning between every record
 * (a spinning sender takes a core from the reader on a 2-core machine). The first `warmup`
 * records are not counted.
 */
import { createHistogram } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { SharedRing } from '../../runtime/SharedRing.js';
import type { LatencyJob, LatencyResult } from './ringBenchTypes.js';

const job = workerData as LatencyJob;
const control = new Int32Array(job.control);
const GO = 0;
const nap = new Int32Array(new SharedArrayBuffer(4));

function waitForGo(): void {
  parentPort?.postMessage('ready');
  while (Atomics.load(control, GO) === 0) Atomics.wait(control, GO, 0, 1000);
}

function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Sends job.count records at job.rate on ticks of job.tickUs: before each tick the writer sleeps
 * (Atomics.wait) until 50 us ahead and spins the rest, then sends that tick's records back to
 * back, each stamped as it is handed over. Returns the achieved rate.
 */
function pace(send: (stamp: number) => void): number {
  const tickMs = job.tickUs / 1000;
  const perTick = (job.rate * job.tickUs) / 1e6;
  const start = performance.now() + 1;
  let sent = 0;
  for (let tick = 1; sent < job.count; tick++) {
    const due = start + tick * tickMs;
    const ahead = due - performance.now();
    if (ahead > 0.1) Atomics.wait(nap, 0, 0, ahead - 0.05);
    while (performance.now() < due) {
      // spin the last stretch
    }
    const target = Math.min(job.count, Math.round(tick * perTick));
    while (sent < target) {
      send(now());
      sent++;
    }
  }
  return job.count / ((performance.now() - start) / 1000);
}

class Recorder {
  readonly #h = createHistogram();
  #seen = 0;
  maxUs = 0;

  stamp(sentAt: number): void {
    const deltaMs = now() - sentAt;
    if (this.#seen++ < job.warmup) return;
    const ns = Math.max(1, Math.round(deltaMs * 1e6));
    this.#h.record(ns);
    if (ns / 1000 > this.maxUs) this.maxUs = ns / 1000;
  }

  get seen(): number {
    return this.#seen;
  }

  result(rate: number): LatencyResult {
    const us = (p: number): number => this.#h.percentile(p) / 1000;
    return { count: this.#h.count, p50us: us(50), p99us: us(99), p999us: us(99.9), maxUs: this.maxUs, rate };
  }
}

waitForGo();
switch (job.role) {
  case 'ring-writer': {
    const writer = SharedRing.attach(job.ring).writer();
    const payload = new Uint8Array(job.size);
    const view = new DataView(payload.buffer);
    const rate = pace((stamp) => {
      view.setFloat64(0, stamp);
      writer.write(payload);
    });
    parentPort?.postMessage(rate);
    break;
  }
  case 'ring-reader': {
    const reader = SharedRing.attach(job.ring).reader(job.spinUs === undefined ? { takeOver: true } : { takeOver: true, spinUs: job.spinUs });
    const rec = new Recorder();
    // One view over the whole data area: nothing is allocated per record (no GC pauses).
    let view: DataView | undefined;
    const onRecord = (bytes: Uint8Array, offset: number): void => {
      view ??= new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      rec.stamp(view.getFloat64(offset));
    };
    while (rec.seen < job.count) {
      if (reader.read(onRecord) === 0) reader.wait(1000);
    }
    parentPort?.postMessage(rec.result(0));
    break;
  }
  case 'pm-writer': {
    const payload = new Uint8Array(job.size);
    const view = new DataView(payload.buffer);
    const rate = pace((stamp) => {
      view.setFloat64(0, stamp);
      job.port.postMessage(payload);
    });
    parentPort?.postMessage(rate);
    job.port.close();
    break;
  }
  case 'pm-reader': {
    const rec = new Recorder();
    job.port.on('message', (m: Uint8Array) => {
      rec.stamp(new DataView(m.buffer, m.byteOffset, 8).getFloat64(0));
      if (rec.seen === job.count) {
        parentPort?.postMessage(rec.result(0));
        job.port.close();
      }
    });
    break;
  }
}
