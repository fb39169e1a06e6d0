/**
 * Consumer group membership across broker groups. Each broker keeps its own member list, so a
 * cluster client registers its consumers with every group, counts the union of what the groups
 * report (plus its own consumers, which it knows are alive), registers again wherever a list lacks
 * one of them (a broker that restarted forgets its members), and renews every registration on a
 * heartbeat. Groups that cannot be reached are passed over; only when none answers is the view
 * refused, so a rebalance never runs on an empty member list by mistake.
 *
 * Owned by one ClusterClient on its thread.
 */
import type { BrokerApi, ConsumerRegistration } from '../api/BrokerApi.js';
import { sleep } from './sleep.js';

/** Runs an operation on every reachable broker group; rejects only when none answered. */
export type EachGroup = <T>(op: (g: BrokerApi) => Promise<T>) => Promise<T[]>;

export class ClusterMembership {
  readonly #each: EachGroup;
  readonly #closed: AbortSignal;
  readonly #mine = new Map<string, Map<string, ConsumerRegistration>>();

  constructor(each: EachGroup, closed: AbortSignal) {
    this.#each = each;
    this.#closed = closed;
  }

  async register(registration: ConsumerRegistration): Promise<string[]> {
    let members = this.#mine.get(registration.group);
    if (members === undefined) {
      members = new Map();
      this.#mine.set(registration.group, members);
    }
    members.set(registration.clientId, registration);
    return union(await this.#each((g) => g.registerConsumer(registration)), [registration.clientId]);
  }

  async unregister(group: string, clientId: string): Promise<void> {
    const members = this.#mine.get(group);
    members?.delete(clientId);
    if (members?.size === 0) this.#mine.delete(group);
    await this.#each((g) => g.unregisterConsumer(group, clientId));
  }

  /** The group's members as all reachable broker groups know them, together. */
  async ids(group: string): Promise<string[]> {
    const mine = [...(this.#mine.get(group)?.values() ?? [])];
    const lists = await this.#each(async (g) => {
      let ids = await g.consumerIds(group);
      for (const r of mine.filter((m) => !ids.includes(m.clientId))) ids = await g.registerConsumer(r);
      return ids;
    });
    return union(lists, mine.map((r) => r.clientId));
  }

  /** The members once they differ from `known`; otherwise the members after timeoutMs. */
  async awaitChange(group: string, known: readonly string[], timeoutMs: number): Promise<string[]> {
    const now = await this.ids(group);
    if (!sameIds(now, known) || timeoutMs <= 0) return now;
    await sleep(timeoutMs, this.#closed);
    return this.#closed.aborted ? now : this.ids(group);
  }

  /** Renews every registration with every reachable group. */
  async heartbeat(): Promise<void> {
    for (const members of this.#mine.values()) {
      for (const r of members.values()) await this.#each((g) => g.registerConsumer(r)).catch(() => undefined);
    }
  }
}

function union(lists: readonly (readonly string[])[], extra: readonly string[]): string[] {
  const all = new Set<string>(extra);
  for (const l of lists) for (const id of l) all.add(id);
  return [...all].sort();
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

