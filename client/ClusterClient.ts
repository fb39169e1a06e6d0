/**
 * A BrokerApi over a cluster: broker groups found through name servers (namesrvAddr). It fetches
 * topic routes (cached, refreshed every pollNameServerInterval and after a broker could not be
 * reached, and served stale while no name server answers), keeps one lazily connecting link per
 * broker address, and routes each request to the group it concerns through a BrokerGroupView
 * (master for writes; master, else a slave of the same group, for reads and offsets).
 *
 * Producers get RocketMQ's queue selection over the write queues of every group with a master,
 * with latency fault tolerance (a group whose send failed is avoided for a while) and retries on
 * another group. Consumers get the read queues of every group, group membership gathered from
 * every group (each broker keeps its own member list) and kept alive by a heartbeat.
 *
 * Requests that name no broker group (pull, offsets) are routed when exactly one group serves the
 * topic; with several, use group(brokerName), as Producer and PushConsumer do.
 *
 * Owned by the thread that made it; close() ends its timers and connections.
 */
import type {
  BrokerApi, CommittedOffset, ConsumerProgress, ConsumerRegistration, DelayOffset, Message, MessageExt, MessageQueue, OffsetResetRequest,
  OffsetResetResult, OffsetResetState, PullRequest, PullResult, SendResult, SubscriptionGroupConfig, SubscriptionGroupInput, SubscriptionGroupTable, TopicConfig, TopicRoute,
} from '../api/BrokerApi.js';
import { queuesOf } from '../api/BrokerApi.js';
import { PetrelError, isPetrelError } from '../common/errors.js';
import { log } from '../common/diagnostics.js';
import { systemClock, type Clock } from '../common/clock.js';
import { NameServerClient } from '../protocol/remoting/NameServerProtocol.js';
import { RouteCache } from './RouteCache.js';
import { RemoteBrokerApi } from '../protocol/remoting/RemoteBrokerApi.js';
import { BrokerGroupView, isUnreachable } from './BrokerGroupView.js';
import { LatencyFaultTolerance } from './LatencyFaultTolerance.js';
import { ClusterMembership } from './ClusterMembership.js';
import { positive, type ClusterClientOptions } from './ClusterClientOptions.js';

export type { ClusterClientOptions } from './ClusterClientOptions.js';


export class ClusterClient implements BrokerApi {
  readonly brokerName: string;
  readonly namesrvAddr: string;
  readonly #names: NameServerClient;
  readonly #clock: Clock;
  readonly #pollMs: number;
  readonly #timeoutMs: number;
  readonly #probeMs: number;
  readonly #slavePollMs: number;
  readonly #defaultQueues: number;
  readonly #faults: LatencyFaultTolerance;
  readonly #cache: RouteCache;
  readonly #views = new Map<string, BrokerGroupView>();
  readonly #links = new Map<string, RemoteBrokerApi>();
  readonly #members: ClusterMembership;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #closed = new AbortController();

