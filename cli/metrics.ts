/**
 * Prometheus metrics of a running broker, served at http://127.0.0.1:<port>/metrics. Off unless
 * `petrelmq start --metrics-port N` asks for them; nothing here runs in an embedded broker.
 *
 * Sources, all on the main thread:
 * - diagnostics channels (common/diagnostics.ts): put counts, bytes and latency from the send
 *   path, a send's wait for its slave, actor crashes and restarts;
 * - the shared positions (actors/BrokerPositions.ts), read at scrape time: dispatch and flush
 *   lag in bytes;
 * - the broker, asked at scrape time: the disk-full flags and used shares (per store folder too),
 *   store damage found by recovery and by reads (the dispatcher counts the latter), flush
 *   durations (FlushActor runs on a worker thread, whose
 *   channels never reach this one), a master's replication figures (ReplicationActor) and per
 *   group and queue consumer lag.
 * Metric names follow Prometheus conventions: counters end in _total, durations are seconds.
 */
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConsumerProgress } from '../api/BrokerApi.js';
import { Position, type PositionSlot } from '../actors/BrokerPositions.js';
import type { ReplicationStats } from '../actors/ReplicationActor.js';
import { CHANNELS, log, type ChannelName } from '../common/diagnostics.js';
import { PetrelError } from '../common/errors.js';
import { NO_DAMAGE, type StoreDamage } from '../storage/DamageTally.js';

/** What the metrics read from a broker; actors/Broker.ts fits it. */
export interface MetricsSource {
  readonly brokerName: string;
  readonly positions: { get(slot: PositionSlot): number };
  consumerGroups(): Promise<string[]>;
  consumerProgress(group: string): Promise<ConsumerProgress>;
  takeFlushTimes(): Promise<{ latenciesUs: number[]; dropped: number }>;
  /** Undefined when the broker does not replicate. */
  replicationStats(): Promise<ReplicationStats | undefined>;
  /**
   * The store's disk-full flag and the used share of its fullest filesystem (0..1); the logic
   * folders' flag and each filesystem's folders and share when the source knows them.
   */
  diskSpace?(): {
    readonly full: boolean;
    readonly usedRatio: number;
    readonly logicFull?: boolean;
    readonly filesystems?: readonly { readonly folders: readonly string[]; readonly usedRatio: number }[];
  };
  /** Store damage found by recovery at start and by reads since. */
  storeDamage?(): Promise<StoreDamage>;
}

/** Every metric name, so tests and dashboards refer to one list. */
export const METRIC_NAMES = {
  putMessages: 'petrelmq_put_messages_total',
  putBytes: 'petrelmq_put_bytes_total',
  putLatency: 'petrelmq_put_latency_seconds',
  flushLatency: 'petrelmq_flush_latency_seconds',
  replicationLatency: 'petrelmq_replication_latency_seconds',
  replicationAckLatency: 'petrelmq_replication_ack_latency_seconds',
  replicationLag: 'petrelmq_replication_lag_bytes',
  replicationSlaves: 'petrelmq_replication_slaves',
  dispatchLag: 'petrelmq_dispatch_lag_bytes',
  flushLag: 'petrelmq_flush_lag_bytes',
  consumerLag: 'petrelmq_consumer_lag_messages',
  actorCrashes: 'petrelmq_actor_crashes_total',
  actorRestarts: 'petrelmq_actor_restarts_total',
  diskFull: 'petrelmq_store_disk_full',
  diskUsedRatio: 'petrelmq_store_disk_used_ratio',
  corruptRanges: 'petrelmq_store_corrupt_ranges_total',
  corruptBytes: 'petrelmq_store_corrupt_bytes_total',
  rebuilt: 'petrelmq_store_rebuilt_total',
  logicDiskFull: 'petrelmq_store_logic_disk_full',
  folderDiskUsedRatio: 'petrelmq_store_folder_disk_used_ratio',
} as const;

