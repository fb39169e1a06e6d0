/**
 * The name server (RocketMQ's NamesrvController): brokers register their groups, addresses and
 * topics with it; producers and consumers ask it for a topic's route. Embeddable
 * (`NameServer.start()` in any process) and the core of the standalone runner. It serves over the
 * same framed remoting transport as the broker API, on 127.0.0.1 unless told otherwise.
 *
 * A broker is dropped when it has not registered for brokerExpiryMs (RocketMQ: 120 s, scanned
 * every 5 s) or when the connection it registered over closes (its process died). Name servers do
 * not talk to each other: every broker registers with every name server.
 *
 * Runs on the thread that started it; holds its tables in memory only (see RouteInfoManager).
 */
import { PetrelError } from '../common/errors.js';
import { log } from '../common/diagnostics.js';
import { systemClock, type Clock } from '../common/clock.js';
import type { TopicRoute } from '../api/BrokerApi.js';
import { RouteInfoManager } from './RouteInfoManager.js';
import { ARGUMENT, str } from '../api/parse.js';
import { brokerIdentity, brokerRegistration, type ClusterInfo, type RegisterBrokerResult } from '../api/nameServer.js';
import { serveRpc, type RpcMethod, type RpcServer } from '../protocol/remoting/RpcServer.js';

export interface NameServerOptions {
  /** Address to bind. Default '127.0.0.1'. */
  readonly host?: string;
  /** Port to bind; 0 picks a free one. Default 9876 (RocketMQ's). */
  readonly port?: number;
  /** A broker silent this long is dropped, ms. Default 120000. */
  readonly brokerExpiryMs?: number;
  /** How often silent brokers are looked for, ms. Default 5000. */
  readonly scanIntervalMs?: number;
  /** Largest frame, bytes. Default the transport's. */
  readonly maxFrameBytes?: number;
  readonly clock?: Clock;
}

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v <= 0) throw new PetrelError('ERR_CONFIG_INVALID', `${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export class NameServer {
  readonly #routes: RouteInfoManager;
  readonly #server: RpcServer;
  readonly #timer: NodeJS.Timeout;
  readonly #clock: Clock;
  readonly #expiryMs: number;
  #stopped = false;

  private constructor(server: RpcServer, routes: RouteInfoManager, clock: Clock, expiryMs: number, scanMs: number) {
    this.#server = server;
    this.#routes = routes;
    this.#clock = clock;
    this.#expiryMs = expiryMs;
    this.#timer = setInterval(() => this.scanNow(), scanMs);
    this.#timer.unref();
  }

  /** Starts a name server listening on host:port; resolves once it accepts connections. */
  static async start(options: NameServerOptions = {}): Promise<NameServer> {
    const expiryMs = positiveInt(options.brokerExpiryMs ?? 120_000, 'brokerExpiryMs');
    const scanMs = positiveInt(options.scanIntervalMs ?? 5_000, 'scanIntervalMs');
    const clock = options.clock ?? systemClock;
    const routes = new RouteInfoManager();
    const methods = new Map<string, RpcMethod>([
      ['registerBroker', (args, peer): RegisterBrokerResult => {
        const reg = brokerRegistration(ARGUMENT, args[0], 'registration');
        const known = routes.liveBrokers().some((b) => b.identity.brokerAddr === reg.brokerAddr);
        const result = routes.register(reg, clock.monotonic(), peer.connectionId);
        if (!known) log('info', `name server: broker ${reg.brokerName}/${reg.brokerId} registered at ${reg.brokerAddr}`, { topics: reg.topics.length });
        return result;
      }],
      ['unregisterBroker', (args): undefined => {
        const id = brokerIdentity(ARGUMENT, args[0], 'identity');
        if (routes.unregister(id)) log('info', `name server: broker ${id.brokerName}/${id.brokerId} at ${id.brokerAddr} unregistered`);
        return undefined;
      }],
      ['getRouteInfo', (args): TopicRoute => {
        const topic = str(ARGUMENT, args[0], 'topic');
        const route = routes.routeOf(topic);
        if (route === undefined) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `no broker serves topic ${topic}`);
        return route;
      }],
      ['getClusterInfo', (): ClusterInfo => routes.clusterInfo()],
    ]);
    const server = await serveRpc(methods, {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 9876,
      name: 'name server',
      ...(options.maxFrameBytes === undefined ? {} : { maxFrameBytes: options.maxFrameBytes }),
      onDisconnect: (peer) => {
        for (const b of routes.disconnected(peer.connectionId)) log('info', `name server: broker ${b.brokerName}/${b.brokerId} at ${b.brokerAddr} dropped: its connection closed`);
      },
    });
    return new NameServer(server, routes, clock, expiryMs, scanMs);
  }

  /** host:port to give brokers and clients as namesrvAddr. */
  get address(): string {
    return this.#server.address;
  }

  /** Drops brokers silent for longer than brokerExpiryMs now; returns how many went. */
  scanNow(): number {
    const gone = this.#routes.expire(this.#clock.monotonic(), this.#expiryMs);
    for (const b of gone) log('info', `name server: broker ${b.brokerName}/${b.brokerId} at ${b.brokerAddr} expired`);
    return gone.length;
  }

  /** The route a client would get, or undefined (in-process admin and tests). */
  routeOf(topic: string): TopicRoute | undefined {
    return this.#routes.routeOf(topic);
  }

  clusterInfo(): ClusterInfo {
    return this.#routes.clusterInfo();
  }

  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#server.close();
  }
}
