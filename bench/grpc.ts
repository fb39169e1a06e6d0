/**
 * `npm run bench -- grpc`: the RocketMQ v2 gRPC endpoint on 127.0.0.1, run as an actor on its own
 * worker thread in front of one broker (ASYNC_FLUSH), measured with the official
 * rocketmq-client-nodejs clients and with petrelmq's own GrpcBrokerClient, 100-byte bodies:
 *
 * - produce: N sends from C concurrent senders (C = 1 and 64): msgs/s, send latency p50/p99;
 * - consume: receive + ack loops draining a backlog: msgs/s;
 * - produce-to-consume latency at a fixed rate, consumers long-polling.
 *
 * Baseline in the same run, over the same broker: the embedded Producer and PushConsumer (no
 * network, no endpoint thread), so what the network and the endpoint cost is the difference.
 *
 * Options: --messages N (C = 64 sends, default 20000), --serial N (C = 1 sends, default 2000),
 * --backlog N (default 20000), --rate N msgs/s (default 500), --seconds N (default 4).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Producer as OfficialProducer, SimpleConsumer as OfficialSimpleConsumer } from 'rocketmq-client-nodejs';
import { Broker } from '../actors/Broker.js';
import { Producer } from '../client/Producer.js';
import { PushConsumer } from '../client/PushConsumer.js';
import { startGrpcEndpointActor } from '../protocol/EndpointThread.js';
import { GrpcBrokerClient } from '../protocol/GrpcBrokerClient.js';
import { Latency, fmt, parseFlag, table, throughput } from './lib/report.js';

const BODY_SIZE = 100;
const QUEUES = 4;
/** Concurrent receive + ack loops per consuming client, each asking for up to 32 messages. */
const RECEIVE_LOOPS = 4;
const RECEIVE_BATCH = 32;

/**
 * The official clients log through this instead of their default egg-logger, which would write
 * files under ~/logs/rocketmq and keep a flush timer running after shutdown. Only push consumers
 * create that logger regardless, and none is used here.
 */
const quietLogger = { info: (): void => undefined, warn: (): void => undefined, error: (): void => undefined, debug: (): void => undefined };

const nowMs = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh 100-byte body carrying the wall-clock send time in its first 8 bytes. */
function stampedBody(): Buffer {
  const body = Buffer.alloc(BODY_SIZE);
  body.writeDoubleBE(nowMs(), 0);
  return body;
}

const stampOf = (body: Uint8Array): number => Buffer.from(body.buffer, body.byteOffset, body.byteLength).readDoubleBE(0);

/** One way to send a message to a topic, as a client under test does it. */
interface Sender {
  readonly name: string;
  send(topic: string, body: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** One way to drain a topic's backlog: returns after `want` messages were received and acked. */
interface Drainer {
  readonly name: string;
  /** Starts consuming; `onMessage` gets each message's body as it arrives (acked after). */
  run(onMessage: (body: Uint8Array) => void, done: () => boolean): Promise<void>;
  close(): Promise<void>;
}

async function officialSender(address: string, topics: string[]): Promise<Sender> {
  const producer = new OfficialProducer({ endpoints: address, namespace: '', logger: quietLogger, topic: topics, maxAttempts: 1 });
  await producer.startup();
  return {
    name: 'official Producer (gRPC)',
    send: async (topic, body) => {
      await producer.send({ topic, body });
    },
    close: () => producer.shutdown(),
  };
}

async function ownSender(address: string, topics: string[]): Promise<Sender> {
  const client = new GrpcBrokerClient({ endpoint: address, clientType: 'PRODUCER', topics });
  await client.start();
  return {
    name: 'GrpcBrokerClient (gRPC)',
    send: async (topic, body) => {
      await client.send({ topic, body });
    },
    close: () => client.close(),
  };
}

async function embeddedSender(broker: Broker): Promise<Sender> {
  const producer = new Producer({ groupName: 'bench-grpc-embedded', broker });
  await producer.start();
  return {
    name: 'embedded Producer (baseline)',
    send: async (topic, body) => {
      await producer.send({ topic, body });
    },
    close: () => producer.shutdown(),
  };
}

/** `loops` async tasks, each repeating `step` until `done()`. */
async function loops(count: number, step: () => Promise<void>, done: () => boolean): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (!done()) await step();
    }),
  );
}

