/**
 * What a slave makes of the frames its master sends on one link: each whole frame is checked and
 * turned into planned writes (append these bytes at this offset, cut the log here), applied in
 * order afterwards by HaSlave. Planning reads the slave's own bytes but changes nothing, so a bad
 * frame found while planning leaves nothing of itself written.
 *
 * Checks, in order: masterPhyOffset in range; bodySize within 0..MAX_FRAME_BODY; the body inside
 * one CommitLog file; an empty slave takes its first data frame only at a file boundary; a data
 * frame exactly at the next expected offset; a heartbeat never past it.
 *
 * Bytes in [cursor, verifyEnd) are bytes the slave already holds: they are compared, not written.
 * The first differing byte, or a heartbeat (the master is caught up) below the slave's end, is
 * where the master's log and the slave's part: the plan cuts the slave's log there.
 *
 * Owner: the slave's ReplicationActor thread, one per link.
 */
import { type ByteQueue, FRAME_HEADER_SIZE, MAX_FRAME_BODY } from './HaWire.js';

/** The slave's own store as planning sees it: read-only. */
export interface OwnBytes {
  /** Offset of the first stored byte. */
  minOffset(): number;
  /** Its bytes [offset, offset + size), a view for one call, or undefined. */
  read(offset: number, size: number): Uint8Array | undefined;
}

export type PlannedWrite =
  | { readonly kind: 'append'; readonly offset: number; readonly parts: Uint8Array<ArrayBuffer>[]; length: number }
  | { readonly kind: 'truncate'; readonly offset: number }
  /** The bytes compared all agreed: the slave's whole log is now its ack. */
  | { readonly kind: 'verified' };

/** Largest run of frames planned as one append (one ask to the writer). */
const MAX_APPEND = 8 * 1024 * 1024;

function firstDifference(a: Uint8Array, b: Uint8Array, n: number): number {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** The parts of a planned append as one buffer of its own (to be transferred). */
export function joinParts(parts: readonly Uint8Array<ArrayBuffer>[], length: number): Uint8Array<ArrayBuffer> {
  const only = parts[0];
  if (parts.length === 1 && only !== undefined && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) return only;
  const out = new Uint8Array(new ArrayBuffer(length));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class FramePlan {
  readonly #fileSize: number;
  readonly #own: OwnBytes;
  /** Next offset expected from the master; undefined for an empty slave before its first frame. */
  #cursor: number | undefined;
  /** End of the bytes being compared rather than written. */
  #verifyEnd: number;

  /** `start`: what the slave reported first (undefined: it is empty); `end`: its log's end. */
  constructor(fileSize: number, own: OwnBytes, start: number | undefined, end: number) {
    this.#fileSize = fileSize;
    this.#own = own;
    this.#cursor = start;
    this.#verifyEnd = start === undefined ? 0 : end;
  }

  /** While comparing: how far the slave's bytes are known to agree with the master's. */
  get verifiedUpTo(): number | undefined {
    return this.#cursor !== undefined && this.#cursor < this.#verifyEnd ? this.#cursor : undefined;
  }

  /**
   * Takes every whole frame from `queue` and plans it; stops at the first bad frame, whose
   * reason it returns (the writes planned before it are good). `frames` counts frames taken.
   */
  take(queue: ByteQueue): { writes: PlannedWrite[]; frames: number; bad: string | undefined } {
    const writes: PlannedWrite[] = [];
    let frames = 0;
    while (queue.length >= FRAME_HEADER_SIZE) {
      const offset = queue.int64At(0);
      const size = queue.int32At(8);
      const bad = this.#check(offset, size);
      if (bad !== undefined) return { writes, frames, bad };
      if (queue.length < FRAME_HEADER_SIZE + size) break;
      frames++;
      if (size === 0) {
        queue.skip(FRAME_HEADER_SIZE);
        this.#heartbeat(offset, writes);
        continue;
      }
      const body = new Uint8Array(new ArrayBuffer(size));
      queue.peekInto(FRAME_HEADER_SIZE, size, body, 0);
      queue.skip(FRAME_HEADER_SIZE + size);
      this.#body(offset, body, writes);
    }
    return { writes, frames, bad: undefined };
  }

  #check(offset: number, size: number): string | undefined {
    const fileSize = this.#fileSize;
    if (!Number.isSafeInteger(offset) || offset < 0) return `masterPhyOffset ${offset} is out of range`;
    if (size < 0 || size > MAX_FRAME_BODY) return `bodySize ${size} is outside 0..${MAX_FRAME_BODY}`;
    if (size > 0 && (offset % fileSize) + size > fileSize) return `frame [${offset}, ${offset + size}) crosses a CommitLog file of ${fileSize} bytes`;
    if (this.#cursor === undefined) {
      if (size > 0 && offset % fileSize !== 0) return `the first frame to an empty slave must start a CommitLog file, not ${offset}`;
      return undefined;
    }
    if (offset > this.#cursor) return `masterPhyOffset ${offset} is past this slave's next offset ${this.#cursor}`;
    if (size > 0 && offset < this.#cursor) return `masterPhyOffset ${offset} is before this slave's next offset ${this.#cursor}`;
    return undefined;
  }

  #heartbeat(offset: number, writes: PlannedWrite[]): void {
    if (this.#cursor === undefined) return;
    // Heartbeats come only from a caught-up master, so one below what this slave holds (or in
    // the middle of the bytes being compared) says where the master's log ends.
    if (offset < this.#cursor || this.#cursor < this.#verifyEnd) this.#cut(offset, writes);
  }

  #body(offset: number, body: Uint8Array<ArrayBuffer>, writes: PlannedWrite[]): void {
    if (this.#cursor === undefined) {
      this.#cursor = offset;
      this.#verifyEnd = offset;
    }
    let from = 0;
    if (this.#cursor < this.#verifyEnd) {
      const n = Math.min(body.length, this.#verifyEnd - this.#cursor);
      const own = this.#own.read(this.#cursor, n);
      const d = own === undefined ? 0 : firstDifference(own, body, n);
      if (d < n) {
        this.#cut(this.#cursor + d, writes);
        from = d;
      } else {
        from = n;
        this.#cursor += n;
        if (this.#cursor === this.#verifyEnd) writes.push({ kind: 'verified' });
      }
    }
    if (from === body.length) return;
    const part = from === 0 ? body : body.subarray(from);
    const at = this.#cursor ?? offset + from;
    const last = writes[writes.length - 1];
    const sameFile = last?.kind === 'append' && Math.floor(last.offset / this.#fileSize) === Math.floor(at / this.#fileSize);
    if (last?.kind === 'append' && sameFile && last.offset + last.length === at && last.length + part.length <= MAX_APPEND) {
      last.parts.push(part);
      last.length += part.length;
    } else {
      writes.push({ kind: 'append', offset: at, parts: [part], length: part.length });
    }
    this.#cursor = at + part.length;
  }

  /** Plans a cut at `offset`; below the first stored byte it empties the log. */
  #cut(offset: number, writes: PlannedWrite[]): void {
    writes.push({ kind: 'truncate', offset });
    if (offset < this.#own.minOffset()) {
      this.#cursor = undefined;
      this.#verifyEnd = 0;
    } else {
      this.#cursor = offset;
      this.#verifyEnd = offset;
    }
  }
}
