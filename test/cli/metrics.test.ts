import test from 'ava';
import type { MessageExt } from '../../actors/BrokerApi.js';
import { Producer } from '../../client/Producer.js';
import { PushConsumer } from '../../client/PushConsumer.js';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { METRIC_NAMES } from '../../cli/metrics.js';
import { body, until } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';
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
