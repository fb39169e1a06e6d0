/**
 * Who is in which consumer group and producer group, on the broker's main thread. Consumers long-
 * poll for membership changes (the rebalance trigger, RocketMQ's NOTIFY_CONSUMER_IDS_CHANGED);
 * members silent for longer than the expiry are dropped. State is in memory only: after a restart
 * clients register again, as they do with RocketMQ.
 */
import { PetrelError } from '../common/errors.js';
import type { ConsumerRegistration } from '../api/BrokerApi.js';

interface Member {
  readonly registration: ConsumerRegistration;
  lastSeen: number;
}

interface Waiter {
  readonly known: readonly string[];
  readonly resolve: (ids: string[]) => void;
  readonly timer: NodeJS.Timeout;
}

export class ConsumerGroups {
  readonly #groups = new Map<string, Map<string, Member>>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #producers = new Map<string, string>();
  readonly #expiryMs: number;

  constructor(expiryMs = 120_000) {
    this.#expiryMs = expiryMs;
  }

  register(reg: ConsumerRegistration, now: number): string[] {
    let g = this.#groups.get(reg.group);
    if (g === undefined) {
      g = new Map();
      this.#groups.set(reg.group, g);
    }
    const isNew = !g.has(reg.clientId);
    g.set(reg.clientId, { registration: reg, lastSeen: now });
    if (isNew) this.#notify(reg.group);
    return this.ids(reg.group);
  }

  unregister(group: string, clientId: string): void {
    const g = this.#groups.get(group);
    if (g?.delete(clientId) === true) {
      if (g.size === 0) this.#groups.delete(group);
      this.#notify(group);
    }
  }

  ids(group: string): string[] {
    return [...(this.#groups.get(group)?.keys() ?? [])].sort();
  }

  /** Every subscription registered for a topic, by group (for SQL92 bloom bits and routing). */
  subscriptionsOf(topic: string): { group: string; registration: ConsumerRegistration }[] {
    const out: { group: string; registration: ConsumerRegistration }[] = [];
    for (const [group, members] of this.#groups) {
      for (const m of members.values()) {
        if (m.registration.subscriptions.some((s) => s.topic === topic)) {
          out.push({ group, registration: m.registration });
          break;
        }
      }
    }
    return out;
  }

  groups(): string[] {
    return [...this.#groups.keys()].sort();
  }

  /** The group's members' registrations, by client id. */
  registrationsOf(group: string): ConsumerRegistration[] {
    return [...(this.#groups.get(group)?.values() ?? [])].sort((a, b) => (a.registration.clientId < b.registration.clientId ? -1 : 1)).map((m) => m.registration);
  }

  awaitChange(group: string, known: readonly string[], timeoutMs: number): Promise<string[]> {
    const now = this.ids(group);
    if (!sameIds(now, known) || timeoutMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      let set = this.#waiters.get(group);
      if (set === undefined) {
        set = new Set();
        this.#waiters.set(group, set);
      }
      const w: Waiter = {
        known,
        resolve,
        timer: setTimeout(() => {
          set.delete(w);
          resolve(this.ids(group));
        }, timeoutMs),
      };
      set.add(w);
    });
  }

  /** Drops members not heard from within the expiry; returns how many went. */
  expire(now: number): number {
    let n = 0;
    for (const [group, members] of this.#groups) {
      for (const [id, m] of members) {
        if (now - m.lastSeen > this.#expiryMs) {
          members.delete(id);
          n += 1;
          this.#notify(group);
        }
      }
      if (members.size === 0) this.#groups.delete(group);
    }
    return n;
  }

  registerProducer(group: string, instanceName: string, clientId: string): void {
    const key = `${group}@${instanceName}`;
    const holder = this.#producers.get(key);
    if (holder !== undefined && holder !== clientId) {
      throw new PetrelError(
        'ERR_INSTANCE_NAME_TAKEN',
        `producer group ${group} already has a started producer with instanceName "${instanceName}"; give each producer of a group in one process its own instanceName`,
      );
    }
    this.#producers.set(key, clientId);
  }

  unregisterProducer(group: string, instanceName: string, clientId: string): void {
    const key = `${group}@${instanceName}`;
    if (this.#producers.get(key) === clientId) this.#producers.delete(key);
  }

  /** Resolves every waiter (shutdown). */
  close(): void {
    for (const [group, set] of this.#waiters) {
      for (const w of set) {
        clearTimeout(w.timer);
        w.resolve(this.ids(group));
      }
    }
    this.#waiters.clear();
  }

  #notify(group: string): void {
    const set = this.#waiters.get(group);
    if (set === undefined) return;
    const ids = this.ids(group);
    for (const w of set) {
      if (sameIds(ids, w.known)) continue;
      clearTimeout(w.timer);
      set.delete(w);
      w.resolve(ids);
    }
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
