import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { Broker } from '../../actors/Broker.js';
import { serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { connectBrokerApi, type RemoteBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { body, startBroker, untilQueued } from '../helpers/broker.js';

async function served(t: ExecutionContext): Promise<{ broker: Broker; remote: RemoteBrokerApi }> {
  const broker = await startBroker(t);
  const server = await serveBrokerApi(broker);
  t.teardown(() => server.close());
  const remote = await connectBrokerApi(server.address);
  t.teardown(() => remote.close());
  return { broker, remote };
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

test('remoting commitOffset - a negative offset, one past the queue, a queue out of range and an unknown topic are refused, nothing is kept', async (t) => {
  const { broker, remote } = await served(t);
  await remote.createTopic({ topic: 'Commits', readQueueNums: 2, writeQueueNums: 2 });
  await remote.send([{ topic: 'Commits', body: body('a') }, { topic: 'Commits', body: body('b') }], 0);
  await untilQueued(remote, 'Commits', 2);

  t.is(await code(remote.commitOffset('G', 'Commits', 0, -5)), 'ERR_OFFSET_INVALID');
  t.is(await code(remote.commitOffset('G', 'Commits', 0, Number.MAX_SAFE_INTEGER)), 'ERR_OFFSET_INVALID');
  t.is(await code(remote.commitOffset('G', 'Commits', 0, 3)), 'ERR_OFFSET_INVALID', 'past the max offset 2');
  t.is(await code(remote.commitOffset('G', 'Commits', 1_000_000, 0)), 'ERR_QUEUE_ID_INVALID');
  t.is(await code(remote.commitOffset('G', 'NoSuchTopic', 1_000_000, 0)), 'ERR_TOPIC_NOT_EXIST');
  t.is(await remote.queryOffset('G', 'Commits', 0), -1, 'no refused commit was kept');
  t.is(await remote.queryOffset('G', 'NoSuchTopic', 1_000_000), -1);
  t.is(await broker.getTopic('NoSuchTopic'), undefined);

  // The broker keeps serving: a commit in range is kept, the max offset included.
  await remote.commitOffset('G', 'Commits', 0, 2);
  t.is(await remote.queryOffset('G', 'Commits', 0), 2);
});
