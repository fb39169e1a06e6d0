/**
 * Receipt handles: the token a consumer gets with each popped message and sends back verbatim to
 * ack it, change its invisible time or dead-letter it.
 *
 * A handle names one delivery of one message to one group. It is signed with a key that lives
 * only in the endpoint's memory, over the group and topic as well as the fields below, so a handle
 * cannot be forged, edited, or replayed against another group or topic; after a restart the key
 * is new and old handles are refused (their messages were never acked, so they come back).
 * Whether a well-signed handle is still current (not acked, not redelivered, not replaced by
 * ChangeInvisibleDuration) is the PopService's business: it compares `generation`.
 *
 * Layout, 43 bytes, integers big-endian, then base64url (58 characters):
 *   offset size field
 *        0    1 version (1)
 *        1    4 queueId (uint32)
 *        5    8 queueOffset (uint64)
 *       13    4 generation (uint32): bumped on every redelivery and every ChangeInvisibleDuration
 *       17    2 deliveryAttempt (uint16), 1 on first delivery
 *       19    8 invisibleUntil (uint64, ms since the epoch): informational
 *       27   16 HMAC-SHA256(key, group NUL topic NUL bytes[0..27]) truncated to 16 bytes
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 1;
const OFF_VERSION = 0;
const OFF_QUEUE_ID = 1;
const OFF_QUEUE_OFFSET = 5;
const OFF_GENERATION = 13;
const OFF_ATTEMPT = 17;
const OFF_INVISIBLE_UNTIL = 19;
const OFF_MAC = 27;
const MAC_SIZE = 16;
export const RECEIPT_HANDLE_BYTES = OFF_MAC + MAC_SIZE;

export interface ReceiptHandleFields {
  readonly queueId: number;
  readonly queueOffset: number;
  readonly generation: number;
  readonly deliveryAttempt: number;
  readonly invisibleUntil: number;
}

export type DecodedHandle =
  | { readonly ok: true; readonly fields: ReceiptHandleFields }
  | { readonly ok: false; readonly reason: 'MALFORMED' | 'FORGED' };

export class ReceiptHandleCodec {
  readonly #key: Buffer;

  /** A fresh random key unless one is given (tests, or endpoints that must share handles). */
  constructor(key: Uint8Array = randomBytes(32)) {
    this.#key = Buffer.from(key);
  }

  encode(group: string, topic: string, fields: ReceiptHandleFields): string {
    const buf = Buffer.alloc(RECEIPT_HANDLE_BYTES);
    buf.writeUInt8(VERSION, OFF_VERSION);
    buf.writeUInt32BE(fields.queueId >>> 0, OFF_QUEUE_ID);
    buf.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(fields.queueOffset))), OFF_QUEUE_OFFSET);
    buf.writeUInt32BE(fields.generation >>> 0, OFF_GENERATION);
    buf.writeUInt16BE(Math.min(0xffff, Math.max(0, fields.deliveryAttempt)), OFF_ATTEMPT);
    buf.writeBigUInt64BE(BigInt(Math.max(0, Math.trunc(fields.invisibleUntil))), OFF_INVISIBLE_UNTIL);
    this.#mac(group, topic, buf.subarray(0, OFF_MAC)).copy(buf, OFF_MAC);
    return buf.toString('base64url');
  }

  decode(group: string, topic: string, handle: string): DecodedHandle {
    if (handle.length !== Math.ceil((RECEIPT_HANDLE_BYTES * 4) / 3) || !/^[A-Za-z0-9_-]+$/.test(handle)) {
      return { ok: false, reason: 'MALFORMED' };
    }
    const buf = Buffer.from(handle, 'base64url');
    if (buf.length !== RECEIPT_HANDLE_BYTES || buf.readUInt8(OFF_VERSION) !== VERSION) return { ok: false, reason: 'MALFORMED' };
    const expected = this.#mac(group, topic, buf.subarray(0, OFF_MAC));
    if (!timingSafeEqual(expected, buf.subarray(OFF_MAC))) return { ok: false, reason: 'FORGED' };
    return {
      ok: true,
      fields: {
        queueId: buf.readUInt32BE(OFF_QUEUE_ID),
        queueOffset: Number(buf.readBigUInt64BE(OFF_QUEUE_OFFSET)),
        generation: buf.readUInt32BE(OFF_GENERATION),
        deliveryAttempt: buf.readUInt16BE(OFF_ATTEMPT),
        invisibleUntil: Number(buf.readBigUInt64BE(OFF_INVISIBLE_UNTIL)),
      },
    };
  }

  #mac(group: string, topic: string, body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(group).update('\0').update(topic).update('\0').update(body).digest().subarray(0, MAC_SIZE);
  }
}
