import test from 'ava';
import { ManualClock } from '../../common/clock.js';
import { createOffsetMessageId, decodeOffsetMessageId, formatSocketAddress, parseSocketAddress, UniqKeyGenerator } from '../../storage/MessageId.js';

test('MessageId - an offset message id is host, port and offset in 32 hex digits and decodes back', (t) => {
  const host = parseSocketAddress('192.168.1.20:10911');
  const id = createOffsetMessageId(host, 1_073_741_824 * 5 + 77);
  t.is(id, 'C0A80114' + '00002A9F' + '000000014000004D');
  const back = decodeOffsetMessageId(id);
  t.is(back.physicalOffset, 1_073_741_824 * 5 + 77);
  t.is(formatSocketAddress(back.storeHost), '192.168.1.20:10911');
});

test('MessageId - IPv6 offset ids are 56 hex digits', (t) => {
  const host = parseSocketAddress('[2001:db8::1]:10911');
  const id = createOffsetMessageId(host, 12345);
  t.is(id.length, 56);
  t.is(decodeOffsetMessageId(id).physicalOffset, 12345);
  t.is(formatSocketAddress(decodeOffsetMessageId(id).storeHost), '[2001:db8:0:0:0:0:0:1]:10911');
});

test('MessageId - malformed ids and addresses are refused with ERR_INVALID_ARGUMENT', (t) => {
  t.is((t.throws(() => decodeOffsetMessageId('XYZ')) as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
  t.is((t.throws(() => parseSocketAddress('localhost:80')) as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
  t.is((t.throws(() => parseSocketAddress('1.2.3.4')) as { code?: string }).code, 'ERR_INVALID_ARGUMENT');
});

test('MessageId - unique keys are 32 hex digits: fixed prefix, ms since the month began, a counter', (t) => {
  const start = new Date(2024, 2, 1, 0, 0, 0, 0).getTime() + 0x1234;
  const clock = new ManualClock(start);
  const gen = new UniqKeyGenerator(clock, Uint8Array.of(10, 0, 0, 1), 0xbeef, 0xcafebabe);
  const a = gen.next();
  const b = gen.next();
  t.regex(a, /^[0-9A-F]{32}$/);
  t.is(a.slice(0, 20), '0A000001BEEFCAFEBABE');
  t.is(a.slice(20, 28), '00001234');
  t.is(a.slice(28), '0000');
  t.is(b.slice(28), '0001');
  clock.advance(1);
  t.is(gen.next().slice(20, 28), '00001235');
  const keys = new Set<string>();
  for (let i = 0; i < 10_000; i++) keys.add(gen.next());
  t.is(keys.size, 10_000);
});
