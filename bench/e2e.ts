/**
 * `npm run bench -- e2e`: produce-to-consume latency at a fixed rate (default 10,000 msgs/s) with
 * an embedded PushConsumer long-polling, under ASYNC_FLUSH and SYNC_FLUSH; then consumer catch-up
 * over a backlog (msgs/s a group drains) against the rate the same producers reached. Baseline in
 * the same run: the latency of a bare setImmediate hop and the plain-file write of the same bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker } from '../actors/Broker.js';
import { Producer } from '../client/Producer.js';
import { PushConsumer } from '../client/PushConsumer.js';
import { fileAppendBaseline } from './lib/fileBaseline.js';
import { Latency, fmt, parseFlag, table, throughput } from './lib/report.js';

const now = (): number => performance.timeOrigin + performance.now();

async function withBroker<T>(flush: 'ASYNC_FLUSH' | 'SYNC_FLUSH', fn: (b: Broker, p: Producer) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'petrelmq-e2e-'));
  const broker = await Broker.start({ storePathRootDir: dir, flushDiskType: flush });
  try {
    await broker.createTopic({ topic: 'E2E', readQueueNums: 4, writeQueueNums: 4 });
    const producer = new Producer({ groupName: 'e2e-p', broker });
    await producer.start();
    const out = await fn(broker, producer);
    await producer.shutdown();
    return out;
  } finally {
    await broker.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function fixedRate(flush: 'ASYNC_FLUSH' | 'SYNC_FLUSH', rate: number, seconds: number): Promise<string[]> {
  return withBroker(flush, async (broker, producer) => {
    const lat = new Latency();
    const consumer = new PushConsumer({ groupName: 'e2e-c', broker, consumeThreadMax: 16, pullLongPollMs: 1000 });
    consumer.subscribe('E2E', '*');
    consumer.registerMessageListener((msgs) => {
      const t = now();
      for (const m of msgs) lat.recordMs(t - new DataView(m.body.buffer, m.body.byteOffset).getFloat64(0));
      return 'CONSUME_SUCCESS';
    });
    await consumer.start();
    // One second at the same rate first (JIT, first route look-ups, first pulls), not measured.
    const phase = async (count: number): Promise<void> => {
      const start = performance.now();
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < count; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const body = new Uint8Array(100);
        new DataView(body.buffer).setFloat64(0, now());
        sends.push(producer.send({ topic: 'E2E', body }));
      }
      await Promise.all(sends);
    };
    await phase(rate);
    const warmDeadline = Date.now() + 10_000;
    while (lat.count < rate && Date.now() < warmDeadline) await new Promise((r) => setTimeout(r, 20));
    lat.reset();
    const total = Math.round(rate * seconds);
    await phase(total);
    const deadline = Date.now() + 10_000;
    while (lat.count < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await consumer.shutdown();
    return [flush, `${rate}/s`, String(lat.count), fmt(lat.percentileUs(50)), fmt(lat.percentileUs(99)), fmt(lat.percentileUs(99.9))];
  });
}

async function catchUp(backlog: number): Promise<string[]> {
  return withBroker('ASYNC_FLUSH', async (broker, producer) => {
    const body = new Uint8Array(100);
    let t0 = performance.now();
    for (let i = 0; i < backlog; i += 64) await producer.sendBatch(Array.from({ length: Math.min(64, backlog - i) }, () => ({ topic: 'E2E', body })));
    const produced = throughput(backlog, backlog * 100, performance.now() - t0);
    let got = 0;
    const consumer = new PushConsumer({ groupName: 'catch-up', broker, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', consumeMessageBatchMaxSize: 32, pullBatchSize: 32 });
    consumer.subscribe('E2E', '*');
    consumer.registerMessageListener((msgs) => {
      got += msgs.length;
      return 'CONSUME_SUCCESS';
    });
    t0 = performance.now();
    await consumer.start();
    while (got < backlog) await new Promise((r) => setTimeout(r, 5));
    const consumed = throughput(got, got * 100, performance.now() - t0);
    await consumer.shutdown();
    return [String(backlog), fmt(produced.msgsPerSec), fmt(consumed.msgsPerSec), (consumed.msgsPerSec / produced.msgsPerSec).toFixed(2)];
  });
}

export async function main(args: string[]): Promise<void> {
  const rate = parseFlag(args, 'rate', 10_000);
  const seconds = parseFlag(args, 'seconds', 3);
  const backlog = parseFlag(args, 'backlog', 200_000);
  console.log(`e2e: produce-to-consume latency at ${rate} msgs/s for ${seconds} s after 1 s of warm-up at the same rate (100-byte bodies)`);
  const rows = [await fixedRate('ASYNC_FLUSH', rate, seconds), await fixedRate('SYNC_FLUSH', rate, seconds)];
  table(['flush', 'rate', 'received', 'p50 us', 'p99 us', 'p999 us'], rows);

  const hop = new Latency();
  for (let i = 0; i < 20_000; i++) {
    const s = performance.now();
    await new Promise((r) => setImmediate(r));
    hop.recordMs(performance.now() - s);
  }
  console.log(`baseline: one setImmediate hop on this thread: p50 ${fmt(hop.percentileUs(50))} us, p99 ${fmt(hop.percentileUs(99))} us`);

  console.log(`\ncatch-up: a group draining a ${backlog}-message backlog`);
  table(['backlog', 'produce msgs/s (batches of 64)', 'consume msgs/s', 'consume/produce'], [await catchUp(backlog)]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'petrelmq-baseline-'));
  try {
    const b = fileAppendBaseline(dir, backlog, 100);
    console.log(`baseline: the same bytes to a plain file (1 MiB writes): ${fmt(b.msgsPerSec)} msgs/s, ${fmt(b.mbPerSec)} MB/s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
