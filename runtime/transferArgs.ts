/**
 * Spawn arguments on their way to an actor: every ActorRef inside them becomes a RefHandle (two
 * fresh ports) on the spawning side and a live ActorRef again on the actor's side, and every
 * MessagePort found is put in the transfer list. Only arrays and plain objects are walked;
 * SharedArrayBuffers, typed arrays and other values are left to structured clone.
 */
import { MessagePort, type TransferListItem } from 'node:worker_threads';
import type { ActorMessage, Replies } from './Actor.js';
import { ActorRef, reviveRef, refHandleTransfer } from './ActorRef.js';
import { isRefHandleData } from './protocol.js';

/** Deeper nesting than this is not searched for refs and ports. */
const MAX_DEPTH = 8;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function encode(value: unknown, transfer: TransferListItem[], depth: number): unknown {
  if (value instanceof ActorRef) {
    const handle = (value as ActorRef<ActorMessage, Replies<ActorMessage>>).handle();
    transfer.push(...refHandleTransfer(handle));
    return handle;
  }
  if (value instanceof MessagePort) {
    transfer.push(value);
    return value;
  }
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => encode(v, transfer, depth + 1));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encode(v, transfer, depth + 1);
    return out;
  }
  return value;
}

/** Replaces refs by handles; returns the value to send and the ports to transfer. */
export function encodeArgs(value: unknown): { value: unknown; transfer: TransferListItem[] } {
  const transfer: TransferListItem[] = [];
  return { value: encode(value, transfer, 0), transfer };
}

type AnyRef = ActorRef<ActorMessage, Replies<ActorMessage>>;

function decode(value: unknown, refs: AnyRef[], depth: number): unknown {
  if (isRefHandleData(value)) {
    const ref = reviveRef(value);
    refs.push(ref);
    return ref;
  }
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => decode(v, refs, depth + 1));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = decode(v, refs, depth + 1);
    return out;
  }
  return value;
}

/**
 * Revives the handles in arguments that arrived from the spawning thread; `refs` lists the refs
 * made, for the host to close when the actor stops for good.
 */
export function decodeArgs(value: unknown): { value: unknown; refs: AnyRef[] } {
  const refs: AnyRef[] = [];
  return { value: decode(value, refs, 0), refs };
}
