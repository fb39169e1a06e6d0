/**
 * The master end of replication (RocketMQ's HAService, HAConnection): a TCP server for slaves
 * and, per slave, a stream of the CommitLog's bytes from where the slave asked, in frames of at
 * most haTransferBatchSize bytes that never cross a file (wire grammar in HaWire.ts). One loop
 * serves every link: it sleeps on the `wrote` position (woken by the writer's publish, a slave's
 * report or a drained socket, or when the next heartbeat is due) and sends what the writer
 * published, never past it; an idle link gets a heartbeat every haHeartbeatInterval, and a link
 * that reported nothing for haHousekeepingInterval is closed.
 *
 * Where a link starts (the slave's first report R):
 * - R = 0 (an empty slave): at the start of the master's last CommitLog file; history is not
 *   copied, as in RocketMQ.
 * - R past the master's end (the slave holds a tail the master does not have): at the master's
 *   end, with an immediate heartbeat there, which tells the slave to cut its log back to it.
 * - otherwise at R.
 * Once a link has caught up for the first time it also gets a heartbeat at once: a slave checking
 * the bytes it already has learns where the master's log ends.
 *
 * Acks: a report counts as the slave's ack only up to what this link has sent (a slave ahead of
 * the master acknowledges nothing). The best ack of all links moves SLAVE_ACKED forward (sends of
 * a SYNC_MASTER wait on it); SLAVE_CONNECTED and SLAVE_LIVE_ACK tell the main thread which slaves
 * are there now and how far behind the best of them is.
 *
 * Owner: the ReplicationActor's thread. It holds sockets and its own read-only view of the
 * CommitLog and nothing durable: after a crash the actor starts again and slaves reconnect and
 * report where they are.
 */
import net from 'node:net';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';
import { log } from '../common/diagnostics.js';
import { PetrelError } from '../common/errors.js';
import { CommitLogReader } from '../storage/CommitLogReader.js';
import { loadMmap, type MappedFileBackendKind } from '../storage/FileBackend.js';
import { type BrokerPositions, Position } from './BrokerPositions.js';
import { encodeFrame, MAX_FRAME_BODY, REPORT_SIZE } from './HaWire.js';

export interface HaMasterOptions {
  /** Address to listen on (brokerIP1, 127.0.0.1 by default). */
  readonly host: string;
  /** haListenPort; 0 picks a free port. */
  readonly port: number;
  readonly commitLogDir: string;
  readonly fileSize: number;
  readonly backend: MappedFileBackendKind;
  readonly positions: BrokerPositions;
  /** haTransferBatchSize; frames carry at most this (and never more than MAX_FRAME_BODY). */
  readonly transferBatchSize: number;
  readonly heartbeatInterval: number;
  readonly housekeepingInterval: number;
}

export interface SlaveLinkStats {
  readonly remote: string;
  /** Next offset this link sends; -1 before the slave's first report. */
  readonly cursor: number;
  /** The slave's ack; -1 before it acknowledged anything. */
  readonly ack: number;
}

export interface HaMasterStats {
  readonly address: string;
  readonly slaves: SlaveLinkStats[];
  /** Bytes the best connected slave is behind the `wrote` position (all of it with none). */
  readonly lagBytes: number;
  /** Time from the master seeing bytes written to a slave acknowledging them, since the last reset. */
  readonly lagMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly count: number };
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly lastLinkError: string | undefined;
}

interface Link {
  readonly socket: net.Socket;
  readonly remote: string;
  cursor: number | undefined;
  ack: number;
  /** Up to 7 bytes of a report split across reads. */
  rest: Buffer;
  lastReadAt: number;
  lastWriteAt: number;
  caughtUpSent: boolean;
  blocked: boolean;
  closed: boolean;
}

/** Bytes one link may send per loop turn before the others get theirs. */
const TURN_BYTES = 1024 * 1024;
/** Write times kept for the lag figure; older ones are dropped when slaves fall far behind. */
const MAX_LAG_SAMPLES = 8192;

