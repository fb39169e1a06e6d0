import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../common/clock.js';
import { CommitLog } from '../../storage/CommitLog.js';
import { MessageEncoder } from '../../storage/MessageCodec.js';
import { decodeMessage } from '../../storage/MessageDecoder.js';
import { parseSocketAddress } from '../../storage/MessageId.js';
import { BLANK_MAGIC } from '../../storage/RecordLayout.js';
import { tempDir } from '../helpers/tmp.js';

const FILE = 1024;
const encoder = new MessageEncoder({ storeHost: parseSocketAddress('127.0.0.1:10911'), maxMessageSize: 4096 });
const BASE = encoder.encodedSize({ topic: 'T', queueId: 0, body: new Uint8Array(0) }, 'U');

/** An encoded record of exactly `size` bytes. */
function record(size: number, fill = 0x61): Uint8Array {
  const m = { topic: 'T', queueId: 0, body: new Uint8Array(size - BASE).fill(fill) };
  const out = new Uint8Array(size);
  if (encoder.encode(m, out, 0, 'U') !== size) throw new Error('size mismatch');
  return out;
}

function openLog(t: Parameters<typeof tempDir>[0], backend: 'mmap' | 'fs' = 'mmap', clock = new ManualClock()): CommitLog {
  const log = new CommitLog({ dir: path.join(tempDir(t), 'commitlog'), fileSize: FILE, backend, clock });
  log.load();
  t.teardown(() => log.close());
  return log;
}

/** A plain Uint8Array copy (backends hand out Buffers), for deepEqual. */
function plainBytes(b: Uint8Array | undefined): Uint8Array | undefined {
  return b === undefined ? undefined : Uint8Array.from(b);
}

function blankAt(log: CommitLog, offset: number): { size: number; magic: number } {
  const bytes = log.queue.findByOffset(offset)?.read(offset % FILE, 8) ?? new Uint8Array(8);
  const v = new DataView(bytes.buffer, bytes.byteOffset, 8);
  return { size: v.getInt32(0), magic: v.getInt32(4) };
}

for (const backend of ['mmap', 'fs'] as const) {
  test(`CommitLog - a record ending exactly 8 bytes before the file end stays, the blank record takes the last 8 (${backend})`, (t) => {
    const log = openLog(t, backend);
    t.is(log.append(record(FILE - 8), 0, FILE - 8, 0), 0);
    t.is(log.maxOffset(), FILE - 8);
    t.is(log.queue.files.length, 1);
    const next = record(BASE + 1);
    t.is(log.append(next, 0, next.length, 1), FILE);
    t.deepEqual(blankAt(log, FILE - 8), { size: 8, magic: BLANK_MAGIC });
    t.is(log.queue.files.length, 2);
    t.is(log.maxOffset(), FILE + next.length);
  });

  test(`CommitLog - a record one byte too long for the space left goes to the next file behind a blank record (${backend})`, (t) => {
    const log = openLog(t, backend);
    log.append(record(200), 0, 200, 0);
    const fits = FILE - 200 - 8;
    const tooLong = record(fits + 1);
    t.is(log.append(tooLong, 0, tooLong.length, 1), FILE);
    t.deepEqual(blankAt(log, 200), { size: FILE - 200, magic: BLANK_MAGIC });
    const exact = record(fits);
    const log2 = openLog(t, backend);
    log2.append(record(200), 0, 200, 0);
    t.is(log2.append(exact, 0, exact.length, 1), 200);
    t.is(log2.maxOffset(), FILE - 8);
    t.is(log2.queue.files.length, 1);
  });

  test(`CommitLog - a record that can never fit is refused before anything is written (${backend})`, (t) => {
    const log = openLog(t, backend);
    log.append(record(200), 0, 200, 0);
    const big = new Uint8Array(FILE - 7);
    t.is((t.throws(() => log.append(big, 0, big.length, 1)) as { code?: string }).code, 'ERR_MESSAGE_TOO_LARGE');
    t.is(log.maxOffset(), 200);
    t.is(log.queue.files.length, 1);
  });

  test(`CommitLog - deferred appends land in one copy at commit, across a roll, byte for byte as plain appends (${backend})`, (t) => {
    // one source buffer holding five records back to back, the fourth too long for the first file
    const sizes = [300, 300, 300, 200, 150];
    const src = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
    let at = 0;
    sizes.forEach((size, i) => {
      src.set(record(size, 0x61 + i), at);
      at += size;
    });
    const plain = openLog(t, backend);
    const deferred = openLog(t, backend);
    const plainSrc = src.slice();
    const offsets: number[][] = [[], []];
    at = 0;
    sizes.forEach((size, i) => {
      offsets[0]?.push(plain.append(plainSrc, at, size, i, 1000));
      offsets[1]?.push(deferred.appendDeferred(src, at, size, i, 1000));
      at += size;
    });
    t.deepEqual(offsets[1], offsets[0]);
    t.deepEqual(offsets[1], [0, 300, 600, FILE, FILE + 200]);
    t.is(deferred.maxOffset(), plain.maxOffset());
    // the records of the second file are not in it before commit
    const secondFile = deferred.queue.findByOffset(FILE);
    t.deepEqual(plainBytes(secondFile?.read(0, 4)), new Uint8Array(4));
    deferred.commit();
    for (const [offset, size] of [[0, 300], [300, 300], [600, 300], [FILE, 200], [FILE + 200, 150]] as const) {
      t.deepEqual(plainBytes(deferred.getData(offset, size)), plainBytes(plain.getData(offset, size)), `record at ${offset}`);
    }
    t.deepEqual(blankAt(deferred, 900), blankAt(plain, 900));
  });

  test(`CommitLog - reads and flushes commit pending records first (${backend})`, (t) => {
    const log = openLog(t, backend);
    const r = record(200);
    log.appendDeferred(r, 0, 200, 0);
    t.deepEqual(plainBytes(log.getData(0, 200)), r, 'getData sees the record');
    const s = record(150, 0x62);
    log.appendDeferred(s, 0, 150, 1);
    t.is(log.flush(0), 350);
    t.deepEqual(plainBytes(log.queue.findByOffset(200)?.read(200, 150)), s);
  });
}

