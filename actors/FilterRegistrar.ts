/**
 * Keeps the DispatcherActor's table of SQL92 groups (ConsumerFilters) in step with group
 * membership, on the broker's main thread: after a consumer registers, leaves or expires, the
 * group's current SQL92 subscriptions (those of its members, the first member's expression for a
 * topic) go to the dispatcher, which starts computing bloom bits for new ones and marks the
 * dropped ones departed. Sent in the order the changes happen, so the dispatcher sees them in
 * that order. In memory only: the dispatcher persists what it needs.
 */
import type { Clock } from '../common/clock.js';
import type { ConsumerRegistration } from '../api/BrokerApi.js';
import type { ConsumerGroups } from './ConsumerGroups.js';
import type { FilterRegistration, SqlSubscription } from './ConsumerFilters.js';

export type SendGroupFilters = (group: string, subscriptions: readonly SqlSubscription[], now: number) => Promise<FilterRegistration[]>;

export class FilterRegistrar {
  readonly #groups: ConsumerGroups;
  readonly #send: SendGroupFilters;
  readonly #clock: Clock;
  /** group -> topics it held SQL92 subscriptions to when last told */
  readonly #told = new Map<string, Set<string>>();

  constructor(groups: ConsumerGroups, clock: Clock, send: SendGroupFilters) {
    this.#groups = groups;
    this.#clock = clock;
    this.#send = send;
  }

  /** Tells the dispatcher the group's SQL92 subscriptions now; `registration` is the one just added. */
  sync(group: string, registration?: ConsumerRegistration): Promise<FilterRegistration[]> {
    const topics = new Set(this.#told.get(group));
    for (const s of registration?.subscriptions ?? []) if (s.filter.type === 'SQL92') topics.add(s.topic);
    if (topics.size === 0) return Promise.resolve([]);
    const subscriptions: SqlSubscription[] = [];
    for (const topic of topics) {
      const held = this.#groups.subscriptionsOf(topic).find((g) => g.group === group);
      const filter = held?.registration.subscriptions.find((s) => s.topic === topic)?.filter;
      if (filter?.type === 'SQL92') subscriptions.push({ topic, expression: filter.expression });
    }
    if (subscriptions.length === 0) this.#told.delete(group);
    else this.#told.set(group, new Set(subscriptions.map((s) => s.topic)));
    return this.#send(group, subscriptions, this.#clock.now());
  }

  /** Syncs every group that holds or held SQL92 subscriptions (after members expired). */
  syncAll(): Promise<FilterRegistration[][]> {
    return Promise.all([...this.#told.keys()].map((g) => this.sync(g)));
  }
}
