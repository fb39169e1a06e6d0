/**
 * Worker side of `npm run bench -- ring`, throughput part. One role per worker (workerData):
 *
 *   ring-writer   writes records into the SharedRing, one write() each (or writeBatch of 64)
 *   ring-reader   reads them in batches
 *   pm-writer     posts each record as its own message (structured clone of a Uint8Array)
 *   batch-writer  packs 256 records into a fresh ArrayBuffer and transfers it
 *   pm-reader     receives either kind from every writer's port
 *
 * Every reader copies each payload into a 1 MiB scratch buffer (a stand-in for the CommitLog),
 * counts records only after the warm-up, and reports count, bytes and elapsed time. Writers
 * stamp a sequence number into each record, as an encoder would write a field. postMessage
 * writers keep at most 64k records in flight (the reader acks), as PERF.md's baseline does.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { SharedRing } from '../../runtime/SharedRing.js';
import { Control, type ReaderResult, type ThroughputJob } from './ringBenchTypes.js';

/** postMessage flow control, in records. */
const IN_FLIGHT = 65_536;
const ACK_EVERY = 1024;
const BATCH_RECORDS = 256;
const SCRATCH = 1 << 20;

const job = workerData as ThroughputJob;
const control = new Int32Array(job.control);

function waitForGo(): void {
  parentPort?.postMessage('ready');
  // Writers and reader block here so that all of them start at the same moment.
  while (Atomics.load(control, Control.GO) === 0) Atomics.wait(control, Control.GO, 0, 1000);
}

function record(size: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i & 0xff;
  return { bytes, view: new DataView(bytes.buffer) };
}

function ringWriter(ringBuffer: SharedArrayBuffer, batch: number): void {
  const writer = SharedRing.attach(ringBuffer).writer();
  const { bytes, view } = record(job.size);
  const deadline = performance.now() + job.warmupMs + job.seconds * 1000;
  let seq = 0;
  if (batch <= 1) {
    while ((seq & 1023) !== 0 || performance.now() < deadline) {
      view.setUint32(0, seq++);
      writer.write(bytes);
    }
  } else {
    const records = Array.from({ length: batch }, () => record(job.size));
    const payloads = records.map((r) => r.bytes);
    while (performance.now() < deadline) {
      for (const r of records) r.view.setUint32(0, seq++);
      writer.writeBatch(payloads);
    }
  }
  Atomics.add(control, Control.WRITERS_DONE, 1);
}

/** Counts records after the warm-up; reports when told the stream is over. */
class Counter {
  readonly scratch = new Uint8Array(SCRATCH);
  pos = 0;
  records = 0;
  bytes = 0;
  readonly warmEnd = performance.now() + job.warmupMs;
  startedAt = 0;

  add(src: Uint8Array, offset: number, length: number): void {
    if (this.pos + length > SCRATCH) this.pos = 0;
    this.scratch.set(src.subarray(offset, offset + length), this.pos);
    this.pos += length;
    if (this.startedAt === 0) {
      if ((this.records++ & 255) === 0 && performance.now() >= this.warmEnd) {
        this.startedAt = performance.now();
        this.records = 0;
      }
      return;
    }
    this.records++;
    this.bytes += length;
  }

  report(): ReaderResult {
    return { records: this.records, bytes: this.bytes, elapsedMs: performance.now() - this.startedAt };
  }
}

function ringReader(ringBuffer: SharedArrayBuffer, writers: number, spinUs: number | undefined): void {
  const reader = SharedRing.attach(ringBuffer).reader(spinUs === undefined ? { takeOver: true } : { takeOver: true, spinUs });
  const counter = new Counter();
  const onRecord = (bytes: Uint8Array, offset: number, length: number): void => counter.add(bytes, offset, length);
  for (;;) {
    if (reader.read(onRecord) > 0) continue;
    if (Atomics.load(control, Control.WRITERS_DONE) === writers && !reader.ready) break;
    reader.wait(20);
  }
  parentPort?.postMessage(counter.report());
}

function postWriter(port: MessagePort, batched: boolean): void {
  const { bytes, view } = record(job.size);
  const deadline = performance.now() + job.warmupMs + job.seconds * 1000;
  let acked = 0;
  let sent = 0;
  let wake: (() => void) | undefined;
  port.on('message', (n: number) => {
    acked += n;
    wake?.();
  });
  const recordBytes = 4 + job.size;
  const send = (): void => {
    if (batched) {
      // A fresh buffer each time: a transferred one is gone from this thread.
      const buf = new ArrayBuffer(BATCH_RECORDS * recordBytes);
      const dv = new DataView(buf);
      const out = new Uint8Array(buf);
      for (let i = 0, off = 0; i < BATCH_RECORDS; i++, off += recordBytes) {
        view.setUint32(0, sent + i);
        dv.setUint32(off, job.size);
        out.set(bytes, off + 4);
      }
      port.postMessage(buf, [buf]);
      sent += BATCH_RECORDS;
    } else {
      view.setUint32(0, sent);
      port.postMessage(bytes);
      sent++;
    }
  };
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      while (sent - acked < IN_FLIGHT) {
        send();
        if ((sent & 1023) === 0 && performance.now() >= deadline) break;
      }
      // At the in-flight limit: acks are due (the reader acks every 1024 records).
      if (sent - acked >= IN_FLIGHT) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    port.postMessage('end');
    port.close();
  };
  void loop();
}

function postReader(ports: readonly MessagePort[]): void {
  const counter = new Counter();
  let open = ports.length;
  for (const port of ports) {
    let unacked = 0;
    port.on('message', (m: unknown) => {
      if (m === 'end') {
        if (--open === 0) {
          parentPort?.postMessage(counter.report());
          for (const p of ports) p.close();
        }
        return;
      }
      if (m instanceof ArrayBuffer) {
        const dv = new DataView(m);
        const src = new Uint8Array(m);
        let n = 0;
        for (let off = 0; off < m.byteLength; n++) {
          const len = dv.getUint32(off);
          counter.add(src, off + 4, len);
          off += 4 + len;
        }
        unacked += n;
      } else if (m instanceof Uint8Array) {
        counter.add(m, 0, m.length);
        unacked++;
      }
      if (unacked >= ACK_EVERY) {
        port.postMessage(unacked);
        unacked = 0;
      }
    });
  }
}

waitForGo();
switch (job.role) {
  case 'ring-writer':
    ringWriter(job.ring, job.batch);
    parentPort?.postMessage('done');
    break;
  case 'ring-reader':
    ringReader(job.ring, job.writers, job.spinUs);
    break;
  case 'pm-writer':
    postWriter(job.port, false);
    break;
  case 'batch-writer':
    postWriter(job.port, true);
    break;
  case 'pm-reader':
    postReader(job.ports);
    break;
}
