import test from 'ava';
import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { isPetrelError } from '../../common/errors.js';
import { RING_FULL } from '../../runtime/RingWriter.js';
import { SharedRing } from '../../runtime/SharedRing.js';
import { checkRecord, makeRecord, recordLength } from './fixtures/ringRecords.js';
import type { RingWriterJob } from './fixtures/ringWriterWorker.js';
import { until } from './fixtures/wait.js';

const serial = test.serial;
const writerWorker = new URL('./fixtures/ringWriterWorker.js', import.meta.url);

function bytesOf(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Reads everything ready, as copies. */
function drain(ring: SharedRing, reader = ring.reader({ takeOver: true })): Uint8Array[] {
  const out: Uint8Array[] = [];
  reader.read((bytes, offset, length) => out.push(bytes.slice(offset, offset + length)));
  return out;
}

/** A new ring whose next record starts at data offset `offset` (a multiple of 16). */
function ringAt(capacity: number, offset: number): SharedRing {
  const ring = SharedRing.create(capacity);
  if (offset > 0) {
    ring.writer().write(new Uint8Array(offset), 0);
    drain(ring);
  }
  return ring;
}

function startWriter(job: RingWriterJob): { worker: Worker; done: Promise<string> } {
  const worker = new Worker(writerWorker, { workerData: job });
  const done = new Promise<string>((resolve, reject) => {
    worker.once('message', (m: unknown) => resolve(String(m)));
    worker.once('error', reject);
  });
  return { worker, done };
}

test('ring - records come out in order, byte for byte', (t) => {
  const ring = SharedRing.create(256);
  const w = ring.writer();
  w.write(bytesOf(1, 2, 3), 0);
  w.write(new Uint8Array(0), 0);
  w.write(bytesOf(9), 0);
  t.deepEqual(drain(ring), [bytesOf(1, 2, 3), new Uint8Array(0), bytesOf(9)]);
  t.is(ring.usedBytes, 0);
  t.deepEqual(drain(ring), []);
});

// Records take whole 16-byte chunks. In a 128-byte ring positioned at offset 80, 48 bytes are
// left before the end of the data area.

test('ring - a record that ends exactly at the end of the area needs no padding', (t) => {
  const ring = ringAt(128, 80);
  const w = ring.writer();
  w.write(makeRecord(1, 1, 48), 0);
  t.is(ring.usedBytes, 48);
  w.write(makeRecord(1, 2, 80), 0); // starts at offset 0
  t.is(ring.usedBytes, 128);
  t.false(w.tryWrite(new Uint8Array(0)));
  t.deepEqual(drain(ring), [makeRecord(1, 1, 48), makeRecord(1, 2, 80)]);
});

test('ring - a record one byte short of the end is rounded up to the end', (t) => {
  const ring = ringAt(128, 80);
  const w = ring.writer();
  w.write(makeRecord(2, 1, 47), 0);
  t.is(ring.usedBytes, 48);
  w.write(makeRecord(2, 2, 5), 0);
  t.is(ring.usedBytes, 64);
  t.deepEqual(drain(ring), [makeRecord(2, 1, 47), makeRecord(2, 2, 5)]);
});

test('ring - the last chunk before the end holds a small record, or padding for a larger one', (t) => {
  const ring = ringAt(128, 112);
  const w = ring.writer();
  w.write(new Uint8Array(0), 0); // one chunk, exactly the rest
  t.is(ring.usedBytes, 16);
  t.deepEqual(drain(ring), [new Uint8Array(0)]);
  const other = ringAt(128, 112);
  other.writer().write(makeRecord(3, 1, 17), 0); // two chunks do not fit in one: padding, then offset 0
  t.is(other.usedBytes, 48);
  t.deepEqual(drain(other), [makeRecord(3, 1, 17)]);
});

test('ring - a record larger than the rest of the area is written whole at the start', (t) => {
  const ring = ringAt(128, 80);
  const w = ring.writer();
  w.write(makeRecord(4, 1, 60), 0); // 64 bytes > the 48 left: padding 48 + 64
  t.is(ring.usedBytes, 112);
  t.deepEqual(drain(ring), [makeRecord(4, 1, 60)]);
  // The largest record (the whole area) behind padding: it waits for the padding to be read.
  const other = ringAt(128, 80);
  const ow = other.writer();
  t.is(ow.maxRecordLength, 128);
  t.false(ow.tryWrite(makeRecord(4, 2, 128)));
  t.is(other.usedBytes, 48);
  t.deepEqual(drain(other), []);
  t.true(ow.tryWrite(makeRecord(4, 2, 128)));
  t.is(other.usedBytes, 128);
  t.deepEqual(drain(other), [makeRecord(4, 2, 128)]);
});

test('ring - every record length from every start offset comes back whole', (t) => {
  let checked = 0;
  for (let offset = 0; offset < 128; offset += 16) {
    for (let length = 0; length <= 128; length++) {
      const ring = ringAt(128, offset);
      const rec = makeRecord(7, length, Math.max(5, length)).subarray(0, length);
      const w = ring.writer();
      // A record that needs the padding first may have to wait for the reader to skip it.
      if (!w.tryWrite(rec)) {
        t.deepEqual(drain(ring), []);
        w.write(rec, 0);
      }
      const out = drain(ring);
      if (out.length !== 1 || Buffer.compare(out[0] ?? new Uint8Array(1), rec) !== 0 || ring.usedBytes !== 0) {
        t.fail(`offset ${offset}, length ${length}`);
      }
      checked++;
    }
  }
  t.is(checked, 8 * 129);
});

test('ring - a record that can never fit fails with ERR_RECORD_TOO_LARGE', (t) => {
  const ring = SharedRing.create(64);
  const w = ring.writer();
  t.throws(() => w.write(new Uint8Array(65)), { code: 'ERR_RECORD_TOO_LARGE' } as never);
  t.throws(() => w.reserve(1000, 0), { code: 'ERR_RECORD_TOO_LARGE' } as never);
  t.throws(() => SharedRing.create(100), { code: 'ERR_INVALID_ARGUMENT' } as never);
});

test('ring - a full ring fails fast with ERR_RING_FULL, or after the timeout', (t) => {
  const ring = SharedRing.create(64);
  const w = ring.writer();
  w.write(new Uint8Array(64), 0);
  t.false(w.tryWrite(bytesOf(1)));
  t.is(w.tryReserve(1), RING_FULL);
  t.throws(() => w.write(bytesOf(1), 0), { code: 'ERR_RING_FULL' } as never);
  const started = performance.now();
  t.throws(() => w.write(bytesOf(1), 30), { code: 'ERR_RING_FULL' } as never);
  t.true(performance.now() - started >= 25);
  t.is(drain(ring).length, 1);
  t.true(w.tryWrite(bytesOf(1)));
});

test('ring - a writer encodes in place: reserve, write into the view, commit', (t) => {
  const ring = SharedRing.create(128);
  const w = ring.writer();
  const at = w.reserve(8, 0);
  const reader = ring.reader();
  t.is(reader.read(() => t.fail('an uncommitted record must not be visible')), 0);
  new DataView(w.bytes.buffer, w.bytes.byteOffset + at, 8).setFloat64(0, Math.PI);
  w.commit(at, 8);
  const seen: number[] = [];
  reader.read((bytes, offset, length) => seen.push(new DataView(bytes.buffer, bytes.byteOffset + offset, length).getFloat64(0)));
  t.deepEqual(seen, [Math.PI]);
});

test('ring - a batch read stops at the first record not yet committed', (t) => {
  const ring = SharedRing.create(128);
  const w = ring.writer();
  w.write(bytesOf(1), 0);
  const at = w.reserve(1, 0);
  w.write(bytesOf(3), 0);
  const reader = ring.reader();
  const seen: number[] = [];
  const read = (): number => reader.read((b, o) => seen.push(b[o] ?? -1));
  t.is(read(), 1);
  w.bytes[at] = 2;
  w.commit(at, 1);
  t.is(read(), 2);
  t.deepEqual(seen, [1, 2, 3]);
  t.is(ring.usedBytes, 0);
});

test('ring - writeBatch publishes many records at once', (t) => {
  const ring = SharedRing.create(256);
  const records = [0, 1, 2, 3, 4, 5, 6].map((n) => makeRecord(5, n, recordLength(5, n, 20)));
  ring.writer().writeBatch(records, 0);
  t.deepEqual(drain(ring), records);
});

test('ring - only one reader holds a ring unless it is taken over', (t) => {
  const ring = SharedRing.create(64);
  const first = ring.reader();
  t.throws(() => ring.reader(), { code: 'ERR_INVALID_ARGUMENT' } as never);
  t.notThrows(() => ring.reader({ takeOver: true }));
  first.close();
  t.throws(() => first.read(() => undefined), { code: 'ERR_INVALID_ARGUMENT' } as never);
  t.throws(() => SharedRing.attach(new SharedArrayBuffer(1024)), { code: 'ERR_INVALID_ARGUMENT' } as never);
});

test('ring - any sequence of writes and batch reads behaves as a FIFO queue', (t) => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), length: fc.integer({ min: 0, max: 128 }) }),
    fc.record({ kind: fc.constant('read' as const), max: fc.integer({ min: 1, max: 5 }) }),
  );
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const ring = SharedRing.create(128);
        const w = ring.writer();
        const reader = ring.reader();
        const model: Uint8Array[] = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'write') {
            const rec = makeRecord(6, seq, Math.max(5, o.length));
            if (w.tryWrite(rec)) {
              model.push(rec);
              seq++;
            }
          } else {
            reader.read((bytes, offset, length) => {
              const want = model.shift();
              if (want === undefined || Buffer.compare(want, bytes.subarray(offset, offset + length)) !== 0) throw new Error('mismatch');
            }, o.max);
          }
        }
        reader.read((bytes, offset, length) => {
          const want = model.shift();
          if (want === undefined || Buffer.compare(want, bytes.subarray(offset, offset + length)) !== 0) throw new Error('mismatch');
        });
        return model.length === 0 && ring.usedBytes === 0;
      }),
      { numRuns: 300, seed: 20261125 },
    ),
  );
});

