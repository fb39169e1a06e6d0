import test from 'ava';
import { javaHash } from '../../common/javaHash.js';
import { emptyDispatchRequest } from '../../storage/CommitLogDispatcher.js';
import { SCHEDULE_TOPIC } from '../../storage/SystemTopics.js';
import { MessageEncoder, PROPERTY_CRC_LENGTH, patchPropertiesCrc, patchRecord, type MessageToStore } from '../../storage/MessageCodec.js';
import { checkRecord, decodeDispatchRequest, decodeMessage, RecordCheck } from '../../storage/MessageDecoder.js';
import { createOffsetMessageId, parseSocketAddress } from '../../storage/MessageId.js';
import { MAGIC_V1, MAGIC_V2, MAX_PROPERTIES_LENGTH, SysFlag } from '../../storage/RecordLayout.js';
import { utf8 } from './storeHelpers.js';

const storeHost = parseSocketAddress('127.0.0.1:10911');
const check = { checkCrc: true, requirePropertiesCrc: false };

function encoder(extra: Partial<ConstructorParameters<typeof MessageEncoder>[0]> = {}): MessageEncoder {
  return new MessageEncoder({ storeHost, maxMessageSize: 4 * 1024 * 1024, ...extra });
}

function encodeOne(enc: MessageEncoder, m: MessageToStore, uniqKey?: string): Uint8Array {
  const buf = new Uint8Array(enc.encodedSize(m, uniqKey) + 16);
  const size = enc.encode(m, buf, 8, uniqKey);
  return buf.subarray(8, 8 + size);
}

test('MessageCodec - a message round-trips with every field', (t) => {
  const m: MessageToStore = {
    topic: 'OrderTopic',
    queueId: 5,
    body: utf8.encode('payload'),
    flag: 42,
    sysFlag: SysFlag.COMPRESSED,
    bornTimestamp: 1_700_000_000_123,
    bornHost: parseSocketAddress('10.1.2.3:4567'),
    reconsumeTimes: 3,
    preparedTransactionOffset: 9_876_543_210,
    tags: 'TagA',
    keys: ['order-1', 'user-7'],
    uniqKey: 'ABCDEF0123',
    waitStoreMsgOK: false,
    properties: { color: 'red', size: 'L' },
    systemProperties: { REAL_TOPIC: 'Orig' },
  };
  const rec = encodeOne(encoder(), m);
  const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  patchRecord(view, 0, 17, 123_456_789_012, 1_700_000_001_000);
  const d = decodeMessage(rec, 0);
  t.is(d.storeSize, rec.length);
  t.is(d.topic, 'OrderTopic');
  t.is(d.queueId, 5);
  t.is(d.flag, 42);
  t.is(d.sysFlag, SysFlag.COMPRESSED);
  t.is(d.bornTimestamp, 1_700_000_000_123);
  t.is(d.bornHost, '10.1.2.3:4567');
  t.is(d.storeHost, '127.0.0.1:10911');
  t.is(d.reconsumeTimes, 3);
  t.is(d.preparedTransactionOffset, 9_876_543_210);
  t.is(d.queueOffset, 17);
  t.is(d.commitLogOffset, 123_456_789_012);
  t.is(d.storeTimestamp, 1_700_000_001_000);
  t.deepEqual([...d.body], [...utf8.encode('payload')]);
  t.is(d.tags, 'TagA');
  t.is(d.keys, 'order-1 user-7');
  t.is(d.msgId, 'ABCDEF0123');
  t.is(d.offsetMsgId, createOffsetMessageId(storeHost, 123_456_789_012));
  t.deepEqual(d.properties, {
    TAGS: 'TagA',
    KEYS: 'order-1 user-7',
    color: 'red',
    size: 'L',
    REAL_TOPIC: 'Orig',
    WAIT: 'false',
    UNIQ_KEY: 'ABCDEF0123',
  });
  t.is(checkRecord(rec, 0, rec.length + 8, check), rec.length);
});

