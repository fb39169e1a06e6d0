/**
 * A broker's registration with its name servers (RocketMQ's BrokerController.registerBrokerAll):
 * at start, then every registerNameServerPeriod, and soon after a topic is created or changed, the
 * broker sends its identity, its remoting address and its topics to every name server in
 * namesrvAddr, each independently (one unreachable name server delays no other). Stopping
 * unregisters from each, best effort.
 *
 * Owned by the Broker on its main thread. Nothing here is durable: a restarted broker registers
 * again and the name servers rebuild their view from that.
 */
import { log } from '../common/diagnostics.js';
import { splitNamesrvAddr, type BrokerIdentity, type NameServerApi, type RegisterBrokerResult, type TopicQueueData } from '../api/nameServer.js';
import type { BrokerNetwork } from '../api/network.js';

export interface NameServerRegistrarOptions {
  /** "host:port;host:port". */
  readonly namesrvAddr: string;
  /** The transport to the name servers. */
  readonly network: BrokerNetwork;
  readonly identity: BrokerIdentity;
  readonly haAddr?: string;
  /** Registration period, ms (RocketMQ registerNameServerPeriod, 30 s). */
  readonly periodMs: number;
  /** The topics to advertise, read at each registration. */
  readonly topics: () => readonly TopicQueueData[];
  /** Deadline of one registration, ms. Default 3000. */
  readonly requestTimeoutMs?: number;
  /** Told the answer of each successful registration (a slave learns its master from it). */
  readonly onRegistered?: (nameServer: string, result: RegisterBrokerResult) => void;
}

interface ServerState {
  readonly link: NameServerApi;
  running: Promise<void> | undefined;
  again: boolean;
  registered: boolean;
}

export class NameServerRegistrar {
  readonly #opts: NameServerRegistrarOptions;
  readonly #servers: ServerState[];
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: NameServerRegistrarOptions) {
    this.#opts = options;
    const rpc = { requestTimeoutMs: options.requestTimeoutMs ?? 3000, reconnectMaxMs: Math.max(100, Math.min(options.periodMs, 5000)) };
    this.#servers = splitNamesrvAddr(options.namesrvAddr).map((a) => ({ link: options.network.nameServer(a, rpc), running: undefined, again: false, registered: false }));
  }

  /** Registers now and then every period. Resolves after the first round (successful or not). */
  async start(): Promise<void> {
    this.#timer = setInterval(() => this.registerNow(), this.#opts.periodMs);
    this.#timer.unref();
    await Promise.all(this.#servers.map((s) => this.#registerWith(s)));
  }

  /** Registers with every name server now (topic changes); overlapping calls are coalesced. */
  registerNow(): void {
    for (const s of this.#servers) void this.#registerWith(s);
  }

  /** Name servers that accepted the last registration. */
  get registeredWith(): string[] {
    return this.#servers.filter((s) => s.registered).map((s) => s.link.address);
  }

  /** Stops the period and unregisters from every name server (best effort, bounded). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await Promise.all(
      this.#servers.map(async (s) => {
        await s.running;
        try {
          await s.link.unregisterBroker(this.#opts.identity);
        } catch (err) {
          log('debug', `unregistering from name server ${s.link.address} failed: ${(err as Error).message}`);
        }
        s.link.close();
      }),
    );
  }

  #registerWith(s: ServerState): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (s.running !== undefined) {
      s.again = true;
      return s.running;
    }
    const run = async (): Promise<void> => {
      do {
        s.again = false;
        const { identity, haAddr } = this.#opts;
        try {
          const result = await s.link.registerBroker({ ...identity, ...(haAddr === undefined ? {} : { haAddr }), topics: this.#opts.topics() });
          if (!s.registered) log('info', `broker ${identity.brokerName}/${identity.brokerId} registered with name server ${s.link.address}`);
          s.registered = true;
          this.#opts.onRegistered?.(s.link.address, result);
        } catch (err) {
          if (s.registered) log('warn', `broker ${identity.brokerName}/${identity.brokerId} cannot register with name server ${s.link.address}: ${(err as Error).message}`);
          s.registered = false;
        }
      } while (s.again && !this.#stopped);
    };
    s.running = run().finally(() => {
      s.running = undefined;
    });
    return s.running;
  }
}
