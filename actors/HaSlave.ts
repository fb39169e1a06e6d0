/**
 * The slave end of replication (RocketMQ's HAClient): one TCP link to the master at
 * haMasterAddress, reconnected with backoff after any cut. On connect the slave reports where the
 * master should start; it then checks every frame (wire grammar in HaWire.ts), writes the good
 * bytes at the master's offsets through the WriterActor and reports its new end, which is its ack.
 *
 * Frames are checked and planned by FramePlan (HaFramePlan.ts); a bad frame closes the link with
 * the reason logged, and nothing of it is written.
 *
 * Diverged tails. The master's log is the truth, and the slave finds where its own log stops
 * agreeing with it this way: on connect it reports a start VERIFY_WINDOW bytes before its end (not
 * before its first file, and never 0, which would say it is empty), and compares the bytes the
 * master sends for that window with its own instead of writing them.
 * - The first differing byte D: the slave cuts its log at D and writes the master's bytes from D.
 * - A heartbeat below the slave's end (the master, caught up, ends there): the slave cuts its
 *   log at that offset. This is also how a slave ahead of its master is cut back.
 * A cut also drops the ConsumeQueue units and index entries from the start of the record holding
 * the cut, and dispatch redoes them from the master's bytes. Bytes before the window are taken as
 * equal: a difference there (a master that lost more than VERIFY_WINDOW of unflushed tail in an
 * OS crash and then wrote other messages over it) goes unseen, as in RocketMQ's classic HA, which
 * checks nothing.
 *
 * Owner: the ReplicationActor's thread on a slave broker. It keeps no state of its own: after a
 * crash it starts again from the slave's CommitLog end.
 */
import net from 'node:net';
import { log } from '../common/diagnostics.js';
import { FramePlan, joinParts, type OwnBytes, type PlannedWrite } from './HaFramePlan.js';
import { ByteQueue, encodeReport } from './HaWire.js';

/** How the slave end reaches its own store (the slave broker's actors). */
export interface SlaveStore extends OwnBytes {
  /** The end of the slave's CommitLog (its `wrote` position). */
  maxOffset(): number;
  /** Writes the master's bytes at `offset` (the current end); resolves with the new end. */
  append(offset: number, bytes: Uint8Array<ArrayBuffer>): Promise<number>;
  /** Cuts the log at `offset`, with its ConsumeQueues and index; resolves with the new end. */
  truncate(offset: number): Promise<number>;
}

export interface HaSlaveOptions {
  /** host:port of the master's HA listener; '' waits for one to be set. */
  readonly masterAddress: string;
  readonly fileSize: number;
  readonly heartbeatInterval: number;
  readonly housekeepingInterval: number;
  readonly store: SlaveStore;
}

export interface HaSlaveStats {
  readonly masterAddress: string;
  readonly connected: boolean;
  readonly maxOffset: number;
  readonly reportedOffset: number;
  readonly framesReceived: number;
  readonly bytesWritten: number;
  readonly truncations: number;
  readonly lastTruncatedTo: number;
  readonly badFrames: number;
  readonly connects: number;
  readonly acksSuspended: boolean;
  readonly lastLinkError: string | undefined;
}

/** Bytes before its end a reconnecting slave asks for again and compares: 4 MiB. */
export const VERIFY_WINDOW = 4 * 1024 * 1024;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5_000;
/** Received bytes held before the socket is paused (the writer is behind). */
const HIGH_WATER = 16 * 1024 * 1024;

interface Link {
  readonly socket: net.Socket;
  readonly queue: ByteQueue;
  /** Set once connected: the frames' checks and the writes they plan. */
  plan: FramePlan | undefined;
  connected: boolean;
  dirty: boolean;
  dropped: boolean;
  lastReadAt: number;
}

function parseAddress(address: string): { host: string; port: number } | undefined {
  const m = /^(.+):(\d{1,5})$/.exec(address.trim());
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1].replace(/^\[(.*)\]$/, '$1'), port } : undefined;
}