export class HaMaster {
  readonly #o: HaMasterOptions;
  readonly #server: net.Server;
  readonly #reader: CommitLogReader;
  readonly #batch: number;
  readonly #links = new Set<Link>();
  readonly #lag: RecordableHistogram = createHistogram();
  /** Offsets seen written and when, oldest first, for the lag figure. */
  #samples: { offset: number; at: number }[] = [];
  #lastNoted = -1;
  #framesSent = 0;
  #bytesSent = 0;
  #lastLinkError: string | undefined;
  #closed = false;
  #kick: () => void = () => undefined;
  #loop: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  private constructor(options: HaMasterOptions) {
    this.#o = options;
    this.#batch = Math.min(options.transferBatchSize, MAX_FRAME_BODY);
    this.#reader = new CommitLogReader({ dir: options.commitLogDir, fileSize: options.fileSize, backend: options.backend });
    this.#server = net.createServer({ noDelay: true }, (socket) => this.#accept(socket));
  }

  /** Listens and starts the send loop; fails with ERR_SERVICE_NOT_AVAILABLE if the port is taken. */
  static async listen(options: HaMasterOptions): Promise<HaMaster> {
    const m = new HaMaster(options);
    // Load the native mapping module now rather than on a slave's first frame.
    if (options.backend === 'mmap') loadMmap();
    try {
      await new Promise<void>((resolve, reject) => {
        m.#server.once('error', reject);
        m.#server.listen(options.port, options.host, () => {
          m.#server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      m.#reader.close();
      throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `cannot listen for slaves on ${options.host}:${options.port}: ${(err as Error).message}`, { cause: err });
    }
    m.#server.on('error', (err) => log('error', 'HA server error', { error: err.message }));
    m.#loop = m.#run();
    const every = Math.max(10, Math.min(1000, Math.floor(options.housekeepingInterval / 4)));
    m.#timer = setInterval(() => m.#housekeep(), every);
    return m;
  }

  /** host:port slaves connect to (the bound port when haListenPort was 0). */
  get address(): string {
    const a = this.#server.address();
    return typeof a === 'object' && a !== null ? `${this.#o.host}:${a.port}` : `${this.#o.host}:${this.#o.port}`;
  }

  stats(): HaMasterStats {
    const wrote = this.#o.positions.get(Position.WROTE);
    let best = -1;
    const slaves: SlaveLinkStats[] = [];
    for (const l of this.#links) {
      slaves.push({ remote: l.remote, cursor: l.cursor ?? -1, ack: l.ack });
      best = Math.max(best, l.ack);
    }
    const ms = (v: number): number => (this.#lag.count === 0 ? 0 : v / 1e6);
    return {
      address: this.address,
      slaves,
      lagBytes: Math.max(0, wrote - Math.max(best, 0)),
      lagMs: { p50: ms(this.#lag.percentile(50)), p99: ms(this.#lag.percentile(99)), max: ms(this.#lag.max), count: this.#lag.count },
      framesSent: this.#framesSent,
      bytesSent: this.#bytesSent,
      lastLinkError: this.#lastLinkError,
    };
  }

  resetLag(): void {
    this.#lag.reset();
  }

  /** Test fault: closes every slave link (slaves reconnect). */
  cutLinks(): void {
    for (const l of [...this.#links]) this.#close(l, 'cut by a test fault');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const l of [...this.#links]) this.#close(l, undefined);
    this.#kick();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await this.#loop;
    this.#reader.close();
    this.#publishAcks();
  }

  #accept(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const now = performance.now();
    const link: Link = {
      socket,
      remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      cursor: undefined,
      ack: -1,
      rest: Buffer.alloc(0),
      lastReadAt: now,
      lastWriteAt: now,
      caughtUpSent: false,
      blocked: false,
      closed: false,
    };
    this.#links.add(link);
    log('info', 'slave connected', { remote: link.remote });
    socket.on('data', (chunk: Buffer) => this.#onData(link, chunk));
    socket.on('error', (err) => this.#close(link, `link to slave ${link.remote} failed: ${err.message}`));
    socket.on('close', () => this.#close(link, undefined));
  }

  #onData(link: Link, chunk: Buffer): void {
    link.lastReadAt = performance.now();
    const buf = link.rest.length === 0 ? chunk : Buffer.concat([link.rest, chunk]);
    const whole = buf.length - (buf.length % REPORT_SIZE);
    link.rest = Buffer.from(buf.subarray(whole));
    // Only the last whole report matters: each supersedes the ones before it.
    if (whole > 0) this.#onReport(link, buf.readBigInt64BE(whole - REPORT_SIZE));
  }

  #onReport(link: Link, raw: bigint): void {
    if (raw < 0n || raw > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.#close(link, `slave ${link.remote} reported offset ${raw}, which is out of range`);
      return;
    }
    const value = Number(raw);
    if (link.cursor === undefined) {
      const wrote = this.#o.positions.get(Position.WROTE);
      if (value === 0) link.cursor = wrote - (wrote % this.#o.fileSize);
      else link.cursor = Math.min(value, wrote);
      log('info', 'slave link starts', { remote: link.remote, reported: value, from: link.cursor });
    }
    if (value <= link.cursor && value !== link.ack) {
      link.ack = value;
      this.#publishAcks();
    }
    this.#kick();
  }

  #publishAcks(): void {
    const p = this.#o.positions;
    let best = -1;
    let live = 0;
    for (const l of this.#links) {
      if (l.ack < 0) continue;
      live++;
      best = Math.max(best, l.ack);
    }
    p.set(Position.SLAVE_CONNECTED, live);
    p.set(Position.SLAVE_LIVE_ACK, Math.max(best, 0));
    if (best > 0) p.publish(Position.SLAVE_ACKED, best);
    if (best >= 0) this.#recordLag(best);
  }

  #noteWritten(wrote: number): void {
    if (wrote <= this.#lastNoted) return;
    this.#lastNoted = wrote;
    if (this.#samples.length >= MAX_LAG_SAMPLES) this.#samples.splice(0, MAX_LAG_SAMPLES / 2);
    this.#samples.push({ offset: wrote, at: performance.now() });
  }

  #recordLag(ack: number): void {
    const now = performance.now();
    let n = 0;
    for (const s of this.#samples) {
      if (s.offset > ack) break;
      this.#lag.record(Math.max(1, Math.round((now - s.at) * 1e6)));
      n++;
    }
    if (n > 0) this.#samples.splice(0, n);
  }

  async #run(): Promise<void> {
    const positions = this.#o.positions;
    while (!this.#closed) {
      const wrote = positions.get(Position.WROTE);
      this.#noteWritten(wrote);
      let more = false;
      for (const l of this.#links) more = this.#pump(l, wrote) || more;
      if (more) {
        await new Promise((r) => setImmediate(r));
        continue;
      }
      const kicked = new Promise<void>((r) => {
        this.#kick = r;
      });
      // Sleeps until the writer publishes, a link needs attention (a report, a drain: kicked) or
      // the next heartbeat is due; no tick. waitFor reads the sequence before the value, so a
      // publish just after `wrote` was read still wakes this loop at once.
      await Promise.race([positions.waitFor(Position.WROTE, wrote + 1, this.#untilHeartbeat()), kicked]);
    }
  }

  /** Ms until some link that is caught up is due a heartbeat; Infinity with none. */
  #untilHeartbeat(): number {
    const now = performance.now();
    let next = Infinity;
    for (const l of this.#links) {
      if (l.cursor === undefined || l.blocked || l.closed) continue;
      next = Math.min(next, l.lastWriteAt + this.#o.heartbeatInterval - now);
    }
    return Math.max(0, next);
  }

  /** Sends what `link` lacks below `wrote`; true when it has more to send right away. */
  #pump(link: Link, wrote: number): boolean {
    if (link.cursor === undefined || link.blocked || link.closed) return false;
    const fileSize = this.#o.fileSize;
    let sent = 0;
    link.socket.cork();
    try {
      while (link.cursor < wrote && sent < TURN_BYTES) {
        const from = link.cursor;
        const to = Math.min(wrote, from - (from % fileSize) + fileSize, from + this.#batch);
        const bytes = this.#reader.read(from, to - from, wrote);
        if (bytes === undefined) {
          this.#close(link, `slave ${link.remote} needs offset ${from}, which this master no longer stores (oldest ${this.#reader.minOffset()})`);
          return false;
        }
        link.socket.write(encodeFrame(from, bytes));
        link.cursor = to;
        sent += to - from;
        this.#framesSent++;
        this.#bytesSent += to - from;
        if (link.socket.writableNeedDrain) {
          link.blocked = true;
          link.socket.once('drain', () => {
            link.blocked = false;
            this.#kick();
          });
          break;
        }
      }
      const now = performance.now();
      if (sent > 0) link.lastWriteAt = now;
      if (!link.blocked && link.cursor >= wrote && (!link.caughtUpSent || now - link.lastWriteAt >= this.#o.heartbeatInterval)) {
        link.socket.write(encodeFrame(link.cursor, undefined));
        link.caughtUpSent = true;
        link.lastWriteAt = now;
      }
    } finally {
      link.socket.uncork();
    }
    return !link.blocked && link.cursor < wrote;
  }

  #housekeep(): void {
    const now = performance.now();
    for (const l of [...this.#links]) {
      if (now - l.lastReadAt > this.#o.housekeepingInterval) {
        this.#close(l, `slave ${l.remote} reported nothing for ${this.#o.housekeepingInterval} ms`);
      }
    }
    this.#kick();
  }

  #close(link: Link, reason: string | undefined): void {
    if (link.closed) return;
    link.closed = true;
    link.socket.destroy();
    this.#links.delete(link);
    if (reason !== undefined) {
      this.#lastLinkError = reason;
      log('warn', 'slave link closed', { remote: link.remote, reason });
    } else {
      log('info', 'slave disconnected', { remote: link.remote });
    }
    this.#publishAcks();
  }
}