test('MessageCodec - non-ASCII topics, keys and properties round-trip', (t) => {
  const enc = encoder({ strictTopics: false });
  const m: MessageToStore = {
    topic: '主题-🚀',
    queueId: 0,
    body: utf8.encode('тело'),
    tags: '标签',
    keys: ['ключ', 'κλειδί'],
    properties: { 名前: 'värde ✓', emoji: '🙂🙃' },
  };
  const rec = encodeOne(enc, m, 'uniq-ü');
  const d = decodeMessage(rec, 0);
  t.is(d.topic, '主题-🚀');
  t.is(d.tags, '标签');
  t.is(d.keys, 'ключ κλειδί');
  t.is(d.properties['名前'], 'värde ✓');
  t.is(d.properties['emoji'], '🙂🙃');
  t.is(d.msgId, 'uniq-ü');
  t.is(new TextDecoder().decode(d.body), 'тело');
  const req = decodeDispatchRequest(rec, 0, [], emptyDispatchRequest());
  t.is(req.topic, '主题-🚀');
  t.is(req.tagsCode, javaHash('标签'));
  t.is(req.keys, 'ключ κλειδί');
  t.is(req.uniqKey, 'uniq-ü');
});

test('MessageCodec - the store encoder refuses a non-ASCII topic', (t) => {
  const err = t.throws(() => encoder().encodedSize({ topic: '主题', queueId: 0, body: new Uint8Array(0) }));
  t.is((err as { code?: string }).code, 'ERR_TOPIC_INVALID');
});

test('MessageCodec - an empty body round-trips', (t) => {
  const rec = encodeOne(encoder(), { topic: 'T', queueId: 0, body: new Uint8Array(0) });
  const d = decodeMessage(rec, 0);
  t.is(d.body.length, 0);
  t.is(d.bodyCRC, 0);
  t.is(checkRecord(rec, 0, rec.length + 8, check), rec.length);
});

/** PROPLEN of an IPv4, V1 record. */
function propertiesLength(rec: Uint8Array): number {
  const v = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const bodyLength = v.getInt32(84);
  const topicLength = rec[88 + bodyLength] ?? 0;
  return v.getInt16(89 + bodyLength + topicLength);
}

test('MessageCodec - the largest allowed message round-trips', (t) => {
  const max = 256 * 1024;
  const enc = encoder({ maxMessageSize: max });
  const body = new Uint8Array(max).map((_, i) => (i * 31) & 0xff);
  const probe = encodeOne(enc, { topic: 'T', queueId: 0, body: new Uint8Array(0), properties: { p: 'x' } }, 'U');
  const fill = MAX_PROPERTIES_LENGTH - propertiesLength(probe) + 1;
  const m: MessageToStore = { topic: 'T', queueId: 0, body, properties: { p: 'x'.repeat(fill) } };
  const rec = encodeOne(enc, m, 'U');
  t.is(propertiesLength(rec), MAX_PROPERTIES_LENGTH);
  const d = decodeMessage(rec, 0);
  t.deepEqual(d.body, body);
  t.is(d.properties['p'], m.properties?.['p']);
  t.is(checkRecord(rec, 0, rec.length + 8, check), rec.length);
});

test('MessageCodec - one byte over the property or body limit is refused', (t) => {
  const enc = encoder({ maxMessageSize: 100 });
  const probe = encodeOne(enc, { topic: 'T', queueId: 0, body: new Uint8Array(0), properties: { p: 'x' } }, 'U');
  const fill = MAX_PROPERTIES_LENGTH - propertiesLength(probe) + 2;
  const over: MessageToStore = { topic: 'T', queueId: 0, body: new Uint8Array(0), properties: { p: 'x'.repeat(fill) } };
  t.is((t.throws(() => enc.encodedSize(over, 'U')) as { code?: string }).code, 'ERR_PROPERTIES_TOO_LARGE');
  t.is((t.throws(() => enc.encode(over, new Uint8Array(70_000), 0, 'U')) as { code?: string }).code, 'ERR_PROPERTIES_TOO_LARGE');
  t.is((t.throws(() => enc.encodedSize({ topic: 'T', queueId: 0, body: new Uint8Array(101) })) as { code?: string }).code, 'ERR_MESSAGE_TOO_LARGE');
  t.notThrows(() => enc.encodedSize({ topic: 'T', queueId: 0, body: new Uint8Array(100) }));
});

test('MessageCodec - encodedSize equals the bytes encode writes', (t) => {
  const enc = encoder({ strictTopics: false });
  const cases: MessageToStore[] = [
    { topic: 'A', queueId: 0, body: new Uint8Array(0) },
    { topic: 'Tö', queueId: 1, body: new Uint8Array(300), tags: 'x', keys: 'a b', properties: { k: 'ü' } },
    { topic: 'T', queueId: 2, body: new Uint8Array(5), bornHost: parseSocketAddress('[::1]:80') },
  ];
  for (const m of cases) {
    const buf = new Uint8Array(2048);
    t.is(enc.encode(m, buf, 3, 'K'), enc.encodedSize(m, 'K'));
  }
});

