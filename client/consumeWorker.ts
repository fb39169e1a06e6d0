/**
 * The pool side of a module listener: one task carries several batches; they run one after the
 * other on this pool thread, so a thread never holds more than one batch at a time. The user's
 * module is imported once per thread.
 */
import type { MessageExt, MessageQueue } from '../api/BrokerApi.js';
import type { ConcurrentListener, ConsumeStatus } from './consumeTypes.js';

/** One listener call: the user's module and export, and the messages of one batch. */
export interface ConsumeItem {
  readonly module: string;
  readonly exportName: string;
  readonly batch: MessageExt[];
  readonly messageQueue: MessageQueue;
}

const listeners = new Map<string, Promise<ConcurrentListener>>();

async function listenerOf(module: string, exportName: string): Promise<ConcurrentListener> {
  const key = `${module}#${exportName}`;
  let p = listeners.get(key);
  if (p === undefined) {
    p = import(module).then((mod: Record<string, unknown>) => {
      const fn = mod[exportName] ?? (exportName === 'consume' ? mod['default'] : undefined);
      if (typeof fn !== 'function') throw new Error(`listener module ${module} has no function export "${exportName}"`);
      return fn as ConcurrentListener;
    });
    listeners.set(key, p);
  }
  return p;
}

/** Run by runtime/Pool on a pool thread: the items of one pool task, one after the other. */
export async function consumeBatches(items: readonly ConsumeItem[]): Promise<ConsumeStatus[]> {
  const out: ConsumeStatus[] = [];
  for (const b of items) {
    try {
      const listener = await listenerOf(b.module, b.exportName);
      const status = await listener(b.batch, { messageQueue: b.messageQueue });
      out.push(status === 'CONSUME_SUCCESS' ? 'CONSUME_SUCCESS' : 'RECONSUME_LATER');
    } catch {
      out.push('RECONSUME_LATER');
    }
  }
  return out;
}
