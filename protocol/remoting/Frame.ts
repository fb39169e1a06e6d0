/**
 * Framing of petrelmq's remoting links (broker API, name server): a byte stream cut into bounded
 * frames. Wire grammar:
 *
 *   Frame   => Length Payload
 *   Length  => uint32, big-endian: the byte count of Payload, 1..maxFrameBytes
 *   Payload => node:v8 serialize(Envelope)   (structured clone: Uint8Array bodies travel as bytes)
 *
 * A length of 0 or above the limit is refused before any of the payload is buffered, so a peer
 * can never make the reader hold more than one frame of at most maxFrameBytes.
 */
import v8 from 'node:v8';
import { PetrelError } from '../../common/errors.js';

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** Largest payload by default: an 8 MiB request or reply plus room for the envelope around it. */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024 + 256 * 1024;

/** Hard ceiling of any configured limit (the length field is a uint32). */
const MAX_CONFIGURABLE_FRAME_BYTES = 256 * 1024 * 1024;

export function checkMaxFrameBytes(value: number | undefined): number {
  const v = value ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(v) || v < 64 || v > MAX_CONFIGURABLE_FRAME_BYTES) {
    throw new PetrelError('ERR_CONFIG_INVALID', `maxFrameBytes must be an integer in [64, ${MAX_CONFIGURABLE_FRAME_BYTES}], got ${String(value)}`);
  }
  return v;
}

/** Serializes a value into its frame's header and payload (two buffers, written corked). */
export function encodeFrame(value: unknown, maxFrameBytes: number): [Buffer, Buffer] {
  let payload: Buffer;
  try {
    payload = v8.serialize(value);
  } catch (err) {
    throw new PetrelError('ERR_INVALID_ARGUMENT', `value cannot be sent over a remoting link: ${(err as Error).message}`, { cause: err });
  }
  if (payload.length > maxFrameBytes) {
    throw new PetrelError('ERR_FRAME_INVALID', `a frame of ${payload.length} bytes exceeds the ${maxFrameBytes}-byte limit`);
  }
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  return [header, payload];
}

/** Deserializes one payload; a malformed one is ERR_FRAME_INVALID. */
export function decodePayload(payload: Buffer): unknown {
  try {
    return v8.deserialize(payload);
  } catch (err) {
    throw new PetrelError('ERR_FRAME_INVALID', `a frame payload does not deserialize: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Cuts a byte stream into frame payloads. Owned by one socket's reader; after it throws, the
 * stream is out of step and the connection must be closed.
 */
export class FrameDecoder {
  readonly #max: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Payload length of the frame being read, or -1 while its header is incomplete. */
  #need = -1;

  constructor(maxFrameBytes: number) {
    this.#max = maxFrameBytes;
  }

  /** Bytes held that do not yet form a whole frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Adds bytes; returns the payloads completed by them, in order. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const out: Buffer[] = [];
    for (;;) {
      if (this.#need < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) break;
        const len = this.#take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (len === 0) throw new PetrelError('ERR_FRAME_INVALID', 'a frame declares an empty payload');
        if (len > this.#max) throw new PetrelError('ERR_FRAME_INVALID', `a frame declares ${len} bytes, over the ${this.#max}-byte limit`);
        this.#need = len;
      }
      if (this.#buffered < this.#need) break;
      out.push(this.#take(this.#need));
      this.#need = -1;
    }
    return out;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= n) {
      const part = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      this.#buffered -= n;
      return part;
    }
    const whole = Buffer.concat(this.#chunks, this.#buffered);
    const part = whole.subarray(0, n);
    this.#chunks = whole.length > n ? [whole.subarray(n)] : [];
    this.#buffered -= n;
    return part;
  }
}
