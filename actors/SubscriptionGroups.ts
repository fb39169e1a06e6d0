/**
 * Subscription group settings (RocketMQ's SubscriptionGroupManager) on the broker's main thread:
 * group name -> SubscriptionGroupConfig, persisted to config/subscriptionGroup.json in RocketMQ's
 * shape ({subscriptionGroupTable, dataVersion}, written via temp file + rename with a .bak copy)
 * before a change is answered, so an acknowledged change survives a crash. Every change bumps the
 * table's version and wakes the waiters of awaitChange (the gRPC endpoint's cache listens so).
 *
 * Input from users is parsed strictly: an unknown key or a value out of range is ERR_CONFIG_INVALID,
 * a malformed group name ERR_GROUP_INVALID. The file is read leniently (RocketMQ writes more keys
 * than petrelmq uses, and those are dropped); a value of the wrong type in it is ERR_STORE_CORRUPT.
 */
import { z } from 'zod';
import { PetrelError } from '../common/errors.js';
import type { SubscriptionGroupConfig, SubscriptionGroupInput, SubscriptionGroupTable } from '../api/BrokerApi.js';
import type { JsonState } from './JsonState.js';

/** RocketMQ's group name rule (Validators.checkGroup): 1-255 of letters, digits, %, |, _ and -. */
const GROUP_NAME = /^[%|a-zA-Z0-9_-]{1,255}$/;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** The settings and RocketMQ's defaults (SubscriptionGroupConfig.java). */
const settings = {
  consumeEnable: z.boolean().default(true),
  consumeFromMinEnable: z.boolean().default(true),
  consumeBroadcastEnable: z.boolean().default(true),
  consumeMessageOrderly: z.boolean().default(false),
  retryQueueNums: int(1, 1024).default(1),
  /** 16 retries over delay levels 3..18; more retries stay at the longest level. */
  retryMaxTimes: int(0, 1000).default(16),
  brokerId: int(0, 1024).default(0),
  whichBrokerWhenConsumeSlowly: int(0, 1024).default(1),
  notifyConsumerIdsChangedEnable: z.boolean().default(true),
  consumeTimeoutMinute: int(1, 24 * 60).default(15),
};

const fileSchema = z.object({ groupName: z.string(), ...settings });

type Settings = Omit<SubscriptionGroupConfig, 'groupName'>;
const SETTING_KEYS = Object.keys(settings) as (keyof Settings)[];

/** The defaults of a group that has no entry. */
export function defaultSubscriptionGroup(groupName: string): SubscriptionGroupConfig {
  return { groupName, ...(z.object(settings).parse({}) as Settings) };
}

