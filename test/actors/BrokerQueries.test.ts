/**
 * Look-ups read a record back from the CommitLog on the dispatcher's thread. At the default file
 * size (1 GiB, sparse) a reply that is a view of the mapping would copy the whole file to the
 * main thread on every look-up; these tests hold the look-ups to the record's own bytes.
 */
import test from 'ava';
import type { Broker } from '../../actors/Broker.js';
import type { SendResult } from '../../api/BrokerApi.js';
import { body, startBroker, text, untilQueued } from '../helpers/broker.js';

/** The defaults, passed explicitly: the helper's 1 MiB files would hide a whole-file copy. */
const DEFAULT_FILES = { mappedFileSizeCommitLog: 1024 * 1024 * 1024, mappedFileSizeConsumeQueue: 300_000 * 20 };
const TOPIC = 'LookupTopic';
const MESSAGES = 1000;
/** RSS the look-ups may add: room for the heap's own growth, far below one copied file. */
const RSS_BOUND = 48 * 1024 * 1024;

async function fill(broker: Broker): Promise<SendResult[]> {
  await broker.createTopic({ topic: TOPIC, readQueueNums: 4, writeQueueNums: 4 });
  const results: SendResult[] = [];
  for (let from = 0; from < MESSAGES; from += 100) {
    const batch = Array.from({ length: 100 }, (_, j) => ({ topic: TOPIC, body: body(`body-${from + j}`), keys: [`key-${from + j}`] }));
    results.push(...(await broker.send(batch)));
  }
  await untilQueued(broker, TOPIC, MESSAGES);
  return results;
}

test.serial('BrokerQueries - look-ups by offset, id and key at the default file size answer without copying the file', async (t) => {
  const broker = await startBroker(t, DEFAULT_FILES);
  const sent = await fill(broker);
  const baseline = process.memoryUsage.rss();
  const baselineMax = process.resourceUsage().maxRSS * 1024;
  let peak = 0;
  /** False once the RSS passed the bound: one copied file is enough to know, no need for two hundred. */
  const sample = (): boolean => {
    peak = Math.max(peak, process.memoryUsage.rss() - baseline);
    return peak <= RSS_BOUND;
  };
  let rounds = 0;
  for (let i = 0; i < MESSAGES; i += 5) {
    rounds++;
    const r = sent[i] as SendResult;
    const byOffset = await broker.viewMessageByOffset(r.commitLogOffset);
    t.is(text(byOffset?.body ?? new Uint8Array()), `body-${i}`);
    if (!sample()) break;
    const byOffsetId = await broker.queryMessageById(r.offsetMsgId);
    t.deepEqual(byOffsetId?.keys, [`key-${i}`]);
    if (!sample()) break;
    const byUniqId = await broker.queryMessageById(r.msgId);
    t.is(byUniqId?.commitLogOffset, r.commitLogOffset);
    if (!sample()) break;
    const byKey = await broker.queryMessageByKey(TOPIC, `key-${i}`, 32, 0, Date.now() + 1000);
    t.deepEqual(byKey.map((m) => text(m.body)), [`body-${i}`]);
    if (!sample()) break;
  }
  const maxGrowth = process.resourceUsage().maxRSS * 1024 - baselineMax;
  t.log(`rss growth over ${rounds} rounds of look-ups: peak ${(peak / 2 ** 20).toFixed(1)} MiB, high-water ${(maxGrowth / 2 ** 20).toFixed(1)} MiB`);
  t.true(peak < RSS_BOUND, `rss grew by ${peak} bytes`);
  t.true(maxGrowth < RSS_BOUND, `the rss high-water mark grew by ${maxGrowth} bytes`);
});

test.serial('BrokerQueries - a pull issued while look-ups are in flight is answered', async (t) => {
  const broker = await startBroker(t, DEFAULT_FILES);
  const sent = await fill(broker);
  const lookUps = sent.slice(0, 16).map((r) => broker.viewMessageByOffset(r.commitLogOffset));
  const pulled = await broker.pull({ group: 'LookupGroup', topic: TOPIC, queueId: 0, offset: 0, maxMsgNums: 32 });
  t.is(pulled.status, 'FOUND');
  t.is(pulled.messages.length, 32);
  const found = await Promise.all(lookUps);
  t.deepEqual(found.map((m) => text(m?.body ?? new Uint8Array())), Array.from({ length: 16 }, (_, i) => `body-${i}`));
});
