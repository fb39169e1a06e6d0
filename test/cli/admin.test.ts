import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { MessageExt } from '../../api/BrokerApi.js';
import { Producer } from '../../client/Producer.js';
import { PushConsumer } from '../../client/PushConsumer.js';
import { connectBrokerApi, type RemoteBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { body, until, untilQueued } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';
import { lines, readyString, runCli, startCli, type Finished } from './cliHarness.js';

async function brokerProcess(t: ExecutionContext): Promise<{ remoting: string; api: RemoteBrokerApi }> {
  const running = await startCli(t, ['start', '--store', tempDir(t), '--grpc-port', '0', '--remoting-port', '0', '--json', '--log-level', 'silent']);
  const remoting = readyString(running, 'remoting');
  const api = await connectBrokerApi(remoting);
  t.teardown(() => api.close());
  return { remoting, api };
}

function json<T>(r: Finished): T {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  const out = lines(r.stdout);
  if (out.length !== 1) throw new Error(`expected one JSON line, got: ${r.stdout}`);
  return JSON.parse(out[0] ?? '') as T;
}

async function sendAll(api: RemoteBrokerApi, topic: string, count: number): Promise<string[]> {
  const producer = new Producer({ groupName: 'cli_admin_producer', broker: api });
  await producer.start();
  const ids: string[] = [];
  try {
    for (let i = 0; i < count; i++) ids.push((await producer.send({ topic, keys: [`key-${i}`], tags: 'TagA', body: body(`body-${i}`) })).msgId);
  } finally {
    await producer.shutdown();
  }
  return ids;
}

test('admin - topic create, list and describe against a running broker', async (t) => {
  const { remoting, api } = await brokerProcess(t);
  const created = json<{ topic: { topic: string; readQueueNums: number; writeQueueNums: number; perm: number } }>(
    await runCli(['topic', 'create', 'AdminTopic', '--queues', '3', '--broker', remoting, '--json']),
  );
  t.like(created.topic, { topic: 'AdminTopic', readQueueNums: 3, writeQueueNums: 3, perm: 6 });

  const listed = json<{ topics: { topic: string }[] }>(await runCli(['topic', 'list', '--broker', remoting, '--json']));
  t.true(listed.topics.some((x) => x.topic === 'AdminTopic'));

  await sendAll(api, 'AdminTopic', 6);
  await untilQueued(api, 'AdminTopic', 6);
  const described = json<{ queues: { queueId: number; minOffset: number; maxOffset: number }[] }>(
    await runCli(['topic', 'describe', 'AdminTopic', '--broker', remoting, '--json']),
  );
  t.is(described.queues.length, 3);
  t.is(described.queues.reduce((a, q) => a + q.maxOffset - q.minOffset, 0), 6);

  const text = await runCli(['topic', 'describe', 'AdminTopic', '--broker', remoting]);
  t.is(text.code, 0);
  t.regex(text.stdout, /^topic\s+readQueues\s+writeQueues\s+perm\s+order\nAdminTopic\s+3\s+3\s+6 \(rw\)\s+no\n/);

  const missing = await runCli(['topic', 'describe', 'NoSuchTopic', '--broker', remoting]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^petrelmq: ERR_TOPIC_NOT_EXIST: /);
});

test('admin - message query by key, by id and by time range', async (t) => {
  const { remoting, api } = await brokerProcess(t);
  const before = Date.now() - 1;
  const ids = await sendAll(api, 'QueryTopic', 5);
  await untilQueued(api, 'QueryTopic', 5);
  const after = Date.now() + 1;

  const byKey = json<{ messages: { msgId: string; body: string; keys: string[] }[] }>(
    await runCli(['message', 'query', '--topic', 'QueryTopic', '--key', 'key-3', '--broker', remoting, '--json']),
  );
  t.deepEqual(byKey.messages.map((m) => [m.msgId, m.body]), [[ids[3], 'body-3']]);

  const byId = json<{ messages: { msgId: string; body: string }[] }>(await runCli(['message', 'query', '--id', ids[1] ?? '', '--broker', remoting, '--json']));
  t.deepEqual(byId.messages.map((m) => m.body), ['body-1']);

  const byTime = json<{ messages: { body: string }[] }>(
    await runCli(['message', 'query', '--topic', 'QueryTopic', '--begin', String(before), '--end', String(after), '--broker', remoting, '--json']),
  );
  t.deepEqual(byTime.messages.map((m) => m.body).sort(), ['body-0', 'body-1', 'body-2', 'body-3', 'body-4']);
  const none = json<{ messages: unknown[] }>(
    await runCli(['message', 'query', '--topic', 'QueryTopic', '--begin', String(after + 60_000), '--broker', remoting, '--json']),
  );
  t.deepEqual(none.messages, []);

  const needsMode = await runCli(['message', 'query', '--topic', 'QueryTopic', '--broker', remoting]);
  t.is(needsMode.code, 2);
  t.regex(needsMode.stderr, /^petrelmq: ERR_INVALID_ARGUMENT: message query needs --key, --id or --begin\n$/);
});

test('admin - consumer progress shows lag per queue, and offset reset moves it', async (t) => {
  const { remoting, api } = await brokerProcess(t);
  await api.createTopic({ topic: 'LagTopic', readQueueNums: 2, writeQueueNums: 2 });
  await sendAll(api, 'LagTopic', 4);
  await untilQueued(api, 'LagTopic', 4);
  // A group that consumes everything, so it has committed offsets at the end of each queue.
  const consumer = new PushConsumer({ groupName: 'cli_lag_group', broker: api, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 500 });
  let seen = 0;
  consumer.subscribe('LagTopic', '*');
  consumer.registerMessageListener((msgs: MessageExt[]) => {
    seen += msgs.length;
    return 'CONSUME_SUCCESS';
  });
  await consumer.start();
  await until(() => seen >= 4, 20_000, 'four messages consumed');
  await consumer.shutdown();

  type Progress = { group: string; totalLag: number; queues: { topic: string; queueId: number; lag: number; brokerOffset: number; consumerOffset: number }[] };
  const caughtUp = json<Progress>(await runCli(['consumer', 'progress', '--group', 'cli_lag_group', '--broker', remoting, '--json']));
  t.is(caughtUp.totalLag, 0);
  t.deepEqual(caughtUp.queues.filter((q) => q.topic === 'LagTopic').map((q) => q.queueId), [0, 1]);

  const resetAt = Date.now() - 1;
  await sendAll(api, 'LagTopic', 6);
  await untilQueued(api, 'LagTopic', 10);
  const behind = json<Progress>(await runCli(['consumer', 'progress', '--group', 'cli_lag_group', '--broker', remoting, '--json']));
  t.is(behind.totalLag, 6);
  for (const q of behind.queues) t.is(q.lag, q.brokerOffset - q.consumerOffset);

  const table = await runCli(['consumer', 'progress', '--group', 'cli_lag_group', '--broker', remoting]);
  t.regex(table.stdout, /^topic\s+queue\s+brokerOffset\s+consumerOffset\s+lag\n/);
  t.regex(table.stdout, /total lag: 6\n$/);

  json(await runCli(['offset', 'reset', '--group', 'cli_lag_group', '--topic', 'LagTopic', '--latest', '--broker', remoting, '--json']));
  t.is(json<Progress>(await runCli(['consumer', 'progress', '--group', 'cli_lag_group', '--broker', remoting, '--json'])).totalLag, 0);

  json(await runCli(['offset', 'reset', '--group', 'cli_lag_group', '--topic', 'LagTopic', '--timestamp', String(resetAt), '--broker', remoting, '--json']));
  t.is(json<Progress>(await runCli(['consumer', 'progress', '--group', 'cli_lag_group', '--broker', remoting, '--json'])).totalLag, 6);

  const neither = await runCli(['offset', 'reset', '--group', 'cli_lag_group', '--topic', 'LagTopic', '--broker', remoting]);
  t.is(neither.code, 2);
  t.is(lines(neither.stderr).length, 1);
});

test('admin - offset reset prints old -> new per queue, refuses a group the broker does not know, and --create resets it anyway', async (t) => {
  const { remoting, api } = await brokerProcess(t);
  await api.createTopic({ topic: 'ResetCli', readQueueNums: 2, writeQueueNums: 2 });
  await sendAll(api, 'ResetCli', 6);
  await untilQueued(api, 'ResetCli', 6);
  const max = [await api.maxOffset('ResetCli', 0), await api.maxOffset('ResetCli', 1)];
  await api.commitOffset('cli_reset_group', 'ResetCli', 0, 1);
  await api.commitOffset('cli_reset_group', 'ResetCli', 1, 1);

  const text = await runCli(['offset', 'reset', '--group', 'cli_reset_group', '--topic', 'ResetCli', '--latest', '--broker', remoting]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`^reset cli_reset_group on ResetCli to latest \\(reset epoch \\d+\\)\\nbroker\\s+queue\\s+old -> new\\nbroker-a\\s+0\\s+1 -> ${max[0]}\\nbroker-a\\s+1\\s+1 -> ${max[1]}\\n$`));
  t.deepEqual([await api.queryOffset('cli_reset_group', 'ResetCli', 0), await api.queryOffset('cli_reset_group', 'ResetCli', 1)], max);

  type Reset = { group: string; topic: string; epoch: number; groupCreated: boolean; reset: string; queues: { brokerName: string; queueId: number; oldOffset: number; newOffset: number }[] };
  const one = json<Reset>(await runCli(['offset', 'reset', '--group', 'cli_reset_group', '--topic', 'ResetCli', '--offset', '0', '--queue', '1', '--broker', remoting, '--json']));
  t.like(one, { group: 'cli_reset_group', topic: 'ResetCli', groupCreated: false, reset: 'offset 0' });
  t.deepEqual(one.queues, [{ brokerName: 'broker-a', queueId: 1, oldOffset: max[1], newOffset: 0 }]);
  t.is(await api.queryOffset('cli_reset_group', 'ResetCli', 0), max[0] ?? -1);

  const unknown = await runCli(['offset', 'reset', '--group', 'cli_nobody', '--topic', 'ResetCli', '--earliest', '--broker', remoting]);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /^petrelmq: ERR_GROUP_NOT_EXIST: consumer group cli_nobody does not exist on broker broker-a .*\n$/);
  t.is(await api.queryOffset('cli_nobody', 'ResetCli', 0), -1, 'nothing was reset');
  t.is(await api.getSubscriptionGroup('cli_nobody'), undefined);

  const created = json<Reset>(await runCli(['offset', 'reset', '--group', 'cli_nobody', '--topic', 'ResetCli', '--earliest', '--create', '--broker', remoting, '--json']));
  t.true(created.groupCreated);
  t.deepEqual(created.queues.map((q) => [q.queueId, q.oldOffset, q.newOffset]), [[0, -1, 0], [1, -1, 0]]);
  t.is((await api.getSubscriptionGroup('cli_nobody'))?.groupName, 'cli_nobody');

  const two = await runCli(['offset', 'reset', '--group', 'cli_reset_group', '--topic', 'ResetCli', '--latest', '--earliest', '--broker', remoting]);
  t.is(two.code, 2);
  t.is(lines(two.stderr).length, 1);
});

