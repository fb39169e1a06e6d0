/**
 * The broker: wires WriterActor, FlushActor and DispatcherActor (each on its own worker thread)
 * and serves the BrokerApi on the thread that started it. The main thread keeps what is small and
 * shared: topics, consumer offsets, group membership, delayed delivery, and the send path that
 * batches producers' records to the writer.
 *
 * Replication (ReplicationActor, a fourth worker thread): a SYNC_MASTER, or a master given an
 * explicit haListenPort, listens for slaves (an embedded ASYNC_MASTER on defaults opens no
 * socket); a SYNC_MASTER's sends also wait for a slave's ack. A SLAVE takes no sends and runs no
 * delayed delivery: its CommitLog is its master's, byte for byte, and its dispatcher serves reads.
 *
 * Start runs storage recovery first (clean or after a crash), so the actors open files that agree
 * with each other. Shutdown stops the writer after the sends it accepted, flushes, lets the
 * dispatcher catch up, persists offsets and removes the abort file; a kill -9 leaves the abort file
 * and the next start runs abnormal recovery.
 */
import { parseDelayLevels } from '../storage/DelayLevels.js';
import { readBrokerConf, parseBrokerConfig, storeConfigOf, type BrokerConfig, type BrokerConfigInput } from './BrokerConfig.js';
import { systemClock, type Clock } from '../common/clock.js';
import { PetrelError } from '../common/errors.js';
import { DiskSpaceGuard, type DiskSpaceState } from '../storage/DiskSpaceGuard.js';
import { ActorSystem } from '../runtime/ActorSystem.js';
import type { ActorRef } from '../runtime/ActorRef.js';
import { ConfigFile } from '../storage/ConfigFile.js';
import { parseSocketAddress } from '../storage/MessageId.js';
import { MessageStore } from '../storage/MessageStore.js';
import type { StoreDamage } from '../storage/DamageTally.js';
import type { RecoveryResult } from '../storage/StoreRecovery.js';
import { damagedBytes } from '../storage/RecordScan.js';
import { StoreCheckpoint } from '../storage/StoreCheckpoint.js';
import { checkpointPath, consumeQueueRootDir, indexDir } from '../storage/StorePaths.js';
import { log } from '../common/diagnostics.js';
import { commitLogPath, type MessageStoreConfig } from '../storage/StoreConfig.js';
import { AbortFile, StoreLock } from '../storage/StoreLock.js';
import { validateTopic } from '../storage/MessageValidator.js';
import path from 'node:path';
import type {
  BrokerApi, CommittedOffset, ConsumerProgress, ConsumerRegistration, DelayOffset, Message, MessageExt, OffsetResetNotice, OffsetResetRequest,
  OffsetResetResult, OffsetResetState, PullRequest, PullResult, SendResult, SubscriptionGroupConfig, SubscriptionGroupInput, SubscriptionGroupTable, TopicConfig, TopicRoute,
} from '../api/BrokerApi.js';
import { isWriteable } from '../api/BrokerApi.js';
import { BrokerPositions, Position, dispatchHeldBy } from './BrokerPositions.js';
import { BrokerQueries } from './BrokerQueries.js';
import { ConsumerGroups } from './ConsumerGroups.js';
import { ConsumerOffsets } from './ConsumerOffsets.js';
import { OffsetResets } from './OffsetResets.js';
import type { DispatcherFilterStats, DispatcherMsg, DispatcherReplies } from './DispatcherActor.js';
import { FilterRegistrar } from './FilterRegistrar.js';
import { compileSqlFilter } from '../filter/sql/SqlFilter.js';
import type { FlushMsg, FlushReplies } from './FlushActor.js';
import { decodeRecords, reput } from './messageConvert.js';
import { SCHEDULE_TOPIC, isGroupTopic } from '../api/topics.js';
import { ScheduleService } from './ScheduleService.js';
import { MessageIntake } from './MessageIntake.js';
import { TopicConfigs } from './TopicConfigs.js';
import type { WriterMsg, WriterReplies } from './WriterActor.js';
import { spawnBrokerActors } from './brokerActors.js';
import type { HaFault, ReplicationStats } from './ReplicationActor.js';
import { startReplication, type Replication } from './BrokerReplication.js';
import { checkCommitOffset } from './IntakeChecks.js';
import { BrokerRegistration } from './BrokerRegistration.js';
import { SubscriptionGroups } from './SubscriptionGroups.js';
import { SlaveSync, readDelayOffsets } from './SlaveSync.js';
import type { JsonState } from './JsonState.js';
import type { BrokerNetwork } from '../api/network.js';