test('CommitLog - append patches queue offset, physical offset and store time', (t) => {
  const clock = new ManualClock(1_700_000_000_000);
  const log = openLog(t, 'mmap', clock);
  log.append(record(300), 0, 300, 0);
  const r = record(BASE + 5);
  const phy = log.append(r, 0, r.length, 41);
  const d = decodeMessage(log.getData(phy, r.length) ?? new Uint8Array(0), 0);
  t.is(d.queueOffset, 41);
  t.is(d.commitLogOffset, 300);
  t.is(d.storeTimestamp, 1_700_000_000_000);
  t.is(log.getData(phy, r.length + 1), undefined, 'nothing past the write position is readable');
});

test('CommitLog - store timestamps never go backwards when the clock does', (t) => {
  const clock = new ManualClock(5_000_000);
  const log = openLog(t, 'mmap', clock);
  const r = record(BASE + 1);
  log.append(r, 0, r.length, 0);
  clock.advance(-1000);
  const phy = log.append(r, 0, r.length, 1);
  t.is(decodeMessage(log.getData(phy, r.length) ?? new Uint8Array(0), 0).storeTimestamp, 5_000_000);
});

test('CommitLog - a preallocated next file is taken over when the log rolls', (t) => {
  const log = openLog(t);
  t.true(log.preallocateNextFile(), 'creates the first file');
  log.append(record(FILE - 8), 0, FILE - 8, 0);
  t.true(log.preallocateNextFile());
  t.false(log.preallocateNextFile(), 'only one file ahead');
  t.deepEqual(fs.readdirSync(log.queue.dir).sort(), ['00000000000000000000', '00000000000000001024']);
  const r = record(BASE);
  t.is(log.append(r, 0, r.length, 1), FILE);
  t.is(log.queue.files.length, 2);
});

test('CommitLog - files are named by their 20-digit start offset and found by offset', (t) => {
  const log = openLog(t);
  for (let i = 0; i < 5; i++) log.append(record(600), 0, 600, i);
  t.deepEqual(
    log.queue.files.map((f) => f.fileName),
    ['00000000000000000000', '00000000000000001024', '00000000000000002048', '00000000000000003072', '00000000000000004096'],
  );
  t.is(log.queue.findByOffset(2500)?.fileFromOffset, 2048);
  t.is(log.queue.findByOffset(99_999), undefined);
});
