/**
 * Damaging store files for tests (real writes through fs, as a failing disk or a stray write
 * would), and reading a broker back whole: every message of a topic by pull, and what the
 * diagnostics channels said meanwhile.
 */
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import type { BrokerApi, MessageExt, SendResult } from '../../api/BrokerApi.js';
import { CHANNELS } from '../../common/diagnostics.js';
import { PushConsumer } from '../../client/PushConsumer.js';

/** XORs `length` bytes of `file` at `position` with 0xFF (each bit flipped); returns the bytes before. */
export function flipBytes(file: string, position: number, length: number): Uint8Array {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(length);
    fs.readSync(fd, b, 0, length, position);
    const before = Uint8Array.from(b);
    for (let i = 0; i < length; i++) b[i] = (b[i] ?? 0) ^ 0xff;
    fs.writeSync(fd, b, 0, length, position);
    fs.fsyncSync(fd);
    return before;
  } finally {
    fs.closeSync(fd);
  }
}

/** The CommitLog file holding global offset `offset`, and the offset within it. */
export function commitLogFileAt(root: string, fileSize: number, offset: number): { file: string; position: number } {
  const start = offset - (offset % fileSize);
  return { file: path.join(root, 'commitlog', String(start).padStart(20, '0')), position: offset - start };
}

/** The ConsumeQueue file of `topic`/`queueId` holding queue offset `queueOffset`. */
export function consumeQueueFileAt(root: string, topic: string, queueId: number, fileSize: number, queueOffset: number): string {
  const logical = queueOffset * 20;
  return path.join(root, 'consumequeue', topic, String(queueId), String(logical - (logical % fileSize)).padStart(20, '0'));
}

/** One message sent, as its SendResult told, with the key and body it was sent with. */
export interface Sent {
  readonly i: number;
  readonly key: string;
  readonly body: string;
  readonly result: SendResult;
}

export const damageBody = (i: number): string => `body-${String(i).padStart(8, '0')}`;
export const damageKey = (i: number): string => `k-${String(i).padStart(8, '0')}`;

/** Sends `count` messages (body damageBody(i), key damageKey(i)) in batches into `out`; every one must be SEND_OK. */
export async function sendNumbered(api: Pick<BrokerApi, 'send'>, topic: string, count: number, from = 0, batch = 200, out: Sent[] = [], bodySize = 0): Promise<Sent[]> {
  const bodyOf = (i: number): string => damageBody(i).padEnd(bodySize, '.');
  for (let i = from; i < from + count; i += batch) {
    const n = Math.min(batch, from + count - i);
    const msgs = Array.from({ length: n }, (_, j) => ({ topic, body: new TextEncoder().encode(bodyOf(i + j)), keys: damageKey(i + j) }));
    const results = await api.send(msgs);
    results.forEach((result, j) => {
      if (result.sendStatus !== 'SEND_OK') throw new Error(`message ${i + j}: ${result.sendStatus}`);
      out.push({ i: i + j, key: damageKey(i + j), body: bodyOf(i + j), result });
    });
  }
  return out;
}

/** Consumes `topic` from its first offset with a PushConsumer until `count` messages arrived; key -> body of each (a key seen twice throws). */
export async function consumeAll(t: ExecutionContext, broker: BrokerApi, topic: string, count: number, timeoutMs = 120_000): Promise<Map<string, string>> {
  const got = new Map<string, string>();
  const twice: string[] = [];
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  const consumer = new PushConsumer({ groupName: `damage-consumer-${topic}`, broker, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 200, pullBatchSize: 256, consumeMessageBatchMaxSize: 256 });
  t.teardown(() => consumer.shutdown());
  consumer.subscribe(topic, '*');
  consumer.registerMessageListener((msgs: MessageExt[]) => {
    for (const m of msgs) {
      const key = m.keys[0] ?? '';
      if (got.has(key)) twice.push(key);
      got.set(key, new TextDecoder().decode(m.body));
    }
    if (got.size >= count) done();
    return 'CONSUME_SUCCESS';
  });
  await consumer.start();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`consumed ${got.size} of ${count} in ${timeoutMs} ms`)), timeoutMs)));
  try {
    await Promise.race([all, late]);
  } finally {
    clearTimeout(timer);
  }
  await consumer.shutdown();
  if (twice.length > 0) throw new Error(`consumed twice: ${twice.slice(0, 5).join(', ')}`);
  return got;
}

/**
 * The records each of [from, from + length) overlaps, by CommitLog offset: records are taken to
 * run from their offset to the next one's (the last to `end`).
 */
export function recordsHit(sent: readonly Sent[], from: number, length: number, end: number): Sent[] {
  const byOffset = [...sent].sort((a, b) => a.result.commitLogOffset - b.result.commitLogOffset);
  return byOffset.filter((s, k) => {
    const start = s.result.commitLogOffset;
    const stop = byOffset[k + 1]?.result.commitLogOffset ?? end;
    return start < from + length && from < stop;
  });
}

/** Every message of `topic` read by pulls from each queue's min offset to its max, in queue order. */
export async function pullEverything(api: Pick<BrokerApi, 'pull' | 'minOffset' | 'maxOffset' | 'getTopic'>, topic: string): Promise<MessageExt[]> {
  const queues = (await api.getTopic(topic))?.readQueueNums ?? 0;
  const out: MessageExt[] = [];
  for (let q = 0; q < queues; q++) {
    let offset = await api.minOffset(topic, q);
    const max = await api.maxOffset(topic, q);
    while (offset < max) {
      const r = await api.pull({ group: 'damage-audit', topic, queueId: q, offset, maxMsgNums: 256 });
      out.push(...r.messages);
      if (r.nextBeginOffset <= offset) throw new Error(`queue ${q}: a pull at ${offset} answered ${r.status} and did not move on`);
      offset = r.nextBeginOffset;
    }
  }
  return out;
}

/** What the store's channels said while a test ran: log records and storeCorrupt reports. */
export interface Heard {
  readonly logs: Record<string, unknown>[];
  readonly corrupt: Record<string, unknown>[];
}

export function listen(t: ExecutionContext): Heard {
  const heard: Heard = { logs: [], corrupt: [] };
  const onLog = (m: unknown): void => void heard.logs.push(m as Record<string, unknown>);
  const onCorrupt = (m: unknown): void => void heard.corrupt.push(m as Record<string, unknown>);
  diagnostics.subscribe(CHANNELS.log, onLog);
  diagnostics.subscribe(CHANNELS.storeCorrupt, onCorrupt);
  t.teardown(() => {
    diagnostics.unsubscribe(CHANNELS.log, onLog);
    diagnostics.unsubscribe(CHANNELS.storeCorrupt, onCorrupt);
  });
  return heard;
}

/** The value of the sample `name{...}` whose labels include `having`, from Prometheus text. */
export function sample(text: string, name: string, having = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(having)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
