import test from 'ava';
import type { ExecutionContext } from 'ava';
import { NameServer } from '../../namesrv/NameServer.js';
import { isPetrelError } from '../../common/errors.js';
import { ClusterClient } from '../../client/ClusterClient.js';
import { Producer } from '../../client/Producer.js';
import { serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { NameServerLink } from '../../protocol/remoting/NameServerProtocol.js';
import type { RpcServer } from '../../protocol/remoting/RpcServer.js';
import { MemoryBroker } from '../helpers/memoryBroker.js';
import { body, until } from '../helpers/broker.js';

/** A memory broker served over TCP and registered with a name server, that can be stopped and restarted on its port. */
class Node {
  server: RpcServer | undefined;
  link: NameServerLink | undefined;
  port = 0;

  constructor(readonly api: MemoryBroker, readonly brokerId: number, readonly ns: string, readonly topics: string[]) {}

  async start(): Promise<this> {
    this.server = await serveBrokerApi(this.api, { port: this.port });
    this.port = this.server.port;
    await this.register();
    return this;
  }

  async register(): Promise<void> {
    this.link ??= new NameServerLink(this.ns);
    await this.link.registerBroker({
      clusterName: 'C', brokerName: this.api.brokerName, brokerId: this.brokerId, brokerAddr: this.address,
      topics: this.topics.map((topic) => ({ topic, readQueueNums: 2, writeQueueNums: 2, perm: 6 })),
    });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The process dies but the name server has not noticed yet. */
  async kill(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  async stop(): Promise<void> {
    await this.kill();
    this.link?.close();
    this.link = undefined;
  }
}

async function nameServer(t: ExecutionContext): Promise<NameServer> {
  const ns = await NameServer.start({ port: 0 });
  t.teardown(() => ns.shutdown());
  return ns;
}

async function node(t: ExecutionContext, ns: NameServer, brokerName: string, brokerId: number, topics = ['T']): Promise<Node> {
  const n = await new Node(new MemoryBroker(brokerName, brokerId === 0 ? 'MASTER' : 'SLAVE'), brokerId, ns.address, topics).start();
  t.teardown(() => n.stop());
  return n;
}

function cluster(t: ExecutionContext, ns: NameServer, options = {}): ClusterClient {
  const c = new ClusterClient({ namesrvAddr: ns.address, requestTimeoutMs: 1000, ...options });
  t.teardown(() => c.close());
  return c;
}

test('cluster - producers see the write queues of groups with a master; consumers the read queues of every group', async (t) => {
  const ns = await nameServer(t);
  await node(t, ns, 'broker-a', 0);
  await node(t, ns, 'broker-a', 1);
  await node(t, ns, 'broker-b', 1);
  const c = cluster(t, ns);
  t.deepEqual((await c.writeQueues('T')).map((q) => `${q.brokerName}/${q.queueId}`), ['broker-a/0', 'broker-a/1']);
  t.deepEqual((await c.readQueues('T')).map((q) => `${q.brokerName}/${q.queueId}`), ['broker-a/0', 'broker-a/1', 'broker-b/0', 'broker-b/1']);
  t.true(isPetrelError(await t.throwsAsync(c.readQueues('Unknown')), 'ERR_TOPIC_NOT_EXIST'));
  t.deepEqual((await c.writeQueues('Unknown')).map((q) => `${q.brokerName}/${q.queueId}`), ['broker-a/0', 'broker-a/1', 'broker-a/2', 'broker-a/3'], 'a topic nobody serves yet is offered to every master');
});

test('cluster - a request naming no group is refused when several groups serve the topic', async (t) => {
  const ns = await nameServer(t);
  await node(t, ns, 'broker-a', 0);
  await node(t, ns, 'broker-b', 0);
  const c = cluster(t, ns);
  t.true(isPetrelError(await t.throwsAsync(c.pull({ group: 'G', topic: 'T', queueId: 0, offset: 0, maxMsgNums: 1 })), 'ERR_INVALID_ARGUMENT'));
  t.is((await c.group('broker-b').pull({ group: 'G', topic: 'T', queueId: 0, offset: 0, maxMsgNums: 1 })).status, 'NO_MESSAGE_IN_QUEUE');
});

test('cluster - sends avoid a group that failed and go on to the other; the group is used again after its isolation', async (t) => {
  const ns = await nameServer(t);
  const a = await node(t, ns, 'broker-a', 0);
  const b = await node(t, ns, 'broker-b', 0);
  const producer = new Producer({ groupName: 'P', namesrvAddr: ns.address, cluster: { failureIsolationMs: 400, requestTimeoutMs: 1000 } });
  await producer.start();
  t.teardown(() => producer.shutdown());
  const count = (n: Node): number => n.api.calls.filter((c) => c === 'send').length;
  for (let i = 0; i < 20; i++) t.is((await producer.send({ topic: 'T', body: body(`m${i}`) })).sendStatus, 'SEND_OK');
  t.true(count(a) > 0 && count(b) > 0, 'spread over both groups');
  await a.kill();
  const before = count(b);
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => producer.send({ topic: 'T', body: body(`k${i}`) })));
  t.true(results.every((r) => r.sendStatus === 'SEND_OK' && r.messageQueue.brokerName === 'broker-b'));
  t.is(count(b) - before, 30);
  await a.start();
  const aBefore = count(a);
  await until(async () => {
    t.is((await producer.send({ topic: 'T', body: body('again') })).sendStatus, 'SEND_OK');
    return count(a) > aBefore;
  }, 5000, 'broker-a takes sends again after its isolation');
});

test('cluster - the fault tolerance is visible on the client and a send with every group down fails retriably', async (t) => {
  const ns = await nameServer(t);
  const a = await node(t, ns, 'broker-a', 0);
  const c = cluster(t, ns, { failureIsolationMs: 60_000 });
  await c.send([{ topic: 'T', body: body('x') }]);
  t.true(c.isGroupAvailable('broker-a'));
  await a.kill();
  const err = await t.throwsAsync(c.send([{ topic: 'T', body: body('y') }]));
  t.true(isPetrelError(err) && err.retriable, String(err));
  t.false(c.isGroupAvailable('broker-a'));
});

test('cluster - reads fall back to a slave while the master is unreachable and return to it; offsets made on the slave reach the master', async (t) => {
  const ns = await nameServer(t);
  const master = await node(t, ns, 'broker-a', 0);
  const slave = await node(t, ns, 'broker-a', 1);
  for (const n of [master, slave]) for (let i = 0; i < 5; i++) n.api.append('T', 0, body(`m${i}`));
  master.api.offsets.set('G@T@0', 1);
  master.api.offsets.set('G@T@1', 9);
  const c = cluster(t, ns, { masterProbeIntervalMs: 200 });
  await c.readQueues('T');
  const g = c.group('broker-a');
  t.is((await g.pull({ group: 'G', topic: 'T', queueId: 0, offset: 0, maxMsgNums: 2 })).messages.length, 2);
  t.true(master.api.calls.includes('pull'));
  t.false(slave.api.calls.includes('pull'));

  await master.kill();
  const r = await g.pull({ group: 'G', topic: 'T', queueId: 0, offset: 2, maxMsgNums: 32 });
  t.deepEqual(r.messages.map((m) => m.queueOffset), [2, 3, 4]);
  t.true(slave.api.calls.includes('pull'), 'served by the slave');
  t.true(g.onSlave);
  await g.commitOffset('G', 'T', 0, 5);
  await g.commitOffset('G', 'T', 1, 7);
  t.is(slave.api.offsets.get('G@T@0'), 5);
  t.is(g.pendingOffsets, 2);
  t.is(await g.queryOffset('G', 'T', 0), 5);

  await master.start();
  await until(async () => (await g.queryOffset('G', 'T', 0)) === 5 && master.api.offsets.get('G@T@0') === 5, 5000, 'master back');
  t.is(master.api.offsets.get('G@T@0'), 5, 'progress made on the slave was handed to the master');
  t.is(master.api.offsets.get('G@T@1'), 9, 'the master keeps an offset that is ahead');
  t.is(g.pendingOffsets, 0);
  const pullsOnSlave = slave.api.calls.filter((x) => x === 'pull').length;
  await g.pull({ group: 'G', topic: 'T', queueId: 0, offset: 5, maxMsgNums: 1 });
  t.is(slave.api.calls.filter((x) => x === 'pull').length, pullsOnSlave, 'reads are back on the master');
});

test('cluster - a slave that lacks the offset answers "nothing yet" and never moves the consumer', async (t) => {
  const ns = await nameServer(t);
  const master = await node(t, ns, 'broker-a', 0);
  const slave = await node(t, ns, 'broker-a', 1);
  slave.api.append('T', 0, body('only one'));
  const c = cluster(t, ns, { masterProbeIntervalMs: 60_000, slaveLongPollMs: 50 });
  await c.readQueues('T');
  await master.stop();
  const g = c.group('broker-a');
  const r = await g.pull({ group: 'G', topic: 'T', queueId: 0, offset: 4, maxMsgNums: 32, longPollMs: 10_000 });
  t.is(r.status, 'OFFSET_OVERFLOW_ONE');
  t.is(r.nextBeginOffset, 4);
  t.deepEqual(r.messages, []);
  const empty = await g.pull({ group: 'G', topic: 'T', queueId: 1, offset: 3, maxMsgNums: 32 });
  t.is(empty.nextBeginOffset, 3, 'an empty queue on the slave does not reset the offset to 0');
});

test('cluster - a send-back goes to the group the message came from, or to another master when it is down', async (t) => {
  const ns = await nameServer(t);
  const a = await node(t, ns, 'broker-a', 0);
  const b = await node(t, ns, 'broker-b', 0);
  const c = cluster(t, ns);
  await c.readQueues('T');
  const m = a.api.append('T', 0, body('x'), 'MSG1');
  await c.sendBack('G', m, 0, 16);
  t.true(a.api.calls.includes('sendBack:MSG1'));
  await a.kill();
  await c.sendBack('G', m, 0, 16);
  t.true(b.api.calls.includes('sendBack:MSG1'));
});

test('cluster - membership is the union over groups; a broker that forgot a consumer is told again', async (t) => {
  const ns = await nameServer(t);
  const a = await node(t, ns, 'broker-a', 0);
  await node(t, ns, 'broker-b', 0);
  const c1 = cluster(t, ns);
  const c2 = cluster(t, ns);
  const reg = (id: string) => ({ group: 'G', clientId: id, messageModel: 'CLUSTERING' as const, subscriptions: [{ topic: 'T', filter: { type: 'TAG' as const, expression: '*' } }] });
  await c1.registerConsumer(reg('c1'));
  t.deepEqual(await c2.registerConsumer(reg('c2')), ['c1', 'c2']);
  a.api.members.clear();
  t.deepEqual(await c1.consumerIds('G'), ['c1', 'c2'], 'still known to broker-b');
  t.deepEqual([...(a.api.members.get('G') ?? [])], ['c1'], 'c1 registered itself again with broker-a');
  t.deepEqual(await c2.awaitConsumerIdsChange('G', ['c1'], 1000), ['c1', 'c2']);
  await c2.unregisterConsumer('G', 'c2');
  t.deepEqual(await c1.awaitConsumerIdsChange('G', ['c1', 'c2'], 100), ['c1']);
});
