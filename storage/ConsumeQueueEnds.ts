/**
 * Each ConsumeQueue's extent when the store was last closed cleanly (or last opened), kept in
 * config/consumeQueueEnds.json, so that a queue whose LAST files are gone is noticed at the next
 * open. A queue's units say nothing about files after its last one: without this, a deleted last
 * file (or a whole deleted queue folder) would look like a shorter queue, its messages would never
 * be delivered again, and the writer would hand the same queue offsets out a second time.
 *
 * ```json
 * { "version": 1, "queues": [ { "topic": "T", "queueId": 0, "minOffset": 0, "maxOffset": 20000, "maxPhysicOffset": 4096123 } ] }
 * ```
 * maxOffset: the queue offset the next message gets; maxPhysicOffset: the CommitLog end of the
 * last unit's record (-1 when empty). Each entry is a lower bound of what the queue held: units
 * only go from the end when the CommitLog itself is cut, and then nothing can be rebuilt anyway.
 *
 * Written by the ConsumeQueues' owner when it closes them cleanly (the dispatcher actor at stop,
 * MessageStore.shutdown); read by recovery. The file is a hint: when it is missing or unreadable,
 * recovery goes on without it (logged).
 */
import { log } from '../common/diagnostics.js';
import { ConfigFile } from './ConfigFile.js';
import type { ConsumeQueueStore } from './ConsumeQueueStore.js';
import { consumeQueueEndsPath } from './StorePaths.js';

export interface QueueEnd {
  readonly topic: string;
  readonly queueId: number;
  readonly minOffset: number;
  readonly maxOffset: number;
  readonly maxPhysicOffset: number;
}

/**
 * Records every queue's end. Best effort (a full disk must not stop a close or a start): a
 * failure is logged and the previous ends stay, still lower bounds.
 */
export function saveQueueEnds(root: string, queues: ConsumeQueueStore): void {
  const list: QueueEnd[] = [];
  for (const cq of queues.queues()) {
    if (cq.maxOffsetInQueue === 0) continue;
    list.push({ topic: cq.topic, queueId: cq.queueId, minOffset: cq.minOffsetInQueue, maxOffset: cq.maxOffsetInQueue, maxPhysicOffset: cq.maxPhysicOffset });
  }
  const file = new ConfigFile(consumeQueueEndsPath(root));
  try {
    file.persist({ version: 1, queues: list });
  } catch (err) {
    log('warn', 'ConsumeQueue ends not saved: a ConsumeQueue losing its last files before the next clean stop would not be noticed', { file: file.path, error: err instanceof Error ? err.message : String(err) });
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The saved ends; [] when there are none or they cannot be read. */
export function loadQueueEnds(root: string): QueueEnd[] {
  const file = new ConfigFile(consumeQueueEndsPath(root));
  let value: unknown;
  try {
    value = file.load();
  } catch (err) {
    log('warn', 'ConsumeQueue ends unreadable: a missing last ConsumeQueue file cannot be noticed at this start', { file: file.path, error: err instanceof Error ? err.message : String(err) });
    return [];
  }
  const queues = typeof value === 'object' && value !== null ? (value as { queues?: unknown }).queues : undefined;
  if (!Array.isArray(queues)) return [];
  const out: QueueEnd[] = [];
  for (const q of queues as unknown[]) {
    if (typeof q !== 'object' || q === null) continue;
    const e = q as Record<string, unknown>;
    const phy = e['maxPhysicOffset'];
    if (typeof e['topic'] !== 'string' || !isCount(e['queueId']) || !isCount(e['minOffset']) || !isCount(e['maxOffset']) || typeof phy !== 'number' || !Number.isSafeInteger(phy) || phy < -1) continue;
    if (e['minOffset'] > e['maxOffset']) continue;
    out.push({ topic: e['topic'], queueId: e['queueId'], minOffset: e['minOffset'], maxOffset: e['maxOffset'], maxPhysicOffset: phy });
  }
  return out;
}
