import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { MessageExt } from '../../api/BrokerApi.js';
import { NameServer } from '../../namesrv/NameServer.js';
import { Producer } from '../../client/Producer.js';
import { PushConsumer, ConsumeStatus } from '../../client/PushConsumer.js';
import { serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { body, startBroker, text, until } from '../helpers/broker.js';
import type { Broker } from '../../actors/Broker.js';

async function group(t: ExecutionContext, ns: NameServer, brokerName: string): Promise<Broker> {
  const broker = await startBroker(t, { brokerName, namesrvAddr: ns.address, registerNameServerPeriod: 1000, flushDiskType: 'SYNC_FLUSH' });
  const server = await serveBrokerApi(broker);
  t.teardown(() => server.close());
  await broker.advertise(server.address);
  return broker;
}

test('cluster brokers - a producer and a push consumer given namesrvAddr span two broker groups', async (t) => {
  const ns = await NameServer.start({ port: 0 });
  t.teardown(() => ns.shutdown());
  const a = await group(t, ns, 'broker-a');
  const b = await group(t, ns, 'broker-b');
  for (const broker of [a, b]) await broker.createTopic({ topic: 'Orders', readQueueNums: 3, writeQueueNums: 3 });
  await until(() => ns.routeOf('Orders')?.brokers.length === 2, 5000, 'both groups registered');

  const seen = new Map<string, MessageExt>();
  const consumer = new PushConsumer({
    groupName: 'CG', namesrvAddr: ns.address, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 1000,
    cluster: { pollNameServerInterval: 1000 },
  });
  consumer.subscribe('Orders');
  consumer.registerMessageListener((msgs) => {
    for (const m of msgs) seen.set(text(m.body), m);
    return ConsumeStatus.CONSUME_SUCCESS;
  });
  await consumer.start();
  t.teardown(() => consumer.shutdown());
  t.deepEqual(consumer.assignedQueues().map((q) => `${q.brokerName}/${q.queueId}`).sort(), ['broker-a/0', 'broker-a/1', 'broker-a/2', 'broker-b/0', 'broker-b/1', 'broker-b/2']);

  const producer = new Producer({ groupName: 'PG', namesrvAddr: ns.address });
  await producer.start();
  t.teardown(() => producer.shutdown());
  const results = await Promise.all(Array.from({ length: 60 }, (_, i) => producer.send({ topic: 'Orders', body: body(`o${i}`) })));
  t.true(results.every((r) => r.sendStatus === 'SEND_OK'));
  const byGroup = new Set(results.map((r) => r.messageQueue.brokerName));
  t.deepEqual([...byGroup].sort(), ['broker-a', 'broker-b']);
  await until(() => seen.size === 60, 15_000, 'all 60 consumed');
  t.deepEqual([...new Set([...seen.values()].map((m) => m.brokerName))].sort(), ['broker-a', 'broker-b']);
  await t.notThrowsAsync(until(async () => (await a.consumerProgress('CG')).totalLag + (await b.consumerProgress('CG')).totalLag === 0, 10_000, 'offsets committed on both groups'));
});