serial('ring - no record is lost or duplicated with several writer threads and one reader', async (t) => {
  // A small ring: the writers wrap around it thousands of times and often wait for room.
  const ring = SharedRing.create(1 << 12);
  const progress = new SharedArrayBuffer(16);
  const perWriter = 50_000;
  const modes = ['write', 'batch', 'reserve'] as const;
  const writers = modes.map((mode, id) => startWriter({ buffer: ring.buffer, id, count: perWriter, maxLength: 300, mode, progress }));
  t.teardown(() => Promise.all(writers.map((w) => w.worker.terminate())));
  const next = [0, 0, 0];
  let bad = 0;
  let total = 0;
  let stalls = 0;
  const reader = ring.reader();
  const deadline = Date.now() + 60_000;
  while (total < perWriter * modes.length && Date.now() < deadline) {
    // The async wait keeps this thread's event loop (and ava's timers) alive. With three busy
    // writers, two seconds without a record means a wake-up was lost.
    if (!(await reader.waitAsync(2000))) {
      stalls++;
      continue;
    }
    reader.read((bytes, offset, length) => {
      const rec = checkRecord(bytes, offset, length);
      if (rec === undefined || rec.id > 2 || rec.seq !== next[rec.id] || length !== recordLength(rec.id, rec.seq, 300)) bad++;
      else next[rec.id] = rec.seq + 1;
      total++;
    });
  }
  t.deepEqual(await Promise.all(writers.map((w) => w.done)), ['ok', 'ok', 'ok']);
  t.is(bad, 0);
  t.is(stalls, 0);
  t.deepEqual(next, [perWriter, perWriter, perWriter]);
  t.is(total, perWriter * modes.length);
  t.is(ring.usedBytes, 0);
});

