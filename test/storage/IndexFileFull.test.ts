import test from 'ava';
import type { ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../common/clock.js';
import { isPetrelError } from '../../common/errors.js';
import { emptyDispatchRequest } from '../../storage/CommitLogDispatcher.js';
import { injectWriteFault } from '../../storage/FileFaults.js';
import { HASH_SLOT_SIZE, INDEX_HEADER_SIZE } from '../../storage/IndexFile.js';
import { IndexService } from '../../storage/IndexService.js';
import { RESERVE_CHUNK } from '../../storage/MappedFile.js';
import { mountTmpfs } from '../helpers/smallFs.js';
import { tempDir } from '../helpers/tmp.js';

function service(t: ExecutionContext, root: string, slotNum: number, indexNum: number, backend: 'mmap' | 'fs' = 'mmap'): IndexService {
  const s = new IndexService({ rootDir: root, slotNum, indexNum, backend, clock: new ManualClock() });
  s.load();
  t.teardown(() => s.close());
  return s;
}

/** Record `j`: at CommitLog offset j * 100, with unique key U<j> and key k<j> (two index entries). */
function dispatch(s: IndexService, j: number): void {
  const req = emptyDispatchRequest();
  Object.assign(req, { topic: 'T', commitLogOffset: j * 100, storeTimestamp: 1_000 + j, keys: `k${j}`, uniqKey: `U${j}`, msgSize: 100 });
  s.dispatch(req);
}

function codeOf(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return isPetrelError(err) ? err.code : String(err);
  }
}

const found = (s: IndexService, key: string): number[] => s.queryOffsets('T', key, 64, 0, Number.MAX_SAFE_INTEGER);

for (const backend of ['mmap', 'fs'] as const) {
  test(`IndexFile - ${backend}: a record whose keys need a new file the disk has no room for is indexed whole once there is room, each key once`, (t) => {
    const root = tempDir(t);
    // three usable entries a file: record 0 takes entries 1 and 2, record 1 fits only one more
    const s = service(t, root, 4, 4, backend);
    dispatch(s, 0);
    // only the next file fails: the clock stands still, so it is named after the first one plus one
    const first = path.basename(s.files[0]?.path ?? '');
    const next = (BigInt(first) + 1n).toString().padStart(17, '0');
    const fault = injectWriteFault({ pathPrefix: path.join(root, 'index', next) });
    t.teardown(() => fault.clear());
    t.is(codeOf(() => dispatch(s, 1)), 'ERR_STORE_IO');
    t.true(fault.hits > 0);
    t.is(s.lastIndexedPhyOffset, 0, 'the failed record is not counted as indexed');
    fault.clear();
    dispatch(s, 1);
    dispatch(s, 2);
    for (const j of [0, 1, 2]) {
      t.deepEqual(found(s, `U${j}`), [j * 100], `U${j}`);
      t.deepEqual(found(s, `k${j}`), [j * 100], `k${j}`);
    }
  });
}

test('IndexFile - a record whose entries cross into a chunk the disk has no room for leaves no entry behind, in this process or after a reopen', (t) => {
  const root = tempDir(t);
  // header and slots end exactly at the first chunk's end: entries start at 1 MiB, and entry
  // 52,428 (the key of record 26,213; its unique key is entry 52,427) straddles the next chunk
  const slotNum = (RESERVE_CHUNK - INDEX_HEADER_SIZE) / HASH_SLOT_SIZE;
  const s = service(t, root, slotNum, 200_000);
  const straddling = 26_213;
  for (let j = 0; j < straddling; j++) dispatch(s, j);
  const fault = injectWriteFault({ pathPrefix: path.join(root, 'index') });
  t.teardown(() => fault.clear());
  t.is(codeOf(() => dispatch(s, straddling)), 'ERR_STORE_IO');
  t.is(s.lastIndexedPhyOffset, (straddling - 1) * 100, 'the failed record is not counted as indexed');
  t.deepEqual(found(s, `U${straddling}`), []);
  // in this process: dispatch tries the record again
  fault.clear();
  dispatch(s, straddling);
  t.deepEqual(found(s, `U${straddling}`), [straddling * 100], 'its unique key once');
  t.deepEqual(found(s, `k${straddling}`), [straddling * 100], 'and its key');

  // the same failure, then a restart before there is room: recovery dispatches what the index lacks
  const next = straddling + 1;
  const root2 = tempDir(t);
  const a = service(t, root2, slotNum, 200_000);
  for (let j = 0; j < straddling; j++) dispatch(a, j);
  const fault2 = injectWriteFault({ pathPrefix: path.join(root2, 'index') });
  t.teardown(() => fault2.clear());
  t.is(codeOf(() => dispatch(a, straddling)), 'ERR_STORE_IO');
  a.close();
  fault2.clear();
  const b = service(t, root2, slotNum, 200_000);
  for (let j = 0; j <= next; j++) if (j * 100 > b.lastIndexedPhyOffset) dispatch(b, j);
  for (const j of [straddling - 1, straddling, next]) {
    t.deepEqual(found(b, `U${j}`), [j * 100], `after the reopen: U${j}`);
    t.deepEqual(found(b, `k${j}`), [j * 100], `after the reopen: k${j}`);
  }
});

test('IndexFile - a creation the disk has no room for fails with ERR_STORE_IO, leaves no file and gives back the blocks it took at once (default 5,000,000 slots on 8 MiB)', (t) => {
  const fsys = mountTmpfs(t, 8);
  if ('skip' in fsys) {
    t.log(fsys.skip);
    t.pass();
    return;
  }
  const free = (): number => fs.statfsSync(fsys.dir).bavail;
  const before = free();
  const s = service(t, fsys.dir, 5_000_000, 20_000_000);
  for (let attempt = 0; attempt < 3; attempt++) {
    t.is(codeOf(() => dispatch(s, 0)), 'ERR_STORE_IO', `attempt ${attempt}`);
    t.deepEqual(fs.readdirSync(path.join(fsys.dir, 'index')), [], 'no file is left behind');
    t.is(free(), before, `attempt ${attempt}: every block is free again`);
  }
  t.deepEqual(found(s, 'U0'), []);
});
