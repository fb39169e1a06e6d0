import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../common/clock.js';
import { javaHash } from '../../common/javaHash.js';
import { emptyDispatchRequest } from '../../storage/CommitLogDispatcher.js';
import { IndexFile, indexFileSize } from '../../storage/IndexFile.js';
import { indexKeyHash, IndexService } from '../../storage/IndexService.js';
import { tempDir } from '../helpers/tmp.js';

function service(t: Parameters<typeof tempDir>[0], slotNum = 4, indexNum = 16, root = tempDir(t)): IndexService {
  const s = new IndexService({ rootDir: root, slotNum, indexNum, backend: 'mmap', clock: new ManualClock() });
  s.load();
  t.teardown(() => s.close());
  return s;
}

function put(s: IndexService, topic: string, phy: number, ts: number, keys: string, uniqKey = ''): void {
  const req = emptyDispatchRequest();
  Object.assign(req, { topic, commitLogOffset: phy, storeTimestamp: ts, keys, uniqKey, msgSize: 10 });
  s.dispatch(req);
}

/** A 7-character key k with javaHash(prefix + k) === target (base-31 digits of the remainder). */
function keyWithHash(prefix: string, target: number): string {
  const pow7 = 27_512_614_111n; // 31^7
  const mod = 1n << 32n;
  const head = BigInt.asUintN(32, BigInt(javaHash(prefix)) * pow7);
  let rest = (((BigInt(target) - head) % mod) + mod) % mod;
  const digits: number[] = [];
  for (let i = 0; i < 7; i++) {
    digits.unshift(Number(rest % 31n));
    rest /= 31n;
  }
  return String.fromCharCode(...digits);
}

test('IndexFile - the key hash is abs(Java hash of "topic#key") with MIN_VALUE mapped to 0', (t) => {
  t.is(indexKeyHash('T', 'k'), Math.abs(javaHash('T#k')));
  t.is(indexKeyHash('T', 'polygenelubricants'), Math.abs(javaHash('T#polygenelubricants')));
  const key = keyWithHash('T#', -2147483648);
  t.is(javaHash(`T#${key}`), -2147483648);
  t.is(indexKeyHash('T', key), 0);
});

test('IndexFile - keys sharing one hash slot are all found, each under its own key', (t) => {
  const s = service(t, 1, 64);
  for (let i = 0; i < 10; i++) put(s, 'T', i * 100, 1000 + i, `key${i % 3}`);
  t.deepEqual(s.queryOffsets('T', 'key0', 64, 0, Number.MAX_SAFE_INTEGER), [900, 600, 300, 0]);
  t.deepEqual(s.queryOffsets('T', 'key1', 64, 0, Number.MAX_SAFE_INTEGER), [700, 400, 100]);
  t.deepEqual(s.queryOffsets('T', 'key2', 2, 0, Number.MAX_SAFE_INTEGER), [800, 500], 'maxNum newest first');
  t.deepEqual(s.queryOffsets('Other', 'key0', 64, 0, Number.MAX_SAFE_INTEGER), []);
});

test('IndexFile - different keys with the same Java hash collide and the caller filters them', (t) => {
  t.is(javaHash('T#Aa'), javaHash('T#BB'));
  const s = service(t);
  put(s, 'T', 0, 1000, 'Aa');
  put(s, 'T', 100, 1000, 'BB');
  t.deepEqual(s.queryOffsets('T', 'Aa', 64, 0, 5000), [100, 0], 'RocketMQ does not filter collisions in the index');
  t.deepEqual(s.queryOffsets('T', 'Aa', 64, 0, 5000, (phy) => phy === 0), [0]);
});

test('IndexFile - a query sees entries whose second overlaps [begin, end]', (t) => {
  const s = service(t, 8, 64);
  const t0 = 1_700_000_000_000;
  put(s, 'T', 0, t0, 'k');
  put(s, 'T', 100, t0 + 1500, 'k');
  put(s, 'T', 200, t0 + 5000, 'k');
  const q = (b: number, e: number): number[] => s.queryOffsets('T', 'k', 64, b, e);
  t.deepEqual(q(t0, t0 + 5000), [200, 100, 0]);
  t.deepEqual(q(t0 + 1000, t0 + 1999), [100], 'stored with one-second resolution');
  t.deepEqual(q(t0 + 2000, t0 + 4999), []);
  t.deepEqual(q(t0 + 5000, t0 + 9000), [200]);
  t.deepEqual(q(0, t0 - 1), []);
});