serial('ring - a full ring blocks writer threads until the reader frees space', async (t) => {
  const ring = SharedRing.create(1024);
  const progress = new SharedArrayBuffer(16);
  const cells = new Int32Array(progress);
  const count = 100;
  const writers = [0, 1].map((id) => startWriter({ buffer: ring.buffer, id, count, maxLength: 100, mode: 'write', progress }));
  t.teardown(() => Promise.all(writers.map((w) => w.worker.terminate())));
  // The writers fill the ring and then sleep: their progress stops short of the count.
  await until(() => ring.usedBytes > 1024 - 112);
  let stalled = -1;
  for (let seen = -2; seen !== stalled; ) {
    stalled = seen;
    await new Promise((resolve) => setTimeout(resolve, 30));
    seen = Atomics.load(cells, 0) + Atomics.load(cells, 1);
  }
  t.true(stalled < 2 * count);
  t.true(ring.usedBytes > 1024 - 112);
  const reader = ring.reader();
  const next = [0, 0];
  let bad = 0;
  while ((next[0] ?? 0) + (next[1] ?? 0) < 2 * count) {
    if (!(await reader.waitAsync(5000))) break;
    // One record at a time, so that the writers block and wake again and again.
    reader.read((bytes, offset, length) => {
      const rec = checkRecord(bytes, offset, length);
      if (rec === undefined || rec.seq !== next[rec.id]) bad++;
      else next[rec.id] = rec.seq + 1;
    }, 1);
  }
  t.is(bad, 0);
  t.deepEqual(next, [count, count]);
  t.deepEqual(await Promise.all(writers.map((w) => w.done)), ['ok', 'ok']);
});

serial('ring - an idle reader sleeps until a writer on another thread commits', async (t) => {
  const ring = SharedRing.create(1024);
  const reader = ring.reader({ spinUs: 0 });
  t.false(reader.wait(20));
  t.false(await reader.waitAsync(20));
  const progress = new SharedArrayBuffer(16);
  const writer = startWriter({ buffer: ring.buffer, id: 1, count: 1, maxLength: 40, mode: 'write', progress });
  t.teardown(() => writer.worker.terminate());
  t.true(await reader.waitAsync(10_000));
  t.is(reader.read((bytes, offset, length) => t.deepEqual(checkRecord(bytes, offset, length), { id: 1, seq: 0 })), 1);
  t.is(await writer.done, 'ok');
});

serial('ring - closing the ring releases a blocked writer with ERR_RING_CLOSED and lets the reader drain', async (t) => {
  const ring = SharedRing.create(256);
  const progress = new SharedArrayBuffer(16);
  const writer = startWriter({ buffer: ring.buffer, id: 2, count: 50, maxLength: 40, mode: 'write', progress });
  t.teardown(() => writer.worker.terminate());
  await until(() => ring.usedBytes > 256 - 48);
  ring.close();
  t.is(await writer.done, 'ERR_RING_CLOSED');
  const reader = ring.reader();
  t.false(reader.finished);
  const n = reader.read(() => undefined);
  t.is(n, Atomics.load(new Int32Array(progress), 2));
  t.true(reader.finished);
  t.false(await reader.waitAsync(10));
  const err = t.throws(() => ring.writer().write(bytesOf(1)));
  t.true(isPetrelError(err, 'ERR_RING_CLOSED'));
});
