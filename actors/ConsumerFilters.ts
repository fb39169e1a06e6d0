/**
 * The SQL92 subscriptions the dispatcher computes bloom bits for (RocketMQ's ConsumerFilterManager
 * with CommitLogDispatcherCalcBitMap, ROCKETMQ.md 8.3), and the filter a pull of such a group uses.
 *
 * At dispatch, for a record of a topic with registered groups, the record's properties are decoded
 * (only then: other topics cost one map look-up) and every registered expression of the topic is
 * evaluated; the bits of each group that wants the record go into a bitmap the ConsumeQueue stores
 * in the record's extension unit. At pull, a group whose expression is registered gets a filter
 * that skips a message whose bitmap lacks one of its bits, without reading the CommitLog.
 *
 * Never a false negative: the bits of a group are trusted only for messages stored at or after its
 * `bitsValidSince`, which is later than the store time of every record dispatched before the
 * registration took effect here (the dispatcher decides it, not the caller, whose clock reading
 * could precede records dispatched in the meantime). Every record dispatched while an entry exists
 * gets that entry's bits computed, departed groups included, until the entry is purged; a group
 * that comes back with the same expression keeps its entry and its bits, one with another
 * expression gets a new entry and a new start. Older messages, and messages without a bitmap, are
 * evaluated exactly.
 *
 * Owner: the DispatcherActor, on its thread. The table is persisted (config/consumerFilter.json)
 * before any change takes effect, so after a crash or a restart the bits written before still
 * mean what the table says; entries are purged FILTER_DATA_RETENTION_MS after their group left.
 */
import { z } from 'zod';
import { PetrelError } from '../common/errors.js';
import type { BloomFilter } from '../filter/bloom/BloomFilter.js';
import { computeFilterBitmap } from '../filter/filterBitmap.js';
import { createMessageFilter, type MessageFilter } from '../filter/MessageFilter.js';
import type { PropertySource } from '../filter/PropertySource.js';
import type { CommitLogDispatcher, DispatchRequest } from '../storage/CommitLogDispatcher.js';
import { BLANK_UNIT_SIZE, emptyCqUnit } from '../storage/ConsumeQueue.js';
import type { ConsumeQueueStore } from '../storage/ConsumeQueueStore.js';
import { SysFlag, transactionType } from '../storage/RecordLayout.js';

/** RocketMQ's filterDataCleanTimeSpan: a departed group's entry is kept (and fed) for 24 hours. */
export const FILTER_DATA_RETENTION_MS = 24 * 60 * 60 * 1000;

/** A SQL92 subscription of one group to one topic. */
export interface SqlSubscription {
  readonly topic: string;
  readonly expression: string;
}

/** Where a registered subscription's bits stand. */
export interface FilterRegistration extends SqlSubscription {
  /** Messages stored at or after this time (ms) carry the group's bits. */
  readonly bitsValidSince: number;
}

interface Entry {
  readonly group: string;
  readonly topic: string;
  readonly expression: string;
  readonly bitsValidSince: number;
  /** When the group stopped subscribing; undefined while it subscribes. */
  departedAt: number | undefined;
  /** The expression compiled with the group's bloom positions and bitsValidSince. */
  readonly filter: MessageFilter;
}

/** The table as it is persisted. */
const persistedSchema = z.object({
  bloom: z.object({ m: z.number().int(), k: z.number().int() }),
  filters: z.array(
    z.object({
      group: z.string(),
      topic: z.string(),
      expression: z.string(),
      bitsValidSince: z.number().int(),
      departedAt: z.number().int().optional(),
    }),
  ),
});
type Persisted = z.infer<typeof persistedSchema>;

export interface ConsumerFiltersOptions {
  readonly bloom: BloomFilter;
  /** The persisted table (config/consumerFilter.json). */
  readonly file: { load(): unknown; save(value: unknown): void };
  /** The properties of a dispatched record; undefined when it cannot be read. */
  readonly propertiesOf: (request: DispatchRequest) => PropertySource | undefined;
  /** The newest store time among records dispatched before this instance started. */
  readonly lastStoreTimestamp: number;
  readonly retentionMs?: number;
}