test('MessageCodec - a topic longer than 127 bytes is written with MAGIC_V2', (t) => {
  const topic = `%RETRY%${'g'.repeat(200)}`;
  const rec = encodeOne(encoder(), { topic, queueId: 0, body: utf8.encode('x') });
  t.is(new DataView(rec.buffer, rec.byteOffset).getInt32(4), MAGIC_V2);
  t.is(decodeMessage(rec, 0).topic, topic);
  t.is(checkRecord(rec, 0, rec.length + 8, check), rec.length);
  const short = encodeOne(encoder(), { topic: 'T', queueId: 0, body: utf8.encode('x') });
  t.is(new DataView(short.buffer, short.byteOffset).getInt32(4), MAGIC_V1);
});

test('MessageCodec - IPv6 hosts set their sysflag bits and move the later fields', (t) => {
  const enc = encoder({ storeHost: parseSocketAddress('[fe80::1]:10911') });
  const rec = encodeOne(enc, { topic: 'T', queueId: 0, body: utf8.encode('v6'), bornHost: parseSocketAddress('[2001:db8::7]:5000') });
  patchRecord(new DataView(rec.buffer, rec.byteOffset, rec.byteLength), 0, 1, 2, 3);
  const d = decodeMessage(rec, 0);
  t.is(d.sysFlag & (SysFlag.BORNHOST_V6 | SysFlag.STOREHOST_V6), SysFlag.BORNHOST_V6 | SysFlag.STOREHOST_V6);
  t.is(d.bornHost, '[2001:db8:0:0:0:0:0:7]:5000');
  t.is(d.storeHost, '[fe80:0:0:0:0:0:0:1]:10911');
  t.is(d.storeTimestamp, 3);
  t.is(new TextDecoder().decode(d.body), 'v6');
  t.is(d.offsetMsgId.length, 56);
});

test('MessageCodec - hosts decode right when records of different hosts alternate, and a body can be a view', (t) => {
  const hostsOf = ['10.0.0.1:1000', '10.0.0.2:1000', '[fe80::1]:10911', '10.0.0.1:2000', '10.0.0.3:1000', '10.0.0.4:1000'];
  const recs = hostsOf.map((h, i) => {
    const rec = encodeOne(encoder({ storeHost: parseSocketAddress(h) }), { topic: 'T', queueId: 0, body: utf8.encode(`b${i}`), bornHost: parseSocketAddress(hostsOf[(i + 1) % hostsOf.length] ?? '') });
    patchRecord(new DataView(rec.buffer, rec.byteOffset, rec.byteLength), 0, i, 1000 + i, 1);
    return rec;
  });
  for (let round = 0; round < 2; round++) {
    recs.forEach((rec, i) => {
      const d = decodeMessage(rec, 0, round === 1);
      const store = parseSocketAddress(hostsOf[i] ?? '');
      t.is(d.offsetMsgId, createOffsetMessageId(store, 1000 + i));
      t.is(d.storeHost.endsWith(`:${store.port}`), true);
      t.is(d.bornHost.endsWith(`:${parseSocketAddress(hostsOf[(i + 1) % hostsOf.length] ?? '').port}`), true);
      t.is(new TextDecoder().decode(d.body), `b${i}`);
      // a copy, or (round 1) a view of the record's own buffer
      t.is(d.body.buffer === rec.buffer, round === 1);
    });
  }
  t.is(decodeMessage(recs[0] ?? new Uint8Array(0), 0).storeHost, '10.0.0.1:1000');
  t.is(decodeMessage(recs[3] ?? new Uint8Array(0), 0).storeHost, '10.0.0.1:2000');
  t.is(decodeMessage(recs[2] ?? new Uint8Array(0), 0).storeHost, '[fe80:0:0:0:0:0:0:1]:10911');
});

test('MessageCodec - the whole-record CRC entry is patched after the offsets and verified', (t) => {
  const enc = encoder({ appendPropertiesCrc: true });
  const rec = encodeOne(enc, { topic: 'T', queueId: 0, body: utf8.encode('crc') });
  const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  patchRecord(view, 0, 5, 6, 7);
  patchPropertiesCrc(rec, 0, rec.length);
  const strict = { checkCrc: true, requirePropertiesCrc: true };
  t.is(checkRecord(rec, 0, rec.length + 8, strict), rec.length);
  t.truthy(decodeMessage(rec, 0).properties['__CRC32#']);
  // A flipped queue offset is invisible to the body CRC but not to the record CRC.
  rec[27] = (rec[27] ?? 0) ^ 1;
  t.is(checkRecord(rec, 0, rec.length + 8, strict), RecordCheck.INVALID);
  t.is(rec.length - rec.lastIndexOf(0x01) + 8, PROPERTY_CRC_LENGTH);
});