export function validateSubscriptionGroupName(group: unknown): string {
  if (typeof group !== 'string' || !GROUP_NAME.test(group)) {
    throw new PetrelError('ERR_GROUP_INVALID', `subscription group name ${JSON.stringify(group)} must be 1-255 characters of letters, digits, %, |, _ or -`);
  }
  return group;
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.map(String).join('.') || '?'}: ${issue?.message ?? 'invalid value'}`;
}

/** Parses a create/update request against the group's current config (or the defaults). */
export function mergeSubscriptionGroup(input: unknown, current: SubscriptionGroupConfig | undefined): SubscriptionGroupConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new PetrelError('ERR_CONFIG_INVALID', 'a subscription group config must be an object');
  const name = validateSubscriptionGroupName((input as Record<string, unknown>)['groupName']);
  // Absent keys keep the current values: parse only what was given, without defaults.
  const given = z.object({ groupName: z.string(), ...Object.fromEntries(SETTING_KEYS.map((k) => [k, settings[k].unwrap().optional()])) }).strict().safeParse(input);
  if (!given.success) {
    const unknownKey = given.error.issues.find((i) => i.code === 'unrecognized_keys');
    throw new PetrelError('ERR_CONFIG_INVALID', `subscription group ${name}: ${unknownKey === undefined ? issueText(given.error) : `unknown key ${unknownKey.keys.join(', ')}`}`);
  }
  const base = current ?? defaultSubscriptionGroup(name);
  const out: Record<string, unknown> = { ...base };
  for (const k of SETTING_KEYS) {
    const v = (given.data as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as SubscriptionGroupConfig;
}

interface Waiter {
  readonly version: number;
  readonly resolve: (table: SubscriptionGroupTable) => void;
  readonly timer: NodeJS.Timeout;
}

export class SubscriptionGroups {
  readonly #table = new Map<string, SubscriptionGroupConfig>();
  readonly #state: JsonState;
  readonly #waiters = new Set<Waiter>();
  #version = 0;

  constructor(state: JsonState) {
    this.#state = state;
    const saved = state.load();
    if (saved === undefined) return;
    const table = (saved as { subscriptionGroupTable?: unknown }).subscriptionGroupTable;
    if (typeof table !== 'object' || table === null) throw new PetrelError('ERR_STORE_CORRUPT', 'subscriptionGroup.json has no subscriptionGroupTable object');
    for (const [name, entry] of Object.entries(table)) {
      const parsed = fileSchema.safeParse({ ...(entry as Record<string, unknown>), groupName: name });
      if (!parsed.success || !GROUP_NAME.test(name)) throw new PetrelError('ERR_STORE_CORRUPT', `subscriptionGroup.json: group ${name}: ${parsed.success ? 'bad name' : issueText(parsed.error)}`);
      this.#table.set(name, parsed.data);
    }
    const counter = (saved as { dataVersion?: { counter?: unknown } }).dataVersion?.counter;
    this.#version = typeof counter === 'number' && Number.isInteger(counter) && counter >= 0 ? counter : 0;
  }

  get version(): number {
    return this.#version;
  }

  get(group: string): SubscriptionGroupConfig | undefined {
    return this.#table.get(group);
  }

  snapshot(): SubscriptionGroupTable {
    const groups = [...this.#table.values()].sort((a, b) => (a.groupName < b.groupName ? -1 : a.groupName > b.groupName ? 1 : 0));
    return { version: this.#version, groups };
  }

  /** Creates or changes an entry from user input (validated here); persisted before it returns. */
  update(input: SubscriptionGroupInput | unknown): SubscriptionGroupConfig {
    const name = validateSubscriptionGroupName((input as Record<string, unknown> | null)?.['groupName']);
    const merged = mergeSubscriptionGroup(input, this.#table.get(name));
    this.#table.set(name, merged);
    this.#changed();
    return merged;
  }

  delete(group: string): boolean {
    if (!this.#table.delete(group)) return false;
    this.#changed();
    return true;
  }

  /**
   * A slave takes its master's table as it is (RocketMQ's SlaveSynchronize): entries the master
   * lacks are removed. Written and announced only when something differs.
   */
  replaceAll(groups: readonly SubscriptionGroupConfig[]): boolean {
    const next = new Map(groups.map((g) => [g.groupName, g]));
    const same = next.size === this.#table.size && [...next].every(([k, v]) => {
      const old = this.#table.get(k);
      return old !== undefined && SETTING_KEYS.every((s) => old[s] === v[s]);
    });
    if (same) return false;
    this.#table.clear();
    for (const [k, v] of next) this.#table.set(k, v);
    this.#changed();
    return true;
  }

  /** Resolves with the table once its version is not `version`, or after timeoutMs. */
  awaitChange(version: number, timeoutMs: number): Promise<SubscriptionGroupTable> {
    if (version !== this.#version || timeoutMs <= 0) return Promise.resolve(this.snapshot());
    return new Promise((resolve) => {
      const waiter: Waiter = {
        version,
        resolve,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          resolve(this.snapshot());
        }, timeoutMs),
      };
      waiter.timer.unref();
      this.#waiters.add(waiter);
    });
  }

  /** Answers every waiter now (shutdown). */
  close(): void {
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.resolve(this.snapshot());
    }
    this.#waiters.clear();
  }

  #changed(): void {
    this.#version += 1;
    const subscriptionGroupTable: Record<string, SubscriptionGroupConfig> = {};
    for (const [k, v] of this.#table) subscriptionGroupTable[k] = v;
    this.#state.save({ subscriptionGroupTable, dataVersion: { timestamp: Date.now(), counter: this.#version } });
    const table = this.snapshot();
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.resolve(table);
    }
    this.#waiters.clear();
  }
}
