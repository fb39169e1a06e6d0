/**
 * The name server's tables (RocketMQ's RouteInfoManager): which broker groups exist, which
 * addresses serve each group by brokerId, which topics each group serves with how many queues, and
 * when each broker was last heard from. A plain class owned by the NameServer on its thread; time
 * is passed in, so expiry is testable without sleeping. Nothing is persisted: after a restart the
 * tables fill again from the brokers' next registrations, as in RocketMQ.
 *
 * A group's queue data comes from its master's registrations; a slave's topics fill in only what
 * no master of the group has told (so a group whose master is gone, or never registered since a
 * name server restart, stays readable from its slaves). A group with no address left is removed
 * together with its queue data.
 */
import type { TopicRoute } from '../api/BrokerApi.js';
import type { BrokerGroupInfo, BrokerIdentity, BrokerRegistration, ClusterInfo, RegisterBrokerResult, TopicQueueData } from '../api/nameServer.js';

interface LiveBroker {
  readonly identity: BrokerIdentity;
  readonly haAddr: string | undefined;
  lastUpdate: number;
  /** The name server connection of its last registration, if it came over the network. */
  connectionId: number | undefined;
}

interface QueueEntry {
  readonly data: TopicQueueData;
  readonly fromMaster: boolean;
}

interface Group {
  readonly clusterName: string;
  /** brokerId -> address. */
  readonly addrs: Map<number, string>;
}

export class RouteInfoManager {
  readonly #groups = new Map<string, Group>();
  readonly #live = new Map<string, LiveBroker>();
  /** topic -> brokerName -> queue data. */
  readonly #queues = new Map<string, Map<string, QueueEntry>>();

  register(reg: BrokerRegistration, now: number, connectionId?: number): RegisterBrokerResult {
    const before = this.#live.get(reg.brokerAddr);
    if (before !== undefined && (before.identity.brokerName !== reg.brokerName || before.identity.brokerId !== reg.brokerId)) {
      this.unregister(before.identity);
    }
    let group = this.#groups.get(reg.brokerName);
    if (group === undefined) {
      group = { clusterName: reg.clusterName, addrs: new Map() };
      this.#groups.set(reg.brokerName, group);
    }
    const replaced = group.addrs.get(reg.brokerId);
    if (replaced !== undefined && replaced !== reg.brokerAddr) this.#live.delete(replaced);
    group.addrs.set(reg.brokerId, reg.brokerAddr);
    this.#live.set(reg.brokerAddr, {
      identity: { clusterName: reg.clusterName, brokerName: reg.brokerName, brokerId: reg.brokerId, brokerAddr: reg.brokerAddr },
      haAddr: reg.haAddr,
      lastUpdate: now,
      connectionId,
    });
    this.#updateQueues(reg);
    if (reg.brokerId === 0) return {};
    const masterAddr = group.addrs.get(0);
    const haMasterAddr = masterAddr === undefined ? undefined : this.#live.get(masterAddr)?.haAddr;
    return { ...(masterAddr === undefined ? {} : { masterAddr }), ...(haMasterAddr === undefined ? {} : { haMasterAddr }) };
  }

  /** Removes one broker; its group goes too when no address is left. True if it was known. */
  unregister(identity: Pick<BrokerIdentity, 'brokerName' | 'brokerId' | 'brokerAddr'>): boolean {
    const group = this.#groups.get(identity.brokerName);
    const known = this.#live.delete(identity.brokerAddr);
    if (group === undefined || group.addrs.get(identity.brokerId) !== identity.brokerAddr) return known;
    group.addrs.delete(identity.brokerId);
    if (group.addrs.size === 0) {
      this.#groups.delete(identity.brokerName);
      for (const [topic, byBroker] of this.#queues) {
        byBroker.delete(identity.brokerName);
        if (byBroker.size === 0) this.#queues.delete(topic);
      }
    }
    return true;
  }

  /** Drops brokers not heard from for longer than `timeoutMs`; returns who went. */
  expire(now: number, timeoutMs: number): BrokerIdentity[] {
    const gone: BrokerIdentity[] = [];
    for (const b of [...this.#live.values()]) {
      if (now - b.lastUpdate > timeoutMs) {
        this.unregister(b.identity);
        gone.push(b.identity);
      }
    }
    return gone;
  }

  /** Drops the brokers whose last registration came over a connection that just closed. */
  disconnected(connectionId: number): BrokerIdentity[] {
    const gone: BrokerIdentity[] = [];
    for (const b of [...this.#live.values()]) {
      if (b.connectionId === connectionId) {
        this.unregister(b.identity);
        gone.push(b.identity);
      }
    }
    return gone;
  }

  /** The topic's route: every group serving it with its addresses and queue counts, by name. */
  routeOf(topic: string): TopicRoute | undefined {
    const byBroker = this.#queues.get(topic);
    if (byBroker === undefined) return undefined;
    const brokers: TopicRoute['brokers'][number][] = [];
    for (const brokerName of [...byBroker.keys()].sort()) {
      const entry = byBroker.get(brokerName);
      const group = this.#groups.get(brokerName);
      if (entry === undefined || group === undefined) continue;
      brokers.push({
        brokerName,
        addrs: Object.fromEntries([...group.addrs].sort((a, b) => a[0] - b[0])),
        readQueueNums: entry.data.readQueueNums,
        writeQueueNums: entry.data.writeQueueNums,
        perm: entry.data.perm,
      });
    }
    return brokers.length === 0 ? undefined : { topic, brokers };
  }

  clusterInfo(): ClusterInfo {
    const brokers: BrokerGroupInfo[] = [...this.#groups.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([brokerName, g]) => ({ clusterName: g.clusterName, brokerName, addrs: Object.fromEntries([...g.addrs].sort((a, b) => a[0] - b[0])) }));
    return { brokers };
  }

  /** Live brokers by address, with when each was last heard from (admin, tests). */
  liveBrokers(): { identity: BrokerIdentity; lastUpdate: number }[] {
    return [...this.#live.values()].map((b) => ({ identity: b.identity, lastUpdate: b.lastUpdate }));
  }

  #updateQueues(reg: BrokerRegistration): void {
    const listed = new Map(reg.topics.map((t) => [t.topic, t]));
    for (const [topic, byBroker] of this.#queues) {
      const entry = byBroker.get(reg.brokerName);
      if (entry === undefined || listed.has(topic)) continue;
      // A master's list is the group's truth; a slave only withdraws what it alone provided.
      if (reg.brokerId === 0 || !entry.fromMaster) byBroker.delete(reg.brokerName);
      if (byBroker.size === 0) this.#queues.delete(topic);
    }
    for (const t of listed.values()) {
      let byBroker = this.#queues.get(t.topic);
      if (byBroker === undefined) {
        byBroker = new Map();
        this.#queues.set(t.topic, byBroker);
      }
      const entry = byBroker.get(reg.brokerName);
      if (reg.brokerId === 0 || entry === undefined || !entry.fromMaster) byBroker.set(reg.brokerName, { data: t, fromMaster: reg.brokerId === 0 });
    }
  }
}
