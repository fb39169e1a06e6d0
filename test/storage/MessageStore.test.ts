import test from 'ava';
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import path from 'node:path';
import { CHANNELS } from '../../common/diagnostics.js';
import { javaHash } from '../../common/javaHash.js';
import { decodeMessage } from '../../storage/MessageDecoder.js';
import type { MessageFilter } from '../../storage/MessageFilter.js';
import { MessageStore } from '../../storage/MessageStore.js';
import { SysFlag } from '../../storage/RecordLayout.js';
import { GetMessageStatus } from '../../storage/StoreResults.js';
import { tempDir } from '../helpers/tmp.js';
import { msg, openStore, smallConfig, text, utf8 } from './storeHelpers.js';

const get = (s: MessageStore, topic: string, queueId: number, offset: number, maxMsgNums = 32, filter?: MessageFilter) =>
  s.getMessage({ group: 'g', topic, queueId, offset, maxMsgNums, ...(filter === undefined ? {} : { filter }) });

for (const backend of ['mmap', 'fs'] as const) {
  test(`MessageStore - put assigns offsets and ids and get returns copies of the records (${backend})`, (t) => {
    const { store } = openStore(t, { mappedFileBackend: backend });
    const a = store.putMessage(msg('T', 0, 'm0', { tags: 'A' }));
    const b = store.putMessage(msg('T', 1, 'm1'));
    const c = store.putMessage(msg('T', 0, 'm2'));
    t.is(a.status, 'PUT_OK');
    t.deepEqual([a.queueOffset, b.queueOffset, c.queueOffset], [0, 0, 1]);
    t.is(b.wroteOffset, a.wroteOffset + a.wroteBytes);
    t.regex(a.uniqKey, /^[0-9A-F]{32}$/);
    t.is(a.offsetMsgId.length, 32);
    const r = get(store, 'T', 0, 0);
    t.is(r.status, GetMessageStatus.FOUND);
    t.deepEqual(r.messages.map((m) => m.queueOffset), [0, 1]);
    t.is(r.nextBeginOffset, 2);
    t.is(r.bufferTotalSize, a.wroteBytes + c.wroteBytes);
    const first = decodeMessage(r.buffer, r.messages[0]?.bufferOffset ?? -1);
    t.is(text(first.body), 'm0');
    t.is(first.msgId, a.uniqKey);
    t.is(r.messages[0]?.tagsCode, javaHash('A'));
    r.buffer.fill(0);
    t.is(text(store.lookMessageByOffset(a.wroteOffset)?.body ?? new Uint8Array(0)), 'm0', 'the result was a copy');
  });

  test(`MessageStore - records survive a clean shutdown and later puts continue the offsets (${backend})`, (t) => {
    const s = openStore(t, { mappedFileBackend: backend });
    const puts = Array.from({ length: 60 }, (_, i) => s.store.putMessage(msg('T', i % 3, `m${i}`, { keys: `k${i}` })));
    s.store.shutdown();
    t.false(fs.existsSync(path.join(s.root, 'abort')));
    const store = s.reopen();
    t.false(store.recovery.abnormal);
    t.is(store.getMaxPhyOffset(), (puts.at(-1)?.wroteOffset ?? 0) + (puts.at(-1)?.wroteBytes ?? 0));
    t.is(store.getMaxOffsetInQueue('T', 0), 20);
    t.is(text(store.queryMessage('T', 'k37', 10, 0, Number.MAX_SAFE_INTEGER).messages[0]?.body ?? new Uint8Array(0)), 'm37');
    const next = store.putMessage(msg('T', 1, 'after'));
    t.is(next.queueOffset, 20);
    t.is(next.wroteOffset >= store.getMaxPhyOffset() - next.wroteBytes, true);
  });
}

