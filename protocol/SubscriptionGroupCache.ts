/**
 * The gRPC endpoint's copy of the broker's subscription group table (actors/SubscriptionGroups.ts),
 * so that groupPolicy, asked synchronously on every receive and ack, never waits on the broker.
 * The endpoint runs on its own thread and reaches the broker through the BrokerHandle bridge: the
 * copy is loaded at start, then kept current by one long poll at a time
 * (awaitSubscriptionGroupsChange, answered as soon as the table's version moves), and refreshed
 * on demand when a consumer's Telemetry settings arrive, so a group changed just before a client
 * starts is seen by that client. Owned by one GrpcEndpoint; a broker that cannot answer leaves
 * the last copy in force (every group at its defaults until a first load succeeds).
 */
import type { BrokerApi, SubscriptionGroupConfig, SubscriptionGroupTable } from '../api/BrokerApi.js';
import { log } from '../common/diagnostics.js';

/** How long one change poll is held by the broker; the broker caps it at 60 s. */
const CHANGE_POLL_MS = 20_000;
/** Pause after a failed poll before the next one. */
const RETRY_MS = 1000;

export type SubscriptionGroupSource = Pick<BrokerApi, 'listSubscriptionGroups' | 'awaitSubscriptionGroupsChange'>;

export class SubscriptionGroupCache {
  readonly #source: SubscriptionGroupSource;
  #groups = new Map<string, SubscriptionGroupConfig>();
  #version = -1;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;
  #wakeRetry: (() => void) | undefined;

  constructor(source: SubscriptionGroupSource) {
    this.#source = source;
  }

  /** Loads the table (a failure leaves defaults) and starts following its changes. */
  async start(): Promise<void> {
    await this.refresh();
    void this.#follow();
  }

  get(group: string): SubscriptionGroupConfig | undefined {
    return this.#groups.get(group);
  }

  /** Reads the table now. */
  async refresh(): Promise<void> {
    try {
      this.#apply(await this.#source.listSubscriptionGroups());
    } catch (err) {
      log('debug', `grpc endpoint: cannot read the subscription groups: ${(err as Error).message}`);
    }
  }

  /** Stops following; a poll in flight is left to the broker's timeout and ignored. */
  stop(): void {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#wakeRetry?.();
  }

  #apply(table: SubscriptionGroupTable): void {
    if (this.#stopped) return;
    this.#version = table.version;
    this.#groups = new Map(table.groups.map((g) => [g.groupName, g]));
  }

  async #follow(): Promise<void> {
    while (!this.#stopped) {
      try {
        this.#apply(await this.#source.awaitSubscriptionGroupsChange(this.#version, CHANGE_POLL_MS));
      } catch {
        if (this.#stopped) return;
        await new Promise<void>((resolve) => {
          this.#wakeRetry = resolve;
          this.#retry = setTimeout(resolve, RETRY_MS);
          this.#retry.unref();
        });
      }
    }
  }
}