async function officialDrainer(address: string, group: string, topic: string): Promise<Drainer> {
  const consumer = new OfficialSimpleConsumer({
    endpoints: address,
    namespace: '',
    logger: quietLogger,
    consumerGroup: group,
    subscriptions: new Map([[topic, '*']]),
    awaitDuration: 1000,
  });
  await consumer.startup();
  return {
    name: 'official SimpleConsumer (gRPC)',
    run: (onMessage, done) =>
      loops(
        RECEIVE_LOOPS,
        async () => {
          const got = await consumer.receive(RECEIVE_BATCH, 30_000);
          for (const m of got) onMessage(m.body);
          await Promise.all(got.map((m) => consumer.ack(m)));
        },
        done,
      ),
    close: () => consumer.shutdown(),
  };
}

async function ownDrainer(address: string, group: string, topic: string): Promise<Drainer> {
  const client = new GrpcBrokerClient({
    endpoint: address,
    clientType: 'SIMPLE_CONSUMER',
    group,
    subscriptions: [{ topic, filter: { type: 'TAG', expression: '*' } }],
  });
  await client.start();
  return {
    name: 'GrpcBrokerClient (gRPC)',
    run: (onMessage, done) =>
      loops(
        RECEIVE_LOOPS,
        async () => {
          const got = await client.receive({ topic, batchSize: RECEIVE_BATCH, invisibleMs: 30_000, longPollMs: 1000 });
          for (const m of got) onMessage(m.body);
          await Promise.all(got.map((m) => client.ack(topic, m)));
        },
        done,
      ),
    close: () => client.close(),
  };
}

/** The embedded PushConsumer: pulls on the broker's thread, listener called with batches. */
function embeddedDrainer(broker: Broker, group: string, topic: string): Drainer {
  let consumer: PushConsumer | undefined;
  return {
    name: 'embedded PushConsumer (baseline)',
    run: async (onMessage, done) => {
      const c = new PushConsumer({ groupName: group, broker, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullBatchSize: 32, consumeMessageBatchMaxSize: 32, pullLongPollMs: 1000 });
      consumer = c;
      c.subscribe(topic, '*');
      c.registerMessageListener((msgs) => {
        for (const m of msgs) onMessage(m.body);
        return 'CONSUME_SUCCESS';
      });
      await c.start();
      while (!done()) await sleep(2);
    },
    close: async () => {
      await consumer?.shutdown();
    },
  };
}

/** `total` sends to `topic` by `concurrency` senders, each waiting for its previous send. */
async function produceRun(sender: Sender, topic: string, total: number, concurrency: number): Promise<string[]> {
  const latency = new Latency();
  let next = 0;
  const started = performance.now();
  await loops(
    concurrency,
    async () => {
      next++;
      const body = Buffer.alloc(BODY_SIZE);
      const t0 = performance.now();
      await sender.send(topic, body);
      latency.recordMs(performance.now() - t0);
    },
    () => next >= total,
  );
  const rate = throughput(total, total * BODY_SIZE, performance.now() - started);
  return [sender.name, String(concurrency), String(total), fmt(rate.msgsPerSec), fmt(latency.percentileUs(50) / 1000, 2), fmt(latency.percentileUs(99) / 1000, 2)];
}

/** Fills `topic` with `count` 100-byte messages through the embedded producer, in batches. */
async function fillBacklog(broker: Broker, topic: string, count: number): Promise<void> {
  const producer = new Producer({ groupName: 'bench-grpc-backlog', broker });
  await producer.start();
  for (let i = 0; i < count; i += 64) {
    await producer.sendBatch(Array.from({ length: Math.min(64, count - i) }, () => ({ topic, body: Buffer.alloc(BODY_SIZE) })));
  }
  await producer.shutdown();
}

async function drainRun(drainer: Drainer, backlog: number): Promise<string[]> {
  let got = 0;
  const started = performance.now();
  await drainer.run(
    () => got++,
    () => got >= backlog,
  );
  const rate = throughput(got, got * BODY_SIZE, performance.now() - started);
  await drainer.close();
  return [drainer.name, String(backlog), fmt(rate.msgsPerSec)];
}

/** Sends at `rate` msgs/s for `seconds` while `drainer` consumes; latency from send to receipt. */
async function latencyRun(sender: Sender, drainer: Drainer, topic: string, rate: number, seconds: number): Promise<string[]> {
  const total = Math.round(rate * seconds);
  const latency = new Latency();
  let received = 0;
  let stopped = false;
  const consuming = drainer.run(
    (body) => {
      latency.recordMs(nowMs() - stampOf(body));
      received++;
    },
    () => received >= total || stopped,
  );
  const start = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    sends.push(sender.send(topic, stampedBody()));
  }
  await Promise.all(sends);
  const deadline = Date.now() + 10_000;
  while (received < total && Date.now() < deadline) await sleep(10);
  stopped = true;
  await consuming;
  await drainer.close();
  await sender.close();
  return [drainer.name, `${rate}/s`, `${received}/${total}`, fmt(latency.percentileUs(50) / 1000, 2), fmt(latency.percentileUs(99) / 1000, 2)];
}

