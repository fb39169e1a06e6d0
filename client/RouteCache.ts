/**
 * What a cluster client knows from the name servers: topic routes and the addresses of every
 * broker group. Routes are cached and fetched again after pollNameServerInterval, after a broker
 * could not be reached (throttled), and by a periodic refresh of every topic in use; while no name
 * server answers, the last known routes keep serving. A topic no name server knows is remembered
 * as unknown only briefly, so a topic that a broker is creating shows up soon.
 *
 * Owned by one ClusterClient on its thread.
 */
import type { TopicRoute } from '../api/BrokerApi.js';
import { isPetrelError } from '../common/errors.js';
import { log } from '../common/diagnostics.js';
import type { Clock } from '../common/clock.js';
import type { NameServerClient } from '../protocol/remoting/NameServerProtocol.js';

export type GroupAddrs = Readonly<Record<number, string>>;

interface CachedRoute {
  readonly route: TopicRoute | undefined;
  readonly fetchedAt: number;
}

/** Forced refreshes are at least this far apart; unknown topics are asked about again after twice this, ms. */
const MIN_REFRESH_GAP_MS = 500;

export class RouteCache {
  readonly #names: NameServerClient;
  readonly #clock: Clock;
  readonly #pollMs: number;
  readonly #routes = new Map<string, CachedRoute>();
  readonly #addrs = new Map<string, GroupAddrs>();
  #clusterFetchedAt = -Infinity;
  #lastForcedRefresh = -Infinity;
  #refreshing: Promise<void> | undefined;

  constructor(names: NameServerClient, options: { pollMs: number; clock: Clock }) {
    this.#names = names;
    this.#pollMs = options.pollMs;
    this.#clock = options.clock;
  }

  /** The topic's route, or undefined when no name server knows the topic. */
  async route(topic: string): Promise<TopicRoute | undefined> {
    const cached = this.#routes.get(topic);
    const ttl = cached?.route === undefined ? MIN_REFRESH_GAP_MS * 2 : this.#pollMs;
    if (cached !== undefined && this.#clock.monotonic() - cached.fetchedAt < ttl) return cached.route;
    try {
      return await this.#fetch(topic);
    } catch (err) {
      if (cached !== undefined && isPetrelError(err) && err.retriable) return cached.route;
      throw err;
    }
  }

  /** Forgets the topic's route: the next use asks a name server. */
  invalidate(topic: string): void {
    this.#routes.delete(topic);
  }

  /** A group's addresses by brokerId as last learnt (empty when unknown or gone). */
  addrsOf(brokerName: string): GroupAddrs {
    return this.#addrs.get(brokerName) ?? {};
  }

  /** Every known group's addresses, refreshed from the name servers' cluster view when stale. */
  async groups(): Promise<ReadonlyMap<string, GroupAddrs>> {
    if (this.#addrs.size === 0 || this.#clock.monotonic() - this.#clusterFetchedAt >= Math.min(this.#pollMs, MIN_REFRESH_GAP_MS * 2)) {
      try {
        await this.#fetchCluster();
      } catch (err) {
        if (this.#addrs.size === 0) throw err;
      }
    }
    return this.#addrs;
  }

  /** Fetches the cluster view and every cached route again. */
  refreshAll(): Promise<void> {
    this.#refreshing ??= this.#refreshAll().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** A refresh soon, after a broker could not be reached; throttled. */
  refreshSoon(): void {
    const now = this.#clock.monotonic();
    if (now - this.#lastForcedRefresh < MIN_REFRESH_GAP_MS) return;
    this.#lastForcedRefresh = now;
    void this.refreshAll();
  }

  async #refreshAll(): Promise<void> {
    try {
      await this.#fetchCluster();
    } catch (err) {
      log('debug', `route cache: no name server answered: ${(err as Error).message}`);
      return;
    }
    for (const topic of [...this.#routes.keys()]) await this.#fetch(topic).catch(() => undefined);
  }

  async #fetch(topic: string): Promise<TopicRoute | undefined> {
    try {
      const route = await this.#names.getRouteInfo(topic);
      for (const b of route.brokers) this.#addrs.set(b.brokerName, b.addrs);
      this.#routes.set(topic, { route, fetchedAt: this.#clock.monotonic() });
      return route;
    } catch (err) {
      if (!isPetrelError(err, 'ERR_TOPIC_NOT_EXIST')) throw err;
      this.#routes.set(topic, { route: undefined, fetchedAt: this.#clock.monotonic() });
      return undefined;
    }
  }

  async #fetchCluster(): Promise<void> {
    const info = await this.#names.getClusterInfo();
    const live = new Set(info.brokers.map((b) => b.brokerName));
    for (const b of info.brokers) this.#addrs.set(b.brokerName, b.addrs);
    // A group the name servers no longer list has no address left that anyone vouches for.
    for (const name of [...this.#addrs.keys()]) if (!live.has(name)) this.#addrs.set(name, {});
    this.#clusterFetchedAt = this.#clock.monotonic();
  }
}
