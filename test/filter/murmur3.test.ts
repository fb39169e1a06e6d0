import test from 'ava';
import { murmur3Bytes, murmur3x64_128, murmur3x64_128String } from '../../filter/bloom/murmur3.js';

// Published MurmurHash3_x64_128 values (the set Guava's Murmur3Hash128Test checks): [seed, h1, h2, input].
const VECTORS: readonly (readonly [number, bigint, bigint, string])[] = [
  [0, 0x629942693e10f867n, 0x92db0b82baeb5347n, 'hell'],
  [1, 0xa78ddff5adae8d10n, 0x128900ef20900135n, 'hello'],
  [2, 0x8a486b23f422e826n, 0xf962a2c58947765fn, 'hello '],
  [3, 0x2ea59f466f6bed8cn, 0xc610990acc428a17n, 'hello w'],
  [4, 0x79f6305a386c572cn, 0x46305aed3483b94en, 'hello wo'],
  [5, 0xc2219d213ec1f1b5n, 0xa1d8e2e0a52785bdn, 'hello wor'],
  [0, 0xe34bbc7bbc071b6cn, 0x7a433ca9c49a9347n, 'The quick brown fox jumps over the lazy dog'],
  [0, 0x658ca970ff85269an, 0x43fee3eaa68e5c3en, 'The quick brown fox jumps over the lazy cog'],
];

test('murmur3 - matches the published x64 128-bit test vectors', (t) => {
  for (const [seed, h1, h2, input] of VECTORS) {
    t.deepEqual(murmur3x64_128String(input, seed), { h1, h2 }, input);
  }
});

test('murmur3 - the empty input with seed 0 hashes to zero', (t) => {
  t.deepEqual(murmur3x64_128(new Uint8Array(0)), { h1: 0n, h2: 0n });
});

test('murmur3 - strings are hashed as UTF-8 bytes', (t) => {
  const text = 'gruppe-ä#主题';
  t.deepEqual(murmur3x64_128String(text), murmur3x64_128(Buffer.from(text, 'utf8')));
});

test('murmur3 - every tail length from 0 to 15 bytes after a full block hashes differently', (t) => {
  const seen = new Set<string>();
  const data = Uint8Array.from({ length: 31 }, (_, i) => i * 7 + 1);
  for (let length = 16; length <= 31; length++) {
    const { h1, h2 } = murmur3x64_128(data.subarray(0, length));
    seen.add(`${h1}:${h2}`);
  }
  t.is(seen.size, 16);
});

test('murmur3 - bytes are h1 then h2, each little-endian, as Guava gives them', (t) => {
  const bytes = murmur3Bytes({ h1: 0x0102030405060708n, h2: 0x1112131415161718n });
  t.deepEqual([...bytes], [8, 7, 6, 5, 4, 3, 2, 1, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11]);
});
