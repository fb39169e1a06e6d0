/**
 * The replication (HA) wire grammar between a master and its slaves: RocketMQ's classic
 * HAService stream over one TCP connection per slave. Integers are big-endian.
 *
 * ```
 * slave -> master  report  (8 bytes)
 *   0   int64  slaveMaxPhyOffset  the first report on a connection is where the master starts
 *                                 sending (0: an empty slave); every report is also an ack:
 *                                 the slave holds the master's bytes up to there
 *
 * master -> slave  frame   (12-byte header + body)
 *   0   int64  masterPhyOffset    CommitLog offset of body[0]
 *   8   int32  bodySize           0: a heartbeat (nothing new; its offset is where the master's
 *                                 log ends when it is caught up); else 1..MAX_FRAME_BODY bytes
 *   12  bytes  body               raw CommitLog bytes, blank records and file tails included;
 *                                 never crosses a CommitLog file
 * ```
 *
 * The slave reads only whole frames and the master only the last whole report of what it has
 * received. Both ends run on the ReplicationActor's thread.
 */

export const REPORT_SIZE = 8;
export const FRAME_HEADER_SIZE = 12;
/** Largest frame body either end accepts: RocketMQ's slave read buffer, 4 MiB. */
export const MAX_FRAME_BODY = 4 * 1024 * 1024;

/** An 8-byte report, in a buffer of its own (not the shared pool). */
export function encodeReport(offset: number): Buffer {
  const b = Buffer.allocUnsafeSlow(REPORT_SIZE);
  b.writeBigInt64BE(BigInt(offset), 0);
  return b;
}

/** Header and body of one frame in one buffer of its own (the body is copied). */
export function encodeFrame(offset: number, body: Uint8Array | undefined): Buffer {
  const size = body?.length ?? 0;
  const b = Buffer.allocUnsafeSlow(FRAME_HEADER_SIZE + size);
  b.writeBigInt64BE(BigInt(offset), 0);
  b.writeInt32BE(size, 8);
  if (body !== undefined) b.set(body, FRAME_HEADER_SIZE);
  return b;
}

/**
 * Bytes received and not yet consumed, as the chunks the socket delivered: peeks at integers
 * across chunk boundaries and copies out without joining everything first.
 */
export class ByteQueue {
  readonly #chunks: Buffer[] = [];
  /** Bytes of #chunks[0] already consumed. */
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Copies `n` bytes starting `at` bytes in into `dst[dstOffset..]` without consuming them. */
  peekInto(at: number, n: number, dst: Uint8Array, dstOffset: number): void {
    if (at + n > this.#length) throw new RangeError(`peek of ${n} bytes at ${at} past ${this.#length} queued`);
    let skip = this.#head + at;
    let copied = 0;
    for (const c of this.#chunks) {
      if (copied === n) break;
      if (skip >= c.length) {
        skip -= c.length;
        continue;
      }
      const take = Math.min(c.length - skip, n - copied);
      dst.set(c.subarray(skip, skip + take), dstOffset + copied);
      copied += take;
      skip = 0;
    }
  }

  /** The big-endian int64 `at` bytes in, as a number (may exceed 2^53: check before use). */
  int64At(at: number): number {
    const b = Buffer.allocUnsafe(8);
    this.peekInto(at, 8, b, 0);
    return Number(b.readBigInt64BE(0));
  }

  int32At(at: number): number {
    const b = Buffer.allocUnsafe(4);
    this.peekInto(at, 4, b, 0);
    return b.readInt32BE(0);
  }

  /** Drops `n` bytes from the front. */
  skip(n: number): void {
    if (n > this.#length) throw new RangeError(`skip of ${n} bytes past ${this.#length} queued`);
    this.#length -= n;
    let left = n;
    while (left > 0) {
      const c = this.#chunks[0];
      if (c === undefined) break;
      const avail = c.length - this.#head;
      if (left < avail) {
        this.#head += left;
        return;
      }
      left -= avail;
      this.#chunks.shift();
      this.#head = 0;
    }
  }
}
