/**
 * CRC-32 (IEEE, as zlib computes it) of a byte range.
 *
 * zlib.crc32 is the implementation; but a call into it costs about 130 ns on this project's
 * machine whatever the length, which is more than the whole CRC of a 100-byte body computed in
 * JS (slicing-by-8, about 70 ns). So ranges shorter than SMALL_INPUT use the JS loop and longer
 * ones zlib. test/storage/Crc32.test.ts keeps the two in agreement.
 */
import zlib from 'node:zlib';

const SMALL_INPUT = 256;
/** 8 tables of 256 entries: table t gives the CRC of a byte followed by t zero bytes. */
const TABLES = new Int32Array(256 * 8);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLES[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLES[n] ?? 0;
  for (let t = 1; t < 8; t++) {
    c = (TABLES[c & 0xff] ?? 0) ^ (c >>> 8);
    TABLES[t * 256 + n] = c;
  }
}

function crcSmall(b: Uint8Array, start: number, end: number): number {
  const T = TABLES;
  let c = -1;
  let i = start;
  const fast = end - ((end - start) & 7);
  for (; i < fast; i += 8) {
    const a = c ^ ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24));
    const d = (b[i + 4] as number) | ((b[i + 5] as number) << 8) | ((b[i + 6] as number) << 16) | ((b[i + 7] as number) << 24);
    c =
      (T[1792 + (a & 0xff)] as number) ^
      (T[1536 + ((a >>> 8) & 0xff)] as number) ^
      (T[1280 + ((a >>> 16) & 0xff)] as number) ^
      (T[1024 + (a >>> 24)] as number) ^
      (T[768 + (d & 0xff)] as number) ^
      (T[512 + ((d >>> 8) & 0xff)] as number) ^
      (T[256 + ((d >>> 16) & 0xff)] as number) ^
      (T[d >>> 24] as number);
  }
  for (; i < end; i++) c = (T[(c ^ (b[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Unsigned CRC-32 of bytes[start, end). */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (end - start < SMALL_INPUT) return crcSmall(bytes, start, end);
  return zlib.crc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
}
