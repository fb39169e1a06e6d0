import test from 'ava';
import { isPetrelError } from '../../common/errors.js';
import { GrpcEndpoint } from '../../protocol/GrpcEndpoint.js';
import { Code } from '../../protocol/wire.js';
import { startBroker } from '../helpers/broker.js';
import { RawRpc, statusCode, type Rec } from './rawRpc.js';
import { FAST } from './harness.js';

test('endpoint lifecycle - listens on 127.0.0.1 by default on a free port, and advertises it', async (t) => {
  const broker = await startBroker(t);
  const a = new GrpcEndpoint(broker);
  const b = new GrpcEndpoint(broker);
  const { address: first } = await a.start();
  t.teardown(() => a.stop());
  const { address: second } = await b.start();
  t.teardown(() => b.stop());
  t.regex(first, /^127\.0\.0\.1:\d+$/);
  t.not(first, second);
  t.is(a.address, first);
});

test('endpoint lifecycle - a wildcard bind address needs advertisedAddress; bad options are ERR_CONFIG_INVALID', async (t) => {
  const broker = await startBroker(t);
  const endpoint = new GrpcEndpoint(broker);
  for (const options of [{ host: '0.0.0.0' }, { host: '::' }, { advertisedAddress: '0.0.0.0:1' }, { port: 70_000 }, { maxBodySize: 0 }, { messageDelayLevel: 'soon' }]) {
    t.true(isPetrelError(await t.throwsAsync(endpoint.start(options)), 'ERR_CONFIG_INVALID'), JSON.stringify(options));
  }
  t.is(endpoint.address, undefined);
});

test('endpoint lifecycle - a port already taken is ERR_CONFIG_INVALID', async (t) => {
  const broker = await startBroker(t);
  const a = new GrpcEndpoint(broker);
  const { address } = await a.start();
  t.teardown(() => a.stop());
  const b = new GrpcEndpoint(broker);
  t.true(isPetrelError(await t.throwsAsync(b.start({ port: Number(address.split(':')[1]) })), 'ERR_CONFIG_INVALID'));
});

test('endpoint lifecycle - routes carry the advertised address', async (t) => {
  const broker = await startBroker(t);
  const endpoint = new GrpcEndpoint(broker);
  const { address } = await endpoint.start({ advertisedAddress: 'localhost' });
  t.teardown(() => endpoint.stop());
  t.regex(address, /^localhost:\d+$/);
  const rpc = new RawRpc(address.replace('localhost', '127.0.0.1'));
  t.teardown(() => rpc.close());
  const route = await rpc.unary('QueryRoute', { topic: { name: 'Adv' } });
  const q = (route['message_queues'] as Rec[])[0] ?? {};
  t.like(q, { broker: { endpoints: { scheme: 3, addresses: [{ host: 'localhost', port: Number(address.split(':')[1]) }] } } });
});

test('endpoint lifecycle - stop ends pending long polls at once, refuses new calls, and may be repeated', async (t) => {
  const broker = await startBroker(t);
  const endpoint = new GrpcEndpoint(broker);
  const { address } = await endpoint.start({ ...FAST, longPollingTimeoutMs: 20_000 });
  t.true(isPetrelError(await t.throwsAsync(endpoint.start()), 'ERR_CLIENT_STATE'));
  const rpc = new RawRpc(address);
  t.teardown(() => rpc.close());
  await rpc.unary('QueryRoute', { topic: { name: 'Stopping' } });
  const poll = rpc.stream(
    'ReceiveMessage',
    { group: { name: 'g' }, message_queue: { topic: { name: 'Stopping' } }, batch_size: 1, invisible_duration: { seconds: 30 }, long_polling_timeout: { seconds: 20 } },
    { deadlineMs: 25_000 },
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const started = Date.now();
  await endpoint.stop();
  t.true(Date.now() - started < 2000, `stop took ${Date.now() - started} ms`);
  const { frames } = await poll;
  t.is(statusCode(frames[0] ?? {}), Code.MESSAGE_NOT_FOUND);
  await t.throwsAsync(rpc.unary('QueryRoute', { topic: { name: 'Stopping' } }, { deadlineMs: 1000 }));
  await endpoint.stop();
  t.is(endpoint.address, undefined);
});