test('MessageStore - each pull status comes back as a value with the corrected next offset', (t) => {
  const s = openStore(t, { mappedFileSizeCommitLog: 1024, fileReservedTime: 1 }, {}, Date.now());
  fs.mkdirSync(path.join(s.root, 'consumequeue', 'Empty', '0'), { recursive: true });
  s.store.shutdown();
  const store = s.reopen();
  for (let i = 0; i < 30; i++) store.putMessage(msg('T', 0, `message number ${i}`));
  t.like(get(store, 'Nope', 0, 0), { status: GetMessageStatus.NO_MATCHED_LOGIC_QUEUE, nextBeginOffset: 0 });
  t.like(get(store, 'Empty', 0, 5), { status: GetMessageStatus.NO_MESSAGE_IN_QUEUE, nextBeginOffset: 0 });
  t.like(get(store, 'T', 0, 30), { status: GetMessageStatus.OFFSET_OVERFLOW_ONE, nextBeginOffset: 30 });
  t.like(get(store, 'T', 0, 31), { status: GetMessageStatus.OFFSET_OVERFLOW_BADLY, nextBeginOffset: 0, maxOffset: 30 });
  s.clock.advance(2 * 3_600_000);
  t.true(store.deleteExpiredFiles() > 0);
  const min = store.getMinOffsetInQueue('T', 0);
  t.true(min > 0);
  t.like(get(store, 'T', 0, 0), { status: GetMessageStatus.OFFSET_TOO_SMALL, nextBeginOffset: min, minOffset: min });
  t.like(get(store, 'T', 0, 31), { status: GetMessageStatus.OFFSET_OVERFLOW_BADLY, nextBeginOffset: 30 });
  t.like(get(store, 'T', 0, min, 2), { status: GetMessageStatus.FOUND, nextBeginOffset: min + 2 });
});

test('MessageStore - the tag-code filter skips messages without reading them and NO_MATCHED_MESSAGE moves on', (t) => {
  const { store } = openStore(t);
  for (let i = 0; i < 10; i++) store.putMessage(msg('T', 0, `m${i}`, { tags: i % 2 === 0 ? 'Even' : 'Odd' }));
  const even = javaHash('Even');
  const onlyEven: MessageFilter = { matchesTagsCode: (code) => code === even };
  const r = get(store, 'T', 0, 0, 32, onlyEven);
  t.deepEqual(r.messages.map((m) => m.queueOffset), [0, 2, 4, 6, 8]);
  const none: MessageFilter = { matchesTagsCode: () => false };
  t.like(get(store, 'T', 0, 3, 32, none), { status: GetMessageStatus.NO_MATCHED_MESSAGE, nextBeginOffset: 10 });
  const props: MessageFilter = { matchesTagsCode: () => true, matchesRecord: (p) => p['TAGS'] === 'Odd' };
  t.deepEqual(get(store, 'T', 0, 0, 32, props).messages.map((m) => m.queueOffset), [1, 3, 5, 7, 9]);
});

test('MessageStore - a pull stops at maxMsgNums and at the hot-data batch limits', (t) => {
  const { store } = openStore(t, { maxTransferCountOnMessageInMemory: 4, mappedFileSizeCommitLog: 64 * 1024 });
  for (let i = 0; i < 10; i++) store.putMessage(msg('T', 0, `m${i}`));
  t.like(get(store, 'T', 0, 0, 3), { nextBeginOffset: 3 });
  t.is(get(store, 'T', 0, 0, 3).messages.length, 3);
  const capped = get(store, 'T', 0, 2, 32);
  t.is(capped.messages.length, 4);
  t.is(capped.nextBeginOffset, 6);
});