test('admin - an offset reset from the command line sticks while the group consumes over the network', async (t) => {
  const { remoting, api } = await brokerProcess(t);
  await api.createTopic({ topic: 'ResetLive', readQueueNums: 2, writeQueueNums: 2 });
  await sendAll(api, 'ResetLive', 200);
  await untilQueued(api, 'ResetLive', 200);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let firstCall!: () => void;
  const started = new Promise<void>((resolve) => (firstCall = resolve));
  let calls = 0;
  const consumer = new PushConsumer({
    groupName: 'cli_live_group', broker: api, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 15_000,
    pullBatchSize: 4, pullThresholdForQueue: 4, consumeThreadMax: 1, consumeMessageBatchMaxSize: 1,
  });
  t.teardown(() => consumer.shutdown());
  consumer.subscribe('ResetLive', '*');
  consumer.registerMessageListener(async () => {
    calls += 1;
    if (calls === 1) {
      firstCall();
      await gate;
    }
    return 'CONSUME_SUCCESS' as const;
  });
  await consumer.start();
  await started;
  const max = [await api.maxOffset('ResetLive', 0), await api.maxOffset('ResetLive', 1)];
  let reset: Finished;
  try {
    reset = await runCli(['offset', 'reset', '--group', 'cli_live_group', '--topic', 'ResetLive', '--latest', '--broker', remoting, '--json']);
  } finally {
    // the listener goes on whatever happened, so the consumer can stop
    release();
  }
  await consumer.shutdown();
  t.deepEqual([await api.queryOffset('cli_live_group', 'ResetLive', 0), await api.queryOffset('cli_live_group', 'ResetLive', 1)], max, 'the reset stuck');
  t.deepEqual(json<{ queues?: { newOffset: number }[] }>(reset).queues?.map((q) => q.newOffset), max);
});
