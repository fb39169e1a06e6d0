import test from 'ava';
import type { MessageExt, PullResult } from '../../api/BrokerApi.js';
import { isPetrelError } from '../../common/errors.js';
import { fitPullResult, serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { connectBrokerApi, type RemoteBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { RpcClient } from '../../protocol/remoting/RpcClient.js';
import { body, startBroker, text, untilQueued } from '../helpers/broker.js';
import type { ExecutionContext } from 'ava';
import { Broker } from '../../actors/Broker.js';
import { tempDir } from '../helpers/tmp.js';

async function served(t: ExecutionContext, config = {}): Promise<{ broker: Broker; remote: RemoteBrokerApi; address: string }> {
  const broker = await startBroker(t, config);
  const server = await serveBrokerApi(broker);
  t.teardown(() => server.close());
  const remote = await connectBrokerApi(server.address);
  t.teardown(() => remote.close());
  return { broker, remote, address: server.address };
}

test('remoting broker api - connect learns the broker name; send and pull carry bodies, keys and properties', async (t) => {
  const { remote } = await served(t);
  t.is(remote.brokerName, 'broker-a');
  await remote.createTopic({ topic: 'Remote', readQueueNums: 2, writeQueueNums: 2 });
  const [r] = await remote.send([{ topic: 'Remote', body: body('hello'), tags: 'TagA', keys: ['k1'], properties: { a: '1' } }], 1);
  t.is(r?.sendStatus, 'SEND_OK');
  t.deepEqual(r?.messageQueue, { topic: 'Remote', brokerName: 'broker-a', queueId: 1 });
  await untilQueued(remote, 'Remote', 1);
  const pulled = await remote.pull({ group: 'G', topic: 'Remote', queueId: 1, offset: 0, maxMsgNums: 32 });
  t.is(pulled.status, 'FOUND');
  const m = pulled.messages[0];
  t.is(m === undefined ? '' : text(m.body), 'hello');
  t.is(m?.tags, 'TagA');
  t.deepEqual(m?.keys, ['k1']);
  t.is(m?.properties['a'], '1');
  t.is((await remote.queryRoute('Remote')).brokers[0]?.writeQueueNums, 2);
  t.deepEqual((await remote.queryMessageByKey('Remote', 'k1', 10, 0, Date.now() + 1000)).map((x) => x.msgId), [r?.msgId]);
});

test('remoting broker api - a long-polling pull is held by the server until a message arrives', async (t) => {
  const { remote } = await served(t);
  await remote.createTopic({ topic: 'Poll', readQueueNums: 1, writeQueueNums: 1 });
  const started = Date.now();
  const pending = remote.pull({ group: 'G', topic: 'Poll', queueId: 0, offset: 0, maxMsgNums: 8, longPollMs: 5000 });
  await new Promise((r) => setTimeout(r, 300));
  await remote.send([{ topic: 'Poll', body: body('late') }], 0);
  const res = await pending;
  t.is(res.status, 'FOUND');
  t.is(res.messages.length, 1);
  const waited = Date.now() - started;
  t.true(waited >= 250 && waited < 4000, `held ${waited} ms`);
});

test('remoting broker api - offsets, groups and membership work over the link', async (t) => {
  const { remote } = await served(t);
  await remote.createTopic({ topic: 'Off', readQueueNums: 1, writeQueueNums: 1 });
  t.is(await remote.queryOffset('G', 'Off', 0), -1);
  // A commit may not pass the queue's max offset.
  await remote.send(Array.from({ length: 5 }, (_, i) => ({ topic: 'Off', body: body(`m${i}`) })), 0);
  await untilQueued(remote, 'Off', 5);
  await remote.commitOffset('G', 'Off', 0, 5);
  t.is(await remote.queryOffset('G', 'Off', 0), 5);
  const ids = await remote.registerConsumer({ group: 'G', clientId: 'c1', messageModel: 'CLUSTERING', subscriptions: [{ topic: 'Off', filter: { type: 'TAG', expression: '*' } }] });
  t.deepEqual(ids, ['c1']);
  const changed = remote.awaitConsumerIdsChange('G', ['c1'], 3000);
  await remote.registerConsumer({ group: 'G', clientId: 'c2', messageModel: 'CLUSTERING', subscriptions: [] });
  t.deepEqual(await changed, ['c1', 'c2']);
  await remote.registerProducer('P', 'DEFAULT', 'p1');
  t.true(isPetrelError(await t.throwsAsync(remote.registerProducer('P', 'DEFAULT', 'p2')), 'ERR_INSTANCE_NAME_TAKEN'));
});

test('remoting broker api - only BrokerApi methods are callable and arguments are checked at the edge', async (t) => {
  const { address } = await served(t);
  const raw = new RpcClient(address);
  t.teardown(() => raw.close());
  for (const forbidden of ['shutdown', 'flushNow', 'advertise', 'constructor']) {
    t.true(isPetrelError(await t.throwsAsync(raw.call(forbidden, [])), 'ERR_METHOD_NOT_FOUND'), forbidden);
  }
  t.true(isPetrelError(await t.throwsAsync(raw.call('send', [[{ topic: 'T', body: 'not bytes' }]])), 'ERR_INVALID_ARGUMENT'));
  t.true(isPetrelError(await t.throwsAsync(raw.call('pull', [{ group: 'G', topic: 'T', queueId: '0', offset: 0, maxMsgNums: 1 }])), 'ERR_INVALID_ARGUMENT'));
  t.true(isPetrelError(await t.throwsAsync(raw.call('commitOffset', ['G', 'T', 0])), 'ERR_INVALID_ARGUMENT'));
  t.true(isPetrelError(await t.throwsAsync(raw.call('send', [[{ topic: 'bad topic!', body: new Uint8Array(1) }]])), 'ERR_TOPIC_INVALID'), 'the broker still applies its own rules');
  t.deepEqual(await raw.call('$hello', []), { brokerName: 'broker-a' });
});

test('remoting broker api - a slave refuses sends over the link with ERR_SERVICE_NOT_AVAILABLE', async (t) => {
  const { remote } = await served(t, { brokerRole: 'SLAVE', brokerId: 1 });
  const err = await t.throwsAsync(remote.send([{ topic: 'T', body: body('x') }]));
  t.true(isPetrelError(err, 'ERR_SERVICE_NOT_AVAILABLE'));
});

function fakeMessage(queueOffset: number, size: number): MessageExt {
  return {
    topic: 'T', body: new Uint8Array(size), tags: undefined, keys: [], properties: {}, flag: 0, queueId: 0, queueOffset,
    commitLogOffset: 0, storeSize: size, sysFlag: 0, bornTimestamp: 0, storeTimestamp: 0, reconsumeTimes: 0, msgId: 'id', offsetMsgId: 'oid', brokerName: 'b',
  };
}

test('remoting broker api - a pull reply is trimmed to one frame and continues after the last message kept', (t) => {
  const r: PullResult = { status: 'FOUND', messages: [10, 11, 12, 13].map((o) => fakeMessage(o, 1000)), nextBeginOffset: 14, minOffset: 0, maxOffset: 14 };
  const fit = fitPullResult(r, 4000);
  t.deepEqual(fit.messages.map((m) => m.queueOffset), [10, 11]);
  t.is(fit.nextBeginOffset, 12);
  t.is(fitPullResult(r, 1_000_000), r);
  t.is(fitPullResult(r, 10).messages.length, 1, 'always at least one message');
  // bodies that are views of one pull buffer leave with their own bytes only
  const shared = new Uint8Array(4000);
  const views: PullResult = { ...r, messages: r.messages.map((m, i) => ({ ...m, body: shared.subarray(i * 1000, i * 1000 + 1000) })) };
  for (const m of fitPullResult(views, 1_000_000).messages) t.is(m.body.buffer.byteLength, 1000);
});

test('remoting broker api - offset resets over the link: old -> new per queue, stale commits refused, stale and held pulls told, resets awaited', async (t) => {
  const { broker, remote, address } = await served(t);
  await remote.createTopic({ topic: 'Rst', readQueueNums: 2, writeQueueNums: 2 });
  await remote.send(Array.from({ length: 6 }, (_, i) => ({ topic: 'Rst', body: body(`m${i}`) })), 0);
  await untilQueued(remote, 'Rst', 6);
  const refused = await t.throwsAsync(remote.resetOffset({ group: 'RG', topic: 'Rst', target: { type: 'LATEST' } }));
  t.true(isPetrelError(refused, 'ERR_GROUP_NOT_EXIST'), String(refused));
  t.true(isPetrelError(await t.throwsAsync(remote.resetOffset({ group: 'RG', topic: 'NoSuchTopic', target: { type: 'LATEST' }, ifGroupUnknown: 'create' })), 'ERR_TOPIC_NOT_EXIST'));
  await remote.commitOffset('RG', 'Rst', 0, 1, 0);

  // A pull held at the end of queue 0 is answered when the reset moves that queue.
  const held = remote.pull({ group: 'RG', topic: 'Rst', queueId: 0, offset: 6, maxMsgNums: 8, longPollMs: 20_000, resetEpoch: 0 });
  const watched = remote.awaitOffsetReset('RG', 'Rst', 0, 20_000);
  const r = await remote.resetOffset({ group: 'RG', topic: 'Rst', target: { type: 'OFFSET', offset: 4 } });
  t.deepEqual(r.queues, [
    { brokerName: 'broker-a', queueId: 0, oldOffset: 1, newOffset: 4 },
    { brokerName: 'broker-a', queueId: 1, oldOffset: -1, newOffset: 0 },
  ]);
  t.false(r.groupCreated);
  t.true(r.epoch > 0);
  const told = await held;
  t.deepEqual([told.status, told.messages.length, told.offsetReset], ['OFFSET_OVERFLOW_ONE', 0, { epoch: r.epoch, offset: 4 }]);
  t.deepEqual(await watched, { epoch: r.epoch, queues: [{ queueId: 0, epoch: r.epoch, offset: 4 }, { queueId: 1, epoch: r.epoch, offset: 0 }] });

  // A commit from before the reset is refused; one with the reset's epoch, or without any, is taken.
  t.true(isPetrelError(await t.throwsAsync(remote.commitOffset('RG', 'Rst', 0, 6, r.epoch - 1)), 'ERR_OFFSET_STALE'));
  t.is(await remote.queryOffset('RG', 'Rst', 0), 4);
  await remote.commitOffset('RG', 'Rst', 0, 5, r.epoch);
  t.is(await remote.queryOffset('RG', 'Rst', 0), 5);
  // A stale pull is told at once; a current one reads.
  t.deepEqual((await remote.pull({ group: 'RG', topic: 'Rst', queueId: 0, offset: 1, maxMsgNums: 8, resetEpoch: 0 })).offsetReset, { epoch: r.epoch, offset: 5 });
  t.is((await remote.pull({ group: 'RG', topic: 'Rst', queueId: 0, offset: 5, maxMsgNums: 8, resetEpoch: r.epoch })).messages.length, 1);
  await remote.commitOffset('RG', 'Rst', 0, 2);
  t.is(await broker.queryOffset('RG', 'Rst', 0), 2, 'a commit with no epoch is not checked');

  const created = await remote.resetOffset({ group: 'RG2', topic: 'Rst', target: { type: 'EARLIEST' }, queueId: 1, ifGroupUnknown: 'create' });
  t.true(created.groupCreated);
  t.deepEqual(created.queues.map((q) => q.queueId), [1]);
  t.is((await remote.getSubscriptionGroup('RG2'))?.groupName, 'RG2');

  const raw = new RpcClient(address);
  t.teardown(() => raw.close());
  t.true(isPetrelError(await t.throwsAsync(raw.call('resetOffset', [{ group: 'RG', topic: 'Rst', target: { type: 'SOMEWHERE' } }])), 'ERR_INVALID_ARGUMENT'));
  t.true(isPetrelError(await t.throwsAsync(raw.call('commitOffset', ['RG', 'Rst', 0, 1, 'old'])), 'ERR_INVALID_ARGUMENT'));
  t.true(isPetrelError(await t.throwsAsync(remote.resetOffset({ group: 'RG', topic: 'Rst', target: { type: 'LATEST' }, queueId: 7 })), 'ERR_QUEUE_ID_INVALID'));
});

test('remoting broker api - reset epochs survive a restart, and a slave refuses resets', async (t) => {
  const dir = tempDir(t);
  const first = await Broker.start({ storePathRootDir: dir, mappedFileSizeCommitLog: 1 << 20, mappedFileSizeConsumeQueue: 20 * 1000 });
  let epoch = 0;
  try {
    await first.createTopic({ topic: 'Kept', readQueueNums: 1, writeQueueNums: 1 });
    await first.send([{ topic: 'Kept', body: body('x') }], 0);
    await untilQueued(first, 'Kept', 1);
    epoch = (await first.resetOffset({ group: 'KG', topic: 'Kept', target: { type: 'LATEST' }, ifGroupUnknown: 'reset' })).epoch;
  } finally {
    await first.shutdown();
  }
  const again = await startBroker(t, { storePathRootDir: dir });
  t.true(isPetrelError(await t.throwsAsync(again.commitOffset('KG', 'Kept', 0, 0, epoch - 1)), 'ERR_OFFSET_STALE'));
  t.is((await again.awaitOffsetReset('KG', 'Kept', 0, 0)).epoch, epoch);
  const next = await again.resetOffset({ group: 'KG', topic: 'Kept', target: { type: 'EARLIEST' } });
  t.true(next.epoch > epoch, 'epochs only grow across restarts');

  const { remote } = await served(t, { brokerRole: 'SLAVE', brokerId: 1 });
  t.true(isPetrelError(await t.throwsAsync(remote.resetOffset({ group: 'KG', topic: 'Kept', target: { type: 'LATEST' } })), 'ERR_SERVICE_NOT_AVAILABLE'));
});