test('MessageStore - messages are found by key, by unique key, by offset id and by time', (t) => {
  const { store, clock } = openStore(t);
  const t0 = clock.now();
  const puts = [];
  for (let i = 0; i < 12; i++) {
    puts.push(store.putMessage(msg('T', i % 2, `m${i}`, { keys: [`order-${i}`, 'shared'] })));
    clock.advance(1000);
  }
  t.deepEqual(
    store.queryMessage('T', 'shared', 64, 0, Number.MAX_SAFE_INTEGER).messages.map((m) => text(m.body)),
    puts.map((_, i) => `m${11 - i}`),
  );
  t.deepEqual(store.queryMessage('T', 'shared', 64, t0 + 3000, t0 + 5000).messages.map((m) => text(m.body)), ['m5', 'm4', 'm3']);
  t.deepEqual(store.queryMessage('T', 'shared', 3, 0, Number.MAX_SAFE_INTEGER).messages.length, 3);
  t.deepEqual(store.queryMessage('Other', 'shared', 64, 0, Number.MAX_SAFE_INTEGER).messages, []);
  t.is(text(store.queryMessageByUniqKey('T', puts[7]?.uniqKey ?? '')?.body ?? new Uint8Array(0)), 'm7');
  t.is(text(store.viewMessageById(puts[4]?.offsetMsgId ?? '')?.body ?? new Uint8Array(0)), 'm4');
  t.is(store.lookMessageByOffset((puts[4]?.wroteOffset ?? 0) + 1), undefined, 'not a record boundary');
  t.is(store.getOffsetInQueueByTime('T', 0, t0 + 4000), 2);
  t.is(store.getOffsetInQueueByTime('T', 0, t0 + 4500, 'upper'), 2);
  t.is(store.getMessageStoreTimeStamp('T', 1, 2), t0 + 5000);
});

test('MessageStore - colliding keys in the index are told apart by the store', (t) => {
  const { store } = openStore(t);
  store.putMessage(msg('T', 0, 'a', { keys: 'Aa' }));
  store.putMessage(msg('T', 0, 'b', { keys: 'BB' }));
  t.deepEqual(store.queryMessage('T', 'Aa', 64, 0, Number.MAX_SAFE_INTEGER).messages.map((m) => text(m.body)), ['a']);
  t.deepEqual(store.queryMessage('T', 'BB', 64, 0, Number.MAX_SAFE_INTEGER).messages.map((m) => text(m.body)), ['b']);
});

test('MessageStore - bad input is refused with a typed error and nothing is written', (t) => {
  const { store } = openStore(t, {}, { queueNumsOf: (topic) => (topic === 'Small' ? 2 : undefined) });
  store.putMessage(msg('T', 0, 'ok'));
  const before = { phy: store.getMaxPhyOffset(), q: store.getMaxOffsetInQueue('T', 0) };
  const code = (f: () => unknown): string | undefined => (t.throws(f) as { code?: string }).code;
  t.is(code(() => store.putMessage({ topic: 'T', queueId: 0, body: new Uint8Array(1025) })), 'ERR_MESSAGE_TOO_LARGE');
  t.is(code(() => store.putMessage(msg('bad/topic', 0, 'x'))), 'ERR_TOPIC_INVALID');
  t.is(code(() => store.putMessage(msg('x'.repeat(128), 0, 'x'))), 'ERR_TOPIC_INVALID');
  t.is(code(() => store.putMessage(msg('T', 0, 'x', { properties: { big: 'p'.repeat(40_000) } }))), 'ERR_PROPERTIES_TOO_LARGE');
  t.is(code(() => store.putMessage(msg('T', 8, 'x'))), 'ERR_QUEUE_ID_INVALID');
  t.is(code(() => store.putMessage(msg('Small', 2, 'x'))), 'ERR_QUEUE_ID_INVALID');
  t.is(code(() => store.putMessage(msg('T', 1.5, 'x'))), 'ERR_QUEUE_ID_INVALID');
  t.is(code(() => store.putMessage(msg('T', 0, 'x', { properties: { UNIQ_KEY: 'mine' } }))), 'ERR_PROPERTY_NAME_RESERVED');
  t.is(code(() => store.putMessage(msg('T', 0, 'x', { keys: 'a\u0001b' }))), 'ERR_MESSAGE_ILLEGAL');
  t.deepEqual({ phy: store.getMaxPhyOffset(), q: store.getMaxOffsetInQueue('T', 0) }, before);
  t.is(store.getMaxOffsetInQueue('Small', 2), 0);
  t.is(get(store, 'T', 0, 0).messages.length, 1);
});

