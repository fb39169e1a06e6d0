/**
 * RocketMQ's bloom filter for SQL92 subscriptions (filter/.../util/BloomFilter.java).
 *
 * One filter serves the whole broker. Each consumer group subscribed with SQL92 to a topic owns k
 * bit positions, derived from the key "group#topic". At dispatch, a message gets an m-bit bitmap
 * with the positions of every group whose expression it satisfies; at pull, a group whose
 * positions are not all set in a message's bitmap certainly does not want it, and the CommitLog
 * is not read. All set means "maybe" (other groups' bits can cover ours): the exact expression
 * then decides. So there are false positives, at about the configured error rate when
 * `expectedCount` groups share a topic, and never a false negative.
 *
 * Sizing, from the error rate f (a percentage) and the expected number of keys n:
 *   k = ceil(log_0.5(f / 100))                       hash functions
 *   m = ceil(n * log2(100 / f) * log2(e)), then rounded up to a multiple of 8   bits
 * RocketMQ's defaults (maxErrorRateOfBloomFilter 20, expectConsumerNumUseFilter 32) give k = 3,
 * m = 112 bits, a 14-byte bitmap.
 *
 * Positions (Kirsch and Mitzenmacher's double hashing): take h = Murmur3 x64 128 of the key's
 * UTF-8 bytes, its first 64-bit half as Guava's asLong() returns it; hash1 = its low 32 bits and
 * hash2 = its high 32 bits, both as Java ints. For i = 1..k: c = hash1 + i * hash2 with int
 * overflow; if c < 0 then c = ~c; the position is c mod m.
 *
 * Bitmap bit order (as RocketMQ's BitsArray): bit p lives in byte p >> 3, under the mask
 * 1 << (p & 7), so bit 0 is the lowest bit of byte 0 and bit 8 the lowest bit of byte 1.
 */
import { PetrelError } from '../../common/errors.js';
import { murmur3x64_128String } from './murmur3.js';

export interface BloomFilterOptions {
  /** RocketMQ maxErrorRateOfBloomFilter: target false-positive rate, percent, 1..99. Default 20. */
  readonly maxErrorRate?: number;
  /** RocketMQ expectConsumerNumUseFilter: groups expected to share a bitmap. Default 32. */
  readonly expectedCount?: number;
}

export const DEFAULT_BLOOM_ERROR_RATE = 20;
export const DEFAULT_BLOOM_EXPECTED_COUNT = 32;

/** The bloom key of a group's subscription to a topic. */
export function bloomKey(group: string, topic: string): string {
  return `${group}#${topic}`;
}

export class BloomFilter {
  /** Error rate, percent. */
  readonly f: number;
  /** Expected number of keys. */
  readonly n: number;
  /** Hash functions (bit positions per key). */
  readonly k: number;
  /** Bits in a bitmap, a multiple of 8. */
  readonly m: number;

  constructor(options: BloomFilterOptions = {}) {
    const f = options.maxErrorRate ?? DEFAULT_BLOOM_ERROR_RATE;
    const n = options.expectedCount ?? DEFAULT_BLOOM_EXPECTED_COUNT;
    if (!Number.isInteger(f) || f < 1 || f >= 100) {
      throw new PetrelError('ERR_CONFIG_INVALID', `maxErrorRateOfBloomFilter must be an integer percentage from 1 to 99, got ${f}`);
    }
    if (!Number.isInteger(n) || n < 1) {
      throw new PetrelError('ERR_CONFIG_INVALID', `expectConsumerNumUseFilter must be a positive integer, got ${n}`);
    }
    const errorRate = f / 100;
    this.f = f;
    this.n = n;
    this.k = Math.ceil(logBase(0.5, errorRate));
    const bits = Math.ceil(n * logBase(2, 1 / errorRate) * logBase(2, Math.E));
    this.m = 8 * Math.ceil(bits / 8);
  }

  /** Bytes in a bitmap. */
  get byteLength(): number {
    return this.m / 8;
  }

  /** The k bit positions of a key (see bloomKey), each in [0, m). */
  bitPositions(key: string): number[] {
    const { h1 } = murmur3x64_128String(key);
    const hash1 = Number(BigInt.asIntN(32, h1));
    const hash2 = Number(BigInt.asIntN(32, h1 >> 32n));
    const positions: number[] = [];
    for (let i = 1; i <= this.k; i++) {
      let combined = (hash1 + Math.imul(i, hash2)) | 0;
      if (combined < 0) combined = ~combined;
      positions.push(combined % this.m);
    }
    return positions;
  }

  /** An empty bitmap of this filter's size. */
  createBitmap(): Uint8Array {
    return new Uint8Array(this.byteLength);
  }

  /** True when a bitmap was made by a filter of this size; other bitmaps say nothing. */
  isValidBitmap(bitmap: Uint8Array): boolean {
    return bitmap.length * 8 === this.m;
  }

  /** Sets the positions in the bitmap. */
  setBits(bitmap: Uint8Array, positions: readonly number[]): void {
    this.checkBitmap(bitmap);
    for (const p of positions) bitmap[p >> 3] = (bitmap[p >> 3] ?? 0) | (1 << (p & 7));
  }

  /** True when every position is set ("maybe"); false when one is clear ("certainly not"). */
  isHit(bitmap: Uint8Array, positions: readonly number[]): boolean {
    this.checkBitmap(bitmap);
    for (const p of positions) {
      if (((bitmap[p >> 3] ?? 0) & (1 << (p & 7))) === 0) return false;
    }
    return true;
  }

  private checkBitmap(bitmap: Uint8Array): void {
    if (!this.isValidBitmap(bitmap)) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `bloom bitmap has ${bitmap.length * 8} bits, this filter uses ${this.m}`);
    }
  }
}

function logBase(base: number, x: number): number {
  return Math.log(x) / Math.log(base);
}
