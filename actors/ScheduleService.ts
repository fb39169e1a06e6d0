/**
 * Delayed delivery (RocketMQ's ScheduleMessageService), on the broker's main thread. A delayed
 * message is stored in SCHEDULE_TOPIC_XXXX, queue level-1; this service reads each level's queue
 * in order and, once a message's time has come (store time + the level's delay), puts it again
 * under its real topic and queue. Progress per level is persisted to config/delayOffset.json
 * after each delivery, so a restart may deliver a message twice but never loses one.
 */
import type { MessageExt, PullResult } from '../api/BrokerApi.js';
import type { JsonState } from './JsonState.js';

export interface ScheduleOptions {
  readonly levels: readonly number[];
  readonly state: JsonState;
  pull(queueId: number, offset: number): Promise<PullResult>;
  put(message: MessageExt): Promise<void>;
  /** Poll period, ms. Default 100. */
  readonly intervalMs?: number;
}

export class ScheduleService {
  readonly #o: ScheduleOptions;
  readonly #offsets: number[];
  #running = true;
  readonly #loop: Promise<void>;
  #wake: (() => void) | undefined;

  constructor(options: ScheduleOptions) {
    this.#o = options;
    const saved = options.state.load() as { offsetTable?: Record<string, number> } | undefined;
    this.#offsets = options.levels.map((_, i) => Number(saved?.offsetTable?.[String(i + 1)] ?? 0));
    this.#loop = this.#run();
  }

  /** Progress per level: the next offset of each level's queue to deliver (a slave copies it). */
  offsets(): { level: number; offset: number }[] {
    return this.#offsets.map((offset, i) => ({ level: i + 1, offset }));
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      for (let i = 0; i < this.#o.levels.length && this.#running; i++) {
        try {
          await this.#deliverLevel(i);
        } catch {
          // the store is busy or stopping; the next round tries again from the same offset
        }
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, this.#o.intervalMs ?? 100);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  async #deliverLevel(i: number): Promise<void> {
    const delay = this.#o.levels[i] ?? 0;
    for (;;) {
      const offset = this.#offsets[i] ?? 0;
      const r = await this.#o.pull(i, offset);
      if (r.status !== 'FOUND') {
        if (r.status === 'OFFSET_TOO_SMALL' || r.status === 'OFFSET_OVERFLOW_BADLY') this.#save(i, r.nextBeginOffset);
        return;
      }
      for (const m of r.messages) {
        if (m.storeTimestamp + delay > Date.now()) return;
        await this.#o.put(m);
        this.#save(i, m.queueOffset + 1);
      }
    }
  }

  #save(i: number, offset: number): void {
    this.#offsets[i] = offset;
    this.#o.state.save({ offsetTable: Object.fromEntries(this.#offsets.map((o, j) => [String(j + 1), o])) });
  }
}
