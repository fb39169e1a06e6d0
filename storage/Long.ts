/**
 * Big-endian 64-bit integers on a DataView without BigInt.
 *
 * RocketMQ writes Java longs (offsets, timestamps, tag codes). Every value the store keeps fits
 * in a JS number (|v| < 2^53), so a long is written as its high and low 32-bit halves; this is
 * several times cheaper than setBigInt64 on the append path.
 */

const TWO_POW_32 = 4_294_967_296;

/** Writes `value` (an integer, |value| < 2^53) as a big-endian two's-complement long. */
export function setLong(view: DataView, position: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setInt32(position, high);
  view.setUint32(position + 4, value - high * TWO_POW_32);
}

/** Reads a big-endian long; exact for |value| < 2^53. */
export function getLong(view: DataView, position: number): number {
  return view.getInt32(position) * TWO_POW_32 + view.getUint32(position + 4);
}

/** A DataView over exactly the bytes of `bytes` (which may be a subarray or a SharedArrayBuffer). */
export function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
