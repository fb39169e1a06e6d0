/**
 * MurmurHash3, x64 128-bit variant (Austin Appleby's MurmurHash3_x64_128), the function behind
 * Guava's Hashing.murmur3_128() that RocketMQ's bloom filter uses.
 *
 * The input is read as little-endian 64-bit lanes in 16-byte blocks; the result is two unsigned
 * 64-bit halves h1 and h2. Guava's HashCode bytes are h1 then h2, each little-endian, and its
 * asLong() is h1 read as a signed long. Arithmetic is on BigInt held to 64 bits: the hash runs
 * once per subscription (never per message), so clarity wins over speed here.
 */

const MASK64 = (1n << 64n) - 1n;
const C1 = 0x87c37b91114253d5n;
const C2 = 0x4cf5ad432745937fn;

export interface Murmur3Hash128 {
  /** First half, unsigned 64-bit. */
  readonly h1: bigint;
  /** Second half, unsigned 64-bit. */
  readonly h2: bigint;
}

/**
 * Hashes bytes. `seed` is a Java int, sign-extended into both halves as Guava does (so seeds
 * 0..2^31-1 are the plain C seeds).
 */
export function murmur3x64_128(data: Uint8Array, seed = 0): Murmur3Hash128 {
  const seed64 = BigInt.asUintN(64, BigInt(seed | 0));
  let h1 = seed64;
  let h2 = seed64;
  const blocks = Math.floor(data.length / 16);

  for (let b = 0; b < blocks; b++) {
    const k1 = readLane(data, b * 16, 8);
    const k2 = readLane(data, b * 16 + 8, 8);
    h1 ^= mixK1(k1);
    h1 = rotl(h1, 27n);
    h1 = (h1 + h2) & MASK64;
    h1 = (h1 * 5n + 0x52dce729n) & MASK64;
    h2 ^= mixK2(k2);
    h2 = rotl(h2, 31n);
    h2 = (h2 + h1) & MASK64;
    h2 = (h2 * 5n + 0x38495ab5n) & MASK64;
  }

  // tail: up to 15 bytes, the first 8 into k1, the rest into k2
  const tail = blocks * 16;
  const rest = data.length - tail;
  if (rest > 8) h2 ^= mixK2(readLane(data, tail + 8, rest - 8));
  if (rest > 0) h1 ^= mixK1(readLane(data, tail, Math.min(rest, 8)));

  const length = BigInt(data.length);
  h1 ^= length;
  h2 ^= length;
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 = (h1 + h2) & MASK64;
  h2 = (h2 + h1) & MASK64;
  return { h1, h2 };
}

/** Hashes a string's UTF-8 bytes, as Guava's hashString(s, UTF_8) does. */
export function murmur3x64_128String(text: string, seed = 0): Murmur3Hash128 {
  return murmur3x64_128(new TextEncoder().encode(text), seed);
}

/** The 16 bytes Guava's HashCode.asBytes() gives: h1 then h2, each little-endian. */
export function murmur3Bytes(hash: Murmur3Hash128): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, hash.h1, true);
  view.setBigUint64(8, hash.h2, true);
  return out;
}

/** Up to 8 bytes from `offset` as a little-endian unsigned integer. */
function readLane(data: Uint8Array, offset: number, count: number): bigint {
  let value = 0n;
  for (let i = count - 1; i >= 0; i--) value = (value << 8n) | BigInt(data[offset + i] ?? 0);
  return value;
}

function mixK1(k: bigint): bigint {
  let k1 = (k * C1) & MASK64;
  k1 = rotl(k1, 31n);
  return (k1 * C2) & MASK64;
}

function mixK2(k: bigint): bigint {
  let k2 = (k * C2) & MASK64;
  k2 = rotl(k2, 33n);
  return (k2 * C1) & MASK64;
}

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & MASK64;
}

function fmix64(input: bigint): bigint {
  let k = input;
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK64;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & MASK64;
  k ^= k >> 33n;
  return k;
}
