import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { threadId } from 'node:worker_threads';
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { isPetrelError } from '../../common/errors.js';
import { startGrpcEndpointActor, type EndpointThread } from '../../protocol/EndpointThread.js';
import { GrpcBrokerClient } from '../../protocol/GrpcBrokerClient.js';
import { startBroker, untilQueued } from '../helpers/broker.js';
import { FAST, closeAfter, quietLogger, repeatUntil, sleep } from './harness.js';
import { nextEvent } from '../runtime/fixtures/wait.js';
import { CHANNELS } from '../../common/diagnostics.js';

async function endpointOnThread(t: Parameters<typeof closeAfter>[0]): Promise<{ grpc: EndpointThread; broker: Awaited<ReturnType<typeof startBroker>> }> {
  const broker = await startBroker(t, { enablePropertyFilter: true });
  const grpc = await startGrpcEndpointActor(broker, FAST);
  // Registered after the broker's teardown, so it runs first.
  t.teardown(() => grpc.stop());
  return { grpc, broker };
}

test('endpoint actor - serves the official Producer and SimpleConsumer from a thread of its own', async (t) => {
  const { grpc } = await endpointOnThread(t);
  t.regex(grpc.address, /^127\.0\.0\.1:\d+$/);
  t.not(grpc.threadId, undefined);
  t.not(grpc.threadId, threadId);

  const producer = new Producer({ endpoints: grpc.address, namespace: '', logger: quietLogger, topic: 'ActorTopic' });
  closeAfter(t, producer);
  await producer.startup();
  const sent = new Map<string, string>();
  for (let i = 0; i < 20; i++) {
    const receipt = await producer.send({ topic: 'ActorTopic', tag: i % 2 === 0 ? 'even' : 'odd', keys: [`k${i}`], body: Buffer.from(`m${i}`) });
    sent.set(receipt.messageId, `m${i}`);
  }
  const consumer = new SimpleConsumer({
    endpoints: grpc.address,
    namespace: '',
    logger: quietLogger,
    consumerGroup: 'g-actor',
    subscriptions: new Map([['ActorTopic', 'even']]),
    awaitDuration: 1000,
  });
  closeAfter(t, consumer);
  await consumer.startup();
  const received = new Map<string, string>();
  await repeatUntil(
    async () => {
      for (const m of await consumer.receive(16, 10_000)) {
        t.is(m.tag, 'even');
        received.set(m.messageId, m.body.toString());
        await consumer.ack(m);
      }
    },
    () => received.size >= 10,
    20_000,
    'the 10 even messages',
  );
  t.deepEqual([...received].sort(), [...sent].filter(([, body]) => Number(body.slice(1)) % 2 === 0).sort());
  // Acknowledged: nothing comes back after the invisible time would have passed.
  await sleep(700);
  t.deepEqual(await consumer.receive(16, 10_000), []);
});

test('endpoint actor - stop ends its thread and closes its port', async (t) => {
  const { grpc } = await endpointOnThread(t);
  const client = new GrpcBrokerClient({ endpoint: grpc.address, clientType: 'PRODUCER', requestTimeoutMs: 1000 });
  await client.start();
  await client.send({ topic: 'ActorStop', body: Buffer.from('before stop') });
  await client.close();
  await grpc.stop();
  t.is(grpc.threadId, undefined);
  const late = new GrpcBrokerClient({ endpoint: grpc.address, clientType: 'PRODUCER', requestTimeoutMs: 1000 });
  t.teardown(() => late.close().catch(() => undefined));
  await t.throwsAsync(late.start());
  await grpc.stop();
});

test('endpoint actor - a port already taken fails the start with ERR_CONFIG_INVALID', async (t) => {
  const { grpc, broker } = await endpointOnThread(t);
  const port = Number(grpc.address.split(':')[1]);
  const err = await t.throwsAsync(startGrpcEndpointActor(broker, { ...FAST, port }));
  t.true(isPetrelError(err, 'ERR_CONFIG_INVALID'), String(err));
});

const child = fileURLToPath(new URL('./fixtures/endpointActorChild.js', import.meta.url));

test('endpoint actor - after stop no thread is left: the process exits on its own', async (t) => {
  const proc = spawn(process.execPath, [child], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve('still running');
    }, 60_000);
    proc.once('exit', (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? String(signal));
    });
  });
  t.is(code, 0, err);
  const seen = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  t.like(seen, { onOtherThread: true, sameId: true, received: 'hello', threadAfterStop: null });
});

for (const kind of ['exit', 'throw'] as const) {
  test(`endpoint actor - after a crash (${kind}) it is restarted on the same address and serves again`, async (t) => {
    const { grpc, broker } = await endpointOnThread(t);
    const before = grpc.threadId;
    const first = new GrpcBrokerClient({ endpoint: grpc.address, clientType: 'PRODUCER', requestTimeoutMs: 2000 });
    await first.start();
    await first.send({ topic: 'ActorCrash', body: Buffer.from('before the crash') });
    await first.close();

    // the restarted endpoint's "listening" record, forwarded from its thread, must name the same
    // address (other tests' endpoints log too, so only this address counts)
    const listening = nextEvent(CHANNELS.log, (r) => r['msg'] === 'grpc endpoint listening' && r['bind'] === grpc.address, 20_000);
    grpc.injectFault(kind);
    const record = await listening;
    t.is(record['actor'], 'grpc-endpoint');
    t.is(grpc.restarts, 1);
    if (kind === 'exit') t.not(grpc.threadId, before, 'a new thread');
    else t.is(grpc.threadId, before, 'restarted in place');

    // the same address serves a new client once the restarted endpoint has bound it again
    let sent = false;
    let lastError = '';
    await repeatUntil(
      async () => {
        const again = new GrpcBrokerClient({ endpoint: grpc.address, clientType: 'PRODUCER', requestTimeoutMs: 2000 });
        try {
          await again.start();
          await again.send({ topic: 'ActorCrash', body: Buffer.from('after the crash') });
          sent = true;
        } catch (err) {
          lastError = String(err);
          await sleep(50); // not bound again yet
        } finally {
          await again.close().catch(() => undefined);
        }
      },
      () => sent,
      20_000,
      'a send through the restarted endpoint',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}; restarts ${grpc.restarts}, thread ${String(grpc.threadId)}, last error: ${lastError}`);
    });
    // both messages are stored: the one sent before the crash and the one after
    await untilQueued(broker, 'ActorCrash', 2);
    const bodies = new Set<string>();
    const queues = (await broker.getTopic('ActorCrash'))?.readQueueNums ?? 0;
    for (let queueId = 0; queueId < queues; queueId++) {
      const r = await broker.pull({ group: 'audit', topic: 'ActorCrash', queueId, offset: 0, maxMsgNums: 32 });
      for (const m of r.messages) bodies.add(Buffer.from(m.body).toString());
    }
    t.deepEqual([...bodies].sort(), ['after the crash', 'before the crash']);
  });
}