  constructor(options: ClusterClientOptions) {
    this.namesrvAddr = options.namesrvAddr;
    this.brokerName = `cluster@${options.namesrvAddr}`;
    this.#clock = options.clock ?? systemClock;
    this.#pollMs = positive(options.pollNameServerInterval ?? 30_000, 'pollNameServerInterval');
    this.#timeoutMs = positive(options.requestTimeoutMs ?? 3000, 'requestTimeoutMs');
    this.#probeMs = positive(options.masterProbeIntervalMs ?? 5000, 'masterProbeIntervalMs');
    this.#slavePollMs = positive(options.slaveLongPollMs ?? 5000, 'slaveLongPollMs');
    this.#defaultQueues = positive(options.defaultTopicQueueNums ?? 4, 'defaultTopicQueueNums');
    this.#names = new NameServerClient(options.namesrvAddr, { requestTimeoutMs: this.#timeoutMs, reconnectMaxMs: 1000 });
    this.#cache = new RouteCache(this.#names, { pollMs: this.#pollMs, clock: this.#clock });
    this.#members = new ClusterMembership((op) => this.#eachGroup(op), this.#closed.signal);
    this.#faults = new LatencyFaultTolerance({
      enabled: options.sendLatencyFaultEnable ?? true,
      failureIsolationMs: options.failureIsolationMs ?? 10_000,
      clock: this.#clock,
    });
    const poll = setInterval(() => void this.#cache.refreshAll(), this.#pollMs);
    const beat = setInterval(() => void this.#members.heartbeat(), positive(options.heartbeatBrokerInterval ?? 30_000, 'heartbeatBrokerInterval'));
    poll.unref();
    beat.unref();
    this.#timers.push(poll, beat);
  }

  /** The view of one broker group: master for writes, master-then-slave for reads. */
  group(brokerName: string): BrokerGroupView {
    let v = this.#views.get(brokerName);
    if (v === undefined) {
      v = new BrokerGroupView({
        brokerName,
        addrs: () => this.#cache.addrsOf(brokerName),
        connection: (addr) => this.#link(addr, brokerName),
        onUnreachable: () => this.#cache.refreshSoon(),
        masterProbeIntervalMs: this.#probeMs,
        slaveLongPollMs: this.#slavePollMs,
        clock: this.#clock,
      });
      this.#views.set(brokerName, v);
    }
    return v;
  }

  /** Producer view: write queues of every group that has a master, sorted by group then queue. */
  async writeQueues(topic: string): Promise<MessageQueue[]> {
    const route = await this.#cache.route(topic);
    const queues: MessageQueue[] = [];
    if (route === undefined) {
      // No name server knows the topic yet: offer every master, whose broker may auto-create it.
      for (const [brokerName, addrs] of [...(await this.#cache.groups())].sort((a, b) => cmp(a[0], b[0]))) {
        if (addrs[0] === undefined) continue;
        for (let q = 0; q < this.#defaultQueues; q++) queues.push({ topic, brokerName, queueId: q });
      }
    } else {
      queues.push(...queuesOf(route, 'write', (b) => b.addrs[0] !== undefined));
    }
    if (queues.length === 0) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `no broker group with a master serves topic ${topic}`);
    return queues;
  }

  /** Consumer view: read queues of every group serving the topic (any replica may serve them). */
  async readQueues(topic: string): Promise<MessageQueue[]> {
    const route = await this.#cache.route(topic);
    if (route === undefined) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `no broker group serves topic ${topic}`);
    return queuesOf(route, 'read');
  }

  /** Picks a write queue, avoiding the group of the previous attempt and groups that failed lately. */
  selectWriteQueue(queues: readonly MessageQueue[], avoidBrokerName?: string): MessageQueue | undefined {
    return this.#faults.select(queues, avoidBrokerName);
  }

  /** True unless the group's last send failed or was slow, within its isolation time. */
  isGroupAvailable(brokerName: string): boolean {
    return this.#faults.isAvailable(brokerName);
  }

  /** One send attempt to one queue's group master; its outcome feeds the fault tolerance. */
  async sendToQueue(mq: MessageQueue, messages: readonly Message[]): Promise<SendResult[]> {
    const started = this.#clock.monotonic();
    try {
      const results = await this.group(mq.brokerName).send(messages, mq.queueId);
      this.#faults.update(mq.brokerName, this.#clock.monotonic() - started, false);
      return results;
    } catch (err) {
      if (isPetrelError(err) && err.retriable) {
        this.#faults.update(mq.brokerName, this.#clock.monotonic() - started, true);
        this.#cache.invalidate(mq.topic);
      }
      throw err;
    }
  }

  /** Sends with up to three attempts, each on another group when one is left (retryTimesWhenSendFailed 2). */
  async send(messages: readonly Message[], queueId?: number): Promise<SendResult[]> {
    const topic = messages[0]?.topic;
    if (topic === undefined) throw new PetrelError('ERR_MESSAGE_ILLEGAL', 'send needs at least one message');
    let last: unknown;
    let avoid: string | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const all = await this.writeQueues(topic);
      const queues = queueId === undefined ? all : all.filter((q) => q.queueId === queueId);
      const mq = this.selectWriteQueue(queues, avoid);
      if (mq === undefined) throw new PetrelError('ERR_QUEUE_ID_INVALID', `no group serves queue ${String(queueId)} of ${topic}`);
      try {
        return await this.sendToQueue(mq, messages);
      } catch (err) {
        if (!isPetrelError(err) || !err.retriable) throw err;
        last = err;
        avoid = mq.brokerName;
      }
    }
    throw last instanceof Error ? last : new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `send to ${topic} failed`);
  }

  sendOneway(message: Message, queueId?: number): void {
    this.writeQueues(message.topic).then(
      (all) => {
        const mq = this.selectWriteQueue(queueId === undefined ? all : all.filter((q) => q.queueId === queueId));
        if (mq !== undefined) this.group(mq.brokerName).sendOneway(message, mq.queueId);
      },
      (err: unknown) => log('debug', `oneway send to ${message.topic} dropped: ${(err as Error).message}`),
    );
  }

  pull(request: PullRequest): Promise<PullResult> {
    return this.#only(request.topic).then((g) => g.pull(request));
  }

  /** Creates (or updates) the topic on the master of every group. */
  async createTopic(config: { topic: string; readQueueNums?: number; writeQueueNums?: number; perm?: number; order?: boolean }): Promise<TopicConfig> {
    const names = [...(await this.#cache.groups()).entries()].filter(([, a]) => a[0] !== undefined).map(([n]) => n).sort();
    if (names.length === 0) throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', 'no broker group with a master is registered');
    const [first] = await Promise.all(names.map((n) => this.group(n).createTopic(config)));
    this.#cache.invalidate(config.topic);
    if (first === undefined) throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', 'no broker group created the topic');
    return first;
  }

  async getTopic(topic: string): Promise<TopicConfig | undefined> {
    const route = await this.#cache.route(topic);
    const first = route?.brokers[0];
    return first === undefined ? undefined : this.group(first.brokerName).getTopic(topic);
  }

  async listTopics(): Promise<TopicConfig[]> {
    const seen = new Map<string, TopicConfig>();
    for (const lists of await this.#eachGroup((g) => g.listTopics())) for (const t of lists) if (!seen.has(t.topic)) seen.set(t.topic, t);
    return [...seen.values()].sort((a, b) => cmp(a.topic, b.topic));
  }

  async queryRoute(topic: string): Promise<TopicRoute> {
    const route = await this.#cache.route(topic);
    if (route === undefined) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `no broker group serves topic ${topic}`);
    return route;
  }

  /** Claims the instance name with every reachable master; with none reachable yet, starts anyway (as RocketMQ's producer does). */
  async registerProducer(group: string, instanceName: string, clientId: string): Promise<void> {
    try {
      await this.#eachGroup((g) => g.registerProducer(group, instanceName, clientId), true);
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      log('debug', `producer ${group}@${instanceName} starts without a reachable broker group: ${(err as Error).message}`);
    }
  }

  async unregisterProducer(group: string, instanceName: string, clientId: string): Promise<void> {
    await this.#eachGroup((g) => g.unregisterProducer(group, instanceName, clientId), true).catch((err: unknown) => {
      if (!isUnreachable(err)) throw err;
    });
  }

  registerConsumer(registration: ConsumerRegistration): Promise<string[]> {
    return this.#members.register(registration);
  }

  unregisterConsumer(group: string, clientId: string): Promise<void> {
    return this.#members.unregister(group, clientId);
  }

  consumerIds(group: string): Promise<string[]> {
    return this.#members.ids(group);
  }

  awaitConsumerIdsChange(group: string, known: readonly string[], timeoutMs: number): Promise<string[]> {
    return this.#members.awaitChange(group, known, timeoutMs);
  }

  commitOffset(group: string, topic: string, queueId: number, offset: number, resetEpoch?: number): Promise<void> {
    return this.#only(topic).then((g) => g.commitOffset(group, topic, queueId, offset, resetEpoch));
  }

  queryOffset(group: string, topic: string, queueId: number): Promise<number> {
    return this.#only(topic).then((g) => g.queryOffset(group, topic, queueId));
  }

  minOffset(topic: string, queueId: number): Promise<number> {
    return this.#only(topic).then((g) => g.minOffset(topic, queueId));
  }

  maxOffset(topic: string, queueId: number): Promise<number> {
    return this.#only(topic).then((g) => g.maxOffset(topic, queueId));
  }

  searchOffsetByTime(topic: string, queueId: number, timestampMs: number): Promise<number> {
    return this.#only(topic).then((g) => g.searchOffsetByTime(topic, queueId, timestampMs));
  }

  /** To the group the message came from; to another group's master when that one is down. */
  async sendBack(group: string, message: MessageExt, delayLevel: number, maxReconsumeTimes: number): Promise<void> {
    try {
      await this.group(message.brokerName).sendBack(group, message, delayLevel, maxReconsumeTimes);
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      const others = [...(await this.#cache.groups()).entries()].filter(([n, a]) => n !== message.brokerName && a[0] !== undefined).map(([n]) => n).sort();
      const other = others.find((n) => this.#faults.isAvailable(n)) ?? others[0];
      if (other === undefined) throw err;
      await this.group(other).sendBack(group, message, delayLevel, maxReconsumeTimes);
    }
  }

  async consumerProgress(group: string): Promise<ConsumerProgress> {
    const all = await this.#eachGroup((g) => g.consumerProgress(group));
    const queues = all.flatMap((p) => p.queues);
    return { group, queues, totalLag: queues.reduce((a, q) => a + q.lag, 0) };
  }

  /**
   * Resets on the master of every group serving the topic; the answer lists every group's queues.
   * A group counts as known when any broker group knows it: brokers that do not are then reset
   * too (their reset does not create an entry), and only when none knows it is it refused.
   */
  async resetOffset(request: OffsetResetRequest): Promise<OffsetResetResult> {
    const groups = await this.#groupsOf(request.topic);
    const settled = await Promise.allSettled(groups.map((g) => g.resetOffset(request)));
    const unknownGroup = (s: PromiseSettledResult<OffsetResetResult>): boolean => s.status === 'rejected' && isPetrelError(s.reason) && s.reason.code === 'ERR_GROUP_NOT_EXIST';
    for (const s of settled) if (s.status === 'rejected' && !unknownGroup(s)) throw s.reason;
    if (settled.every(unknownGroup) && settled[0]?.status === 'rejected') throw settled[0].reason;
    const results: OffsetResetResult[] = [];
    for (const [i, s] of settled.entries()) {
      if (s.status === 'fulfilled') results.push(s.value);
      else results.push(await (groups[i] as BrokerGroupView).resetOffset({ ...request, ifGroupUnknown: 'reset' }));
    }
    return {
      group: request.group,
      topic: request.topic,
      epoch: results.reduce((a, r) => Math.max(a, r.epoch), 0),
      groupCreated: results.some((r) => r.groupCreated),
      queues: results.flatMap((r) => r.queues),
    };
  }

  /** Epochs are per broker group: on a topic several groups serve, use group(brokerName).awaitOffsetReset. */
  awaitOffsetReset(group: string, topic: string, knownEpoch: number, timeoutMs: number): Promise<OffsetResetState> {
    return this.#only(topic).then((g) => g.awaitOffsetReset(group, topic, knownEpoch, timeoutMs));
  }

  async resetOffsetToLatest(group: string, topic: string): Promise<void> {
    await Promise.all((await this.#groupsOf(topic)).map((g) => g.resetOffsetToLatest(group, topic)));
  }

  async resetOffsetByTime(group: string, topic: string, timestampMs: number): Promise<void> {
    await Promise.all((await this.#groupsOf(topic)).map((g) => g.resetOffsetByTime(group, topic, timestampMs)));
  }

  async queryMessageByKey(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): Promise<MessageExt[]> {
    const found = await Promise.all((await this.#groupsOf(topic)).map((g) => g.queryMessageByKey(topic, key, maxNum, beginMs, endMs)));
    return found.flat().slice(0, maxNum);
  }

  async queryMessageById(msgId: string): Promise<MessageExt | undefined> {
    for (const name of [...(await this.#cache.groups()).keys()].sort()) {
      try {
        const m = await this.group(name).queryMessageById(msgId);
        if (m !== undefined) return m;
      } catch (err) {
        if (!isUnreachable(err)) throw err;
      }
    }
    return undefined;
  }

  async viewMessageByOffset(commitLogOffset: number): Promise<MessageExt | undefined> {
    const names = [...(await this.#cache.groups()).keys()];
    if (names.length !== 1 || names[0] === undefined) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `a CommitLog offset names no broker group among ${names.length}: use group(brokerName).viewMessageByOffset`);
    }
    return this.group(names[0]).viewMessageByOffset(commitLogOffset);
  }

  /** Every group's committed offsets, one list. */
  async allConsumerOffsets(): Promise<CommittedOffset[]> {
    return (await this.#eachGroup((g) => g.allConsumerOffsets())).flat();
  }

  /** Delay progress is per broker group: ask group(brokerName).delayOffsets() on a cluster of several. */
  async delayOffsets(): Promise<DelayOffset[]> {
    const names = [...(await this.#cache.groups()).keys()];
    if (names.length !== 1 || names[0] === undefined) throw new PetrelError('ERR_INVALID_ARGUMENT', `delay offsets are per broker group, and there are ${names.length}: use group(brokerName).delayOffsets`);
    return this.group(names[0]).delayOffsets();
  }

  /** The entry of the first broker group (by name) that has one. */
  async getSubscriptionGroup(group: string): Promise<SubscriptionGroupConfig | undefined> {
    return (await this.#eachGroup((g) => g.getSubscriptionGroup(group))).find((c) => c !== undefined);
  }

  /** The union over the broker groups (the first group by name wins a name); version: their sum. */
  async listSubscriptionGroups(): Promise<SubscriptionGroupTable> {
    const tables = await this.#eachGroup((g) => g.listSubscriptionGroups());
    const seen = new Map<string, SubscriptionGroupConfig>();
    for (const t of tables) for (const g of t.groups) if (!seen.has(g.groupName)) seen.set(g.groupName, g);
    return { version: tables.reduce((a, t) => a + t.version, 0), groups: [...seen.values()].sort((a, b) => cmp(a.groupName, b.groupName)) };
  }

  /** Waits on the first broker group's table (by name). */
  async awaitSubscriptionGroupsChange(version: number, timeoutMs: number): Promise<SubscriptionGroupTable> {
    const names = [...(await this.#cache.groups()).keys()].sort();
    if (names[0] === undefined) throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', 'no broker group is registered with the name servers');
    return this.group(names[0]).awaitSubscriptionGroupsChange(version, timeoutMs);
  }

  /** Creates or changes the group's entry on the master of every broker group. */
  async updateSubscriptionGroup(input: SubscriptionGroupInput): Promise<SubscriptionGroupConfig> {
    const [first] = await this.#eachGroup((g) => g.updateSubscriptionGroup(input), true);
    if (first === undefined) throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', 'no broker group master took the subscription group');
    return first;
  }

  async deleteSubscriptionGroup(group: string): Promise<boolean> {
    return (await this.#eachGroup((g) => g.deleteSubscriptionGroup(group), true)).some((d) => d);
  }

  /** Ends timers and connections; requests in flight fail. */
  close(): void {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort();
    for (const t of this.#timers) clearInterval(t);
    for (const l of this.#links.values()) l.close();
    this.#links.clear();
    this.#names.close();
  }

  #link(addr: string, brokerName: string): RemoteBrokerApi {
    if (this.#closed.signal.aborted) throw new PetrelError('ERR_CLIENT_STATE', 'the cluster client is closed');
    let l = this.#links.get(addr);
    if (l === undefined) {
      l = new RemoteBrokerApi(addr, { brokerName, requestTimeoutMs: this.#timeoutMs, reconnectMaxMs: 1000 });
      this.#links.set(addr, l);
    }
    return l;
  }

  /** The one group serving the topic; requests naming no group cannot choose among several. */
  async #only(topic: string): Promise<BrokerGroupView> {
    const groups = await this.#groupsOf(topic);
    if (groups.length !== 1 || groups[0] === undefined) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `topic ${topic} is served by ${groups.length} broker groups: use group(brokerName) to address one`);
    }
    return groups[0];
  }

  async #groupsOf(topic: string): Promise<BrokerGroupView[]> {
    const route = await this.#cache.route(topic);
    if (route === undefined) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `no broker group serves topic ${topic}`);
    return route.brokers.map((b) => this.group(b.brokerName));
  }

  /**
   * Runs `op` on every known group (masters only with `mastersOnly`); groups that cannot be
   * reached are skipped. Fails only when no group answered.
   */
  async #eachGroup<T>(op: (g: BrokerGroupView) => Promise<T>, mastersOnly = false): Promise<T[]> {
    const names = [...(await this.#cache.groups()).entries()].filter(([, a]) => (mastersOnly ? a[0] !== undefined : Object.keys(a).length > 0)).map(([n]) => n).sort();
    const settled = await Promise.allSettled(names.map((n) => op(this.group(n))));
    const out: T[] = [];
    let failure: unknown;
    for (const s of settled) {
      if (s.status === 'fulfilled') out.push(s.value);
      else if (isUnreachable(s.reason)) failure ??= s.reason;
      else throw s.reason;
    }
    if (out.length === 0 && names.length > 0) throw failure instanceof Error ? failure : new PetrelError('ERR_SERVICE_NOT_AVAILABLE', 'no broker group answered');
    if (names.length === 0) throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', 'no broker group is registered with the name servers');
    return out;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
