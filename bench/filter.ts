/**
 * `npm run bench -- filter [--messages N] [--queues N] [--reps N]`
 *
 * The SQL92 bloom path against exact evaluation alone, on one broker and one backlog. The broker
 * runs with enablePropertyFilter, enableCalcFilterBitMap and enableConsumeQueueExt; the measured
 * group registers a selective expression (1 % of the messages match) and seven other SQL92 groups
 * register theirs, so the bitmaps carry other groups' bits too (false positives are possible, as in
 * a real broker). Then the backlog is produced (default 200,000 messages with properties) and
 * dispatched, which computes every group's bits.
 *
 * The measured passes pull every queue from offset 0 to its end through Broker.pull, 32 messages
 * at most per pull, one pull loop per queue running at once, as a push consumer's pull loops
 * would, and take the dispatcher's counters around the pass:
 * - bloom: the registered group; stage one skips a message when the group's bits are not all set
 *   in its bitmap, without reading the CommitLog, and evaluates the expression for a "maybe";
 * - exact (the baseline): the same expression pulled by a group that never registered, so every
 *   message is read from the CommitLog and evaluated.
 * One pass of each warms the code up first (not counted); then passes alternate, `reps` of each,
 * and the median pass is printed. Both must deliver the same messages (checked). The goals: the
 * bloom path reads the CommitLog for at most 5 % of the messages that do not match, and delivers
 * at least 5x faster than exact evaluation.
 *
 * What the bits cost is shown too: the same backlog produced and dispatched on a broker without
 * the bloom path (no extension units, no bits) before the measured one.
 * Each store lives in a fresh folder under os.tmpdir(), removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker } from '../actors/Broker.js';
import type { FilterSpec, Message } from '../api/BrokerApi.js';
import type { DispatcherFilterStats } from '../actors/DispatcherActor.js';
import { fmt, parseFlag, table } from './lib/report.js';

const TOPIC = 'FilterBench';
const REGIONS = ['eu-west', 'eu-north', 'us-east', 'us-west', 'ap-south', 'ap-east', 'sa-east', 'af-south', 'me-central', 'ca-central'];
/** The measured expression: one region in ten, one price band in ten: 1 %. */
const SELECTIVE = "region = 'eu-west' AND price BETWEEN 100 AND 199";
/** Other groups on the same topic, whose bits share the bitmaps. */
const OTHERS = [
  "region = 'us-east'",
  'price >= 900',
  'level >= 50',
  "kind IN ('book', 'toy')",
  "vip = 'true' AND price < 500",
  "level < 5 OR vip = 'true'",
  "kind = 'food' AND region STARTSWITH 'ap'",
];
const BATCH = 256;

interface Pass {
  readonly ms: number;
  readonly stats: DispatcherFilterStats;
  readonly delivered: string[];
}

function messageAt(i: number): Message {
  // a cheap deterministic spread: consecutive messages differ in every property
  const h = Math.imul(i + 1, 2_654_435_761) >>> 0;
  return {
    topic: TOPIC,
    body: new Uint8Array(64).fill(0x61),
    tags: i % 2 === 0 ? 'TagA' : 'TagB',
    properties: {
      region: REGIONS[i % REGIONS.length] ?? 'eu-west',
      price: String(h % 1000),
      level: String((h >>> 10) % 100),
      kind: ['book', 'toy', 'food', 'tool'][(h >>> 17) % 4] ?? 'book',
      vip: (h >>> 20) % 5 === 0 ? 'true' : 'false',
    },
  };
}

function diff(a: DispatcherFilterStats, b: DispatcherFilterStats): DispatcherFilterStats {
  return {
    pulls: b.pulls - a.pulls,
    unitsScanned: b.unitsScanned - a.unitsScanned,
    commitLogReads: b.commitLogReads - a.commitLogReads,
    bloomSkipped: b.bloomSkipped - a.bloomSkipped,
    delivered: b.delivered - a.delivered,
    corruptSkipped: b.corruptSkipped - a.corruptSkipped,
    bitmapsComputed: b.bitmapsComputed - a.bitmapsComputed,
  };
}

async function pullPass(broker: Broker, group: string, queues: number, filter: FilterSpec): Promise<Pass> {
  const before = await broker.filterStats();
  const delivered: string[] = [];
  const maxOffsets = await Promise.all(Array.from({ length: queues }, (_, q) => broker.maxOffset(TOPIC, q)));
  const t0 = performance.now();
  // one pull loop per queue, all at once, as a push consumer runs them
  await Promise.all(
    maxOffsets.map(async (max, queueId) => {
      for (let offset = 0; offset < max; ) {
        const r = await broker.pull({ group, topic: TOPIC, queueId, offset, maxMsgNums: 32, filter });
        for (const m of r.messages) delivered.push(m.msgId);
        if (r.nextBeginOffset <= offset) throw new Error(`pull at ${queueId}/${offset} did not move (${r.status})`);
        offset = r.nextBeginOffset;
      }
    }),
  );
  const ms = performance.now() - t0;
  return { ms, stats: diff(before, await broker.filterStats()), delivered: delivered.sort() };
}

function median(passes: Pass[]): Pass {
  const sorted = [...passes].sort((a, b) => a.ms - b.ms);
  const mid = sorted[Math.floor((sorted.length - 1) / 2)];
  if (mid === undefined) throw new Error('no pass');
  return mid;
}

