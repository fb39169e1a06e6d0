import test from 'ava';
import fc from 'fast-check';
import { RECEIPT_HANDLE_BYTES, ReceiptHandleCodec } from '../../protocol/ReceiptHandle.js';

const key = Buffer.alloc(32, 7);
const fields = { queueId: 3, queueOffset: 123_456_789_012, generation: 9, deliveryAttempt: 2, invisibleUntil: 1_700_000_000_000 };

test('receipt handle - decodes to the fields it was encoded from', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.record({
          queueId: fc.integer({ min: 0, max: 0xffff_ffff }),
          queueOffset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          generation: fc.integer({ min: 0, max: 0xffff_ffff }),
          deliveryAttempt: fc.integer({ min: 0, max: 0xffff }),
          invisibleUntil: fc.integer({ min: 0, max: 2 ** 50 }),
        }),
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        (f, group, topic) => {
          const codec = new ReceiptHandleCodec(key);
          const decoded = codec.decode(group, topic, codec.encode(group, topic, f));
          return decoded.ok && JSON.stringify(decoded.fields) === JSON.stringify(f);
        },
      ),
    ),
  );
});

test('receipt handle - is url-safe text of a fixed length', (t) => {
  const handle = new ReceiptHandleCodec(key).encode('g', 't', fields);
  t.regex(handle, /^[A-Za-z0-9_-]+$/);
  t.is(Buffer.from(handle, 'base64url').length, RECEIPT_HANDLE_BYTES);
});

test('receipt handle - any changed byte is refused', (t) => {
  const codec = new ReceiptHandleCodec(key);
  const bytes = Buffer.from(codec.encode('g', 't', fields), 'base64url');
  for (let i = 0; i < bytes.length; i++) {
    for (const flip of [0x01, 0x80]) {
      const copy = Buffer.from(bytes);
      copy[i] = (copy[i] ?? 0) ^ flip;
      const decoded = codec.decode('g', 't', copy.toString('base64url'));
      t.false(decoded.ok, `byte ${i} flipped by ${flip}`);
    }
  }
});

test('receipt handle - a handle of another group, topic or key is FORGED', (t) => {
  const codec = new ReceiptHandleCodec(key);
  const handle = codec.encode('g', 't', fields);
  t.deepEqual(codec.decode('other', 't', handle), { ok: false, reason: 'FORGED' });
  t.deepEqual(codec.decode('g', 'other', handle), { ok: false, reason: 'FORGED' });
  t.deepEqual(new ReceiptHandleCodec().decode('g', 't', handle), { ok: false, reason: 'FORGED' });
  // The separator keeps "g"+"t1" and "gt"+"1" apart.
  t.false(codec.decode('gt', '1', codec.encode('g', 't1', fields)).ok);
});

test('receipt handle - garbage is MALFORMED', (t) => {
  const codec = new ReceiptHandleCodec(key);
  for (const junk of ['', 'x', '!!!', 'a'.repeat(58), 'A'.repeat(1000), codec.encode('g', 't', fields) + 'A']) {
    const decoded = codec.decode('g', 't', junk);
    t.false(decoded.ok);
  }
  t.deepEqual(codec.decode('g', 't', ''), { ok: false, reason: 'MALFORMED' });
});