export class HaSlave {
  readonly #o: HaSlaveOptions;
  readonly #store: SlaveStore;
  #address: string;
  #link: Link | undefined;
  #busy = false;
  #processing: Promise<void> = Promise.resolve();
  #attempt = 0;
  #reconnect: NodeJS.Timeout | undefined;
  readonly #timer: NodeJS.Timeout;
  #closed = false;
  #suspended = false;
  #reported = -1;
  #lastReportAt = 0;
  #framesReceived = 0;
  #bytesWritten = 0;
  #truncations = 0;
  #lastTruncatedTo = -1;
  #badFrames = 0;
  #connects = 0;
  #lastLinkError: string | undefined;

  constructor(options: HaSlaveOptions) {
    this.#o = options;
    this.#store = options.store;
    this.#address = options.masterAddress;
    const every = Math.max(10, Math.min(1000, Math.floor(Math.min(options.heartbeatInterval, options.housekeepingInterval) / 4)));
    this.#timer = setInterval(() => this.#tick(), every);
    this.#connectWhenIdle();
  }

  stats(): HaSlaveStats {
    return {
      masterAddress: this.#address,
      connected: this.#link?.connected ?? false,
      maxOffset: this.#store.maxOffset(),
      reportedOffset: this.#reported,
      framesReceived: this.#framesReceived,
      bytesWritten: this.#bytesWritten,
      truncations: this.#truncations,
      lastTruncatedTo: this.#lastTruncatedTo,
      badFrames: this.#badFrames,
      connects: this.#connects,
      acksSuspended: this.#suspended,
      lastLinkError: this.#lastLinkError,
    };
  }