/** 50 us .. 5 s: an append takes tens of microseconds, an fsync on a busy disk seconds. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function num(value: unknown, key: string): number {
  const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function str(value: unknown, key: string): string {
  const v = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : 'unknown';
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly #subscriptions: [ChannelName, (message: unknown) => void][] = [];

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ broker: source.brokerName });
    collectDefaultMetrics({ register: this.registry, prefix: 'petrelmq_' });

    const putMessages = new Counter({ name: METRIC_NAMES.putMessages, help: 'Messages appended to the CommitLog (rate() gives put TPS)', registers });
    const putBytes = new Counter({ name: METRIC_NAMES.putBytes, help: 'CommitLog bytes appended, record headers included', registers });
    const putLatency = new Histogram({
      name: METRIC_NAMES.putLatency,
      help: 'Per send batch: from the oldest send reaching the broker to the writer reporting it appended',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new Histogram({
      name: METRIC_NAMES.flushLatency,
      help: 'Duration of each CommitLog flush (fdatasync) made by the flush actor',
      buckets: LATENCY_BUCKETS,
      registers,
      async collect() {
        const { latenciesUs } = await source.takeFlushTimes();
        for (const us of latenciesUs) this.observe(us / 1e6);
      },
    });
    const replicationLatency = new Histogram({
      name: METRIC_NAMES.replicationLatency,
      help: 'SYNC_MASTER: how long a send waited for its slave to acknowledge it, by outcome',
      labelNames: ['status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new Gauge({
      name: METRIC_NAMES.dispatchLag,
      help: 'CommitLog bytes written but not yet dispatched to ConsumeQueues and the index',
      registers,
      collect() {
        this.set(Math.max(0, source.positions.get(Position.WROTE) - source.positions.get(Position.DISPATCHED)));
      },
    });
    new Gauge({
      name: METRIC_NAMES.flushLag,
      help: 'CommitLog bytes written but not yet flushed to disk',
      registers,
      collect() {
        this.set(Math.max(0, source.positions.get(Position.WROTE) - source.positions.get(Position.FLUSHED)));
      },
    });
    new Gauge({
      name: METRIC_NAMES.diskFull,
      help: '1 while the store\'s disk is marked full (a store folder\'s filesystem past diskSpaceWarningLevelRatio, or dispatch held by a store write failure) and sends are refused with ERR_DISK_FULL',
      registers,
      collect() {
        this.set(source.diskSpace?.().full === true ? 1 : 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.diskUsedRatio,
      help: 'Used share (0..1) of the fullest filesystem holding the store, as of the last check (cleanResourceInterval)',
      registers,
      collect() {
        this.set(source.diskSpace?.().usedRatio ?? 0);
      },
    });
    // Damage: recovery's figures are fixed at start, reads' grow; both are read from the broker
    // at scrape time (reads are counted on the dispatcher's thread).
    const damage = async (): Promise<StoreDamage> => (await source.storeDamage?.()) ?? NO_DAMAGE;
    new Counter({
      name: METRIC_NAMES.corruptRanges,
      help: 'Damaged CommitLog stretches found, by where: recovery at start (skipped, the records after kept) or reads (damaged records pulls and look-ups met, each once); never served',
      labelNames: ['found'],
      registers,
      async collect() {
        const d = await damage();
        this.reset();
        this.inc({ found: 'recovery' }, d.recoveryRanges);
        this.inc({ found: 'read' }, d.readRecords);
      },
    });
    new Counter({
      name: METRIC_NAMES.corruptBytes,
      help: 'Bytes of the damaged CommitLog stretches counted in petrelmq_store_corrupt_ranges_total, by where they were found',
      labelNames: ['found'],
      registers,
      async collect() {
        const d = await damage();
        this.reset();
        this.inc({ found: 'recovery' }, d.recoveryBytes);
        this.inc({ found: 'read' }, d.readBytes);
      },
    });
    new Counter({
      name: METRIC_NAMES.rebuilt,
      help: 'Derived files rebuilt from the CommitLog at start because they were missing or damaged: ConsumeQueue ranges and IndexFiles',
      labelNames: ['file'],
      registers,
      async collect() {
        const d = await damage();
        this.reset();
        this.inc({ file: 'consumequeue' }, d.rebuiltQueues);
        this.inc({ file: 'index' }, d.rebuiltIndexFiles);
      },
    });
    new Gauge({
      name: METRIC_NAMES.logicDiskFull,
      help: '1 while consumequeue/ or index/ is on a filesystem past diskSpaceWarningLevelRatio, or dispatch is held because a ConsumeQueue or IndexFile write failed (RocketMQ\'s LOGIC_DISK_FULL)',
      registers,
      collect() {
        this.set(source.diskSpace?.().logicFull === true ? 1 : 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.folderDiskUsedRatio,
      help: 'Used share (0..1) of the filesystem holding each store folder (root, commitlog, consumequeue, index), as of the last check',
      labelNames: ['folder'],
      registers,
      collect() {
        this.reset();
        for (const f of source.diskSpace?.().filesystems ?? []) {
          for (const folder of f.folders) this.set({ folder }, f.usedRatio);
        }
      },
    });
    // A master's replication figures (undefined on a slave or without replication).
    const masterStats = async (): Promise<(ReplicationStats & { role: 'master' }) | undefined> => {
      const stats = await source.replicationStats();
      return stats?.role === 'master' ? stats : undefined;
    };
    new Gauge({
      name: METRIC_NAMES.replicationLag,
      help: 'Master: CommitLog bytes the best connected slave has not acknowledged (everything written when none is connected)',
      registers,
      async collect() {
        const m = await masterStats();
        this.set(m?.lagBytes ?? 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.replicationSlaves,
      help: 'Master: slaves connected now',
      registers,
      async collect() {
        this.set((await masterStats())?.slaves.length ?? 0);
      },
    });
    new Gauge({
      name: METRIC_NAMES.replicationAckLatency,
      help: 'Master: from bytes being written to a slave acknowledging them, over the broker\'s run (quantile 1 is the max)',
      labelNames: ['quantile'],
      registers,
      async collect() {
        const m = await masterStats();
        this.reset();
        if (m === undefined || m.lagMs.count === 0) return;
        this.set({ quantile: '0.5' }, m.lagMs.p50 / 1000);
        this.set({ quantile: '0.99' }, m.lagMs.p99 / 1000);
        this.set({ quantile: '1' }, m.lagMs.max / 1000);
      },
    });
    new Gauge({
      name: METRIC_NAMES.consumerLag,
      help: 'Messages in a queue beyond the group\'s committed offset (or, with none, beyond where the group would start)',
      labelNames: ['group', 'topic', 'queue'],
      registers,
      async collect() {
        const groups = await source.consumerGroups();
        const progress = await Promise.all(groups.map((g) => source.consumerProgress(g)));
        // Rebuilt at every scrape, so a group or queue that is gone stops being reported.
        this.reset();
        for (const p of progress) {
          for (const q of p.queues) this.set({ group: p.group, topic: q.topic, queue: String(q.queueId) }, q.lag);
        }
      },
    });
    const crashes = new Counter({ name: METRIC_NAMES.actorCrashes, help: 'Actor failures seen by the supervisor', labelNames: ['actor'], registers });
    const restarts = new Counter({ name: METRIC_NAMES.actorRestarts, help: 'Actors restarted by the supervisor', labelNames: ['actor'], registers });

    this.#on(CHANNELS.storePut, (m) => {
      putMessages.inc(num(m, 'messages'));
      putBytes.inc(num(m, 'bytes'));
      putLatency.observe(num(m, 'latencyUs') / 1e6);
    });
    this.#on(CHANNELS.storeReplicated, (m) => replicationLatency.observe({ status: str(m, 'status') }, num(m, 'latencyUs') / 1e6));
    this.#on(CHANNELS.actorCrashed, (m) => crashes.inc({ actor: str(m, 'actor') }));
    this.#on(CHANNELS.actorRestarted, (m) => restarts.inc({ actor: str(m, 'actor') }));
  }

  #on(name: ChannelName, fn: (message: unknown) => void): void {
    diagnostics.subscribe(name, fn);
    this.#subscriptions.push([name, fn]);
  }

  /** The exposition text, as served at /metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    for (const [name, fn] of this.#subscriptions) diagnostics.unsubscribe(name, fn);
    this.#subscriptions.length = 0;
    this.registry.clear();
  }
}

export interface MetricsServer {
  /** host:port it listens on. */
  readonly address: string;
  close(): Promise<void>;
}

/** Serves GET /metrics on host:port (0 picks a free port); anything else is 404. */
export async function serveMetrics(metrics: BrokerMetrics, host: string, port: number): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (err: unknown) => {
        log('warn', 'metrics collection failed', { error: err instanceof Error ? err.message : String(err) });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new PetrelError('ERR_CONFIG_INVALID', `metrics: cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    address: `${host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
