import test from 'ava';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { ConsumeQueueExt } from '../../storage/ConsumeQueueExt.js';
import { CQ_EXT_MAX_ADDRESS, decodeExtAddress, encodeCqExtUnit, encodeExtAddress, isExtAddress } from '../../storage/CqExtUnit.js';

const BITMAP = Uint8Array.from([0x01, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42]);

function open(root: string, fileSize = 100, readOnly = false): ConsumeQueueExt {
  const ext = new ConsumeQueueExt({ storeRoot: root, topic: 'TopicTest', queueId: 3, fileSize, readOnly });
  ext.load();
  return ext;
}

test('ConsumeQueueExt - addresses are offsets shifted by Long.MIN_VALUE and never look like a tag hash', (t) => {
  t.is(encodeExtAddress(0), -(2n ** 63n));
  t.is(decodeExtAddress(encodeExtAddress(123_456)), 123_456);
  t.true(isExtAddress(encodeExtAddress(0)));
  t.true(isExtAddress(CQ_EXT_MAX_ADDRESS));
  t.false(isExtAddress(-2_147_483_648n)); // Integer.MIN_VALUE is a tag hash ("polygenelubricants")
  t.false(isExtAddress(2_598_919n));
  t.false(isExtAddress(0n));
});

test('ConsumeQueueExt - a unit is encoded field by field, big-endian', (t) => {
  const bytes = encodeCqExtUnit({ tagsCode: -2n, storeTimestamp: 0x0102030405, bitmap: Uint8Array.from([0xaa, 0xbb]) });
  t.deepEqual(
    [...bytes],
    [0x00, 0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0x00, 0x02, 0xaa, 0xbb],
  );
  t.is(encodeCqExtUnit({ tagsCode: 0n, storeTimestamp: 0 }).length, 20);
});

test('ConsumeQueueExt - units read back by address, with and without bitmap', (t) => {
  const root = tempDir(t);
  const ext = open(root, 1024);
  t.teardown(() => ext.close());
  const a = ext.append({ tagsCode: 2_598_919n, storeTimestamp: 1_700_000_000_000, bitmap: BITMAP });
  const b = ext.append({ tagsCode: -5n, storeTimestamp: 1_700_000_000_001 });
  t.is(decodeExtAddress(a), 0);
  t.is(decodeExtAddress(b), 34);
  t.deepEqual(ext.get(a), { tagsCode: 2_598_919n, storeTimestamp: 1_700_000_000_000, bitmap: BITMAP });
  t.deepEqual(ext.get(b), { tagsCode: -5n, storeTimestamp: 1_700_000_000_001 });
  t.is(ext.get(2_598_919n), undefined, 'a tag hash is not an address');
  t.is(ext.get(encodeExtAddress(54)), undefined, 'nothing written there yet');
  t.is(ext.maxAddress(), encodeExtAddress(54));
  const file = path.join(ConsumeQueueExt.dirFor(root, 'TopicTest', 3), '00000000000000000000');
  t.is(statSync(file).size, 1024);
});

test('ConsumeQueueExt - a unit that does not fit rolls to a new file behind a blank marker', (t) => {
  const root = tempDir(t);
  const ext = open(root, 100);
  t.teardown(() => ext.close());
  // 34-byte units: two fit in 100 - 4 bytes, the third goes to the next file
  const addresses = [0, 1, 2, 3, 4].map((i) => ext.append({ tagsCode: BigInt(i), storeTimestamp: i, bitmap: BITMAP }));
  t.deepEqual(addresses.map(decodeExtAddress), [0, 34, 100, 134, 200]);
  const dir = ConsumeQueueExt.dirFor(root, 'TopicTest', 3);
  t.deepEqual(readdirSync(dir).sort(), ['00000000000000000000', '00000000000000000100', '00000000000000000200']);
  const first = readFileSync(path.join(dir, '00000000000000000000'));
  t.deepEqual([...first.subarray(68, 72)], [0xff, 0xff, 0x00, 0x00], 'blank marker after the last unit');
  t.true(first.subarray(72).every((byte) => byte === 0));
  for (const [i, address] of addresses.entries()) t.is(ext.get(address)?.tagsCode, BigInt(i));
});

test('ConsumeQueueExt - load finds the write position again, across a rolled file', (t) => {
  const root = tempDir(t);
  const writer = open(root, 100);
  for (let i = 0; i < 3; i++) writer.append({ tagsCode: BigInt(i), storeTimestamp: i, bitmap: BITMAP });
  writer.flush();
  writer.close();
  const again = open(root, 100);
  t.teardown(() => again.close());
  t.is(again.maxAddress(), encodeExtAddress(134));
  t.is(decodeExtAddress(again.append({ tagsCode: 9n, storeTimestamp: 9 })), 134);
  t.is(again.get(encodeExtAddress(100))?.tagsCode, 2n);
});

test('ConsumeQueueExt - a torn unit at the tail ends the scan on load', (t) => {
  const root = tempDir(t);
  const writer = open(root, 1024);
  writer.append({ tagsCode: 1n, storeTimestamp: 1, bitmap: BITMAP });
  writer.close();
  // a header claiming 34 bytes whose bitmap size disagrees, as a torn write could leave
  const file = path.join(ConsumeQueueExt.dirFor(root, 'TopicTest', 3), '00000000000000000000');
  const bytes = readFileSync(file);
  bytes.writeInt16BE(34, 34);
  bytes.writeInt16BE(3, 34 + 18);
  writeFileSync(file, bytes);
  const again = open(root, 1024);
  t.teardown(() => again.close());
  t.is(again.maxAddress(), encodeExtAddress(34));
  t.is(again.get(encodeExtAddress(34)), undefined);
});