  /** Points the slave at another master (from the name server, or an operator). */
  setMasterAddress(address: string): void {
    if (address === this.#address) return;
    this.#address = address;
    this.#attempt = 0;
    if (this.#link !== undefined) this.#drop(this.#link, `master address changed to ${address}`);
    else this.#connectWhenIdle();
  }

  /** Test fault: the slave keeps receiving and writing but sends no report at all. */
  suspendAcks(suspended: boolean): void {
    this.#suspended = suspended;
    if (!suspended && this.#link?.connected === true) this.#report(this.#link, true);
  }

  /** Test fault: cuts the link; the slave reconnects after its backoff. */
  cutLink(): void {
    if (this.#link !== undefined) this.#drop(this.#link, 'cut by a test fault');
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#reconnect !== undefined) clearTimeout(this.#reconnect);
    if (this.#link !== undefined) this.#drop(this.#link, undefined);
    await this.#processing;
  }

  /** Connects once the frames of an earlier link are written: the start report needs the true end. */
  #connectWhenIdle(): void {
    void this.#processing.then(() => this.#connect());
  }

  #connect(): void {
    if (this.#closed || this.#link !== undefined || this.#address === '') return;
    const target = parseAddress(this.#address);
    if (target === undefined) {
      this.#lastLinkError = `haMasterAddress "${this.#address}" is not host:port`;
      log('error', 'cannot connect to the master', { reason: this.#lastLinkError });
      return;
    }
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    const link: Link = {
      socket, queue: new ByteQueue(), plan: undefined, connected: false, dirty: false, dropped: false, lastReadAt: performance.now(),
    };
    this.#link = link;
    socket.on('connect', () => this.#onConnect(link));
    socket.on('data', (chunk: Buffer) => this.#onData(link, chunk));
    socket.on('error', (err) => this.#drop(link, `link to master ${this.#address} failed: ${err.message}`));
    socket.on('close', () => this.#drop(link, undefined));
  }

  #onConnect(link: Link): void {
    if (link.dropped) return;
    link.connected = true;
    link.lastReadAt = performance.now();
    this.#connects++;
    const end = this.#store.maxOffset();
    // A report of 0 means an empty slave (the master then starts at its last file), so a slave
    // holding offset 0 asks for 1 at the lowest: one byte goes unchecked.
    const start = end > 0 ? Math.max(this.#store.minOffset(), end - VERIFY_WINDOW, 1) : undefined;
    link.plan = new FramePlan(this.#o.fileSize, this.#store, start, end);
    log('info', 'connected to the master', { master: this.#address, end, start: start ?? 0 });
    this.#send(link, start ?? 0);
  }

  #onData(link: Link, chunk: Buffer): void {
    if (link.dropped) return;
    link.lastReadAt = performance.now();
    link.queue.push(chunk);
    link.dirty = true;
    if (link.queue.length > HIGH_WATER) link.socket.pause();
    this.#schedule(link);
  }

  #schedule(link: Link): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#processing = this.#drain(link)
      .catch((err: unknown) => this.#drop(link, `writing the master's bytes failed: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => {
        this.#busy = false;
        if (link.dirty && !link.dropped) this.#schedule(link);
      });
  }

  async #drain(link: Link): Promise<void> {
    while (link.dirty && !link.dropped && link.plan !== undefined) {
      link.dirty = false;
      const { writes, frames, bad } = link.plan.take(link.queue);
      this.#framesReceived += frames;
      if (frames > 0) this.#attempt = 0;
      const wrote = await this.#execute(writes);
      if (bad !== undefined) {
        this.#badFrames++;
        this.#drop(link, `bad frame from master ${this.#address}: ${bad}`);
        return;
      }
      if (wrote) this.#report(link, false);
      if (link.socket.isPaused() && link.queue.length < HIGH_WATER / 2) link.socket.resume();
    }
  }

  /** Applies the planned writes in order; true when the log changed or a check finished. */
  async #execute(writes: readonly PlannedWrite[]): Promise<boolean> {
    let changed = false;
    for (const a of writes) {
      if (a.kind === 'append') {
        await this.#store.append(a.offset, joinParts(a.parts, a.length));
        this.#bytesWritten += a.length;
      } else if (a.kind === 'truncate') {
        const from = this.#store.maxOffset();
        await this.#store.truncate(a.offset);
        this.#truncations++;
        this.#lastTruncatedTo = a.offset;
        log('warn', 'slave cut a tail its master does not have', { master: this.#address, from, to: a.offset });
      }
      changed = true;
    }
    return changed;
  }

  /** Reports the slave's end, or while it is still comparing, how far the bytes agree. */
  #report(link: Link, force: boolean): void {
    if (!link.connected || link.dropped || this.#suspended) return;
    const value = link.plan?.verifiedUpTo ?? this.#store.maxOffset();
    if (!force && value === this.#reported) return;
    this.#send(link, value);
  }

  #send(link: Link, value: number): void {
    if (this.#suspended) return;
    link.socket.write(encodeReport(value));
    this.#reported = value;
    this.#lastReportAt = performance.now();
  }

  #tick(): void {
    const link = this.#link;
    if (link === undefined || link.dropped) return;
    const now = performance.now();
    if (now - link.lastReadAt > this.#o.housekeepingInterval) {
      this.#drop(link, `nothing from master ${this.#address} for ${this.#o.housekeepingInterval} ms`);
      return;
    }
    if (link.connected && now - this.#lastReportAt >= this.#o.heartbeatInterval) this.#report(link, true);
  }

  #drop(link: Link, reason: string | undefined): void {
    if (link.dropped) return;
    link.dropped = true;
    link.connected = false;
    link.socket.destroy();
    if (reason !== undefined) {
      this.#lastLinkError = reason;
      log('warn', 'link to the master closed', { master: this.#address, reason });
    }
    if (this.#link !== link) return;
    this.#link = undefined;
    if (this.#closed) return;
    const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.#attempt) * (0.8 + Math.random() * 0.4);
    this.#attempt = Math.min(this.#attempt + 1, 10);
    if (this.#reconnect !== undefined) clearTimeout(this.#reconnect);
    this.#reconnect = setTimeout(() => {
      this.#reconnect = undefined;
      this.#connectWhenIdle();
    }, delay);
  }
}
