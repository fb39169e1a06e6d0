import test from 'ava';
import zlib from 'node:zlib';
import { crc32 } from '../../storage/Crc32.js';

test('Crc32 - agrees with zlib.crc32 for every length up to 600 and for sub-ranges', (t) => {
  const data = new Uint8Array(700).map((_, i) => (i * 73 + 11) & 0xff);
  for (let n = 0; n <= 600; n++) t.is(crc32(data, 0, n), zlib.crc32(data.subarray(0, n)));
  for (const [a, b] of [[3, 10], [5, 300], [100, 699]] as const) t.is(crc32(data, a, b), zlib.crc32(data.subarray(a, b)));
});
