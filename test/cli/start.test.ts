import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Producer as OfficialProducer } from 'rocketmq-client-nodejs';
import type { MessageExt } from '../../api/BrokerApi.js';
import { Producer } from '../../client/Producer.js';
import { PushConsumer } from '../../client/PushConsumer.js';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { body, text, until } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';
import { lines, readyString, runCli, startCli } from './cliHarness.js';

const quietLogger = { info: (): void => undefined, warn: (): void => undefined, error: (): void => undefined, debug: (): void => undefined };

const FREE_PORTS = ['--grpc-port', '0', '--remoting-port', '0'];

test('start - one JSON ready line; clients send over gRPC and remoting; SIGTERM exits 0; a second start recovers every message', async (t) => {
  const store = tempDir(t);
  const first = await startCli(t, ['start', '--store', store, ...FREE_PORTS, '--json']);
  t.is(first.ready['ready'], true);
  t.is(first.ready['store'], store);
  t.regex(readyString(first, 'grpc'), /^127\.0\.0\.1:\d+$/);
  const remoting = readyString(first, 'remoting');
  t.true(existsSync(path.join(store, 'abort')), 'a running broker holds its abort file');

  // The official RocketMQ 5 client over gRPC...
  const official = new OfficialProducer({ endpoints: readyString(first, 'grpc'), namespace: '', logger: quietLogger, topic: 'CliOrders' });
  await official.startup();
  for (let i = 0; i < 10; i++) await official.send({ topic: 'CliOrders', keys: [`k${i}`], body: Buffer.from(`m${i}`) });
  await official.shutdown();
  // ...and petrelmq's own Producer over the remoting transport.
  const api = await connectBrokerApi(remoting);
  const producer = new Producer({ groupName: 'cli_test_producer', broker: api });
  await producer.start();
  for (let i = 10; i < 20; i++) t.is((await producer.send({ topic: 'CliOrders', keys: [`k${i}`], body: body(`m${i}`) })).sendStatus, 'SEND_OK');
  await producer.shutdown();
  api.close();

  const stopped = await first.stop('SIGTERM');
  t.is(stopped.code, 0, stopped.stderr);
  t.is(lines(stopped.stdout).length, 1, 'stdout holds the ready line only');
  t.false(existsSync(path.join(store, 'abort')), 'a clean stop removes the abort file');

  const second = await startCli(t, ['start', '--store', store, ...FREE_PORTS, '--json']);
  const api2 = await connectBrokerApi(readyString(second, 'remoting'));
  const consumer = new PushConsumer({ groupName: 'cli_test_group', broker: api2, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 500 });
  const got = new Set<string>();
  consumer.subscribe('CliOrders', '*');
  consumer.registerMessageListener((msgs: MessageExt[]) => {
    for (const m of msgs) got.add(text(m.body));
    return 'CONSUME_SUCCESS';
  });
  await consumer.start();
  try {
    await until(() => got.size >= 20, 20_000, 'all 20 messages after the restart');
  } finally {
    await consumer.shutdown();
    api2.close();
  }
  t.deepEqual([...got].sort(), Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
  const again = await second.stop('SIGINT');
  t.is(again.code, 0, again.stderr);
});

test('start - a plain ready line names the addresses and the logs go to stderr', async (t) => {
  const store = tempDir(t);
  const child = await startCli(t, ['start', '--store', store, ...FREE_PORTS]);
  t.regex(child.readyLine, /^petrelmq broker broker-a ready: grpc 127\.0\.0\.1:\d+, remoting 127\.0\.0\.1:\d+, store .+, pid \d+$/);
  const done = await child.stop();
  t.is(done.code, 0);
  t.regex(done.stderr, /"msg":"broker stopped cleanly"/);
});

test('start - a store another broker holds fails with one ERR_STORE_LOCKED line and exit 1', async (t) => {
  const store = tempDir(t);
  const first = await startCli(t, ['start', '--store', store, ...FREE_PORTS, '--json', '--log-level', 'silent']);
  const second = await runCli(['start', '--store', store, ...FREE_PORTS, '--log-level', 'silent']);
  t.is(second.code, 1);
  t.is(second.stdout, '');
  t.is(lines(second.stderr).length, 1, second.stderr);
  t.regex(second.stderr, /^petrelmq: ERR_STORE_LOCKED: /);
  t.is((await first.stop()).code, 0);
});

test('start - an unknown broker.conf key fails with ERR_CONFIG_INVALID; a valid one is used', async (t) => {
  const dir = tempDir(t);
  const bad = path.join(dir, 'bad.conf');
  writeFileSync(bad, 'brokerName=broker-x\nnoSuchKey=1\n');
  const r = await runCli(['start', '--conf', bad, '--store', path.join(dir, 'store'), ...FREE_PORTS, '--json']);
  t.is(r.code, 2);
  t.is(lines(r.stderr).length, 1, r.stderr);
  const err = JSON.parse(r.stderr) as { error: { code: string; message: string } };
  t.is(err.error.code, 'ERR_CONFIG_INVALID');
  t.regex(err.error.message, /noSuchKey/);

  const good = path.join(dir, 'good.conf');
  writeFileSync(good, `brokerName=broker-x\nflushDiskType=SYNC_FLUSH\nstorePathRootDir=${path.join(dir, 'from-conf')}\n`);
  const running = await startCli(t, ['start', '--conf', good, ...FREE_PORTS, '--json', '--log-level', 'silent']);
  t.is(running.ready['broker'], 'broker-x');
  t.is(running.ready['store'], path.join(dir, 'from-conf'));
  t.is((await running.stop()).code, 0);
});

test('start - a port in use is one ERR_CONFIG_INVALID line, and the store is released', async (t) => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => busy.close(() => resolve())));
  const port = String((busy.address() as net.AddressInfo).port);
  const store = tempDir(t);
  for (const flag of ['--grpc-port', '--remoting-port', '--metrics-port']) {
    const ports = { '--grpc-port': '0', '--remoting-port': '0', [flag]: port };
    const r = await runCli(['start', '--store', store, ...Object.entries(ports).flat()]);
    t.is(r.code, 2, flag);
    t.is(r.stdout, '');
    t.is(lines(r.stderr).length, 1, `${flag}: ${r.stderr}`);
    t.regex(r.stderr, /^petrelmq: ERR_CONFIG_INVALID: .*EADDRINUSE/, flag);
    t.false(existsSync(path.join(store, 'abort')), `${flag}: the broker shut down cleanly`);
  }
});
