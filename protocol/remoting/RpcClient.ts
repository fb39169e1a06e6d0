/**
 * The calling side of a remoting link: one TCP connection to one address, opened on first use and
 * opened again after it drops. Requests are framed (Frame.ts, Envelope.ts), matched to replies by
 * id, and bounded: each has a deadline (ERR_TIMEOUT), at most maxInFlight wait at once
 * (ERR_SYSTEM_BUSY), and a request larger than a frame is refused before it is written.
 *
 * A peer that cannot be reached fails calls with ERR_SERVICE_NOT_AVAILABLE; after a failed connect,
 * calls fail fast for a backoff that doubles from reconnectMinMs to reconnectMaxMs, so a dead
 * address costs nothing. A connection lost with requests in flight fails them with ERR_REMOTE
 * (the request may or may not have been carried out). Both are retriable.
 *
 * The socket holds the process open only while requests are in flight. Owned by the thread that
 * made it; close() fails what is in flight with ERR_CLIENT_STATE.
 */
import net from 'node:net';
import { PetrelError } from '../../common/errors.js';
import { log } from '../../common/diagnostics.js';
import { checkMaxFrameBytes, decodePayload, encodeFrame, FrameDecoder } from './Frame.js';
import { errorFromData, parseReply, type ReplyEnvelope } from './Envelope.js';

export interface RpcClientOptions {
  /** Deadline of a request without its own, ms. Default 3000 (RocketMQ mqClientApiTimeout). */
  readonly requestTimeoutMs?: number;
  /** Deadline of a TCP connect, ms. Default 3000. */
  readonly connectTimeoutMs?: number;
  /** Largest frame payload either way, bytes. Default DEFAULT_MAX_FRAME_BYTES. */
  readonly maxFrameBytes?: number;
  /** Requests waiting for replies at once. Default 65536. */
  readonly maxInFlight?: number;
  /** Fail-fast window after a failed connect; doubles up to reconnectMaxMs. Default 100. */
  readonly reconnectMinMs?: number;
  /** Default 2000. */
  readonly reconnectMaxMs?: number;
  /** Called after each successful connect (first and every reconnect). */
  readonly onConnect?: () => void;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: PetrelError) => void;
  readonly timer: NodeJS.Timeout;
  readonly method: string;
  readonly socket: net.Socket;
}

/** host:port (or [v6]:port) into its parts. */
export function parseAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(address);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PetrelError('ERR_CONFIG_INVALID', `"${address}" is not a host:port address`);
  }
  return { host, port };
}

export class RpcClient {
  readonly address: string;
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #maxFrame: number;
  readonly #maxInFlight: number;
  readonly #backoffMin: number;
  readonly #backoffMax: number;
  readonly #onConnect: (() => void) | undefined;
  readonly #pending = new Map<number, Pending>();
  #socket: net.Socket | undefined;
  #connecting: Promise<net.Socket> | undefined;
  #nextId = 1;
  #backoff = 0;
  #retryAt = 0;
  #closed = false;

  constructor(address: string, options: RpcClientOptions = {}) {
    const { host, port } = parseAddress(address);
    this.address = address;
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = positive(options.requestTimeoutMs ?? 3000, 'requestTimeoutMs');
    this.#connectTimeoutMs = positive(options.connectTimeoutMs ?? 3000, 'connectTimeoutMs');
    this.#maxFrame = checkMaxFrameBytes(options.maxFrameBytes);
    this.#maxInFlight = positive(options.maxInFlight ?? 65536, 'maxInFlight');
    this.#backoffMin = positive(options.reconnectMinMs ?? 100, 'reconnectMinMs');
    this.#backoffMax = Math.max(this.#backoffMin, positive(options.reconnectMaxMs ?? 2000, 'reconnectMaxMs'));
    this.#onConnect = options.onConnect;
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  /** True while calls fail fast because the last connect failed. */
  get backingOff(): boolean {
    return this.#socket === undefined && performance.now() < this.#retryAt;
  }

  /** Calls a remote method; resolves with its (unparsed) value or rejects with its PetrelError. */
  async call(method: string, args: readonly unknown[], timeoutMs: number = this.#timeoutMs): Promise<unknown> {
    if (this.#closed) throw new PetrelError('ERR_CLIENT_STATE', `connection to ${this.address} is closed`);
    if (this.#pending.size >= this.#maxInFlight) throw new PetrelError('ERR_SYSTEM_BUSY', `${this.#maxInFlight} requests to ${this.address} are already waiting`);
    const id = this.#nextId++;
    const frame = encodeFrame({ type: 'request', id, method, args, oneway: false }, this.#maxFrame);
    const started = performance.now();
    const socket = await this.#connect(timeoutMs);
    if (this.#closed) throw new PetrelError('ERR_CLIENT_STATE', `connection to ${this.address} was closed`);
    if (socket.destroyed) throw new PetrelError('ERR_REMOTE', `connection to ${this.address} closed before ${method} was written`);
    const left = Math.max(1, timeoutMs - (performance.now() - started));
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending.delete(id)) this.#idle();
        reject(new PetrelError('ERR_TIMEOUT', `${method} on ${this.address} got no reply within ${timeoutMs} ms`));
      }, left);
      this.#pending.set(id, { resolve, reject, timer, method, socket });
      socket.ref();
      socket.cork();
      socket.write(frame[0]);
      socket.write(frame[1]);
      socket.uncork();
    });
  }

