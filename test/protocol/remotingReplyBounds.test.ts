/**
 * Replies over the remoting link are sized before the work is done: a send is answered in one
 * reply or refused with nothing stored, never stored and then reported as failed.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { Broker } from '../../actors/Broker.js';
import type { Message } from '../../api/BrokerApi.js';
import { serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { connectBrokerApi, type RemoteBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { RpcClient } from '../../protocol/remoting/RpcClient.js';
import { body, startBroker, text, untilQueued } from '../helpers/broker.js';

const tooLarge = { code: 'ERR_REPLY_TOO_LARGE' } as const;

async function served(t: ExecutionContext, maxFrameBytes?: number): Promise<{ broker: Broker; remote: RemoteBrokerApi; address: string }> {
  const broker = await startBroker(t);
  const server = await serveBrokerApi(broker, maxFrameBytes === undefined ? {} : { maxFrameBytes });
  t.teardown(() => server.close());
  const remote = await connectBrokerApi(server.address);
  t.teardown(() => remote.close());
  return { broker, remote, address: server.address };
}

function batch(topic: string, n: number): Message[] {
  return Array.from({ length: n }, (_, i) => ({ topic, body: body(`m${i}`) }));
}

test('remoting reply bounds - a send of 40,000 messages is refused up front by both ends and nothing is stored', async (t) => {
  const { remote, address } = await served(t);
  await remote.createTopic({ topic: 'Big', readQueueNums: 1, writeQueueNums: 1 });
  const messages = batch('Big', 40_000);
  await t.throwsAsync(remote.send(messages), tooLarge);
  // The server checks against its own frame limit too, for a caller that does not.
  const raw = new RpcClient(address);
  t.teardown(() => raw.close());
  await t.throwsAsync(raw.call('send', [messages]), tooLarge);
  // The next message takes the queue's first offset: neither refused batch was stored.
  const [marker] = await remote.send([{ topic: 'Big', body: body('marker') }]);
  t.is(marker?.sendStatus, 'SEND_OK');
  t.is(marker?.queueOffset, 0);
  t.is(marker?.commitLogOffset, 0);
});

test('remoting reply bounds - a large batch whose results fit one frame is stored and answered in one reply', async (t) => {
  const { remote } = await served(t);
  await remote.createTopic({ topic: 'Fits', readQueueNums: 1, writeQueueNums: 1 });
  const results = await remote.send(batch('Fits', 10_000));
  t.is(results.length, 10_000);
  t.true(results.every((r, i) => r.sendStatus === 'SEND_OK' && r.queueOffset === i));
  await untilQueued(remote, 'Fits', 10_000);
  t.is(await remote.maxOffset('Fits', 0), 10_000);
});

test('remoting reply bounds - a look-up by key answers with the messages that fit one frame', async (t) => {
  // 64 KiB of envelope room and 100 KiB for messages: three of these 30 KiB messages fit.
  const { remote } = await served(t, 164 * 1024);
  await remote.createTopic({ topic: 'Keyed', readQueueNums: 1, writeQueueNums: 1 });
  for (let i = 0; i < 10; i++) await remote.send([{ topic: 'Keyed', body: body(`${i}`.padEnd(30 * 1024, '.')), keys: ['same'] }]);
  await untilQueued(remote, 'Keyed', 10);
  const found = await remote.queryMessageByKey('Keyed', 'same', 32, 0, Date.now() + 1000);
  t.is(found.length, 3);
  t.true(found.every((m) => m.keys.includes('same') && text(m.body).length === 30 * 1024));
});
