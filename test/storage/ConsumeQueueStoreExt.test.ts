import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { emptyDispatchRequest } from '../../storage/CommitLogDispatcher.js';
import { emptyCqUnit, extOffsetOf, extTagsCode, isExtTagsCode } from '../../storage/ConsumeQueue.js';
import { ConsumeQueueExt } from '../../storage/ConsumeQueueExt.js';
import { encodeExtAddress } from '../../storage/CqExtUnit.js';
import { ConsumeQueueStore } from '../../storage/ConsumeQueueStore.js';
import { consumeQueueDir } from '../../storage/StorePaths.js';
import { tempDir } from '../helpers/tmp.js';

const BITMAP = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
/** A unit with a 14-byte bitmap is 34 bytes: five fit before the 4-byte end marker. */
const EXT_FILE_SIZE = 5 * 34 + 4;

for (const backend of ['mmap', 'fs'] as const) {
  const open = (root: string): ConsumeQueueStore => {
    const store = new ConsumeQueueStore({ rootDir: root, fileSize: 20 * 100, backend, enableConsumeQueueExt: true, extFileSize: EXT_FILE_SIZE });
    store.load();
    store.recover();
    return store;
  };
  /** Dispatches records n = from..to-1 of 100 bytes each at CommitLog offset 100 n. */
  const dispatch = (store: ConsumeQueueStore, from: number, to: number): void => {
    const r = emptyDispatchRequest();
    for (let n = from; n < to; n++) {
      Object.assign(r, { topic: 'T', queueId: 0, commitLogOffset: n * 100, msgSize: 100, tagsCode: 1000 + n, storeTimestamp: 5000 + n, queueOffset: n });
      r.filterBitmap = n % 2 === 0 ? BITMAP : undefined;
      store.dispatch(r);
    }
  };
  const extOffsetAt = (store: ConsumeQueueStore, q: number): number => {
    const unit = emptyCqUnit();
    const cq = store.find('T', 0);
    if (cq === undefined || !cq.getUnit(q, unit) || !isExtTagsCode(unit.tagsCode)) return -1;
    return extOffsetOf(unit.tagsCode);
  };

  test(`ConsumeQueueStore - with the extension on, the tag slot holds the unit's address and resolves to tag, time and bits (${backend})`, (t) => {
    const root = tempDir(t);
    const store = open(root);
    dispatch(store, 0, 3);
    const cq = store.find('T', 0);
    const unit = emptyCqUnit();
    t.true(cq?.getUnit(1, unit));
    t.true(isExtTagsCode(unit.tagsCode));
    t.is(extOffsetOf(unit.tagsCode), 34, 'the second extension unit follows the first, which has a bitmap');
    t.deepEqual(cq && store.extUnitOf(cq, unit.tagsCode), { tagsCode: 1001, msgStoreTime: 5001, filterBitMap: undefined });
    t.true(cq?.getUnit(2, unit));
    const withBits = cq && store.extUnitOf(cq, unit.tagsCode);
    t.like(withBits, { tagsCode: 1002, msgStoreTime: 5002 });
    t.deepEqual(withBits?.filterBitMap && [...withBits.filterBitMap], [...BITMAP]);
    store.close();
    // on disk the slot is RocketMQ's address: extension offset + Long.MIN_VALUE, big-endian
    const bytes = fs.readFileSync(path.join(consumeQueueDir(root, 'T', 0), '00000000000000000000'));
    t.is(bytes.readBigInt64BE(20 + 12), encodeExtAddress(34));
  });

  test(`ConsumeQueueStore - recovery cuts the extension after the unit the last ConsumeQueue unit points to (${backend})`, (t) => {
    const root = tempDir(t);
    let store = open(root);
    dispatch(store, 0, 5);
    const third = extOffsetAt(store, 3);
    store.truncateDirtyLogicFiles(300);
    t.is(store.find('T', 0)?.maxOffsetInQueue, 3);
    dispatch(store, 3, 4);
    t.is(extOffsetAt(store, 3), third, 'the extension was cut with the queue: the next unit takes the freed address');
    store.close();

    // a crash that kept extension units the queue never pointed to: recovery drops them
    const cqFile = path.join(consumeQueueDir(root, 'T', 0), '00000000000000000000');
    store = open(root);
    dispatch(store, 4, 6);
    const fifth = extOffsetAt(store, 5);
    store.close();
    const bytes = fs.readFileSync(cqFile);
    bytes.fill(0, 5 * 20, 6 * 20);
    fs.writeFileSync(cqFile, bytes);
    store = open(root);
    t.teardown(() => store.close());
    t.is(store.find('T', 0)?.maxOffsetInQueue, 5);
    dispatch(store, 5, 6);
    t.is(extOffsetAt(store, 5), fifth);
    const cq = store.find('T', 0);
    const unit = emptyCqUnit();
    t.true(cq?.getUnit(5, unit));
    t.is(cq && store.extUnitOf(cq, unit.tagsCode)?.tagsCode, 1005);
  });

  test(`ConsumeQueueStore - an extension unit lost in a crash leaves its address unused, read as unknown (${backend})`, (t) => {
    const root = tempDir(t);
    let store = open(root);
    dispatch(store, 0, 3);
    const lost = extOffsetAt(store, 2);
    store.close();
    // the queue's pages reached the disk, the extension's last unit did not
    const extFile = path.join(ConsumeQueueExt.dirFor(root, 'T', 0), '00000000000000000000');
    const ext = fs.readFileSync(extFile);
    ext.fill(0, lost);
    fs.writeFileSync(extFile, ext);
    store = open(root);
    t.teardown(() => store.close());
    const cq = store.find('T', 0);
    const unit = emptyCqUnit();
    t.true(cq?.getUnit(2, unit));
    t.is(cq && store.extUnitOf(cq, unit.tagsCode), undefined);
    dispatch(store, 3, 4);
    t.is(extOffsetAt(store, 3), EXT_FILE_SIZE, 'the next unit starts the next file, past the lost address');
    t.true(cq?.getUnit(2, unit));
    t.is(cq && store.extUnitOf(cq, unit.tagsCode), undefined, 'the lost address still names nothing');
  });
}

test('ConsumeQueue - an extension tag code far past 2^32 is written as its exact address and read back unchanged', (t) => {
  const root = tempDir(t);
  const store = new ConsumeQueueStore({ rootDir: root, fileSize: 20 * 10, backend: 'mmap' });
  const cq = store.findOrCreate('T', 0);
  const offset = 2 ** 40 + 12_345;
  cq.putMessagePositionInfo(0, 10, extTagsCode(offset), 0);
  const unit = emptyCqUnit();
  t.true(cq.getUnit(0, unit));
  t.true(isExtTagsCode(unit.tagsCode));
  t.is(extOffsetOf(unit.tagsCode), offset);
  store.close();
  const bytes = fs.readFileSync(path.join(consumeQueueDir(root, 'T', 0), '00000000000000000000'));
  t.is(bytes.readBigInt64BE(12), encodeExtAddress(offset));
});
