/**
 * The network endpoint: apache.rocketmq.v2.MessagingService on @grpc/grpc-js, serving one broker
 * through its BrokerApi. A plain class with a start/stop lifecycle, so the broker can run it as
 * an actor on its own worker thread (it holds no global state; every timer is its own).
 *
 * It listens on 127.0.0.1 unless told otherwise, and advertises exactly one host:port in routes
 * (a wildcard bind address needs an explicit advertisedAddress: clients must be given something
 * they can dial). stop() refuses new calls, ends long polls and Telemetry streams, waits up to
 * shutdownGraceMs for calls in progress, then cuts what is left.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { BrokerApi } from '../api/BrokerApi.js';
import { PetrelError } from '../common/errors.js';
import { systemClock, type Clock } from '../common/clock.js';
import { log } from '../common/diagnostics.js';
import { AccessControl, type AclConfig } from './AccessControl.js';
import { ClientRegistry } from './ClientRegistry.js';
import { DEFAULT_DELAY_LEVELS, parseDelayLevels } from '../storage/DelayLevels.js';
import { inboundToWire } from './MessageConversion.js';
import { messagingService } from './MessagingService.js';
import { DEFAULT_MESSAGE_LIMITS } from './MessageValidation.js';
import { DEFAULT_MAX_DELIVERY_ATTEMPTS, PopService, type GroupPolicy } from './PopService.js';
import { messagingServiceDefinition } from './protos.js';
import { DEFAULT_MAX_METADATA_BYTES } from './RequestContext.js';
import { SubscriptionGroupCache } from './SubscriptionGroupCache.js';
import type { EndpointSettings, ServiceContext } from './ServiceContext.js';
import { DEFAULT_TRANSACTION_OPTIONS, TransactionStore, type TransactionOptions } from './TransactionStore.js';

export interface TlsOptions {
  readonly keyFile: string;
  readonly certFile: string;
  /** CA bundle for client certificates; with requireClientCert, clients must present one it signed. */
  readonly caFile?: string;
  readonly requireClientCert?: boolean;
}

export interface GroupOptions {
  /** Orderly consumption: one batch per queue in flight at a time, in queue order. Default false. */
  readonly fifo?: boolean;
  /** Deliveries before the DLQ. Default defaultMaxDeliveryAttempts. */
  readonly maxDeliveryAttempts?: number;
}

export interface GrpcEndpointOptions {
  /** Address to bind. Default '127.0.0.1'. */
  readonly host?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** host:port put in routes. Default host:boundPort; required when host is a wildcard. */
  readonly advertisedAddress?: string;
  readonly tls?: TlsOptions;
  /** Access keys; without it every client is accepted. */
  readonly acl?: AclConfig;
  /** Largest message body, bytes. Default 4 MiB (RocketMQ maxMessageSize). */
  readonly maxBodySize?: number;
  /** Largest request metadata, bytes. Default 8 KiB. */
  readonly maxMetadataBytes?: number;
  /** Longest receive long poll, and what push consumers are told to use. Default 20 s. */
  readonly longPollingTimeoutMs?: number;
  /** Messages a push consumer asks for at once. Default 32. */
  readonly receiveBatchSize?: number;
  /** Smallest invisible_duration of an explicit receive. Default 10 s (the proxy's). */
  readonly minInvisibleMs?: number;
  /** Largest invisible duration. Default 12 h. */
  readonly maxInvisibleMs?: number;
  /** Invisible time of auto_renew (push consumer) deliveries, renewed until ack. Default 60 s. */
  readonly autoRenewInvisibleMs?: number;
  /** RocketMQ messageDelayLevel. Default "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h". */
  readonly messageDelayLevel?: string;
  /** Deliveries before a message goes to %DLQ%<group>. Default 17 (16 retries + 1). */
  readonly defaultMaxDeliveryAttempts?: number;
  readonly groups?: Readonly<Record<string, GroupOptions>>;
  /** Where a group with no committed offset starts. Default 'head'. */
  readonly newGroupStartsAt?: 'head' | 'tail';
  /** A client with no stream and no heartbeat for this long is dropped. Default 120 s. */
  readonly sessionTimeoutMs?: number;
  readonly transactions?: Partial<TransactionOptions>;
  /** stop() waits this long for calls in progress before cutting them. Default 5 s. */
  readonly shutdownGraceMs?: number;
  readonly clock?: Clock;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

function invalid(message: string): PetrelError {
  return new PetrelError('ERR_CONFIG_INVALID', `grpc endpoint: ${message}`);
}

function positiveInt(name: string, value: number | undefined, fallback: number, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min) throw invalid(`${name} must be an integer >= ${min}, got ${String(value)}`);
  return v;
}