test('ConsumeQueueExt - truncateAfter keeps the unit at the address and drops the rest, files included', (t) => {
  const root = tempDir(t);
  const ext = open(root, 100);
  t.teardown(() => ext.close());
  const addresses = [0, 1, 2, 3, 4].map((i) => ext.append({ tagsCode: BigInt(i), storeTimestamp: i, bitmap: BITMAP }));
  ext.truncateAfter(addresses[1] ?? 0n);
  const dir = ConsumeQueueExt.dirFor(root, 'TopicTest', 3);
  t.deepEqual(readdirSync(dir), ['00000000000000000000']);
  t.is(ext.get(addresses[1] ?? 0n)?.tagsCode, 1n);
  t.is(ext.get(addresses[2] ?? 0n), undefined);
  t.is(ext.maxAddress(), encodeExtAddress(68));
  const file = readFileSync(path.join(dir, '00000000000000000000'));
  t.is(file.length, 100);
  t.true(file.subarray(68).every((byte) => byte === 0), 'the blank marker is gone too');
  // the next append goes right after the kept unit, and the file rolls again as before
  t.is(decodeExtAddress(ext.append({ tagsCode: 7n, storeTimestamp: 7, bitmap: BITMAP })), 100);
});

test('ConsumeQueueExt - truncateAfter an address without a unit is refused', (t) => {
  const root = tempDir(t);
  const ext = open(root, 1024);
  t.teardown(() => ext.close());
  ext.append({ tagsCode: 1n, storeTimestamp: 1 });
  t.throws(() => ext.truncateAfter(encodeExtAddress(500)), { code: 'ERR_OFFSET_INVALID' });
});

test('ConsumeQueueExt - truncateAll drops every file and starts again at offset 0', (t) => {
  const root = tempDir(t);
  const ext = open(root, 100);
  t.teardown(() => ext.close());
  for (let i = 0; i < 4; i++) ext.append({ tagsCode: BigInt(i), storeTimestamp: i, bitmap: BITMAP });
  ext.truncateAll();
  t.deepEqual(readdirSync(ConsumeQueueExt.dirFor(root, 'TopicTest', 3)), []);
  t.is(ext.append({ tagsCode: 5n, storeTimestamp: 5 }), encodeExtAddress(0));
});

test('ConsumeQueueExt - deleteFilesBefore removes whole old files only', (t) => {
  const root = tempDir(t);
  const ext = open(root, 100);
  t.teardown(() => ext.close());
  const addresses = [0, 1, 2, 3, 4].map((i) => ext.append({ tagsCode: BigInt(i), storeTimestamp: i, bitmap: BITMAP }));
  ext.deleteFilesBefore(addresses[3] ?? 0n);
  t.deepEqual(readdirSync(ConsumeQueueExt.dirFor(root, 'TopicTest', 3)).sort(), ['00000000000000000100', '00000000000000000200']);
  t.is(ext.minAddress(), encodeExtAddress(100));
  t.is(ext.get(addresses[0] ?? 0n), undefined);
  t.is(ext.get(addresses[3] ?? 0n)?.tagsCode, 3n);
});

test('ConsumeQueueExt - a read-only instance reads what the writer appends, new files included', (t) => {
  const root = tempDir(t);
  const writer = open(root, 100);
  const reader = new ConsumeQueueExt({ storeRoot: root, topic: 'TopicTest', queueId: 3, fileSize: 100, readOnly: true });
  t.teardown(() => {
    writer.close();
    reader.close();
  });
  const first = writer.append({ tagsCode: 1n, storeTimestamp: 1, bitmap: BITMAP });
  t.is(reader.get(first)?.tagsCode, 1n);
  const later = [2, 3, 4].map((i) => writer.append({ tagsCode: BigInt(i), storeTimestamp: i }));
  for (const [i, address] of later.entries()) t.is(reader.get(address)?.tagsCode, BigInt(i + 2));
  t.throws(() => reader.append({ tagsCode: 0n, storeTimestamp: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
});

test('ConsumeQueueExt - a unit larger than a short or than a file is refused', (t) => {
  const root = tempDir(t);
  const ext = open(root, 100);
  t.teardown(() => ext.close());
  t.throws(() => ext.append({ tagsCode: 0n, storeTimestamp: 0, bitmap: new Uint8Array(80) }), { code: 'ERR_INVALID_ARGUMENT' });
  t.throws(() => encodeCqExtUnit({ tagsCode: 0n, storeTimestamp: 0, bitmap: new Uint8Array(32_748) }), { code: 'ERR_INVALID_ARGUMENT' });
});

test('ConsumeQueueExt - a store time that is not a whole number of ms is refused', (t) => {
  t.throws(() => encodeCqExtUnit({ tagsCode: 0n, storeTimestamp: 1.5 }), { code: 'ERR_INVALID_ARGUMENT' });
});

test('ConsumeQueueExt - files of the wrong size are reported as corrupt', (t) => {
  const root = tempDir(t);
  const ext = open(root, 100);
  ext.append({ tagsCode: 0n, storeTimestamp: 0 });
  ext.close();
  t.throws(() => open(root, 200), { code: 'ERR_STORE_CORRUPT' });
});

test('ConsumeQueueExt - a closed instance refuses work', (t) => {
  const root = tempDir(t);
  const ext = open(root, 100);
  ext.close();
  t.throws(() => ext.append({ tagsCode: 0n, storeTimestamp: 0 }), { code: 'ERR_STORE_CLOSED' });
});