  /** Sends without waiting for a reply; a failure is only logged. */
  notify(method: string, args: readonly unknown[]): void {
    if (this.#closed) throw new PetrelError('ERR_CLIENT_STATE', `connection to ${this.address} is closed`);
    const frame = encodeFrame({ type: 'request', id: this.#nextId++, method, args, oneway: true }, this.#maxFrame);
    this.#connect(this.#timeoutMs).then(
      (socket) => {
        socket.cork();
        socket.write(frame[0]);
        socket.write(frame[1]);
        socket.uncork();
      },
      (err: unknown) => log('debug', `oneway ${method} to ${this.address} dropped: ${(err as Error).message}`),
    );
  }

  /** Closes the connection for good; requests in flight fail with ERR_CLIENT_STATE. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new PetrelError('ERR_CLIENT_STATE', `connection to ${this.address} was closed`));
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #connect(timeoutMs: number): Promise<net.Socket> {
    if (this.#socket !== undefined && !this.#socket.destroyed) return Promise.resolve(this.#socket);
    if (this.#connecting !== undefined) return this.#connecting;
    if (performance.now() < this.#retryAt) {
      return Promise.reject(new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `${this.address} is unreachable (next attempt in ${Math.ceil(this.#retryAt - performance.now())} ms)`));
    }
    const attempt = new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ host: this.#host, port: this.#port, noDelay: true });
      const timer = setTimeout(() => socket.destroy(new Error(`connect timed out after ${Math.min(timeoutMs, this.#connectTimeoutMs)} ms`)), Math.min(timeoutMs, this.#connectTimeoutMs));
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        this.#adopt(socket);
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        this.#backoff = this.#backoff === 0 ? this.#backoffMin : Math.min(this.#backoffMax, this.#backoff * 2);
        this.#retryAt = performance.now() + this.#backoff;
        reject(new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `cannot connect to ${this.address}: ${err.message}`, { cause: err }));
      });
    });
    this.#connecting = attempt;
    const clear = (): void => {
      this.#connecting = undefined;
    };
    attempt.then(clear, clear);
    return attempt;
  }

  #adopt(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#socket = socket;
    this.#backoff = 0;
    this.#retryAt = 0;
    const decoder = new FrameDecoder(this.#maxFrame);
    socket.on('data', (chunk: Buffer) => {
      let replies: ReplyEnvelope[];
      try {
        replies = decoder.push(chunk).map((p) => parseReply(decodePayload(p)));
      } catch (err) {
        log('warn', `closing connection to ${this.address}: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      for (const r of replies) this.#settle(r);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = undefined;
      this.#failAll(new PetrelError('ERR_REMOTE', `connection to ${this.address} was lost before the reply`), socket);
    });
    socket.unref();
    this.#onConnect?.();
  }

  #settle(r: ReplyEnvelope): void {
    const p = this.#pending.get(r.id);
    if (p === undefined) return; // answered after its deadline
    this.#pending.delete(r.id);
    clearTimeout(p.timer);
    this.#idle();
    if (r.ok) p.resolve(r.value);
    else p.reject(errorFromData(r.error));
  }

  /** Fails the requests written to `socket` (every request when none is named). */
  #failAll(err: PetrelError, socket?: net.Socket): void {
    for (const [id, p] of this.#pending) {
      if (socket !== undefined && p.socket !== socket) continue;
      this.#pending.delete(id);
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  /** Lets the process exit while nothing waits on this connection. */
  #idle(): void {
    if (this.#pending.size === 0) this.#socket?.unref();
  }
}

function positive(v: number, name: string): number {
  if (!Number.isFinite(v) || v <= 0) throw new PetrelError('ERR_CONFIG_INVALID', `${name} must be a positive number, got ${String(v)}`);
  return v;
}
