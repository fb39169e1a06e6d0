import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../common/clock.js';
import { isPetrelError } from '../../common/errors.js';
import { CommitLog } from '../../storage/CommitLog.js';
import { ConsumeQueue } from '../../storage/ConsumeQueue.js';
import { injectWriteFault } from '../../storage/FileFaults.js';
import { MappedFile } from '../../storage/MappedFile.js';
import { MessageEncoder } from '../../storage/MessageCodec.js';
import { decodeMessage } from '../../storage/MessageDecoder.js';
import { parseSocketAddress } from '../../storage/MessageId.js';
import { MessageStore } from '../../storage/MessageStore.js';
import { offsetToFileName } from '../../storage/StorePaths.js';
import { smallConfig } from './storeHelpers.js';
import { tempDir } from '../helpers/tmp.js';

const FILE = 4096;
const SIZE = 200;
const encoder = new MessageEncoder({ storeHost: parseSocketAddress('127.0.0.1:10911'), maxMessageSize: 1024 });
const BASE = encoder.encodedSize({ topic: 'T', queueId: 0, body: new Uint8Array(0) }, 'U');

/** `n` records of SIZE bytes back to back, bodies filled with `fill + i`. */
function batch(n: number, fill: number): Uint8Array {
  const out = new Uint8Array(n * SIZE);
  for (let i = 0; i < n; i++) encoder.encode({ topic: 'T', queueId: 0, body: new Uint8Array(SIZE - BASE).fill(fill + i) }, out, i * SIZE, 'U');
  return out;
}

function appendBatch(log: CommitLog, bytes: Uint8Array, firstQueueOffset: number): void {
  for (let i = 0; i < bytes.length / SIZE; i++) log.appendDeferred(bytes, i * SIZE, SIZE, firstQueueOffset + i, 1_700_000_000_000 + firstQueueOffset + i);
  log.commit();
}

function fileBytes(file: string, from: number, to: number): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const out = Buffer.alloc(to - from);
    fs.readSync(fd, out, 0, out.length, from);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

function setup(t: Parameters<typeof tempDir>[0]): { root: string; dir: string; log: CommitLog } {
  const root = tempDir(t, 'petrelmq-rollback-');
  const dir = path.join(root, 'commitlog');
  const log = new CommitLog({ dir, fileSize: FILE, backend: 'fs', clock: new ManualClock() });
  log.load();
  return { root, dir, log };
}

/** Opens the folder as a store (recovery after a crash) and returns the bodies' first bytes of queue T/0. */
function recoveredFills(root: string): number[] {
  fs.writeFileSync(path.join(root, 'abort'), '');
  const store = MessageStore.open({ config: smallConfig(root) });
  try {
    const out: number[] = [];
    const max = store.getMaxOffsetInQueue('T', 0);
    for (let q = 0; q < max; q++) {
      const r = store.getMessage({ group: 'g', topic: 'T', queueId: 0, offset: q, maxMsgNums: 1 });
      const m = r.messages[0];
      if (m === undefined) break;
      out.push(decodeMessage(r.buffer, m.bufferOffset).body[0] ?? -1);
    }
    return out;
  } finally {
    store.shutdown();
  }
}

test('CommitLog - a batch whose write fails part way with ENOSPC leaves no trace, and the next batch continues from the mark', (t) => {
  const { root, dir, log } = setup(t);
  appendBatch(log, batch(3, 1), 0);
  const before = log.maxOffset();
  const stamp = log.lastStoreTimestamp;
  const mark = log.mark();
  const fault = injectWriteFault({ pathPrefix: dir, partialBytes: SIZE + SIZE / 2 });
  const err = t.throws(() => appendBatch(log, batch(4, 10), 3));
  t.true(isPetrelError(err, 'ERR_STORE_IO'), String(err));
  t.true(/ENOSPC/.test(err?.message ?? ''));
  log.rollback(mark);
  fault.clear();
  t.is(log.maxOffset(), before);
  t.is(log.lastStoreTimestamp, stamp);
  // the record and a half that reached the file are zeroed
  t.deepEqual([...fileBytes(path.join(dir, offsetToFileName(0)), before, before + 4 * SIZE)].filter((b) => b !== 0), []);
  appendBatch(log, batch(2, 20), 3);
  t.is(log.maxOffset(), before + 2 * SIZE);
  log.close();
  t.deepEqual(recoveredFills(root), [1, 2, 3, 20, 21]);
});

test('CommitLog - a failed batch that rolled to a new file undoes the roll, its blank record and the new file', (t) => {
  const { root, dir, log } = setup(t);
  appendBatch(log, batch(18, 1), 0); // 3600 of 4096 bytes: the next batch rolls
  const before = log.maxOffset();
  const mark = log.mark();
  // the second file cannot be written; the first takes the records that fit and the blank
  const fault = injectWriteFault({ pathPrefix: path.join(dir, offsetToFileName(FILE)), partialBytes: SIZE / 2 });
  t.throws(() => appendBatch(log, batch(4, 40), 18), { code: 'ERR_STORE_IO' });
  t.true(fault.hits > 0);
  log.rollback(mark);
  fault.clear();
  t.is(log.maxOffset(), before);
  t.is(log.queue.files.length, 1);
  t.deepEqual([...fileBytes(path.join(dir, offsetToFileName(0)), before, FILE)].filter((b) => b !== 0), []);
  appendBatch(log, batch(4, 60), 18);
  t.is(log.queue.files.length, 2);
  log.close();
  const fills = recoveredFills(root);
  t.is(fills.length, 22);
  t.deepEqual(fills.slice(16), [17, 18, 60, 61, 62, 63]);
});

test('MappedFile - a write through the mapping that the disk cannot back fails with ERR_STORE_IO and touches nothing', (t) => {
  const dir = tempDir(t, 'petrelmq-reserve-');
  const file = MappedFile.create(path.join(dir, offsetToFileName(0)), 6_000_000, 0, { backend: 'mmap' });
  t.teardown(() => file.close());
  if (file.backendKind !== 'mmap') {
    t.log('mmap-io is not available here: nothing is written through a mapping');
    t.pass();
    return;
  }
  const fault = injectWriteFault({ pathPrefix: dir });
  t.throws(() => file.setInt32(3_000_000, 7), { code: 'ERR_STORE_IO' });
  t.false(file.isReserved(3_000_000, 3_000_004));
  fault.clear();
  file.setInt32(3_000_000, 7);
  t.is(file.getInt32(3_000_000), 7);
  // only the chunk written is allocated: the file stays sparse
  t.true(fs.statSync(file.path).blocks * 512 <= 2 * (1 << 20));
});

test('ConsumeQueue - a unit the disk has no room for fails with ERR_STORE_IO and is written on retry', (t) => {
  const dir = tempDir(t, 'petrelmq-cqfull-');
  const cq = new ConsumeQueue({ topic: 'T', queueId: 0, dir, fileSize: 300_000 * 20, backend: 'mmap' });
  cq.load();
  t.teardown(() => cq.close());
  cq.putMessagePositionInfo(0, 100, 1, 0);
  const fault = injectWriteFault({ pathPrefix: dir });
  if (cq.queue.last()?.backendKind === 'mmap') {
    // the second 1 MiB chunk is not reserved yet: its first unit needs the disk
    t.throws(() => cq.putMessagePositionInfo(100, 100, 1, 60_000), { code: 'ERR_STORE_IO' });
  }
  fault.clear();
  cq.putMessagePositionInfo(100, 100, 1, 60_000);
  t.is(cq.maxOffsetInQueue, 60_001);
});