export async function main(args: string[]): Promise<void> {
  const messages = parseFlag(args, 'messages', 20_000);
  const serial = parseFlag(args, 'serial', 2_000);
  const backlog = parseFlag(args, 'backlog', 20_000);
  const rate = parseFlag(args, 'rate', 500);
  const seconds = parseFlag(args, 'seconds', 4);
  const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`grpc: one broker (ASYNC_FLUSH), the endpoint actor on its own thread on 127.0.0.1; ${BODY_SIZE}-byte bodies; ${os.cpus().length} cores; load average ${load()}`);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'petrelmq-bench-grpc-'));
  const broker = await Broker.start({ storePathRootDir: dir, flushDiskType: 'ASYNC_FLUSH' });
  const grpc = await startGrpcEndpointActor(broker, { host: '127.0.0.1', port: 0 });
  try {
    const topics = ['ProduceOfficial', 'ProduceOwn', 'ProduceEmbedded', 'BacklogOfficial', 'BacklogOwn', 'BacklogEmbedded', 'LatencyOfficial', 'LatencyOwn', 'LatencyEmbedded'];
    for (const topic of topics) await broker.createTopic({ topic, readQueueNums: QUEUES, writeQueueNums: QUEUES });
    console.log(`endpoint ${grpc.address} on thread ${grpc.threadId ?? '-'}; topics of ${QUEUES} queues\n`);

    console.log(`produce: ${serial} sends from 1 sender, then ${messages} from 64 concurrent senders (each awaits its send)`);
    const produceRows: string[][] = [];
    const makers: [() => Promise<Sender>, string][] = [
      [() => officialSender(grpc.address, ['ProduceOfficial']), 'ProduceOfficial'],
      [() => ownSender(grpc.address, ['ProduceOwn']), 'ProduceOwn'],
      [() => embeddedSender(broker), 'ProduceEmbedded'],
    ];
    for (const [make, topic] of makers) {
      const sender = await make();
      // Warm-up: routes fetched, connections and JIT ready.
      for (let i = 0; i < 200; i++) await sender.send(topic, Buffer.alloc(BODY_SIZE));
      produceRows.push(await produceRun(sender, topic, serial, 1));
      produceRows.push(await produceRun(sender, topic, messages, 64));
      await sender.close();
    }
    table(['client', 'senders', 'messages', 'msgs/s', 'p50 ms', 'p99 ms'], produceRows);

    console.log(`\nconsume: draining a ${backlog}-message backlog; gRPC clients run ${RECEIVE_LOOPS} receive(${RECEIVE_BATCH}) + ack loops`);
    for (const topic of ['BacklogOfficial', 'BacklogOwn', 'BacklogEmbedded']) await fillBacklog(broker, topic, backlog);
    const consumeRows = [
      await drainRun(await officialDrainer(grpc.address, 'bench-official-drain', 'BacklogOfficial'), backlog),
      await drainRun(await ownDrainer(grpc.address, 'bench-own-drain', 'BacklogOwn'), backlog),
      await drainRun(embeddedDrainer(broker, 'bench-embedded-drain', 'BacklogEmbedded'), backlog),
    ];
    table(['client', 'backlog', 'msgs/s'], consumeRows);

    console.log(`\nproduce-to-consume latency: ${rate} msgs/s for ${seconds} s, consumers long-polling (send time in the body)`);
    const latencyRows = [
      await latencyRun(await officialSender(grpc.address, ['LatencyOfficial']), await officialDrainer(grpc.address, 'bench-official-lat', 'LatencyOfficial'), 'LatencyOfficial', rate, seconds),
      await latencyRun(await ownSender(grpc.address, ['LatencyOwn']), await ownDrainer(grpc.address, 'bench-own-lat', 'LatencyOwn'), 'LatencyOwn', rate, seconds),
      await latencyRun(await embeddedSender(broker), embeddedDrainer(broker, 'bench-embedded-lat', 'LatencyEmbedded'), 'LatencyEmbedded', rate, seconds),
    ];
    table(['consumer (and its kind of producer)', 'rate', 'received', 'p50 ms', 'p99 ms'], latencyRows);
    console.log(`\nload average after: ${load()}`);
  } finally {
    await grpc.stop();
    await broker.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}