test('MessageCodec - checkRecord rejects a flipped body byte, a zeroed tail and a bad magic', (t) => {
  const rec = encodeOne(encoder(), { topic: 'T', queueId: 0, body: utf8.encode('hello'), tags: 'a' });
  t.is(checkRecord(rec, 0, rec.length + 8, check), rec.length);
  t.is(checkRecord(rec, 0, rec.length + 7, check), RecordCheck.INVALID, 'no room left for the blank record');
  const flipped = rec.slice();
  flipped[90] = (flipped[90] ?? 0) ^ 0xff;
  t.is(checkRecord(flipped, 0, rec.length + 8, check), RecordCheck.INVALID);
  t.is(checkRecord(flipped, 0, rec.length + 8, { checkCrc: false, requirePropertiesCrc: false }), rec.length);
  const torn = rec.slice();
  torn.fill(0, rec.length - 3);
  t.is(checkRecord(torn, 0, rec.length + 8, check), RecordCheck.INVALID);
  const magic = rec.slice();
  magic[4] = 0;
  t.is(checkRecord(magic, 0, rec.length + 8, check), RecordCheck.INVALID);
});

test('MessageCodec - a blank record is valid only when its size is the rest of the file', (t) => {
  const blank = new Uint8Array(64);
  const v = new DataView(blank.buffer);
  v.setInt32(0, 64);
  v.setInt32(4, 0xcbd43194 | 0);
  t.is(checkRecord(blank, 0, 64, check), RecordCheck.END_OF_FILE);
  t.is(checkRecord(blank, 0, 72, check), RecordCheck.INVALID);
});

test('MessageCodec - bad input is refused with a typed error', (t) => {
  const enc = encoder({ maxMessageSize: 10 });
  const code = (f: () => unknown): string | undefined => (t.throws(f) as { code?: string }).code;
  const target = new Uint8Array(4096);
  t.is(code(() => enc.encode({ topic: 'T', queueId: 0, body: new Uint8Array(11) }, target, 0)), 'ERR_MESSAGE_TOO_LARGE');
  t.is(code(() => enc.encode({ topic: 'bad topic', queueId: 0, body: new Uint8Array(1) }, target, 0)), 'ERR_TOPIC_INVALID');
  t.is(code(() => enc.encode({ topic: 'x'.repeat(128), queueId: 0, body: new Uint8Array(1) }, target, 0)), 'ERR_TOPIC_INVALID');
  t.is(code(() => enc.encode({ topic: '', queueId: 0, body: new Uint8Array(1) }, target, 0)), 'ERR_TOPIC_INVALID');
  t.is(code(() => enc.encode({ topic: 'T', queueId: -1, body: new Uint8Array(1) }, target, 0)), 'ERR_QUEUE_ID_INVALID');
  t.is(code(() => enc.encode({ topic: 'T', queueId: 0, body: new Uint8Array(1), properties: { TAGS: 'x' } }, target, 0)), 'ERR_PROPERTY_NAME_RESERVED');
  t.is(code(() => enc.encode({ topic: 'T', queueId: 0, body: new Uint8Array(1), properties: { a: 'x\u0002y' } }, target, 0)), 'ERR_MESSAGE_ILLEGAL');
  t.is(code(() => enc.encode({ topic: 'T', queueId: 0, body: new Uint8Array(1), properties: { a: ' ' } }, target, 0)), 'ERR_MESSAGE_ILLEGAL');
  t.is(code(() => enc.encode({ topic: 'T', queueId: 0, body: new Uint8Array(1), tags: 'a\u0001' }, target, 0)), 'ERR_MESSAGE_ILLEGAL');
  t.is(code(() => enc.encode({ topic: 'T', queueId: 0, body: 'text' as unknown as Uint8Array }, target, 0)), 'ERR_MESSAGE_ILLEGAL');
  t.is(code(() => enc.encode({ topic: 'T', queueId: 0, body: new Uint8Array(5) }, new Uint8Array(50), 0)), 'ERR_INVALID_ARGUMENT');
  t.is(code(() => enc.encode({ topic: 'T', queueId: 0, body: new Uint8Array(5) }, new Uint8Array(100), 0, 'K')), 'ERR_INVALID_ARGUMENT');
});