test('IndexFile - a full file rolls to a new one that begins where it ended', (t) => {
  const root = tempDir(t);
  const s = service(t, 4, 4, root);
  for (let i = 0; i < 7; i++) put(s, 'T', i * 10, 1000 + i * 1000, `k${i}`);
  t.is(s.files.length, 3, 'three usable entries a file (entry 0 is never used)');
  const [first, second] = s.files;
  t.is(second?.beginPhyOffset, 30);
  t.is(first?.endPhyOffset, 20);
  t.is(first?.indexCount, 4);
  t.deepEqual(s.queryOffsets('T', 'k1', 64, 0, 1e13), [10]);
  t.deepEqual(s.queryOffsets('T', 'k6', 64, 0, 1e13), [60]);
  t.is(fs.readdirSync(path.join(root, 'index')).length, 3);
  t.is(s.flush(false), 6000, 'both full files are flushed; the end time of the newer is durable');
});

test('IndexFile - re-dispatching indexed records adds nothing', (t) => {
  const s = service(t, 4, 64);
  put(s, 'T', 0, 1000, 'k', 'U0');
  put(s, 'T', 100, 1000, 'k', 'U1');
  put(s, 'T', 0, 1000, 'k', 'U0');
  put(s, 'T', 100, 1000, 'k', 'U1');
  t.is(s.files[0]?.indexCount, 5);
  t.deepEqual(s.queryOffsets('T', 'U1', 64, 0, 5000), [100]);
});

test('IndexFile - truncating at a CommitLog offset unlinks later entries from their slots', (t) => {
  const s = service(t, 2, 64);
  for (let i = 0; i < 10; i++) put(s, 'T', i * 10, 1000, `k${i % 4}`);
  s.truncate(55, () => 999);
  t.deepEqual(s.queryOffsets('T', 'k0', 64, 0, 5000), [40, 0]);
  t.deepEqual(s.queryOffsets('T', 'k1', 64, 0, 5000), [50, 10]);
  t.is(s.lastIndexedPhyOffset, 50);
  t.is(s.files[0]?.endTimestamp, 999);
  put(s, 'T', 60, 1000, 'k2');
  t.deepEqual(s.queryOffsets('T', 'k2', 64, 0, 5000), [60, 20]);
});

test('IndexFile - golden layout: header, slot and entry bytes', (t) => {
  const file = path.join(tempDir(t), '20240101000000000');
  const idx = IndexFile.create(file, 2, 3, 0, 0, { backend: 'mmap' });
  const hash = 5; // slot 5 % 2 = 1
  idx.putKey(hash, 0x1234, 1_700_000_000_000);
  idx.putKey(hash, 0x5678, 1_700_000_003_500);
  idx.close();
  const bytes = fs.readFileSync(file);
  t.is(bytes.length, indexFileSize(2, 3));
  const hex = (a: number, b: number): string => bytes.subarray(a, b).toString('hex');
  t.is(hex(0, 40), '0000018bcfe56800' + '0000018bcfe575ac' + '0000000000001234' + '0000000000005678' + '00000001' + '00000003');
  t.is(hex(40, 48), '00000000' + '00000002', 'slot 1 holds entry 2');
  t.is(hex(48 + 20, 48 + 40), '00000005' + '0000000000001234' + '00000000' + '00000000');
  t.is(hex(48 + 40, 48 + 60), '00000005' + '0000000000005678' + '00000003' + '00000001');
});

test('IndexFile - a new file is named after the last one even when the clock is behind', (t) => {
  const root = tempDir(t);
  fs.mkdirSync(path.join(root, 'index'));
  IndexFile.create(path.join(root, 'index', '29991231235959999'), 4, 4, 0, 0, { backend: 'mmap' }).close();
  const s = service(t, 4, 4, root);
  for (let i = 0; i < 4; i++) put(s, 'T', i * 10, 1000, `k${i}`);
  t.deepEqual(fs.readdirSync(path.join(root, 'index')).sort(), ['29991231235959999', '29991231235960000']);
});
