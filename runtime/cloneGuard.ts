/**
 * The bound on what one message posted to another thread may copy for nothing. Structured clone
 * copies the whole ArrayBuffer behind every typed array it meets, not the view's bytes: a 100-byte
 * view of a 1 GiB mapped CommitLog file copies 1 GiB (and touches every page of the file to do
 * it). Every post of the runtime (ask, tell, replies, the comlink bridge, pool tasks and their
 * results) is measured here first and refused with ERR_MESSAGE_CLONE_TOO_LARGE above the bound,
 * so a view that escapes its thread fails loudly at once instead of slowing and bloating the broker.
 *
 * What counts: for each distinct ArrayBuffer that would be cloned, the bytes of it that no view in
 * the message shows, i.e. what the clone copies beyond the message's own data. A body in a buffer
 * of its own counts nothing however large it is (maxMessageSize may be 64 MiB); a view of a large
 * buffer counts the rest of that buffer. A SharedArrayBuffer is shared, not copied; an ArrayBuffer
 * in the transfer list is moved (its memory changes owner, no byte is copied): neither counts.
 *
 * The walk is bounded so that it stays cheap on the hot path: typed arrays, ArrayBuffers, arrays
 * and plain objects down to MAX_DEPTH levels, at most MAX_VALUES values in all. Anything past the
 * bound, and class instances other than buffers, are not looked into; the bound catches the
 * common mistake (a view in a reply, a list of views), not every possible one.
 */
import type { TransferListItem } from 'node:worker_threads';
import { PetrelError } from '../common/errors.js';

/** Default bound: 16 MiB of ArrayBuffer bytes that one message would copy beyond what its views show. */
export const DEFAULT_MAX_CLONE_BYTES = 16 * 1024 * 1024;

/** Levels of arrays and plain objects looked into (an ask envelope, a comlink call, a message list, a body). */
const MAX_DEPTH = 7;
/** Values visited per message at most. */
const MAX_VALUES = 4096;

interface Walk {
  readonly transfer: readonly TransferListItem[] | undefined;
  /** Each ArrayBuffer met, with the bytes of it that the message's views show. */
  readonly shown: Map<ArrayBuffer, number>;
  left: number;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function count(buffer: ArrayBufferLike, shows: number, w: Walk): void {
  // A SharedArrayBuffer crosses as a reference to the same memory.
  if (!(buffer instanceof ArrayBuffer)) return;
  w.shown.set(buffer, (w.shown.get(buffer) ?? 0) + shows);
}

function visit(value: unknown, depth: number, w: Walk): void {
  if (w.left <= 0) return;
  w.left--;
  if (typeof value !== 'object' || value === null) return;
  if (ArrayBuffer.isView(value)) {
    count(value.buffer, value.byteLength, w);
    return;
  }
  if (value instanceof ArrayBuffer) {
    count(value, value.byteLength, w);
    return;
  }
  if (depth >= MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && w.left > 0; i++) visit(value[i], depth + 1, w);
    return;
  }
  if (!isPlainObject(value)) return;
  for (const key in value) {
    if (w.left <= 0) return;
    visit((value as Record<string, unknown>)[key], depth + 1, w);
  }
}

/**
 * Bytes of ArrayBuffers that posting `value` would copy beyond those its views show (within the
 * walk's bounds): 0 for a message whose buffers are its own data.
 */
export function clonedBytes(value: unknown, transfer?: readonly TransferListItem[]): number {
  const w: Walk = { transfer, shown: new Map(), left: MAX_VALUES };
  visit(value, 0, w);
  let bytes = 0;
  for (const [buffer, shown] of w.shown) {
    if (w.transfer !== undefined && w.transfer.includes(buffer)) continue;
    bytes += Math.max(0, buffer.byteLength - shown);
  }
  return bytes;
}

/**
 * Throws ERR_MESSAGE_CLONE_TOO_LARGE when posting `value` would copy more than `limit` bytes of
 * ArrayBuffers beyond what its views show. `what` names the message for the error ("the reply to 'record' from dispatcher").
 */
export function checkCloneSize(value: unknown, what: string, transfer?: readonly TransferListItem[], limit = DEFAULT_MAX_CLONE_BYTES): void {
  const bytes = clonedBytes(value, transfer);
  if (bytes <= limit) return;
  throw new PetrelError(
    'ERR_MESSAGE_CLONE_TOO_LARGE',
    `${what} would copy ${bytes} bytes of buffers between threads beyond its own data, over the ${limit}-byte bound: ` +
      'a view of a large buffer (a mapped file, a whole batch) is being posted; post a copy of its bytes, a SharedArrayBuffer, or an offset to read',
  );
}

/** A copy of `view`'s bytes in an ArrayBuffer of their exact size (never Buffer's shared pool). */
export function ownedCopy(view: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(view.byteLength));
  out.set(view);
  return out;
}
