import test from 'ava';
import type { ExecutionContext } from 'ava';
import { NameServer } from '../../namesrv/NameServer.js';
import { RouteInfoManager } from '../../namesrv/RouteInfoManager.js';
import { isPetrelError } from '../../common/errors.js';
import { NameServerClient, NameServerLink } from '../../protocol/remoting/NameServerProtocol.js';
import type { BrokerRegistration } from '../../api/nameServer.js';
import { RpcClient } from '../../protocol/remoting/RpcClient.js';
import { startBroker, until } from '../helpers/broker.js';
import { sendMany, startMaster, startNode, waitCaughtUp, waitConnected } from '../helpers/replication.js';
import { Position } from '../../actors/BrokerPositions.js';
import net from 'node:net';

/** A port nothing listens on now (bound once by the OS, then released). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function reg(brokerName: string, brokerId: number, port: number, topics: [string, number][] = [['T', 4]]): BrokerRegistration {
  return {
    clusterName: 'C', brokerName, brokerId, brokerAddr: `127.0.0.1:${port}`, haAddr: `127.0.0.1:${port + 1}`,
    topics: topics.map(([topic, n]) => ({ topic, readQueueNums: n, writeQueueNums: n, perm: 6 })),
  };
}

async function nameServer(t: ExecutionContext, options = {}): Promise<NameServer> {
  const ns = await NameServer.start({ port: 0, ...options });
  t.teardown(() => ns.shutdown());
  return ns;
}

function link(t: ExecutionContext, address: string): NameServerLink {
  const l = new NameServerLink(address);
  t.teardown(() => l.close());
  return l;
}

test('route info - a topic served by two groups lists both, with addresses by broker id and queue counts', (t) => {
  const r = new RouteInfoManager();
  r.register(reg('broker-b', 0, 2000, [['T', 2]]), 0);
  r.register(reg('broker-a', 0, 1000), 0);
  const slave = r.register(reg('broker-a', 1, 1010), 0);
  t.deepEqual(slave, { masterAddr: '127.0.0.1:1000', haMasterAddr: '127.0.0.1:1001' });
  t.deepEqual(r.routeOf('T'), {
    topic: 'T',
    brokers: [
      { brokerName: 'broker-a', addrs: { 0: '127.0.0.1:1000', 1: '127.0.0.1:1010' }, readQueueNums: 4, writeQueueNums: 4, perm: 6 },
      { brokerName: 'broker-b', addrs: { 0: '127.0.0.1:2000' }, readQueueNums: 2, writeQueueNums: 2, perm: 6 },
    ],
  });
  t.is(r.routeOf('Unknown'), undefined);
  t.deepEqual(r.clusterInfo().brokers.map((b) => b.brokerName), ['broker-a', 'broker-b']);
});

test('route info - a broker silent past the expiry is dropped; one that heartbeats stays', (t) => {
  const r = new RouteInfoManager();
  r.register(reg('broker-a', 0, 1000), 0);
  r.register(reg('broker-b', 0, 2000), 0);
  r.register(reg('broker-b', 0, 2000), 100_000);
  t.deepEqual(r.expire(119_000, 120_000), []);
  t.deepEqual(r.expire(121_000, 120_000).map((b) => b.brokerName), ['broker-a']);
  t.deepEqual(r.routeOf('T')?.brokers.map((b) => b.brokerName), ['broker-b']);
  t.deepEqual(r.expire(221_000, 120_000).map((b) => b.brokerName), ['broker-b']);
  t.is(r.routeOf('T'), undefined);
});

test('route info - a group keeps its queues while a slave lives; the master\'s topic list wins over a slave\'s', (t) => {
  const r = new RouteInfoManager();
  r.register(reg('broker-a', 0, 1000, [['T', 4]]), 0);
  r.register(reg('broker-a', 1, 1010, [['T', 1], ['OnlySlave', 2]]), 0);
  t.is(r.routeOf('T')?.brokers[0]?.writeQueueNums, 4, 'the master decides the queue counts');
  t.is(r.routeOf('OnlySlave')?.brokers[0]?.readQueueNums, 2, 'a slave fills what no master told');
  r.unregister({ brokerName: 'broker-a', brokerId: 0, brokerAddr: '127.0.0.1:1000' });
  const route = r.routeOf('T');
  t.deepEqual(route?.brokers[0]?.addrs, { 1: '127.0.0.1:1010' }, 'no master: consumers still find the slave');
  r.register(reg('broker-a', 0, 1000, [['T', 4]]), 1);
  t.is(r.routeOf('OnlySlave'), undefined, 'the returning master does not serve it');
  r.unregister({ brokerName: 'broker-a', brokerId: 0, brokerAddr: '127.0.0.1:1000' });
  r.unregister({ brokerName: 'broker-a', brokerId: 1, brokerAddr: '127.0.0.1:1010' });
  t.is(r.routeOf('T'), undefined);
  t.deepEqual(r.clusterInfo().brokers, []);
});

test('route info - a broker that comes back on a new address replaces its old one', (t) => {
  const r = new RouteInfoManager();
  r.register(reg('broker-a', 0, 1000), 0);
  r.register(reg('broker-a', 0, 3000), 5);
  t.deepEqual(r.routeOf('T')?.brokers[0]?.addrs, { 0: '127.0.0.1:3000' });
  t.deepEqual(r.liveBrokers().map((b) => b.identity.brokerAddr), ['127.0.0.1:3000']);
});

test('name server - routes over the network; an unknown topic is ERR_TOPIC_NOT_EXIST', async (t) => {
  const ns = await nameServer(t);
  t.regex(ns.address, /^127\.0\.0\.1:\d+$/);
  const l = link(t, ns.address);
  t.true(isPetrelError(await t.throwsAsync(l.getRouteInfo('T')), 'ERR_TOPIC_NOT_EXIST'));
  t.deepEqual(await l.registerBroker(reg('broker-a', 0, 1000)), {});
  t.deepEqual(await l.registerBroker(reg('broker-a', 1, 1010)), { masterAddr: '127.0.0.1:1000', haMasterAddr: '127.0.0.1:1001' });
  const client = new NameServerClient(`127.0.0.1:${await closedPort()};${ns.address}`, { reconnectMinMs: 10 });
  t.teardown(() => client.close());
  const route = await client.getRouteInfo('T');
  t.deepEqual(route.brokers[0]?.addrs, { 0: '127.0.0.1:1000', 1: '127.0.0.1:1010' }, 'an unreachable name server is passed over');
  t.deepEqual((await client.getClusterInfo()).brokers.map((b) => b.brokerName), ['broker-a']);
});

test('name server - a malformed registration is refused and the server keeps serving', async (t) => {
  const ns = await nameServer(t);
  const raw = new RpcClient(ns.address);
  t.teardown(() => raw.close());
  t.true(isPetrelError(await t.throwsAsync(raw.call('registerBroker', [{ brokerName: 'x' }])), 'ERR_INVALID_ARGUMENT'));
  t.true(isPetrelError(await t.throwsAsync(raw.call('registerBroker', [{ ...reg('bad name!', 0, 1) }])), 'ERR_INVALID_ARGUMENT'));
  t.true(isPetrelError(await t.throwsAsync(raw.call('shutdown', [])), 'ERR_METHOD_NOT_FOUND'));
  t.deepEqual(await raw.call('getClusterInfo', []), { brokers: [] });
});

test('name server - a broker silent past brokerExpiryMs is dropped', async (t) => {
  const ns = await nameServer(t, { brokerExpiryMs: 300, scanIntervalMs: 50 });
  await link(t, ns.address).registerBroker(reg('broker-a', 0, 1000));
  t.truthy(ns.routeOf('T'));
  await until(() => ns.routeOf('T') === undefined, 3000, 'expiry');
  t.deepEqual(ns.clusterInfo().brokers, []);
});

test('name server - a broker whose registration connection closes is dropped at once', async (t) => {
  const ns = await nameServer(t);
  const l = new NameServerLink(ns.address);
  await l.registerBroker(reg('broker-a', 0, 1000));
  t.truthy(ns.routeOf('T'));
  l.close();
  await t.notThrowsAsync(until(() => ns.routeOf('T') === undefined, 3000, 'drop on disconnect'));
});

test('name server - a broker registers its topics, re-registers on topic changes and heartbeats past the expiry', async (t) => {
  const ns = await nameServer(t, { brokerExpiryMs: 600, scanIntervalMs: 50 });
  const broker = await startBroker(t, { namesrvAddr: ns.address, registerNameServerPeriod: 150, brokerClusterName: 'C1' });
  await broker.createTopic({ topic: 'Before', readQueueNums: 3, writeQueueNums: 3 });
  await broker.advertise('127.0.0.1:4567');
  t.deepEqual(ns.routeOf('Before')?.brokers, [{ brokerName: 'broker-a', addrs: { 0: '127.0.0.1:4567' }, readQueueNums: 3, writeQueueNums: 3, perm: 6 }]);
  await broker.createTopic({ topic: 'After', readQueueNums: 2, writeQueueNums: 1 });
  await until(() => ns.routeOf('After') !== undefined, 3000, 'registration after createTopic');
  await broker.send([{ topic: 'AutoCreated', body: new Uint8Array([1]) }]);
  await until(() => ns.routeOf('AutoCreated') !== undefined, 3000, 'registration after auto-creation');
  await new Promise((r) => setTimeout(r, 1200));
  t.truthy(ns.routeOf('Before'), 'still registered after twice the expiry thanks to the heartbeat');
  t.deepEqual(ns.clusterInfo().brokers, [{ clusterName: 'C1', brokerName: 'broker-a', addrs: { 0: '127.0.0.1:4567' } }]);
  await broker.shutdown();
  t.is(ns.routeOf('Before'), undefined, 'shutdown unregisters');
});

test('name server - advertise without namesrvAddr is a configuration error', async (t) => {
  const broker = await startBroker(t);
  t.true(isPetrelError(await t.throwsAsync(broker.advertise('127.0.0.1:1')), 'ERR_CONFIG_INVALID'));
});

test('name server - a slave without haMasterAddress learns its master from the name server and replicates from it', async (t) => {
  const ns = await nameServer(t);
  const master = await startMaster(t, { namesrvAddr: ns.address, registerNameServerPeriod: 200 });
  await master.advertise('127.0.0.1:4601', master.haAddress);
  const slave = await startNode(t, { brokerRole: 'SLAVE', brokerId: 1, namesrvAddr: ns.address, registerNameServerPeriod: 200 });
  await sendMany(master, 'Learned', 40, 'm');
  t.is(slave.positions.get(Position.WROTE), 0, 'nothing replicated before the slave knows its master');
  await slave.advertise('127.0.0.1:4602');
  await waitConnected(master);
  await waitCaughtUp(master, slave);
  t.is((await slave.replicationStats())?.role, 'slave');
  t.true(slave.positions.get(Position.WROTE) > 0);
});
