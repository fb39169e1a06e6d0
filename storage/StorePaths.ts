/**
 * Where everything lives under the store root (ROCKETMQ.md 1.6, 2.1, 3.1, 4.1):
 *
 *   <storePathRootDir>/
 *     commitlog/<20-digit start offset>              CommitLog segments (or storePathCommitLog)
 *     consumequeue/<topic>/<queueId>/<20-digit byte offset>
 *     index/<yyyyMMddHHmmssSSS>                      IndexFiles, by creation time
 *     checkpoint                                     StoreCheckpoint
 *     abort                                          present while the store is open
 *     lock                                           the pid of the process holding the store
 *     config/                                        broker JSON files (topics.json, ...)
 *     config/consumeQueueEnds.json                   each ConsumeQueue's end at the last close
 */
import path from 'node:path';

export function commitLogDir(root: string): string {
  return path.join(root, 'commitlog');
}

export function consumeQueueRootDir(root: string): string {
  return path.join(root, 'consumequeue');
}

export function consumeQueueDir(root: string, topic: string, queueId: number): string {
  return path.join(root, 'consumequeue', topic, String(queueId));
}

export function indexDir(root: string): string {
  return path.join(root, 'index');
}

export function checkpointPath(root: string): string {
  return path.join(root, 'checkpoint');
}

export function abortPath(root: string): string {
  return path.join(root, 'abort');
}

export function lockPath(root: string): string {
  return path.join(root, 'lock');
}

export function configDir(root: string): string {
  return path.join(root, 'config');
}

export function consumeQueueEndsPath(root: string): string {
  return path.join(root, 'config', 'consumeQueueEnds.json');
}

/** RocketMQ's UtilAll.offset2FileName: the offset, zero-padded to 20 digits. */
export function offsetToFileName(offset: number): string {
  return String(offset).padStart(20, '0');
}

/** The offset a store file name stands for, or undefined when it is not one. */
export function fileNameToOffset(name: string): number | undefined {
  return /^\d{20}$/.test(name) ? Number(name) : undefined;
}

/** An IndexFile name: local time yyyyMMddHHmmssSSS, as RocketMQ names them. */
export function timeToIndexFileName(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}${p(d.getMilliseconds(), 3)}`;
}