export interface BrokerStartOptions {
  /** Fault injection for tests: FlushActor sleeps this long before each flush. */
  readonly flushDelayMs?: number;
  /**
   * The main thread's clock: the disk-full check's period (cleanResourceInterval), consumer expiry,
   * reset epochs, born times of re-put messages, slave sync; tests pass a ManualClock. The actors on
   * worker threads (writer, flush, dispatcher, replication) keep the system clock.
   */
  readonly clock?: Clock;
  /**
   * The transport to name servers and to a slave's master (protocol/remoting/brokerNetwork.ts;
   * startBroker() passes it). Without one the broker runs alone: advertise() is refused and a
   * slave does not copy its master's tables.
   */
  readonly network?: BrokerNetwork;
}

type Dispatcher = ActorRef<DispatcherMsg, DispatcherReplies>;

/** How long an ask of a broker actor may take. */
const ASK_TIMEOUT_MS = 30_000;
/** The longest a pull is held for long polling (RocketMQ's clients ask for 15-20 s). */
const MAX_LONG_POLL_MS = 60_000;

export class Broker implements BrokerApi {
  readonly config: BrokerConfig;
  readonly brokerName: string;
  readonly positions: BrokerPositions;
  readonly #store: MessageStoreConfig;
  readonly #system: ActorSystem;
  readonly #lock: StoreLock;
  readonly #writer: ActorRef<WriterMsg, WriterReplies>;
  readonly #flush: ActorRef<FlushMsg, FlushReplies>;
  readonly #dispatcher: Dispatcher;
  readonly #replication: Replication | undefined;
  readonly #haAddress: string | undefined;
  readonly #intake: MessageIntake;
  readonly #topics: TopicConfigs;
  readonly #offsets: ConsumerOffsets;
  readonly #resets: OffsetResets;
  readonly #groups = new ConsumerGroups();
  readonly #queries: BrokerQueries;
  /** Tells the dispatcher about SQL92 groups when the bloom path is on. */
  readonly #filters: FilterRegistrar | undefined;
  readonly #schedule: ScheduleService | undefined;
  readonly #levels: number[];
  readonly #timer: NodeJS.Timeout;
  /** Why the last periodic persistence of the consumer offsets failed; undefined while it works. */
  #offsetsUnsaved: string | undefined;
  readonly #registration: BrokerRegistration;
  readonly #disk: DiskSpaceGuard;
  readonly #subscriptionGroups: SubscriptionGroups;
  readonly #delayState: JsonState;
  /** A slave's copy of its master's tables. */
  readonly #slaveSync: SlaveSync | undefined;
  /** The broker's clock: member expiry, reset epochs, the disk check's period, slave sync (tests pass a ManualClock). */
  readonly #clock: Clock;
  /** What recovery found at this start. */
  readonly #recovery: RecoveryResult;
  #state: 'running' | 'stopping' | 'stopped' = 'running';

