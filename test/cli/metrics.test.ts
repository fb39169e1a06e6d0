import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MessageExt } from '../../api/BrokerApi.js';
import { Producer } from '../../client/Producer.js';
import { PushConsumer } from '../../client/PushConsumer.js';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { METRIC_NAMES } from '../../cli/metrics.js';
import { body, until, untilQueued } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';
import { Broker } from '../../actors/Broker.js';
import { Position } from '../../actors/BrokerPositions.js';
import { commitLogFileAt, flipBytes, pullEverything, recordsHit, sendNumbered } from '../helpers/damage.js';
import { readyString, startCli } from './cliHarness.js';

/** The value of the first sample line `name{...labels...} value` whose labels include `having`. */
function sample(text: string, name: string, having = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(having)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('metrics - off unless --metrics-port; then /metrics serves every named metric with live values', async (t) => {
  const plain = await startCli(t, ['start', '--store', tempDir(t), '--grpc-port', '0', '--remoting-port', '0', '--json', '--log-level', 'silent']);
  t.is(plain.ready['metrics'], null);
  t.is((await plain.stop()).code, 0);

  const running = await startCli(t, ['start', '--store', tempDir(t), '--grpc-port', '0', '--remoting-port', '0', '--metrics-port', '0', '--json', '--log-level', 'silent']);
  const url = readyString(running, 'metrics');
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

  const api = await connectBrokerApi(readyString(running, 'remoting'));
  t.teardown(() => api.close());
  await api.createTopic({ topic: 'MetricsTopic', readQueueNums: 2, writeQueueNums: 2 });
  const producer = new Producer({ groupName: 'cli_metrics_producer', broker: api });
  await producer.start();
  for (let i = 0; i < 40; i++) await producer.send({ topic: 'MetricsTopic', body: body(`m${i}`) });
  // A group that consumes 40 and commits, then falls 10 behind.
  const consumer = new PushConsumer({ groupName: 'cli_metrics_group', broker: api, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 500 });
  let seen = 0;
  consumer.subscribe('MetricsTopic', '*');
  consumer.registerMessageListener((msgs: MessageExt[]) => {
    seen += msgs.length;
    return 'CONSUME_SUCCESS';
  });
  await consumer.start();
  await until(() => seen >= 40, 20_000, '40 messages consumed');
  await consumer.shutdown();
  for (let i = 0; i < 10; i++) await producer.send({ topic: 'MetricsTopic', body: body(`late${i}`) });
  await producer.shutdown();
  await untilQueued(api, 'MetricsTopic', 50);

  let text = '';
  // ASYNC_FLUSH flushes every 500 ms: wait until a flush has been taken into the histogram.
  await until(
    async () => {
      const res = await fetch(url);
      t.is(res.status, 200);
      t.regex(res.headers.get('content-type') ?? '', /^text\/plain/);
      text = await res.text();
      return (sample(text, `${METRIC_NAMES.flushLatency}_count`) ?? 0) > 0;
    },
    15_000,
    'a flush in the flush latency histogram',
  );
  for (const name of Object.values(METRIC_NAMES)) t.regex(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  t.true((sample(text, METRIC_NAMES.putMessages) ?? 0) >= 50);
  t.true((sample(text, METRIC_NAMES.putBytes) ?? 0) >= 50 * 100);
  t.true((sample(text, `${METRIC_NAMES.putLatency}_count`) ?? 0) > 0);
  t.is(sample(text, METRIC_NAMES.dispatchLag), 0);
  const lag = [0, 1].map((q) => sample(text, METRIC_NAMES.consumerLag, `group="cli_metrics_group",topic="MetricsTopic",queue="${q}"`) ?? Number.NaN);
  t.is(lag.reduce((a, b) => a + b, 0), 10);
  t.regex(text, /broker="broker-a"/);

  t.is((await fetch(url.replace('/metrics', '/other'))).status, 404);
  t.is((await running.stop()).code, 0);
});

test('metrics - a SYNC_MASTER with a slave process reports replication latency, lag and connected slaves', async (t) => {
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'master.conf'), 'brokerRole=SYNC_MASTER\nhaListenPort=0\n');
  const master = await startCli(t, [
    'start', '--conf', path.join(dir, 'master.conf'), '--store', path.join(dir, 'master'), '--grpc-port', '0', '--remoting-port', '0', '--metrics-port', '0', '--json', '--log-level', 'silent',
  ]);
  writeFileSync(path.join(dir, 'slave.conf'), `brokerRole=SLAVE\nbrokerId=1\nhaMasterAddress=${readyString(master, 'ha')}\n`);
  const slave = await startCli(t, ['start', '--conf', path.join(dir, 'slave.conf'), '--store', path.join(dir, 'slave'), '--grpc-port', '0', '--remoting-port', '0', '--json', '--log-level', 'info']);
  const url = readyString(master, 'metrics');
  let text = '';
  await until(async () => {
    text = await (await fetch(url)).text();
    return sample(text, METRIC_NAMES.replicationSlaves) === 1;
  }, 20_000, 'the slave connected');

  const api = await connectBrokerApi(readyString(master, 'remoting'));
  t.teardown(() => api.close());
  const producer = new Producer({ groupName: 'cli_ha_producer', broker: api });
  await producer.start();
  for (let i = 0; i < 20; i++) t.is((await producer.send({ topic: 'HaTopic', body: body(`m${i}`) })).sendStatus, 'SEND_OK');
  await producer.shutdown();

  text = await (await fetch(url)).text();
  t.is(sample(text, `${METRIC_NAMES.replicationLatency}_count`, 'status="SEND_OK"'), 20);
  t.true((sample(text, METRIC_NAMES.replicationAckLatency, 'quantile="0.5"') ?? -1) >= 0);
  await until(async () => sample(await (await fetch(url)).text(), METRIC_NAMES.replicationLag) === 0, 20_000, 'the slave caught up');
  // the replication actor logs on its own worker thread; its records reach the slave's log
  const connected = slave.stderr().split('\n').filter((l) => l.includes('connected to the master'));
  t.is(connected.length >= 1, true, slave.stderr());
  t.like(JSON.parse(connected[0] ?? '{}'), { level: 30, actor: 'replication', master: readyString(master, 'ha') });
  t.is((await slave.stop()).code, 0);
  t.is((await master.stop()).code, 0);
});