function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function parseAdvertised(address: string, boundPort: number): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(address.trim());
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined || WILDCARDS.has(host)) throw invalid(`advertisedAddress "${address}" must be one reachable host[:port]`);
  const port = m[3] === undefined ? boundPort : Number(m[3]);
  if (port < 1 || port > 65535) throw invalid(`advertisedAddress "${address}" has a bad port`);
  return { host, port };
}

export class GrpcEndpoint {
  readonly #broker: BrokerApi;
  #server: Server | undefined;
  #ctx: ServiceContext | undefined;
  #groupTable: SubscriptionGroupCache | undefined;
  #address: string | undefined;
  #graceMs = 5000;

  constructor(broker: BrokerApi) {
    this.#broker = broker;
  }

  /** The advertised host:port while started. */
  get address(): string | undefined {
    return this.#address;
  }

  /**
   * Resolves with the advertised host:port and the port bound (they differ only when
   * advertisedAddress names another port).
   */
  async start(options: GrpcEndpointOptions = {}): Promise<{ address: string; port: number }> {
    if (this.#server !== undefined) throw new PetrelError('ERR_CLIENT_STATE', 'grpc endpoint already started');
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`port must be 0..65535, got ${port}`);
    if (WILDCARDS.has(host) && options.advertisedAddress === undefined) {
      throw invalid(`binding ${host || '(empty)'} needs advertisedAddress: clients cannot dial a wildcard address`);
    }
    if (options.advertisedAddress !== undefined) parseAdvertised(options.advertisedAddress, port || 1);
    const maxBodySize = positiveInt('maxBodySize', options.maxBodySize, DEFAULT_MESSAGE_LIMITS.maxBodySize);
    const clock = options.clock ?? systemClock;
    const defaultAttempts = positiveInt('defaultMaxDeliveryAttempts', options.defaultMaxDeliveryAttempts, DEFAULT_MAX_DELIVERY_ATTEMPTS);
    const groups = options.groups ?? {};
    // A group's settings: the `groups` option where it names the group, else the broker's
    // subscription group table (consumeMessageOrderly, retryMaxTimes + 1, consumeEnable).
    const table = new SubscriptionGroupCache(this.#broker);
    const groupPolicy = (group: string): GroupPolicy => {
      const g = Object.hasOwn(groups, group) ? groups[group] : undefined;
      const sg = table.get(group);
      return {
        fifo: g?.fifo ?? sg?.consumeMessageOrderly ?? false,
        maxDeliveryAttempts: g?.maxDeliveryAttempts ?? (sg === undefined ? defaultAttempts : sg.retryMaxTimes + 1),
        consumeEnable: sg?.consumeEnable ?? true,
      };
    };
    const acl = options.acl === undefined ? undefined : new AccessControl(options.acl, clock);
    this.#graceMs = positiveInt('shutdownGraceMs', options.shutdownGraceMs, 5000, 0);
    const credentials = await this.#credentials(options.tls);

    const advertised = { host, port: 0 };
    const settings: EndpointSettings = {
      advertised,
      limits: { ...DEFAULT_MESSAGE_LIMITS, maxBodySize },
      delayLevels: parseDelayLevels(options.messageDelayLevel ?? DEFAULT_DELAY_LEVELS),
      longPollingTimeoutMs: positiveInt('longPollingTimeoutMs', options.longPollingTimeoutMs, 20_000, 0),
      receiveBatchSize: positiveInt('receiveBatchSize', options.receiveBatchSize, 32),
      maxReceiveBatchSize: 1024,
      minInvisibleMs: positiveInt('minInvisibleMs', options.minInvisibleMs, 10_000, 0),
      maxInvisibleMs: positiveInt('maxInvisibleMs', options.maxInvisibleMs, 12 * 3600_000),
      maxMetadataBytes: positiveInt('maxMetadataBytes', options.maxMetadataBytes, DEFAULT_MAX_METADATA_BYTES),
      maxMessagesPerSend: 1024,
      groupPolicy,
      refreshGroupPolicies: () => table.refresh(),
    };
    const registryRef: { current: ClientRegistry | undefined } = { current: undefined };
    const pop = new PopService(this.#broker, {
      clock,
      groupPolicy,
      isClientAlive: (id) => registryRef.current?.isAlive(id) ?? false,
      autoRenewInvisibleMs: positiveInt('autoRenewInvisibleMs', options.autoRenewInvisibleMs, 60_000),
      newGroupStartsAt: options.newGroupStartsAt ?? 'head',
      maxPullLongPollMs: settings.longPollingTimeoutMs,
    });
    const registry = new ClientRegistry(this.#broker, clock, positiveInt('sessionTimeoutMs', options.sessionTimeoutMs, 120_000), (id) => pop.releaseClient(id));
    registryRef.current = registry;
    const transactions = new TransactionStore({ ...DEFAULT_TRANSACTION_OPTIONS, ...options.transactions }, clock, (half) => {
      const peer = registry.producerPeers(half.message.topic, half.producerClientId)[0];
      peer?.write({
        recover_orphaned_transaction_command: { message: inboundToWire(half.message, half.namespace, half.createdAt), transaction_id: half.transactionId },
      });
    });
    const ctx: ServiceContext = { broker: this.#broker, clock, acl, settings, registry, pop, transactions };
    const server = new Server({
      'grpc.max_receive_message_length': maxBodySize + 1024 * 1024,
      'grpc.max_send_message_length': -1,
    });
    server.addService(messagingServiceDefinition(), messagingService(ctx));
    // Loaded before the port opens, so the first client already sees its group's settings.
    await table.start();
    let boundPort: number;
    try {
      boundPort = await new Promise<number>((resolve, reject) => {
        server.bindAsync(hostPort(host, port), credentials, (err, p) => (err ? reject(err) : resolve(p)));
      });
    } catch (err) {
      table.stop();
      await pop.stop();
      await registry.stop();
      transactions.stop();
      server.forceShutdown();
      throw new PetrelError('ERR_CONFIG_INVALID', `grpc endpoint: cannot listen on ${hostPort(host, port)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const wanted = options.advertisedAddress === undefined ? { host, port: boundPort } : parseAdvertised(options.advertisedAddress, boundPort);
    advertised.host = wanted.host;
    advertised.port = wanted.port;
    this.#server = server;
    this.#ctx = ctx;
    this.#groupTable = table;
    this.#address = hostPort(advertised.host, advertised.port);
    log('info', 'grpc endpoint listening', { bind: hostPort(host, boundPort), advertised: this.#address, tls: options.tls !== undefined, acl: acl !== undefined });
    return { address: this.#address, port: boundPort };
  }

  /** Graceful, then forced after shutdownGraceMs. Safe to call twice. */
  async stop(): Promise<void> {
    const server = this.#server;
    const ctx = this.#ctx;
    if (server === undefined || ctx === undefined) return;
    this.#server = undefined;
    this.#ctx = undefined;
    this.#groupTable?.stop();
    this.#groupTable = undefined;
    this.#address = undefined;
    const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    // Ending long polls and Telemetry streams is what lets the graceful shutdown finish.
    await ctx.pop.stop();
    await ctx.registry.stop();
    ctx.transactions.stop();
    let timer: NodeJS.Timeout | undefined;
    const forced = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, this.#graceMs);
    });
    await Promise.race([drained, forced]);
    clearTimeout(timer);
  }

  async #credentials(tls: TlsOptions | undefined): Promise<ServerCredentials> {
    if (tls === undefined) return ServerCredentials.createInsecure();
    try {
      const [key, cert, ca] = await Promise.all([
        readFile(tls.keyFile),
        readFile(tls.certFile),
        tls.caFile === undefined ? Promise.resolve(null) : readFile(tls.caFile),
      ]);
      return ServerCredentials.createSsl(ca, [{ private_key: key, cert_chain: cert }], tls.requireClientCert ?? false);
    } catch (err) {
      throw new PetrelError('ERR_CONFIG_INVALID', `grpc endpoint: cannot load TLS key/certificate: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
}
