/**
 * `petrelmq group ...` against `petrelmq start` (default store configuration): a group declared
 * FIFO through the command is consumed in order by the official RocketMQ 5 push consumer, a
 * failed message coming back before the next one; the table survives a restart; bad input is
 * refused with typed codes.
 */
import test from 'ava';
import { ConsumeResult, Producer as OfficialProducer, PushConsumer as OfficialPushConsumer, type MessageView } from 'rocketmq-client-nodejs';
import { tempDir } from '../helpers/tmp.js';
// The harness also unrefs the official push consumer's logger timers, so the test process can exit.
import { quietLogger } from '../protocol/harness.js';
import { until } from '../helpers/broker.js';
import { readyString, runCli, startCli } from './cliHarness.js';

const FREE_PORTS = ['--grpc-port', '0', '--remoting-port', '0'];

function errorOf(stderr: string): { code: string; message: string } {
  return (JSON.parse(stderr.trim()) as { error: { code: string; message: string } }).error;
}

test('group - a group declared FIFO with `group create --fifo` gets f-3 again before f-4 from the official push consumer', async (t) => {
  t.timeout(90_000);
  const broker = await startCli(t, ['start', '--store', tempDir(t), ...FREE_PORTS, '--json']);
  const remoting = readyString(broker, 'remoting');
  const grpc = readyString(broker, 'grpc');
  const created = await runCli(['group', 'create', 'g-orders', '--fifo', '--broker', remoting, '--json']);
  t.is(created.code, 0, created.stderr);
  t.like((JSON.parse(created.stdout) as { group: unknown }).group, { groupName: 'g-orders', consumeMessageOrderly: true, retryMaxTimes: 16 });

  const producer = new OfficialProducer({ endpoints: grpc, namespace: '', logger: quietLogger, topic: 'FifoOrders' });
  await producer.startup();
  t.teardown(() => producer.shutdown().catch(() => undefined));
  for (let i = 0; i < 8; i++) await producer.send({ topic: 'FifoOrders', messageGroup: 'order-1', body: Buffer.from(`f-${i}`) });

  const deliveries: string[] = [];
  let failed = false;
  const consumer = new OfficialPushConsumer({
    endpoints: grpc,
    namespace: '',
    logger: quietLogger,
    consumerGroup: 'g-orders',
    subscriptions: new Map([['FifoOrders', '*']]),
    messageListener: {
      consume: async (m: MessageView) => {
        const b = m.body.toString();
        deliveries.push(b);
        if (b === 'f-3' && !failed) {
          failed = true;
          return ConsumeResult.FAILURE;
        }
        return ConsumeResult.SUCCESS;
      },
    },
  });
  t.teardown(() => consumer.shutdown().catch(() => undefined));
  await consumer.startup();
  await until(() => deliveries.includes('f-7'), 60_000, 'f-7 consumed');
  t.deepEqual(deliveries.slice(0, 9), ['f-0', 'f-1', 'f-2', 'f-3', 'f-3', 'f-4', 'f-5', 'f-6', 'f-7'], 'f-3 delivered again before f-4');
  // The official clients end before the broker does: a broker killed under their streams makes them throw.
  await consumer.shutdown();
  await producer.shutdown();
  const stopped = await broker.stop('SIGTERM');
  t.is(stopped.code, 0, stopped.stderr);
});

test('group - the table survives a restart; bad names and values are refused with typed codes', async (t) => {
  t.timeout(60_000);
  const store = tempDir(t);
  const first = await startCli(t, ['start', '--store', store, ...FREE_PORTS, '--json']);
  let remoting = readyString(first, 'remoting');
  const cli = (...args: string[]) => runCli([...args, '--broker', remoting, '--json']);

  t.is((await cli('group', 'create', 'g-kept', '--fifo', '--retry-max-times', '3', '--consume-enable', 'false')).code, 0);
  const badName = await cli('group', 'create', 'bad/name');
  t.is(badName.code, 1);
  t.is(errorOf(badName.stderr).code, 'ERR_GROUP_INVALID');
  const badRange = await cli('group', 'create', 'g-bad', '--retry-max-times', '-1');
  t.is(badRange.code, 2);
  t.is(errorOf(badRange.stderr).code, 'ERR_CONFIG_INVALID');
  const badQueues = await cli('group', 'create', 'g-bad', '--retry-queue-nums', '0');
  t.is(errorOf(badQueues.stderr).code, 'ERR_CONFIG_INVALID');
  const badBool = await cli('group', 'create', 'g-bad', '--consume-enable', 'maybe');
  t.is(errorOf(badBool.stderr).code, 'ERR_INVALID_ARGUMENT');
  t.is(errorOf((await cli('group', 'create', 'g-kept')).stderr).code, 'ERR_INVALID_ARGUMENT', 'create refuses a declared group');
  t.is(errorOf((await cli('group', 'update', 'g-none', '--fifo')).stderr).code, 'ERR_INVALID_ARGUMENT', 'update refuses an undeclared group');
  t.is(errorOf((await cli('group', 'describe', 'g-bad')).stderr).code, 'ERR_INVALID_ARGUMENT', 'nothing refused was stored');

  t.is((await cli('group', 'update', 'g-kept', '--retry-max-times', '5')).code, 0);
  t.is((await cli('group', 'create', 'g-gone')).code, 0);
  t.is((await cli('group', 'delete', 'g-gone')).code, 0);
  t.is((await first.stop('SIGKILL')).signal, 'SIGKILL');

  const second = await startCli(t, ['start', '--store', store, ...FREE_PORTS, '--json']);
  remoting = readyString(second, 'remoting');
  const listed = await cli('group', 'list');
  t.is(listed.code, 0, listed.stderr);
  const { groups } = JSON.parse(listed.stdout) as { groups: Record<string, unknown>[] };
  t.is(groups.length, 1);
  t.like(groups[0], { groupName: 'g-kept', consumeMessageOrderly: true, retryMaxTimes: 5, consumeEnable: false, consumeFromMinEnable: true, retryQueueNums: 1 });
  const stopped = await second.stop('SIGTERM');
  t.is(stopped.code, 0, stopped.stderr);
});