test('metrics - store damage found at start and by reads is on /metrics and logged at error level', async (t) => {
  t.timeout(120_000);
  const store = tempDir(t);
  // A store with 2,000 messages, stopped cleanly, then 64 bytes flipped between two records.
  const broker = await Broker.start({ storePathRootDir: store, flushDiskType: 'SYNC_FLUSH' });
  await broker.createTopic({ topic: 'Hurt', readQueueNums: 2, writeQueueNums: 2 });
  const sent = await sendNumbered(broker, 'Hurt', 2_000);
  const end = broker.positions.get(Position.WROTE);
  await broker.shutdown();
  const middle = [...sent].sort((a, b) => a.result.commitLogOffset - b.result.commitLogOffset)[1000]?.result.commitLogOffset ?? 0;
  const { file, position } = commitLogFileAt(store, 1024 * 1024 * 1024, middle - 32);
  flipBytes(file, position, 64);
  const hit = recordsHit(sent, middle - 32, 64, end);
  t.is(hit.length, 2);

  const running = await startCli(t, ['start', '--store', store, '--grpc-port', '0', '--remoting-port', '0', '--metrics-port', '0', '--json', '--log-level', 'error']);
  const url = readyString(running, 'metrics');
  let text = await (await fetch(url)).text();
  t.is(sample(text, METRIC_NAMES.corruptRanges, 'found="recovery"'), 1);
  const bytes = sample(text, METRIC_NAMES.corruptBytes, 'found="recovery"') ?? 0;
  t.true(bytes > 64, `${bytes} bytes: the two records hit`);
  t.is(sample(text, METRIC_NAMES.corruptRanges, 'found="read"'), 0);
  const errors = running.stderr().split('\n').filter((l) => l.includes('"level":50'));
  t.true(errors.some((l) => l.includes('CommitLog damage found at recovery') && l.includes('"ranges":1')), running.stderr());
  t.true(errors.some((l) => l.includes('store damage') && l.includes('"kept":true')), running.stderr());

  const api = await connectBrokerApi(readyString(running, 'remoting'));
  t.teardown(() => api.close());
  t.is((await pullEverything(api, 'Hurt')).length, sent.length - hit.length);
  text = await (await fetch(url)).text();
  t.is(sample(text, METRIC_NAMES.corruptRanges, 'found="read"'), 2);
  t.is(sample(text, METRIC_NAMES.corruptBytes, 'found="read"'), bytes);
  t.is((await running.stop()).code, 0);
});