test('MessageStore - transactions: prepared messages get no queue offset, committed ones do', (t) => {
  const { store } = openStore(t);
  const half = store.putMessage(msg('T', 0, 'half', { sysFlag: SysFlag.TRANSACTION_PREPARED_TYPE }));
  t.is(half.queueOffset, 0);
  t.is(store.getMaxOffsetInQueue('T', 0), 0);
  const done = store.putMessage(msg('T', 0, 'done', { sysFlag: SysFlag.TRANSACTION_COMMIT_TYPE }));
  t.is(done.queueOffset, 0);
  t.is(store.getMaxOffsetInQueue('T', 0), 1);
  t.is(text(store.lookMessageByOffset(half.wroteOffset)?.body ?? new Uint8Array(0)), 'half');
});

test('MessageStore - expired CommitLog files go with the ConsumeQueue and index files that only point into them', (t) => {
  const s = openStore(t, { mappedFileSizeCommitLog: 1024, fileReservedTime: 72, maxIndexNum: 8 }, {}, Date.now());
  const store = s.store;
  for (let i = 0; i < 80; i++) store.putMessage(msg('T', 0, `payload ${i}`, { keys: `k${i}` }));
  const files = (): string[] => fs.readdirSync(path.join(s.root, 'commitlog')).sort();
  const before = files().length;
  const indexBefore = fs.readdirSync(path.join(s.root, 'index')).length;
  s.clock.advance(71 * 3_600_000);
  t.is(store.deleteExpiredFiles(), 0, 'not yet 72 hours');
  s.clock.advance(2 * 3_600_000);
  const deleted = store.deleteExpiredFiles();
  t.is(deleted, Math.min(10, before - 1), 'deleteFileBatchMax at a time, never the current file');
  t.is(files().length, before - deleted);
  t.is(store.getMinPhyOffset(), Number(files()[0]));
  const min = store.getMinOffsetInQueue('T', 0);
  const first = get(store, 'T', 0, min, 1).messages[0];
  t.true((first?.commitLogOffset ?? -1) >= store.getMinPhyOffset());
  t.true(fs.readdirSync(path.join(s.root, 'index')).length < indexBefore);
  t.deepEqual(store.queryMessage('T', 'k0', 1, 0, Number.MAX_SAFE_INTEGER).messages, []);
  t.is(store.queryMessage('T', 'k79', 1, 0, Number.MAX_SAFE_INTEGER).messages.length, 1);
});

test('MessageStore - a crash leaves the abort file and the next open recovers abnormally with every message', (t) => {
  const s = openStore(t);
  const recovered: unknown[] = [];
  const onRecovered = (m: unknown): void => {
    recovered.push(m);
  };
  diagnostics.subscribe(CHANNELS.storeRecovered, onRecovered);
  t.teardown(() => diagnostics.unsubscribe(CHANNELS.storeRecovered, onRecovered));
  for (let i = 0; i < 50; i++) s.store.putMessage(msg('T', i % 4, `m${i}`, { keys: `k${i}` }));
  s.store.crash();
  t.true(fs.existsSync(path.join(s.root, 'abort')));
  const store = s.reopen();
  t.true(store.recovery.abnormal);
  t.is(store.recovery.truncatedBytes, 0);
  t.like(recovered.at(-1), { abnormal: true, to: store.getMaxPhyOffset() });
  for (let q = 0; q < 4; q++) t.is(store.getMaxOffsetInQueue('T', q), q < 2 ? 13 : 12);
  for (let i = 0; i < 50; i += 7) t.is(store.queryMessage('T', `k${i}`, 1, 0, Number.MAX_SAFE_INTEGER).messages.length, 1);
  t.is(store.putMessage(msg('T', 0, 'next')).queueOffset, 13);
});