test('MessageCodec - the dispatch decode gives tag codes, keys and the unique key', (t) => {
  const enc = encoder();
  const rec = encodeOne(enc, { topic: 'T', queueId: 4, body: utf8.encode('x'), tags: 'TagA', keys: 'k1 k2' }, 'UK');
  patchRecord(new DataView(rec.buffer, rec.byteOffset, rec.byteLength), 0, 9, 1000, 5000);
  const req = decodeDispatchRequest(rec, 0, [], emptyDispatchRequest());
  t.like(req, { topic: 'T', queueId: 4, queueOffset: 9, commitLogOffset: 1000, storeTimestamp: 5000, tagsCode: 2598919, keys: 'k1 k2', uniqKey: 'UK', msgSize: rec.length });
  const delayed = encodeOne(enc, { topic: SCHEDULE_TOPIC, queueId: 2, body: utf8.encode('x'), systemProperties: { DELAY: '3' } });
  patchRecord(new DataView(delayed.buffer, delayed.byteOffset, delayed.byteLength), 0, 0, 0, 10_000);
  t.is(decodeDispatchRequest(delayed, 0, [1000, 5000, 10_000], emptyDispatchRequest()).tagsCode, 20_000);
});

/**
 * Golden record: topic "T1", queue 3, body "ABC", flag 7, born 1700000000000 at 10.0.0.2:5555,
 * stored at 1700000000123 on 127.0.0.1:10911 at physical offset 4096 with queue offset 2,
 * reconsume 1, tags TagA, keys k1, unique key U1. Built here field by field from ROCKETMQ.md 1.1.
 */
test('MessageCodec - golden record: a known message encodes byte for byte', (t) => {
  const hex = [
    '00000088', // TOTALSIZE 136
    'daa320a7', // MAGICCODE V1
    '23830348', // BODYCRC: crc32("ABC") = 0xa3830348, sign bit cleared
    '00000003', // QUEUEID
    '00000007', // FLAG
    '0000000000000002', // QUEUEOFFSET
    '0000000000001000', // PHYSICALOFFSET 4096
    '00000000', // SYSFLAG
    '0000018bcfe56800', // BORNTIMESTAMP 1700000000000
    '0a000002', '000015b3', // BORNHOST 10.0.0.2:5555
    '0000018bcfe5687b', // STORETIMESTAMP 1700000000123
    '7f000001', '00002a9f', // STOREHOST 127.0.0.1:10911
    '00000001', // RECONSUMETIMES
    '0000000000000000', // PREPARED_TX_OFFSET
    '00000003', '414243', // BODYLEN, BODY "ABC"
    '02', '5431', // TOPICLEN, TOPIC "T1"
    '0028', // PROPLEN 40
    '544147530154616741024b455953016b310257414954017472756502554e49515f4b455901553102', // TAGS..UNIQ_KEY
  ].join('');
  const expected = Uint8Array.from(Buffer.from(hex, 'hex'));
  const rec = encodeOne(
    encoder(),
    {
      topic: 'T1',
      queueId: 3,
      body: utf8.encode('ABC'),
      flag: 7,
      bornTimestamp: 1_700_000_000_000,
      bornHost: parseSocketAddress('10.0.0.2:5555'),
      reconsumeTimes: 1,
      tags: 'TagA',
      keys: 'k1',
    },
    'U1',
  );
  patchRecord(new DataView(rec.buffer, rec.byteOffset, rec.byteLength), 0, 2, 4096, 1_700_000_000_123);
  t.deepEqual(Buffer.from(rec).toString('hex'), Buffer.from(expected).toString('hex'));
});

test('MessageCodec - records encode into and decode from SharedArrayBuffer memory', (t) => {
  const ring = new Uint8Array(new SharedArrayBuffer(4096));
  const enc = encoder();
  const m: MessageToStore = { topic: 'Ring', queueId: 1, body: utf8.encode('shared'), tags: 'X', keys: 'k' };
  const size = enc.encode(m, ring, 100, 'U');
  patchRecord(new DataView(ring.buffer, 0, ring.byteLength), 100, 3, 4096, 77);
  t.is(checkRecord(ring, 100, size + 8, check), size);
  const d = decodeMessage(ring, 100);
  t.like(d, { topic: 'Ring', queueId: 1, queueOffset: 3, commitLogOffset: 4096, storeTimestamp: 77, tags: 'X', keys: 'k', msgId: 'U' });
  t.false(d.body.buffer instanceof SharedArrayBuffer, 'the decoded body is a private copy');
  t.is(decodeDispatchRequest(ring, 100, [], emptyDispatchRequest()).uniqKey, 'U');
});
