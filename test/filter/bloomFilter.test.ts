import test from 'ava';
import { BloomFilter, bloomKey } from '../../filter/bloom/BloomFilter.js';
import { murmur3x64_128String } from '../../filter/bloom/murmur3.js';

/** Deterministic keys: "CID_<n>#TopicTest". */
function keys(count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => bloomKey(`CID_${from + i}`, 'TopicTest'));
}

test('bloomFilter - RocketMQ defaults (20 %, 32 groups) give 3 hash functions over 112 bits', (t) => {
  const bloom = new BloomFilter();
  t.is(bloom.k, 3);
  t.is(bloom.m, 112);
  t.is(bloom.byteLength, 14);
  t.is(bloom.createBitmap().length, 14);
});

test('bloomFilter - sizing follows the formulas for other rates and counts', (t) => {
  // k = ceil(log_0.5(f)), m = ceil(n log2(1/f) log2(e)) rounded up to a multiple of 8
  const ten = new BloomFilter({ maxErrorRate: 10, expectedCount: 20 });
  t.deepEqual([ten.k, ten.m], [4, 96]);
  const one = new BloomFilter({ maxErrorRate: 1, expectedCount: 300 });
  t.deepEqual([one.k, one.m], [7, 2880]);
});

test('bloomFilter - out-of-range parameters are refused', (t) => {
  t.throws(() => new BloomFilter({ maxErrorRate: 0 }), { code: 'ERR_CONFIG_INVALID' });
  t.throws(() => new BloomFilter({ maxErrorRate: 100 }), { code: 'ERR_CONFIG_INVALID' });
  t.throws(() => new BloomFilter({ expectedCount: 0 }), { code: 'ERR_CONFIG_INVALID' });
});

test('bloomFilter - the key of a subscription is "group#topic"', (t) => {
  t.is(bloomKey('CID_abc', 'TopicTest'), 'CID_abc#TopicTest');
});

test('bloomFilter - positions come from the first Murmur3 half by double hashing', (t) => {
  const bloom = new BloomFilter();
  for (const key of ['CID_abc_efg', 'group#topic', 'gruppe-ä#主题', '']) {
    // restated: hash1 = low int of h1, hash2 = high int of h1, (hash1 + i*hash2) as an int,
    // bit-flipped when negative, modulo m
    const h1 = murmur3x64_128String(key).h1;
    const hash1 = BigInt.asIntN(32, h1);
    const hash2 = BigInt.asIntN(32, h1 >> 32n);
    const expected = [1n, 2n, 3n].map((i) => {
      let combined = BigInt.asIntN(32, hash1 + i * hash2);
      if (combined < 0n) combined = -combined - 1n;
      return Number(combined % 112n);
    });
    t.deepEqual(bloom.bitPositions(key), expected, key);
  }
  t.deepEqual(bloom.bitPositions('CID_abc_efg'), bloom.bitPositions('CID_abc_efg'), 'stable');
});

test('bloomFilter - bit p is bit p mod 8 (lowest first) of byte p / 8', (t) => {
  const bloom = new BloomFilter();
  const bitmap = bloom.createBitmap();
  bloom.setBits(bitmap, [0, 9, 111]);
  t.deepEqual([...bitmap], [0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
  t.true(bloom.isHit(bitmap, [0, 9]));
  t.false(bloom.isHit(bitmap, [0, 10]));
});

test('bloomFilter - set bits always test as hit, any clear bit as a definite miss', (t) => {
  const bloom = new BloomFilter();
  const bitmap = bloom.createBitmap();
  const a = bloom.bitPositions('CID_abc_efg');
  const b = bloom.bitPositions('CID_abc_123');
  bloom.setBits(bitmap, a);
  t.true(bloom.isHit(bitmap, a));
  t.false(bloom.isHit(bitmap, b));
  bloom.setBits(bitmap, b);
  t.true(bloom.isHit(bitmap, a));
  t.true(bloom.isHit(bitmap, b));
});

test('bloomFilter - a bitmap of another size is refused', (t) => {
  const bloom = new BloomFilter();
  t.false(bloom.isValidBitmap(new Uint8Array(13)));
  t.throws(() => bloom.isHit(new Uint8Array(13), [1]), { code: 'ERR_INVALID_ARGUMENT' });
});

test('bloomFilter - with 32 groups set, about 20 % of other groups test as a false hit', (t) => {
  const bloom = new BloomFilter();
  const bitmap = bloom.createBitmap();
  for (const key of keys(32)) bloom.setBits(bitmap, bloom.bitPositions(key));
  const probes = keys(4000, 1000);
  const falseHits = probes.filter((key) => bloom.isHit(bitmap, bloom.bitPositions(key))).length;
  const rate = falseHits / probes.length;
  // (1 - e^(-k n / m))^k = 0.19 for k = 3, n = 32, m = 112
  t.true(rate > 0.1 && rate < 0.3, `false-hit rate ${rate}`);
});

test('bloomFilter - filling to the expected count stays within the error rate (RocketMQ check restated)', (t) => {
  const bloom = new BloomFilter({ maxErrorRate: 1, expectedCount: 300 });
  const bitmap = bloom.createBitmap();
  let falseHits = 0;
  for (const key of keys(300, 50_000)) {
    const positions = bloom.bitPositions(key);
    if (bloom.isHit(bitmap, positions)) falseHits++;
    bloom.setBits(bitmap, positions);
  }
  t.true(falseHits <= (1 * 300) / 100, `${falseHits} false hits`);
});
