/**
 * The pool side of a module listener: one task carries several batches; they run one after the
 * other on this pool thread, so a thread never holds more than one batch at a time. The user's
 * module is imported once per thread.
 */
import type { MessageExt, MessageQueue } from '../actors/BrokerApi.js';
import type { ConcurrentListener, ConsumeStatus } from './consumeTypes.js';

export interface ConsumeTask {
  readonly module: string;
  readonly exportName: string;
  readonly batches: readonly { readonly batch: MessageExt[]; readonly messageQueue: MessageQueue }[];
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

export default async function consumeBatches(task: ConsumeTask): Promise<ConsumeStatus[]> {
  const listener = await listenerOf(task.module, task.exportName);
  const out: ConsumeStatus[] = [];
  for (const b of task.batches) {
    try {
      const status = await listener(b.batch, { messageQueue: b.messageQueue });
      out.push(status === 'CONSUME_SUCCESS' ? 'CONSUME_SUCCESS' : 'RECONSUME_LATER');
    } catch {
      out.push('RECONSUME_LATER');
    }
  }
  return out;
}