  private constructor(parts: {
    config: BrokerConfig; store: MessageStoreConfig; system: ActorSystem; lock: StoreLock; positions: BrokerPositions;
    writer: ActorRef<WriterMsg, WriterReplies>; flush: ActorRef<FlushMsg, FlushReplies>; dispatcher: Dispatcher;
    replication: Replication | undefined; haAddress: string | undefined; clock: Clock; recovery: RecoveryResult; network: BrokerNetwork | undefined;
  }) {
    this.#recovery = parts.recovery;
    this.#clock = parts.clock;
    this.config = parts.config;
    this.brokerName = parts.config.brokerName;
    this.#store = parts.store;
    this.#system = parts.system;
    this.#lock = parts.lock;
    this.positions = parts.positions;
    this.#writer = parts.writer;
    this.#flush = parts.flush;
    this.#dispatcher = parts.dispatcher;
    this.#replication = parts.replication;
    this.#haAddress = parts.haAddress;
    this.#levels = parseDelayLevels(parts.config.messageDelayLevel);
    const configDir = path.join(parts.config.storePathRootDir, 'config');
    const json = (name: string): { load(): unknown; save(v: unknown): void } => {
      const f = new ConfigFile(path.join(configDir, name));
      return { load: () => f.load(), save: (v) => f.persist(v) };
    };
    this.#topics = new TopicConfigs(json('topics.json'));
    this.#offsets = new ConsumerOffsets(json('consumerOffset.json'));
    this.#subscriptionGroups = new SubscriptionGroups(json('subscriptionGroup.json'));
    this.#delayState = json('delayOffset.json');
    this.#resets = new OffsetResets(this.#offsets);
    this.#queries = new BrokerQueries({
      clock: parts.clock,
      brokerName: this.brokerName,
      dispatcher: parts.dispatcher,
      offsets: this.#offsets,
      topics: this.#topics,
      registrationsOf: (group) => this.#groups.registrationsOf(group),
      resets: this.#resets,
      groupKnown: (group) => this.#groupKnown(group),
      createGroup: (group) => {
        this.#subscriptionGroups.update({ groupName: group });
      },
    });
    const c = parts.config;
    this.#filters = c.enablePropertyFilter && c.enableCalcFilterBitMap && c.enableConsumeQueueExt
      ? new FilterRegistrar(this.#groups, parts.clock, (group, subscriptions, now) => this.#dispatcher.ask({ type: 'filters', group, subscriptions, now }))
      : undefined;
    const root = parts.store.storePathRootDir;
    this.#disk = new DiskSpaceGuard({
      folders: [
        { folder: 'root', path: root },
        { folder: 'commitlog', path: commitLogPath(parts.store) },
        { folder: 'consumequeue', path: consumeQueueRootDir(root) },
        { folder: 'index', path: indexDir(root) },
      ],
      dispatchHeld: () => dispatchHeldBy(parts.positions),
      warningLevelRatio: parts.store.diskSpaceWarningLevelRatio,
      intervalMs: parts.store.cleanResourceInterval,
      clock: parts.clock,
    });
    this.#intake = new MessageIntake({
      clock: parts.clock,
      disk: this.#disk,
      config: parts.config,
      storeHost: parseSocketAddress(parts.store.storeHost),
      writer: parts.writer,
      positions: parts.positions,
      levels: this.#levels,
      topicFor: (topic, forWrite) => this.#topicFor(topic, forWrite),
    });
    const network = parts.network;
    this.#registration = new BrokerRegistration({
      config: parts.config,
      network,
      topics: () => this.#topics.list().map((t) => ({ topic: t.topic, readQueueNums: t.readQueueNums, writeQueueNums: t.writeQueueNums, perm: t.perm })),
      followMaster: (address) => this.setHaMasterAddress(address),
      masterBroker: (address) => this.#slaveSync?.setMasterAddress(address),
    });
    this.#slaveSync = parts.config.brokerRole !== 'SLAVE' || network === undefined ? undefined : new SlaveSync({
      brokerName: this.brokerName,
      periodMs: parts.config.slaveSynchronizeInterval,
      clock: parts.clock,
      connect: (address) => network.broker(address, this.brokerName),
      topics: this.#topics,
      offsets: this.#offsets,
      groups: this.#subscriptionGroups,
      delay: this.#delayState,
    });
    // A slave's CommitLog is its master's: delayed messages are re-put by the master alone.
    this.#schedule = parts.config.brokerRole === 'SLAVE' ? undefined : new ScheduleService({
      levels: this.#levels,
      state: this.#delayState,
      pull: (queueId, offset) => this.#pullFromDispatcher({ group: 'SCHEDULE', topic: SCHEDULE_TOPIC, queueId, offset, maxMsgNums: 32 }),
      put: async (m) => {
        const { msg, uniqKey } = reput(m, m.properties['REAL_TOPIC'] ?? m.topic, Number(m.properties['REAL_QID'] ?? 0), m.reconsumeTimes, {});
        await this.#intake.put(msg, uniqKey, msg.topic, msg.queueId, false);
      },
    });
    this.#timer = setInterval(() => {
      // the disk-full flag clears by itself when space is freed, sends or not
      this.#disk.poll();
      this.#persistOffsets(false);
      // a failed sync (the dispatcher restarting) is repeated by the next membership change
      if (this.#groups.expire(this.#clock.now()) > 0) this.#filters?.syncAll().catch(() => undefined);
    }, parts.config.flushConsumerOffsetInterval);
    this.#timer.unref();
  }

  /** Starts a broker from a config object or a broker.conf path. */
  static async start(config?: BrokerConfigInput | string, options: BrokerStartOptions = {}): Promise<Broker> {
    const cfg = typeof config === 'string' ? readBrokerConf(config) : parseBrokerConfig(config ?? {});
    const store = storeConfigOf(cfg);
    // Recovery on this thread, before any actor opens a file: afterwards the CommitLog end, the
    // ConsumeQueues and the index agree, and the actors can open them as they are.
    const recovered = MessageStore.open({ config: store });
    const maxPhy = recovered.getMaxPhyOffset();
    const queueOffsets = recovered.queueOffsets();
    const recovery = recovered.recovery;
    recovered.shutdown();
    const lock = StoreLock.acquire(store.storePathRootDir);
    AbortFile.create(store.storePathRootDir);
    const positions = new BrokerPositions();
    for (const slot of [Position.WROTE, Position.FLUSHED, Position.DISPATCHED]) positions.reset(slot, maxPhy);
    const system = new ActorSystem({ askTimeoutMs: ASK_TIMEOUT_MS });
    try {
      const { dispatcher, flush, writer } = await spawnBrokerActors(system, cfg, store, positions, maxPhy, queueOffsets, options, recovery.damaged);
      const { replication, haAddress } = await startReplication(system, cfg, config, store, positions, { writer, flush, dispatcher });
      return new Broker({ config: cfg, store, system, lock, positions, writer, flush, dispatcher, replication, haAddress, clock: options.clock ?? systemClock, recovery, network: options.network });
    } catch (err) {
      await system.shutdown();
      lock.release();
      throw err;
    }
  }

  get storeConfig(): MessageStoreConfig {
    return this.#store;
  }

  /**
   * The store's disk-full flags and the used shares behind them, measured again when
   * cleanResourceInterval has passed (or now, with `now`); a dispatch held by a ConsumeQueue or
   * IndexFile write failure is read as it is now. While `full`, sends get ERR_DISK_FULL.
   */
  diskSpace(now = false): DiskSpaceState {
    return now ? this.#disk.check() : this.#disk.poll();
  }

  /** Stops cleanly: accepted sends finish, everything is flushed and dispatched, offsets saved. */
  async shutdown(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    await this.#registration.stop();
    await this.#slaveSync?.stop();
    this.#subscriptionGroups.close();
    clearInterval(this.#timer);
    await this.#schedule?.stop();
    this.#intake.close();
    this.#groups.close();
    this.#resets.close();
    await this.#system.shutdown();
    this.#persistOffsets(true);
    this.#recordCleanEnd();
    AbortFile.remove(this.#store.storePathRootDir);
    this.#lock.release();
    this.#state = 'stopped';
  }

  /**
   * Writes config/consumerOffset.json. A failure (a full disk) never escapes: from the timer it
   * would end the process. The table stays dirty, so the next period tries again; the change to
   * failing and back is logged once each. At shutdown the last persisted offsets stay on disk and
   * the groups re-consume from there (at least once).
   */
  #persistOffsets(final: boolean): void {
    try {
      this.#offsets.persist(final);
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      if (final) log('error', 'consumer offsets not persisted at shutdown: the next start resumes from the last persisted ones', { error });
      else if (this.#offsetsUnsaved === undefined) log('warn', 'consumer offsets not persisted; retrying every flushConsumerOffsetInterval', { error, retryMs: this.config.flushConsumerOffsetInterval });
      this.#offsetsUnsaved = error;
      return;
    }
    if (this.#offsetsUnsaved !== undefined) log('info', 'consumer offsets persisted again', {});
    this.#offsetsUnsaved = undefined;
  }

  /**
   * A clean stop writes the CommitLog's end into the checkpoint (confirmPhyOffset), so the next
   * start's recovery stops there instead of searching the rest of the last file for records past
   * damage (a 1 GiB file's sparse tail). Best effort: without it the next start searches.
   */
  #recordCleanEnd(): void {
    try {
      const checkpoint = new StoreCheckpoint(checkpointPath(this.#store.storePathRootDir));
      try {
        checkpoint.confirmPhyOffset = this.positions.get(Position.WROTE);
        checkpoint.flush();
      } finally {
        checkpoint.close();
      }
    } catch (err) {
      log('warn', 'the clean end of the CommitLog could not be written into the checkpoint; the next start searches for it', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  #checkRunning(): void {
    if (this.#state !== 'running') throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `broker ${this.brokerName} is ${this.#state}`);
  }

  #topicFor(topic: string, forWrite: boolean): TopicConfig {
    let cfg = this.#topics.get(topic);
    if (cfg === undefined) {
      validateTopic(topic);
      const system = isGroupTopic(topic);
      if (!this.config.autoCreateTopicEnable && !system) throw new PetrelError('ERR_TOPIC_NOT_EXIST', `topic ${topic} does not exist and autoCreateTopicEnable is off`);
      cfg = this.#topics.upsert({ topic, ...(system ? { readQueueNums: 1, writeQueueNums: 1 } : {}) }, this.config.defaultTopicQueueNums);
      this.#registration.registerNow();
    }
    if (forWrite && !isWriteable(cfg.perm)) throw new PetrelError('ERR_NO_PERMISSION', `topic ${topic} is not writable (perm ${cfg.perm})`);
    return cfg;
  }

  async send(messages: readonly Message[], queueId?: number): Promise<SendResult[]> {
    this.#checkRunning();
    return this.#intake.send(messages, queueId);
  }

  sendOneway(message: Message, queueId?: number): void {
    this.send([message], queueId).catch(() => undefined);
  }

  async pull(request: PullRequest): Promise<PullResult> {
    this.#checkRunning();
    if (this.#subscriptionGroups.get(request.group)?.consumeEnable === false) {
      throw new PetrelError('ERR_NO_PERMISSION', `subscription group ${request.group} has consumeEnable=false on broker ${this.brokerName}`);
    }
    const { group, topic, queueId, resetEpoch } = request;
    const stale = this.#resets.noticeFor(group, topic, queueId, resetEpoch);
    if (stale !== undefined) return this.#resetReply(request, stale);
    const holds = resetEpoch !== undefined && (request.longPollMs ?? 0) > 0;
    if (!holds) return this.#afterPull(request, await this.#pullFromDispatcher(request));
    // A held pull is answered as soon as a reset moves its queue; the dispatcher's later answer is dropped.
    let off: () => void = () => undefined;
    const reset = new Promise<undefined>((resolve) => {
      off = this.#resets.onReset(group, topic, (queues) => {
        if (queues.has(queueId)) resolve(undefined);
      });
    });
    const held = this.#pullFromDispatcher(request);
    try {
      const first = await Promise.race([held, reset]);
      if (first !== undefined) return this.#afterPull(request, first);
    } finally {
      off();
    }
    held.catch(() => undefined);
    return this.#afterPull(request, undefined);
  }

  /** A pull's answer, unless a reset moved its queue meanwhile: then the reset's notice. */
  async #afterPull(request: PullRequest, result: PullResult | undefined): Promise<PullResult> {
    const notice = this.#resets.noticeFor(request.group, request.topic, request.queueId, request.resetEpoch);
    if (notice !== undefined) return this.#resetReply(request, notice);
    if (result === undefined) throw new PetrelError('ERR_UNEXPECTED', `pull of ${request.topic} queue ${request.queueId} ended without an answer`);
    return result;
  }

  /** The answer to a pull from before a reset: no messages, the notice, the consumer's offset unmoved. */
  async #resetReply(request: PullRequest, notice: OffsetResetNotice): Promise<PullResult> {
    const { min, max } = await this.#dispatcher.ask({ type: 'offsets', topic: request.topic, queueId: request.queueId });
    return { status: 'OFFSET_OVERFLOW_ONE', messages: [], nextBeginOffset: request.offset, minOffset: min, maxOffset: max, offsetReset: notice };
  }

  async #pullFromDispatcher(request: PullRequest): Promise<PullResult> {
    // A pull that finds nothing is held by the dispatcher, which answers it as soon as it
    // dispatches more for its queue (or when holdMs is up).
    const holdMs = Math.min(Math.max(0, request.longPollMs ?? 0), MAX_LONG_POLL_MS);
    const { longPollMs: _, resetEpoch: _epoch, ...query } = request;
    const r = await this.#dispatcher.ask({ type: 'pull', ...query, holdMs }, holdMs > 0 ? { timeoutMs: holdMs + ASK_TIMEOUT_MS } : {});
    return {
      status: r.status,
      messages: decodeRecords(r.buffer, r.sizes, this.brokerName),
      nextBeginOffset: r.nextBeginOffset,
      minOffset: r.minOffset,
      maxOffset: r.maxOffset,
      ...(r.suggestPullingFromSlave ? { suggestPullingFromSlave: true } : {}),
    };
  }

  async createTopic(config: { topic: string; readQueueNums?: number; writeQueueNums?: number; perm?: number; order?: boolean }): Promise<TopicConfig> {
    this.#checkRunning();
    validateTopic(config.topic);
    const created = this.#topics.upsert(config, this.config.defaultTopicQueueNums);
    this.#registration.registerNow();
    return created;
  }

  /**
   * Registers this broker with every name server of config.namesrvAddr (BrokerRegistration),
   * advertising `brokerAddr`, the host:port its remoting server (serveBrokerApi) listens on, and
   * `haAddr` for a master's slaves. Shutdown unregisters.
   */
  async advertise(brokerAddr: string, haAddr?: string): Promise<void> {
    this.#checkRunning();
    await this.#registration.advertise(brokerAddr, haAddr);
  }

  async getTopic(topic: string): Promise<TopicConfig | undefined> {
    return this.#topics.get(topic);
  }

  async listTopics(): Promise<TopicConfig[]> {
    return this.#topics.list();
  }

  async queryRoute(topic: string): Promise<TopicRoute> {
    this.#checkRunning();
    const cfg = this.#topicFor(topic, false);
    const addr = `${this.config.brokerIP1}:${this.config.listenPort}`;
    return {
      topic,
      brokers: [{ brokerName: this.brokerName, addrs: { [this.config.brokerId]: addr }, readQueueNums: cfg.readQueueNums, writeQueueNums: cfg.writeQueueNums, perm: cfg.perm }],
    };
  }

  async registerProducer(group: string, instanceName: string, clientId: string): Promise<void> {
    this.#checkRunning();
    this.#groups.registerProducer(group, instanceName, clientId);
  }

  async unregisterProducer(group: string, instanceName: string, clientId: string): Promise<void> {
    this.#groups.unregisterProducer(group, instanceName, clientId);
  }

  async registerConsumer(registration: ConsumerRegistration): Promise<string[]> {
    this.#checkRunning();
    for (const s of registration.subscriptions) {
      if (s.filter.type === 'SQL92' && !this.config.enablePropertyFilter) {
        throw new PetrelError('ERR_FILTER_NOT_SUPPORTED', `broker ${this.brokerName} does not support SQL92 filtering: set enablePropertyFilter=true`);
      }
      // a bad expression is refused here (ERR_FILTER_SYNTAX), not at every pull
      if (s.filter.type === 'SQL92') compileSqlFilter(s.filter.expression);
    }
    const ids = this.#groups.register(registration, this.#clock.now());
    await this.#filters?.sync(registration.group, registration);
    return ids;
  }

  async unregisterConsumer(group: string, clientId: string): Promise<void> {
    this.#groups.unregister(group, clientId);
    if (this.#state === 'running') await this.#filters?.sync(group);
  }

  async consumerIds(group: string): Promise<string[]> {
    return this.#groups.ids(group);
  }

  awaitConsumerIdsChange(group: string, known: readonly string[], timeoutMs: number): Promise<string[]> {
    return this.#groups.awaitChange(group, known, timeoutMs);
  }

  async commitOffset(group: string, topic: string, queueId: number, offset: number, resetEpoch?: number): Promise<void> {
    await checkCommitOffset(this.#topics.get(topic), topic, queueId, offset, (t, q) => this.#queries.maxOffset(t, q));
    // Checked after the awaits above, right where the offset is written: a reset cannot slip in between.
    this.#resets.checkCommit(group, topic, queueId, resetEpoch);
    this.#offsets.commit(group, topic, queueId, offset);
    this.#slaveSync?.noteLocalCommit(group, topic, queueId, offset);
  }

  async queryOffset(group: string, topic: string, queueId: number): Promise<number> {
    return this.#offsets.query(group, topic, queueId);
  }

  minOffset(topic: string, queueId: number): Promise<number> {
    return this.#queries.minOffset(topic, queueId);
  }

  maxOffset(topic: string, queueId: number): Promise<number> {
    return this.#queries.maxOffset(topic, queueId);
  }

  searchOffsetByTime(topic: string, queueId: number, timestampMs: number): Promise<number> {
    return this.#queries.searchOffsetByTime(topic, queueId, timestampMs);
  }

  async sendBack(group: string, message: MessageExt, delayLevel: number, maxReconsumeTimes: number): Promise<void> {
    this.#checkRunning();
    const max = maxReconsumeTimes >= 0 ? maxReconsumeTimes : (this.#subscriptionGroups.get(group)?.retryMaxTimes ?? 16);
    await this.#intake.sendBack(group, message, delayLevel, max);
  }

  consumerProgress(group: string): Promise<ConsumerProgress> {
    return this.#queries.consumerProgress(group);
  }

  async resetOffset(request: OffsetResetRequest): Promise<OffsetResetResult> {
    this.#checkWritableTables();
    return this.#queries.resetOffset(request);
  }

  async resetOffsetToLatest(group: string, topic: string): Promise<void> {
    this.#checkWritableTables();
    return this.#queries.resetOffsetToLatest(group, topic);
  }

  async resetOffsetByTime(group: string, topic: string, timestampMs: number): Promise<void> {
    this.#checkWritableTables();
    return this.#queries.resetOffsetByTime(group, topic, timestampMs);
  }

  awaitOffsetReset(group: string, topic: string, knownEpoch: number, timeoutMs: number): Promise<OffsetResetState> {
    return this.#resets.awaitReset(group, topic, knownEpoch, Math.min(Math.max(0, timeoutMs), MAX_LONG_POLL_MS));
  }

  /** A group exists for the broker when it has a subscription group entry, a committed offset or a live consumer. */
  #groupKnown(group: string): boolean {
    return this.#subscriptionGroups.get(group) !== undefined || this.#offsets.groups().includes(group) || this.#groups.ids(group).length > 0;
  }

  queryMessageByKey(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): Promise<MessageExt[]> {
    return this.#queries.queryMessageByKey(topic, key, maxNum, beginMs, endMs);
  }

  queryMessageById(msgId: string): Promise<MessageExt | undefined> {
    return this.#queries.queryMessageById(msgId);
  }

  viewMessageByOffset(commitLogOffset: number): Promise<MessageExt | undefined> {
    return this.#queries.viewMessageByOffset(commitLogOffset);
  }

  async allConsumerOffsets(): Promise<CommittedOffset[]> {
    return this.#offsets.groups().flatMap((group) => this.#offsets.ofGroup(group).map((o) => ({ group, ...o })));
  }

  async delayOffsets(): Promise<DelayOffset[]> {
    return this.#schedule?.offsets() ?? readDelayOffsets(this.#delayState);
  }

  async getSubscriptionGroup(group: string): Promise<SubscriptionGroupConfig | undefined> {
    return this.#subscriptionGroups.get(group);
  }

  async listSubscriptionGroups(): Promise<SubscriptionGroupTable> {
    return this.#subscriptionGroups.snapshot();
  }

  awaitSubscriptionGroupsChange(version: number, timeoutMs: number): Promise<SubscriptionGroupTable> {
    return this.#subscriptionGroups.awaitChange(version, Math.min(Math.max(0, timeoutMs), MAX_LONG_POLL_MS));
  }

  async updateSubscriptionGroup(input: SubscriptionGroupInput): Promise<SubscriptionGroupConfig> {
    this.#checkWritableTables();
    return this.#subscriptionGroups.update(input);
  }

  async deleteSubscriptionGroup(group: string): Promise<boolean> {
    this.#checkWritableTables();
    return this.#subscriptionGroups.delete(group);
  }

  /** A slave's subscription groups and offsets are its master's copy: change them on the master. */
  #checkWritableTables(): void {
    this.#checkRunning();
    if (this.config.brokerRole === 'SLAVE') throw new PetrelError('ERR_SERVICE_NOT_AVAILABLE', `broker ${this.brokerName} is a slave: its subscription groups and offsets are copied from its master; change them there`);
  }

  /**
   * Slave: copy the master's tables from the broker API at this remoting address (now and every
   * slaveSynchronizeInterval); resolves with what the first sync copied. The name servers' answer
   * sets it too.
   */
  syncFromMaster(address: string): Promise<unknown> {
    if (this.config.brokerRole !== 'SLAVE') throw new PetrelError('ERR_INVALID_ARGUMENT', `broker ${this.brokerName} is a master and has no master to copy`);
    if (this.#slaveSync === undefined) throw new PetrelError('ERR_CONFIG_INVALID', `slave ${this.brokerName} was started without a network (BrokerStartOptions.network) to reach its master`);
    this.#slaveSync.setMasterAddress(address);
    return this.#slaveSync.syncNow();
  }

  /** Flushes now and resolves with the flushed position (admin, tests). */
  flushNow(): Promise<number> {
    return this.#flush.ask({ type: 'flushNow' });
  }

  /** How many flushes the FlushActor made (group-commit evidence). */
  async flushStats(): Promise<{ flushes: number; flushed: number }> {
    return this.#flush.ask({ type: 'stats' });
  }

  /** Pull counters since the dispatcher started: units scanned, CommitLog reads, reads the bloom bits avoided, messages delivered. */
  filterStats(): Promise<DispatcherFilterStats> {
    return this.#dispatcher.ask({ type: 'filterStats' });
  }

  /**
   * Store damage found so far: by recovery at this start (damaged CommitLog stretches, ConsumeQueue
   * ranges and IndexFiles rebuilt) and by reads since (damaged records pulls and look-ups met,
   * each counted once). For metrics and admin.
   */
  async storeDamage(): Promise<StoreDamage> {
    const r = this.#recovery;
    const ranges = r.lostTail === undefined ? r.damaged : [...r.damaged, r.lostTail];
    const reads = await this.#dispatcher.ask({ type: 'readDamage' });
    return {
      recoveryRanges: ranges.length,
      recoveryBytes: damagedBytes(ranges),
      readRecords: reads.records,
      readBytes: reads.bytes,
      rebuiltQueues: r.repairedQueues.length,
      rebuiltIndexFiles: r.repairedIndexFiles.reduce((n, g) => n + g.files, 0),
    };
  }

  /** What recovery found at this start (damage skipped, a cut tail, files rebuilt). */
  get recovery(): RecoveryResult {
    return this.#recovery;
  }

  /** Durations of the flushes since the last call, for metrics (one reader: each call takes them). */
  takeFlushTimes(): Promise<{ latenciesUs: number[]; dropped: number }> {
    return this.#flush.ask({ type: 'takeFlushTimes' });
  }

  /** Groups that have committed offsets or have members now, sorted (metrics, admin). */
  async consumerGroups(): Promise<string[]> {
    return [...new Set([...this.#offsets.groups(), ...this.#groups.groups()])].sort();
  }

  /** Master: host:port its slaves connect to (the bound port when haListenPort was 0); undefined when it does not listen. */
  get haAddress(): string | undefined {
    return this.#haAddress;
  }

  /** Replication figures: a master's slave links, acks and lag; a slave's link and offsets. Undefined without replication. */
  async replicationStats(): Promise<ReplicationStats | undefined> {
    return this.#replication?.ask({ type: 'stats' });
  }

  /** Master: restarts the lag-in-ms figures of replicationStats (benchmarks). */
  async resetReplicationLag(): Promise<void> {
    await this.#replication?.ask({ type: 'resetLag' });
  }

  /** Slave: replicate from this master HA address from now on (one learned from the name server). */
  async setHaMasterAddress(address: string): Promise<void> {
    if (this.config.brokerRole !== 'SLAVE') throw new PetrelError('ERR_INVALID_ARGUMENT', `broker ${this.brokerName} is a master and has no master to follow`);
    await this.#replication?.ask({ type: 'setMasterAddress', address });
  }

  /**
   * Tests only: a slave stops or resumes sending acks ('suspendAcks', 'resumeAcks'), or cuts its
   * link to the master; a master cuts every slave link ('cutLinks'). Links come back by themselves.
   */
  async injectHaFault(fault: HaFault): Promise<void> {
    await this.#replication?.ask({ type: 'fault', fault });
  }

  /** Worker thread ids of the broker's actors. */
  get actorThreads(): number[] {
    return this.#system.workerThreadIds;
  }

  get writerRef(): ActorRef<WriterMsg, WriterReplies> {
    return this.#writer;
  }
}
