import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { MappedFile } from '../../storage/MappedFile.js';
import { MappedFileQueue } from '../../storage/MappedFileQueue.js';
import { loadMmap } from '../../storage/FileBackend.js';
import { tempDir } from '../helpers/tmp.js';

test('MappedFile - mmap-io loads on this machine', (t) => {
  t.not(loadMmap(), null);
});

for (const backend of ['mmap', 'fs'] as const) {
  test(`MappedFile - appends, reads and positions behave the same with ${backend}`, (t) => {
    const file = MappedFile.create(path.join(tempDir(t), '00000000000000008192'), 8192, 8192, { backend });
    t.teardown(() => file.close());
    t.is(file.backendKind, backend);
    t.is(fs.statSync(file.path).size, 8192);
    t.is(file.append(Uint8Array.of(1, 2, 3, 4), 1, 3), 0);
    t.is(file.wrotePosition, 3);
    t.deepEqual([...file.read(0, 3)], [2, 3, 4]);
    file.setLong(100, -2);
    file.setInt32(200, 0x7fffffff);
    t.is(file.getLong(100), -2);
    t.is(file.getInt32(200), 0x7fffffff);
    t.is(file.append(new Uint8Array(8190), 0, 8190), -1, 'no room: nothing written');
    t.is(file.wrotePosition, 3);
  });

  test(`MappedFile - isAbleToFlush follows flushCommitLogLeastPages (${backend})`, (t) => {
    const file = MappedFile.create(path.join(tempDir(t), 'f'), 16 * 4096, 0, { backend });
    t.teardown(() => file.close());
    file.wrotePosition = 4096 * 3 + 10;
    t.false(file.isAbleToFlush(4), 'three new pages are not four');
    t.true(file.isAbleToFlush(3));
    t.true(file.isAbleToFlush(0));
    t.is(file.flush(4), 0);
    t.is(file.flush(0), 4096 * 3 + 10);
    file.wrotePosition = 4096 * 4 + 1;
    t.false(file.isAbleToFlush(2), 'page 3 was already counted');
    t.true(file.isAbleToFlush(1));
    file.wrotePosition = file.fileSize;
    t.true(file.isAbleToFlush(100), 'a full file always flushes');
    t.is(file.flush(100), file.fileSize);
    t.false(file.isAbleToFlush(0));
  });

  test(`MappedFile - zeroTail clears stale bytes past a cut and warm leaves data alone (${backend})`, (t) => {
    const file = MappedFile.create(path.join(tempDir(t), 'f'), 3 * 65536, 0, { backend });
    t.teardown(() => file.close());
    file.write(10, new Uint8Array(100).fill(9), 0, 100);
    file.write(150_000, Uint8Array.of(7), 0, 1);
    file.warm(0);
    t.is(file.read(10, 1)[0], 9);
    file.zeroTail(50);
    t.deepEqual([...file.read(10, 40)], new Array(40).fill(9));
    t.true(file.read(50, 150_000).every((b) => b === 0));
  });
}

test('MappedFileQueue - loading refuses a file of the wrong size and drops an empty last file', (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, '00000000000000000000'), new Uint8Array(1024));
  fs.writeFileSync(path.join(dir, '00000000000000001024'), new Uint8Array(0));
  fs.writeFileSync(path.join(dir, 'not-a-store-file'), 'x');
  const q = new MappedFileQueue({ dir, fileSize: 1024, backend: 'mmap' });
  q.load();
  t.teardown(() => q.close());
  t.is(q.files.length, 1);
  t.false(fs.existsSync(path.join(dir, '00000000000000001024')));
  fs.writeFileSync(path.join(dir, '00000000000000001024'), new Uint8Array(1000));
  const bad = new MappedFileQueue({ dir, fileSize: 1024, backend: 'mmap' });
  t.is((t.throws(() => bad.load()) as { code?: string }).code, 'ERR_STORE_CORRUPT');
  bad.close();
});

test('MappedFileQueue - truncating at an offset deletes later files and sets the positions', (t) => {
  const q = new MappedFileQueue({ dir: tempDir(t), fileSize: 1000, backend: 'mmap' });
  t.teardown(() => q.close());
  for (let i = 0; i < 3; i++) q.lastWritable().wrotePosition = 1000;
  q.truncateDirtyFiles(1500, false);
  t.is(q.files.length, 2);
  t.is(q.last()?.wrotePosition, 500);
  t.is(q.maxOffset(), 1500);
  t.is(q.files[0]?.wrotePosition, 1000);
});
