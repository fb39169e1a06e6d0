/**
 * Topic configurations (RocketMQ's TopicConfigManager) on the broker's main thread, persisted to
 * config/topics.json in RocketMQ's shape on every change. Auto-creation, when enabled, gives an
 * unknown topic defaultTopicQueueNums read and write queues; retry topics get one queue and DLQ
 * topics one queue, as RocketMQ creates them.
 */
import { PetrelError } from '../common/errors.js';
import type { TopicConfig } from '../api/BrokerApi.js';
import type { JsonState } from './JsonState.js';

const PERM_RW = 6;
const MAX_QUEUES = 1024;

export interface TopicRequest {
  readonly topic: string;
  readonly readQueueNums?: number;
  readonly writeQueueNums?: number;
  readonly perm?: number;
  readonly order?: boolean;
}

export class TopicConfigs {
  readonly #topics = new Map<string, TopicConfig>();
  readonly #state: JsonState;
  #version = 0;

  constructor(state: JsonState) {
    this.#state = state;
    const saved = state.load() as { topicConfigTable?: Record<string, Record<string, unknown>> } | undefined;
    for (const [name, c] of Object.entries(saved?.topicConfigTable ?? {})) {
      this.#topics.set(name, {
        topic: name,
        readQueueNums: Number(c['readQueueNums']),
        writeQueueNums: Number(c['writeQueueNums']),
        perm: Number(c['perm']),
        order: c['order'] === true,
      });
    }
  }

  get(topic: string): TopicConfig | undefined {
    return this.#topics.get(topic);
  }

  list(): TopicConfig[] {
    return [...this.#topics.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  }

  /** Creates or updates a topic; the name must already be validated. */
  upsert(req: TopicRequest, defaultQueues: number): TopicConfig {
    const q = (v: number | undefined, name: string): number => {
      const x = v ?? defaultQueues;
      if (!Number.isInteger(x) || x < 1 || x > MAX_QUEUES) throw new PetrelError('ERR_INVALID_ARGUMENT', `${name} must be an integer in [1, ${MAX_QUEUES}], got ${String(v)}`);
      return x;
    };
    const perm = req.perm ?? PERM_RW;
    if (!Number.isInteger(perm) || perm < 0 || perm > 15) throw new PetrelError('ERR_INVALID_ARGUMENT', `perm must be RocketMQ perm bits (0-15), got ${String(req.perm)}`);
    const cfg: TopicConfig = {
      topic: req.topic,
      readQueueNums: q(req.readQueueNums, 'readQueueNums'),
      writeQueueNums: q(req.writeQueueNums, 'writeQueueNums'),
      perm,
      order: req.order ?? false,
    };
    this.#topics.set(req.topic, cfg);
    this.#persist();
    return cfg;
  }

  /**
   * A slave takes its master's table as it is (entries the master lacks are removed); written
   * only when something differs. Resolves whether it did.
   */
  replaceAll(configs: readonly TopicConfig[]): boolean {
    const same = configs.length === this.#topics.size && configs.every((c) => {
      const old = this.#topics.get(c.topic);
      return old !== undefined && old.readQueueNums === c.readQueueNums && old.writeQueueNums === c.writeQueueNums && old.perm === c.perm && old.order === c.order;
    });
    if (same) return false;
    this.#topics.clear();
    for (const c of configs) this.#topics.set(c.topic, { topic: c.topic, readQueueNums: c.readQueueNums, writeQueueNums: c.writeQueueNums, perm: c.perm, order: c.order });
    this.#persist();
    return true;
  }

  #persist(): void {
    this.#version += 1;
    const topicConfigTable: Record<string, unknown> = {};
    for (const c of this.#topics.values()) {
      topicConfigTable[c.topic] = {
        topicName: c.topic,
        readQueueNums: c.readQueueNums,
        writeQueueNums: c.writeQueueNums,
        perm: c.perm,
        topicFilterType: 'SINGLE_TAG',
        topicSysFlag: 0,
        order: c.order,
      };
    }
    this.#state.save({ topicConfigTable, dataVersion: { timestamp: Date.now(), counter: this.#version } });
  }
}