/** Sends the backlog in batches and waits until it is dispatched; returns the ms it took. */
async function produce(broker: Broker, count: number, queues: number): Promise<number> {
  const t0 = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let from = 0; from < count; from += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, count - from) }, (_, k) => messageAt(from + k));
    sends.push(broker.send(batch, (from / BATCH) % queues));
    if (sends.length >= 16) await Promise.all(sends.splice(0));
  }
  await Promise.all(sends);
  for (let total = 0; total < count; ) {
    total = 0;
    for (let q = 0; q < queues; q++) total += await broker.maxOffset(TOPIC, q);
    if (total < count) await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - t0;
}

/** A broker on a fresh folder with the topic and the eight SQL92 groups; `bloom` turns the bloom path on. */
async function startBroker(bloom: boolean, queues: number): Promise<{ broker: Broker; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrelmq-bench-filter-'));
  const broker = await Broker.start({
    storePathRootDir: dir,
    mappedFileSizeCommitLog: 256 * 1024 * 1024,
    enablePropertyFilter: true,
    enableCalcFilterBitMap: bloom,
    enableConsumeQueueExt: bloom,
    flushIntervalCommitLog: 200,
  });
  const close = async (): Promise<void> => {
    await broker.shutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await broker.createTopic({ topic: TOPIC, readQueueNums: queues, writeQueueNums: queues });
    const register = (group: string, expression: string): Promise<string[]> =>
      broker.registerConsumer({ group, clientId: `${group}@bench`, messageModel: 'CLUSTERING', subscriptions: [{ topic: TOPIC, filter: { type: 'SQL92', expression } }] });
    await register('bench_bloom', SELECTIVE);
    for (const [i, expression] of OTHERS.entries()) await register(`bench_other${i}`, expression);
  } catch (err) {
    await close();
    throw err;
  }
  return { broker, close };
}

export async function main(args: string[]): Promise<void> {
  const count = parseFlag(args, 'messages', 200_000);
  const queues = parseFlag(args, 'queues', 4);
  const reps = Math.max(1, parseFlag(args, 'reps', 5));
  console.log(`filter bench: ${count} messages with 5 properties over ${queues} queues; 8 SQL92 groups registered before producing`);
  console.log(`  measured expression (1 % match): ${SELECTIVE}`);
  console.log(`  bloom: m = 112 bits, k = 3 (RocketMQ defaults); exact: same expression, group not registered; ${reps} pass(es) each after a warm-up, median shown`);

  const plain = await startBroker(false, queues);
  let plainMs: number;
  try {
    plainMs = await produce(plain.broker, count, queues);
  } finally {
    await plain.close();
  }
  const { broker, close } = await startBroker(true, queues);
  try {
    const produceMs = await produce(broker, count, queues);
    const dispatched = await broker.filterStats();
    console.log(`  produced and dispatched: ${fmt(produceMs, 0)} ms (${fmt((count * 1000) / produceMs)} msgs/s) with the bloom path, ${dispatched.bitmapsComputed} bitmaps computed;`);
    console.log(`  without it: ${fmt(plainMs, 0)} ms (${fmt((count * 1000) / plainMs)} msgs/s)`);

    const filter: FilterSpec = { type: 'SQL92', expression: SELECTIVE };
    await pullPass(broker, 'bench_exact', queues, filter);
    await pullPass(broker, 'bench_bloom', queues, filter);
    const bloomPasses: Pass[] = [];
    const exactPasses: Pass[] = [];
    for (let r = 0; r < reps; r++) {
      // alternate the order, so neither side always runs on a warmer cache
      if (r % 2 === 0) {
        exactPasses.push(await pullPass(broker, 'bench_exact', queues, filter));
        bloomPasses.push(await pullPass(broker, 'bench_bloom', queues, filter));
      } else {
        bloomPasses.push(await pullPass(broker, 'bench_bloom', queues, filter));
        exactPasses.push(await pullPass(broker, 'bench_exact', queues, filter));
      }
    }
    const bloom = median(bloomPasses);
    const exact = median(exactPasses);
    const same = bloom.delivered.length === exact.delivered.length && bloom.delivered.every((id, i) => id === exact.delivered[i]);

    const row = (name: string, p: Pass): string[] => {
      const s = p.stats;
      const nonMatching = s.unitsScanned - s.delivered;
      const readAnyway = s.commitLogReads - s.delivered;
      return [
        name,
        String(s.unitsScanned),
        fmt((s.unitsScanned * 1000) / p.ms),
        String(s.commitLogReads),
        String(s.bloomSkipped),
        `${readAnyway} (${((100 * readAnyway) / nonMatching).toFixed(2)}%)`,
        String(s.delivered),
        fmt((s.delivered * 1000) / p.ms),
        fmt(p.ms, 1),
      ];
    };
    table(
      ['path', 'scanned', 'scanned/s', 'CommitLog reads', 'reads avoided', 'non-matching read', 'delivered', 'delivered msgs/s', 'pass ms'],
      [row('bloom', bloom), row('exact (baseline)', exact)],
    );
    const readShare = (bloom.stats.commitLogReads - bloom.stats.delivered) / (bloom.stats.unitsScanned - bloom.stats.delivered);
    const speedup = exact.ms / bloom.ms;
    console.log(`same messages delivered by both paths: ${same ? 'yes' : 'NO'} (${bloom.delivered.length} vs ${exact.delivered.length})`);
    console.log(`bloom reads the CommitLog for ${(100 * readShare).toFixed(2)}% of non-matching messages (goal <= 5%): ${readShare <= 0.05 ? 'met' : 'NOT met'}`);
    console.log(`bloom delivers ${speedup.toFixed(1)}x as fast as exact evaluation (goal >= 5x): ${speedup >= 5 ? 'met' : 'NOT met'}`);
  } finally {
    await close();
  }
}