export class ConsumerFilters implements CommitLogDispatcher {
  readonly #bloom: BloomFilter;
  readonly #file: ConsumerFiltersOptions['file'];
  readonly #propertiesOf: ConsumerFiltersOptions['propertiesOf'];
  readonly #retentionMs: number;
  /** topic -> group -> entry */
  readonly #byTopic = new Map<string, Map<string, Entry>>();
  /** The filters of each topic, in the form computeFilterBitmap takes (rebuilt on change). */
  readonly #topicFilters = new Map<string, MessageFilter[]>();
  /** The newest store time of any record dispatched so far, this run or before. */
  #maxStoreTimestamp: number;
  /** Records whose bitmap was computed. */
  bitmapsComputed = 0;

  constructor(options: ConsumerFiltersOptions) {
    this.#bloom = options.bloom;
    this.#file = options.file;
    this.#propertiesOf = options.propertiesOf;
    this.#retentionMs = options.retentionMs ?? FILTER_DATA_RETENTION_MS;
    this.#maxStoreTimestamp = options.lastStoreTimestamp;
    this.#load();
  }

  /**
   * Sets the SQL92 subscriptions `group` holds now: new or changed ones get bits from now on, the
   * ones it no longer holds are marked departed. `now` is the caller's clock, a lower bound for
   * the new entries' bitsValidSince. Throws ERR_FILTER_SYNTAX / ERR_FILTER_TOO_COMPLEX for a bad
   * expression, before anything changes.
   */
  setGroup(group: string, subscriptions: readonly SqlSubscription[], now: number): FilterRegistration[] {
    const since = Math.max(now, this.#maxStoreTimestamp + 1);
    const next: Entry[] = [];
    const wanted = new Set<string>();
    for (const sub of subscriptions) {
      if (wanted.has(sub.topic)) throw new PetrelError('ERR_INVALID_ARGUMENT', `group ${group} has two SQL92 subscriptions to topic ${sub.topic}`);
      wanted.add(sub.topic);
      const old = this.#byTopic.get(sub.topic)?.get(group);
      if (old !== undefined && old.expression === sub.expression) {
        next.push(old.departedAt === undefined ? old : { ...old, departedAt: undefined });
      } else {
        next.push(this.#entry({ group, topic: sub.topic, expression: sub.expression, bitsValidSince: since }));
      }
    }
    for (const [topic, groups] of this.#byTopic) {
      const old = groups.get(group);
      if (old !== undefined && !wanted.has(topic)) next.push(old.departedAt === undefined ? { ...old, departedAt: now } : old);
    }
    this.#apply(next, []);
    return subscriptions.map((s) => {
      const e = this.#byTopic.get(s.topic)?.get(group);
      return { topic: s.topic, expression: s.expression, bitsValidSince: e?.bitsValidSince ?? since };
    });
  }

  /** Drops entries whose group left more than the retention ago; returns how many went. */
  purge(now: number): number {
    const gone: Entry[] = [];
    for (const groups of this.#byTopic.values()) {
      for (const e of groups.values()) if (e.departedAt !== undefined && now - e.departedAt > this.#retentionMs) gone.push(e);
    }
    if (gone.length > 0) this.#apply([], gone);
    return gone.length;
  }

  /** Every entry, for admin and tests. */
  registrations(): (FilterRegistration & { readonly group: string; readonly departed: boolean })[] {
    const out: (FilterRegistration & { group: string; departed: boolean })[] = [];
    for (const groups of this.#byTopic.values()) {
      for (const e of groups.values()) out.push({ group: e.group, topic: e.topic, expression: e.expression, bitsValidSince: e.bitsValidSince, departed: e.departedAt !== undefined });
    }
    return out;
  }

  /**
   * The filter of a pull: the registered one (bloom bits and all) when the group's registered
   * expression on the topic is the pull's, else undefined (the caller evaluates exactly).
   */
  registeredFilter(group: string, topic: string, expression: string): MessageFilter | undefined {
    const e = this.#byTopic.get(topic)?.get(group);
    return e !== undefined && e.expression === expression ? e.filter : undefined;
  }

  /** CalcBitMap: sets request.filterBitmap for every record (undefined when its topic has no entries). */
  dispatch(request: DispatchRequest): void {
    request.filterBitmap = undefined;
    if (request.storeTimestamp > this.#maxStoreTimestamp) this.#maxStoreTimestamp = request.storeTimestamp;
    const filters = this.#topicFilters.get(request.topic);
    if (filters === undefined) return;
    const tx = transactionType(request.sysFlag);
    if (tx === SysFlag.TRANSACTION_PREPARED_TYPE || tx === SysFlag.TRANSACTION_ROLLBACK_TYPE) return;
    const props = this.#propertiesOf(request);
    if (props === undefined) return;
    request.filterBitmap = computeFilterBitmap(this.#bloom, filters, props);
    this.bitmapsComputed++;
  }

  #entry(e: Omit<Entry, 'filter' | 'departedAt'> & { departedAt?: number | undefined }): Entry {
    const filter = createMessageFilter(
      { type: 'SQL92', expression: e.expression },
      { enablePropertyFilter: true, bloom: { filter: this.#bloom, group: e.group, topic: e.topic }, bitsValidSince: e.bitsValidSince },
    );
    return { group: e.group, topic: e.topic, expression: e.expression, bitsValidSince: e.bitsValidSince, departedAt: e.departedAt, filter };
  }

  /** Persists the table with `put` set and `remove` gone, then makes it the live one. */
  #apply(put: readonly Entry[], remove: readonly Entry[]): void {
    const table = new Map<string, Map<string, Entry>>();
    for (const [topic, groups] of this.#byTopic) table.set(topic, new Map(groups));
    for (const e of remove) table.get(e.topic)?.delete(e.group);
    for (const e of put) {
      let groups = table.get(e.topic);
      if (groups === undefined) {
        groups = new Map();
        table.set(e.topic, groups);
      }
      groups.set(e.group, e);
    }
    const persisted: Persisted = { bloom: { m: this.#bloom.m, k: this.#bloom.k }, filters: [] };
    for (const groups of table.values()) {
      for (const e of groups.values()) {
        persisted.filters.push({ group: e.group, topic: e.topic, expression: e.expression, bitsValidSince: e.bitsValidSince, ...(e.departedAt === undefined ? {} : { departedAt: e.departedAt }) });
      }
    }
    this.#file.save(persisted);
    this.#byTopic.clear();
    this.#topicFilters.clear();
    for (const [topic, groups] of table) {
      if (groups.size === 0) continue;
      this.#byTopic.set(topic, groups);
      this.#topicFilters.set(topic, [...groups.values()].map((e) => e.filter));
    }
  }

  /**
   * Loads the persisted table. One written for another bloom size is dropped (its bits cannot be
   * read with this filter); an unreadable one is refused, since guessing could lose messages.
   */
  #load(): void {
    const raw = this.#file.load();
    if (raw === undefined) return;
    const parsed = persistedSchema.safeParse(raw);
    if (!parsed.success) throw new PetrelError('ERR_STORE_CORRUPT', `consumer filter table is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    if (parsed.data.bloom.m !== this.#bloom.m || parsed.data.bloom.k !== this.#bloom.k) {
      this.#apply([], []);
      return;
    }
    this.#apply(parsed.data.filters.map((f) => this.#entry(f)), []);
  }
}

/**
 * The newest store time among the records the ConsumeQueues end with (0 when all are empty):
 * store times follow CommitLog order, so no record dispatched before was stored later.
 */
export function newestDispatchedStoreTimestamp(queues: ConsumeQueueStore, storeTimeAt: (offset: number, size: number) => number | undefined): number {
  const unit = emptyCqUnit();
  let newest = 0;
  for (const cq of queues.queues()) {
    const last = cq.maxOffsetInQueue - 1;
    if (last < cq.minOffsetInQueue || !cq.getUnit(last, unit) || unit.size === BLANK_UNIT_SIZE) continue;
    newest = Math.max(newest, storeTimeAt(unit.physicalOffset, unit.size) ?? 0);
  }
  return newest;
}
