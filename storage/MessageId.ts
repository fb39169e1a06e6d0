/**
 * Message ids as RocketMQ forms them (ROCKETMQ.md 1.8).
 *
 * - Offset message id (`offsetMsgId`): hex of the store host address (4 or 16 bytes), its port
 *   (4 bytes) and the record's physical offset (8 bytes): 32 hex digits for IPv4. It names a
 *   record's place, so the store can read it back without an index.
 * - Unique key (`UNIQ_KEY`, what SendResult.msgId shows): hex of an address (4 or 16 bytes),
 *   a process id (2 bytes), a per-process salt (4 bytes, RocketMQ's class-loader hash), the
 *   milliseconds since the start of the current month (4 bytes) and a counter (2 bytes).
 */
import net from 'node:net';
import { PetrelError } from '../common/errors.js';
import type { Clock } from '../common/clock.js';

/** A host as it is stored in a record: 4 (IPv4) or 16 (IPv6) address bytes and a port. */
export interface SocketAddress {
  readonly address: Uint8Array;
  readonly port: number;
}

const HEX = '0123456789ABCDEF';
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => (HEX[i >> 4] ?? '') + (HEX[i & 15] ?? ''));

function hexOf(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += HEX2[b] ?? '';
  return s;
}

function hexInt(value: number, digits: number): string {
  return (value >>> 0).toString(16).toUpperCase().padStart(digits, '0').slice(-digits);
}

/** Parses "1.2.3.4:10911" or "[::1]:10911" into the stored form. */
export function parseSocketAddress(text: string): SocketAddress {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text);
  const host = m?.[1];
  const port = Number(m?.[2]);
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new PetrelError('ERR_INVALID_ARGUMENT', `"${text}" is not an address of the form ip:port`);
  }
  if (net.isIPv4(host)) return { address: Uint8Array.from(host.split('.').map(Number)), port };
  if (net.isIPv6(host)) return { address: ipv6Bytes(host), port };
  throw new PetrelError('ERR_INVALID_ARGUMENT', `"${host}" is not an IPv4 or IPv6 address`);
}

function ipv6Bytes(host: string): Uint8Array {
  const [head = '', tail] = host.split('::');
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

export function formatSocketAddress(addr: SocketAddress): string {
  if (addr.address.length === 4) return `${addr.address.join('.')}:${addr.port}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((addr.address[i] ?? 0) << 8) | (addr.address[i + 1] ?? 0)).toString(16));
  return `[${groups.join(':')}]:${addr.port}`;
}

/** Eight hex digits of the low 32 bits of `value`, from the byte table. */
function hex8(value: number): string {
  return (HEX2[(value >>> 24) & 0xff] ?? '') + (HEX2[(value >>> 16) & 0xff] ?? '') + (HEX2[(value >>> 8) & 0xff] ?? '') + (HEX2[value & 0xff] ?? '');
}

/** Hex of a store host's address and port: the fixed head of its offset message ids. */
export function offsetMessageIdPrefix(storeHost: SocketAddress): string {
  return hexOf(storeHost.address) + hexInt(storeHost.port, 8);
}

/** The offset message id of the record at `physicalOffset` on the host whose prefix is given. */
export function offsetMessageIdAt(prefix: string, physicalOffset: number): string {
  const high = Math.floor(physicalOffset / 4_294_967_296);
  // join gives a flat string (see UniqKeyGenerator.next)
  return [prefix, hex8(high), hex8(physicalOffset - high * 4_294_967_296)].join('');
}

const hostPrefixes = new WeakMap<SocketAddress, string>();

/** The offset message id of a record stored at `physicalOffset` on `storeHost`. */
export function createOffsetMessageId(storeHost: SocketAddress, physicalOffset: number): string {
  let prefix = hostPrefixes.get(storeHost);
  if (prefix === undefined) {
    prefix = offsetMessageIdPrefix(storeHost);
    hostPrefixes.set(storeHost, prefix);
  }
  return offsetMessageIdAt(prefix, physicalOffset);
}

export interface DecodedOffsetMessageId {
  readonly storeHost: SocketAddress;
  readonly physicalOffset: number;
}

/** Reads an offset message id back (32 hex digits for IPv4, 56 for IPv6). */
export function decodeOffsetMessageId(id: string): DecodedOffsetMessageId {
  if ((id.length !== 32 && id.length !== 56) || !/^[0-9A-Fa-f]+$/.test(id)) {
    throw new PetrelError('ERR_INVALID_ARGUMENT', `"${id}" is not an offset message id`);
  }
  const addrLen = id.length === 32 ? 4 : 16;
  const address = new Uint8Array(addrLen);
  for (let i = 0; i < addrLen; i++) address[i] = parseInt(id.slice(i * 2, i * 2 + 2), 16);
  const at = addrLen * 2;
  const port = parseInt(id.slice(at, at + 8), 16);
  const high = parseInt(id.slice(at + 8, at + 16), 16) | 0;
  const low = parseInt(id.slice(at + 16, at + 24), 16);
  return { storeHost: { address, port }, physicalOffset: high * 4_294_967_296 + low };
}

/**
 * Makes unique keys cheaply: the 20 hex digits of address, pid and salt are fixed per
 * generator, the 8 digits of time change at most once a millisecond, and the counter's 4 digits
 * come from a table; one string join per key.
 *
 * Owner: one thread (the writer, for messages that arrive without a client key). Its counter is
 * not persisted: a new generator has a new salt, so keys stay unique across restarts.
 */
export class UniqKeyGenerator {
  readonly #clock: Clock;
  readonly #prefix: string;
  #monthStart = 0;
  #nextMonthStart = 0;
  #lastDiff = -1;
  #prefixWithTime = '';
  #counter = 0;
  readonly #parts: string[] = ['', ''];
  static #hex4: string[] | undefined;

  constructor(clock: Clock, address: Uint8Array, pid: number, salt: number) {
    this.#clock = clock;
    this.#prefix = hexOf(address) + hexInt(pid & 0xffff, 4) + hexInt(salt, 8);
  }

  /** The next key; `now` saves a clock read when the caller has one. */
  next(now: number = this.#clock.now()): string {
    if (now >= this.#nextMonthStart || now < this.#monthStart) this.#setMonth(now);
    const diff = (now - this.#monthStart) | 0;
    if (diff !== this.#lastDiff) {
      this.#lastDiff = diff;
      this.#prefixWithTime = this.#prefix + hexInt(diff, 8);
    }
    const table = (UniqKeyGenerator.#hex4 ??= Array.from({ length: 65536 }, (_, i) => hexInt(i, 4)));
    // join builds a flat string; `+` would build a cons string, which every later character
    // loop (encoding it, hashing it for the index) walks several times slower.
    const parts = this.#parts;
    parts[0] = this.#prefixWithTime;
    parts[1] = table[this.#counter] ?? '';
    const key = parts.join('');
    this.#counter = (this.#counter + 1) & 0xffff;
    return key;
  }

  #setMonth(now: number): void {
    const d = new Date(now);
    this.#monthStart = new Date(d.getFullYear(), d.getMonth(), 1).getTime();
    this.#nextMonthStart = new Date(d.getFullYear(), d.getMonth() + 1, 1).getTime();
    this.#lastDiff = -1;
  }
}
