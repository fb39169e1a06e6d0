/**
 * The clients the endpoint knows, keyed by x-mq-client-id: the only thing tying a client's
 * Telemetry stream (which carries its Settings) to its unary calls.
 *
 * A consumer is registered with the broker's consumer group when its Settings arrive and
 * unregistered when it says goodbye (NotifyClientTermination), when its last Telemetry stream
 * ends, or when it has been silent (no heartbeat, no stream) for sessionTimeoutMs, as RocketMQ
 * drops a channel after 120 s. onGone then lets the pop service make its auto-renewed messages
 * visible to the rest of the group.
 */
import type { BrokerApi } from '../api/BrokerApi.js';
import type { Clock } from '../common/clock.js';
import { log } from '../common/diagnostics.js';
import { isConsumer, type ClientSettings } from './ClientSettings.js';
import { wrapNamespace } from './MessageConversion.js';
import type { WireTelemetryCommand } from './wire.js';

/** The server's side of one Telemetry stream. */
export interface TelemetryPeer {
  write(command: WireTelemetryCommand): void;
  end(): void;
}

export interface ClientSession {
  readonly clientId: string;
  readonly namespace: string;
  settings: ClientSettings;
  /** The consumer group this client is registered in (stored name), if any. */
  group: string | undefined;
  lastSeen: number;
  readonly streams: Set<TelemetryPeer>;
}

export class ClientRegistry {
  readonly #broker: BrokerApi;
  readonly #clock: Clock;
  readonly #sessionTimeoutMs: number;
  readonly #onGone: (clientId: string) => void;
  readonly #sessions = new Map<string, ClientSession>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(broker: BrokerApi, clock: Clock, sessionTimeoutMs: number, onGone: (clientId: string) => void) {
    this.#broker = broker;
    this.#clock = clock;
    this.#sessionTimeoutMs = sessionTimeoutMs;
    this.#onGone = onGone;
    this.#sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(30_000, sessionTimeoutMs / 4))).unref();
  }

  get(clientId: string): ClientSession | undefined {
    return this.#sessions.get(clientId);
  }

  isAlive(clientId: string): boolean {
    return this.#sessions.has(clientId);
  }

  touch(clientId: string): boolean {
    const s = this.#sessions.get(clientId);
    if (s !== undefined) s.lastSeen = this.#clock.now();
    return s !== undefined;
  }

  /**
   * Records a client's Settings from one of its streams and (re-)registers a consumer with its
   * group. Throws what the broker throws (a refused filter, a bad group); nothing is kept then.
   */
  async applySettings(clientId: string, namespace: string, settings: ClientSettings, peer: TelemetryPeer): Promise<ClientSession> {
    const group = isConsumer(settings.clientType) && settings.group !== undefined ? wrapNamespace(namespace, settings.group.name) : undefined;
    if (group !== undefined) {
      await this.#broker.registerConsumer({
        group,
        clientId,
        messageModel: 'CLUSTERING',
        subscriptions: settings.subscriptions.map((s) => ({ topic: wrapNamespace(namespace, s.topic.name), filter: s.filter })),
      });
    }
    let session = this.#sessions.get(clientId);
    if (session === undefined) {
      session = { clientId, namespace, settings, group, lastSeen: this.#clock.now(), streams: new Set() };
      this.#sessions.set(clientId, session);
    } else {
      if (session.group !== undefined && session.group !== group) await this.#unregister(clientId, session.group);
      session.settings = settings;
      session.group = group;
      session.lastSeen = this.#clock.now();
    }
    session.streams.add(peer);
    return session;
  }

  /** A Telemetry stream ended; the client is gone when it was its last. */
  streamClosed(clientId: string, peer: TelemetryPeer): void {
    const session = this.#sessions.get(clientId);
    if (session === undefined || !session.streams.delete(peer)) return;
    if (session.streams.size === 0) void this.terminate(clientId);
  }

  /**
   * The client says goodbye (or timed out): unregister and forget it. Its streams are left for
   * the client to close: a stream the server ends makes the official client reopen it a second
   * later, even while it is shutting down.
   */
  async terminate(clientId: string, endStreams = false): Promise<void> {
    const session = this.#sessions.get(clientId);
    if (session === undefined) return;
    this.#sessions.delete(clientId);
    if (endStreams) for (const peer of session.streams) peer.end();
    session.streams.clear();
    this.#onGone(clientId);
    if (session.group !== undefined) await this.#unregister(clientId, session.group);
  }

  /** Streams of producers that declared a topic (stored name), for transaction checks. */
  producerPeers(topic: string, preferClientId: string): TelemetryPeer[] {
    const preferred = this.#sessions.get(preferClientId);
    const first = preferred === undefined ? [] : [...preferred.streams];
    if (first.length > 0) return first;
    const out: TelemetryPeer[] = [];
    for (const s of this.#sessions.values()) {
      if (s.settings.topics.some((t) => wrapNamespace(s.namespace, t.name) === topic)) out.push(...s.streams);
    }
    return out;
  }

  sweep(): void {
    const now = this.#clock.now();
    for (const s of [...this.#sessions.values()]) {
      if (s.streams.size === 0 && now - s.lastSeen > this.#sessionTimeoutMs) void this.terminate(s.clientId);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.allSettled([...this.#sessions.keys()].map((id) => this.terminate(id, true)));
  }

  async #unregister(clientId: string, group: string): Promise<void> {
    try {
      await this.#broker.unregisterConsumer(group, clientId);
    } catch (err) {
      log('warn', 'grpc: unregisterConsumer failed', { clientId, group, error: String(err) });
    }
  }
}
