import test from 'ava';
import { MessageChannel, Worker, threadId } from 'node:worker_threads';
import { isPetrelError } from '../../common/errors.js';
import { ActorSystem } from '../../runtime/ActorSystem.js';
import { actorFacade, exposeObject, wrapObject, type ActorFacade } from '../../runtime/bridge.js';
import { counter, type CounterMsg, type CounterReplies } from './fixtures/counter.js';
import type { calculator } from './fixtures/bridgeWorker.js';

const serial = test.serial;

serial('bridge - an object on a worker thread is used here as a typed async proxy', async (t) => {
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./fixtures/bridgeWorker.js', import.meta.url), { workerData: { port: port2 }, transferList: [port2] });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  t.teardown(() => worker.terminate());
  const client = wrapObject<typeof calculator>(port1);
  t.is(await client.proxy.add(2, 3), 5);
  t.deepEqual(await Promise.all([client.proxy.later('a', 20), client.proxy.later('b', 1)]), ['A', 'B']);
  t.not(await client.proxy.where(), threadId);
  t.is(await client.proxy.calls(), 3);
  const err = await t.throwsAsync(client.proxy.fail('ERR_TOPIC_NOT_EXIST'));
  t.true(isPetrelError(err, 'ERR_TOPIC_NOT_EXIST'));
  await client.proxy.stop();
  client.close();
  // Once the bridge is closed on both ends nothing keeps the worker alive.
  t.is(await exited, 0);
});

serial('bridge - an actor is reached through comlink as an object with one method per message', async (t) => {
  const system = new ActorSystem();
  t.teardown(() => system.shutdown());
  const ref = await system.spawn(counter, { name: 'c', args: { from: 1 } });
  const { port1, port2 } = new MessageChannel();
  const server = exposeObject(actorFacade(ref), port1);
  const client = wrapObject<ActorFacade<CounterMsg, CounterReplies>>(port2);
  t.teardown(() => {
    client.close();
    server.close();
  });
  t.is(await client.proxy.add({ n: 41 }), 42);
  t.is(await client.proxy.get({}), 42);
  const where = await client.proxy.whoami({});
  t.not(where.threadId, threadId);
  t.true(isPetrelError(await t.throwsAsync(client.proxy.fail({ code: 'ERR_QUEUE_ID_INVALID' })), 'ERR_QUEUE_ID_INVALID'));
  t.true(isPetrelError(await t.throwsAsync(client.proxy.sleep({ ms: 100 }, { timeoutMs: 10 })), 'ERR_TIMEOUT'));
});