test('MessageStore - a torn last record is cut off on recovery, with its unit and index entries', (t) => {
  const s = openStore(t, { mappedFileSizeCommitLog: 64 * 1024 });
  const puts = Array.from({ length: 10 }, (_, i) => s.store.putMessage(msg('T', 0, `m${i}`, { keys: `k${i}` })));
  s.store.crash();
  const last = puts[9];
  if (last === undefined) return t.fail();
  const file = path.join(s.root, 'commitlog', '00000000000000000000');
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, new Uint8Array(10), 0, 10, last.wroteOffset + last.wroteBytes - 10);
  fs.closeSync(fd);
  const store = s.reopen();
  t.is(store.getMaxPhyOffset(), last.wroteOffset);
  t.is(store.recovery.truncatedBytes, last.wroteBytes);
  t.is(store.getMaxOffsetInQueue('T', 0), 9);
  t.deepEqual(store.queryMessage('T', 'k9', 1, 0, Number.MAX_SAFE_INTEGER).messages, []);
  t.is(store.queryMessage('T', 'k8', 1, 0, Number.MAX_SAFE_INTEGER).messages.length, 1);
  const again = store.putMessage(msg('T', 0, 'again', { keys: 'k9' }));
  t.is(again.wroteOffset, last.wroteOffset);
  t.is(again.queueOffset, 9);
  t.is(text(store.queryMessage('T', 'k9', 1, 0, Number.MAX_SAFE_INTEGER).messages[0]?.body ?? new Uint8Array(0)), 'again');
});

test('MessageStore - a second open of a held store is refused and a stale lock is taken over', (t) => {
  const s = openStore(t);
  t.is((t.throws(() => MessageStore.open({ config: smallConfig(s.root) })) as { code?: string }).code, 'ERR_STORE_LOCKED');
  s.store.shutdown();
  fs.writeFileSync(path.join(s.root, 'lock'), '999999999');
  t.notThrows(() => s.reopen());
  t.is(fs.readFileSync(path.join(s.root, 'lock'), 'utf8'), String(process.pid));
});

test('MessageStore - a store used after shutdown answers ERR_STORE_CLOSED', (t) => {
  const { store } = openStore(t);
  store.shutdown();
  t.is((t.throws(() => store.putMessage(msg('T', 0, 'x'))) as { code?: string }).code, 'ERR_STORE_CLOSED');
  t.is((t.throws(() => get(store, 'T', 0, 0)) as { code?: string }).code, 'ERR_STORE_CLOSED');
});

test('MessageStore - bad configuration is refused naming the key', (t) => {
  const root = tempDir(t);
  const err = (config: unknown): string => {
    const e = t.throws(() => MessageStore.open({ config })) as { code?: string; message: string };
    t.is(e.code, 'ERR_CONFIG_INVALID');
    return e.message;
  };
  t.regex(err({ storePathRootDir: root, mappedFileSizeCommitLog: 10 }), /mappedFileSizeCommitLog/);
  t.regex(err({ storePathRootDir: root, mappedFileSizeConsumeQueue: 1001 }), /mappedFileSizeConsumeQueue/);
  t.regex(err({ storePathRootDir: root, flushDiskType: 'SOMETIMES' }), /flushDiskType/);
  t.regex(err({ storePathRootDir: root, maxMesageSize: 1 }), /maxMesageSize/);
  t.regex(err({ storePathRootDir: root, storeHost: 'nowhere' }), /storeHost/);
  t.regex(err({ storePathRootDir: root, maxHashSlotNum: 50_000_000, maxIndexNum: 100_000_000 }), /maxIndexNum/);
  t.false(fs.existsSync(path.join(root, 'lock')));
});

test('MessageStore - RocketMQ defaults apply to keys not given', (t) => {
  const { store } = openStore(t);
  const c = store.config;
  t.is(c.fileReservedTime, 72);
  t.is(c.flushCommitLogLeastPages, 4);
  t.is(c.flushDiskType, 'ASYNC_FLUSH');
  t.is(c.maxMsgsNumBatch, 64);
  t.is(c.checkCRCOnRecover, true);
  t.is(utf8.encode('x').length, 1);
});
