import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Broker } from '../../actors/Broker.js';
import { Producer } from '../../client/Producer.js';
import { isPetrelError } from '../../common/errors.js';
import { body, startBroker, text, until } from '../helpers/broker.js';
import { Position } from '../../actors/BrokerPositions.js';
import { tempDir } from '../helpers/tmp.js';
import { ManualClock } from '../../common/clock.js';

test('broker - writer, flush and dispatcher run on three worker threads of their own', async (t) => {
  const broker = await startBroker(t);
  t.is(new Set(broker.actorThreads).size, 3);
});

test('broker - a send returns offsets, ids and the queue, and the message reads back by id and key', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Orders', readQueueNums: 2, writeQueueNums: 2 });
  const [r] = await broker.send([{ topic: 'Orders', body: body('hello'), tags: 'TagA', keys: ['order-1'] }], 1);
  t.truthy(r);
  if (r === undefined) return;
  t.is(r.sendStatus, 'SEND_OK');
  t.deepEqual(r.messageQueue, { topic: 'Orders', brokerName: 'broker-a', queueId: 1 });
  t.is(r.queueOffset, 0);
  t.is(r.commitLogOffset, 0);
  t.regex(r.msgId, /^[0-9A-F]{32}$/);
  t.regex(r.offsetMsgId, /^[0-9A-F]{32}$/);
  await until(() => broker.positions.get(Position.DISPATCHED) > r.commitLogOffset, 5000, 'dispatch');
  const byKey = await broker.queryMessageByKey('Orders', 'order-1', 10, 0, Date.now() + 1000);
  t.deepEqual(byKey.map((m) => m.msgId), [r.msgId]);
  const byId = await broker.queryMessageById(r.offsetMsgId);
  t.is(byId === undefined ? '' : text(byId.body), 'hello');
  const byUniq = await broker.queryMessageById(r.msgId);
  t.is(byUniq?.commitLogOffset, 0);
});

test('broker - ASYNC_FLUSH acknowledges from the page cache; SYNC_FLUSH only once flushed', async (t) => {
  const asyncBroker = await startBroker(t, { flushDiskType: 'ASYNC_FLUSH', flushIntervalCommitLog: 60_000, flushCommitLogThoroughInterval: 60_000 });
  const [a] = await asyncBroker.send([{ topic: 'T', body: body('x') }]);
  t.is(a?.sendStatus, 'SEND_OK');
  t.true(asyncBroker.positions.get(Position.FLUSHED) < (a?.commitLogOffset ?? 0) + 1, 'not flushed yet under ASYNC_FLUSH with a long interval');

  const syncBroker = await startBroker(t, { flushDiskType: 'SYNC_FLUSH' });
  const [s] = await syncBroker.send([{ topic: 'T', body: body('x') }]);
  t.is(s?.sendStatus, 'SEND_OK');
  t.true(syncBroker.positions.get(Position.FLUSHED) > (s?.commitLogOffset ?? 0), 'flushed past the message');
});

test('broker - a flush slower than syncFlushTimeout gives FLUSH_DISK_TIMEOUT and the message is still stored', async (t) => {
  const broker = await startBroker(t, { flushDiskType: 'SYNC_FLUSH', syncFlushTimeout: 50 }, { flushDelayMs: 300 });
  const [r] = await broker.send([{ topic: 'Slow', body: body('late') }]);
  t.is(r?.sendStatus, 'FLUSH_DISK_TIMEOUT');
  // Under SYNC_FLUSH consumers see only flushed messages: it becomes readable once the slow flush ends.
  await until(() => broker.positions.get(Position.DISPATCHED) > (r?.commitLogOffset ?? 0), 5000, 'dispatch');
  const back = await broker.viewMessageByOffset(r?.commitLogOffset ?? -1);
  t.is(back === undefined ? '' : text(back.body), 'late');
});

test('broker - WAIT=false under SYNC_FLUSH returns SEND_OK without waiting for the slow flush', async (t) => {
  const broker = await startBroker(t, { flushDiskType: 'SYNC_FLUSH', syncFlushTimeout: 50 }, { flushDelayMs: 300 });
  const [r] = await broker.send([{ topic: 'NoWait', body: body('x'), waitStoreMsgOK: false }]);
  t.is(r?.sendStatus, 'SEND_OK');
});

test('broker - 256 concurrent SYNC_FLUSH sends share far fewer flushes (group commit)', async (t) => {
  const broker = await startBroker(t, { flushDiskType: 'SYNC_FLUSH' });
  await broker.send([{ topic: 'G', body: body('warm') }]);
  const before = (await broker.flushStats()).flushes;
  const results = await Promise.all(Array.from({ length: 256 }, (_, i) => broker.send([{ topic: 'G', body: body(`m${i}`) }])));
  const flushes = (await broker.flushStats()).flushes - before;
  t.true(results.every(([r]) => r?.sendStatus === 'SEND_OK'));
  t.log(`256 sends, ${flushes} flushes`);
  t.true(flushes >= 1 && flushes <= 64, `${flushes} flushes for 256 sends`);
});

test('broker - bad input is refused with a typed error and nothing is written', async (t) => {
  const broker = await startBroker(t, { maxMessageSize: 1024, autoCreateTopicEnable: false });
  await broker.createTopic({ topic: 'Ok', readQueueNums: 2, writeQueueNums: 2 });
  const cases: [unknown, string][] = [
    [() => broker.send([{ topic: 'Ok', body: new Uint8Array(2048) }]), 'ERR_MESSAGE_TOO_LARGE'],
    [() => broker.send([{ topic: 'bad topic!', body: body('x') }]), 'ERR_TOPIC_INVALID'],
    [() => broker.send([{ topic: 'Missing', body: body('x') }]), 'ERR_TOPIC_NOT_EXIST'],
    [() => broker.send([{ topic: 'Ok', body: body('x') }], 5), 'ERR_QUEUE_ID_INVALID'],
    [() => broker.send([{ topic: 'Ok', body: body('x'), properties: { TAGS: 'sneaky' } }]), 'ERR_PROPERTY_NAME_RESERVED'],
    [() => broker.createTopic({ topic: 'Zero', readQueueNums: 0 }), 'ERR_INVALID_ARGUMENT'],
  ];
  for (const [fn, code] of cases) {
    const err = await t.throwsAsync((fn as () => Promise<unknown>)());
    t.true(isPetrelError(err), `${code}: ${String(err)}`);
    t.is((err as { code?: string }).code, code);
  }
  const [ok] = await broker.send([{ topic: 'Ok', body: body('fine') }]);
  t.is(ok?.commitLogOffset, 0, 'nothing was written by the refused sends');
});

test('broker - config files: topics.json and consumerOffset.json in RocketMQ shape survive a restart', async (t) => {
  const dir = tempDir(t);
  const b1 = await Broker.start({ storePathRootDir: dir, mappedFileSizeCommitLog: 1 << 20 });
  await b1.createTopic({ topic: 'Kept', readQueueNums: 3, writeQueueNums: 3 });
  // A commit may not pass the queue's max offset.
  await b1.send(Array.from({ length: 7 }, (_, i) => ({ topic: 'Kept', body: body(`m${i}`) })), 2);
  await until(async () => (await b1.maxOffset('Kept', 2)) === 7, 10_000, 'seven messages in queue 2');
  await b1.commitOffset('g1', 'Kept', 2, 7);
  await b1.shutdown();
  const topics = JSON.parse(readFileSync(path.join(dir, 'config/topics.json'), 'utf8')) as { topicConfigTable: Record<string, { readQueueNums: number }> };
  t.is(topics.topicConfigTable['Kept']?.readQueueNums, 3);
  const offsets = JSON.parse(readFileSync(path.join(dir, 'config/consumerOffset.json'), 'utf8')) as { offsetTable: Record<string, Record<string, number>> };
  t.is(offsets.offsetTable['Kept@g1']?.['2'], 7);
  const b2 = await Broker.start({ storePathRootDir: dir, mappedFileSizeCommitLog: 1 << 20 });
  t.teardown(() => b2.shutdown());
  t.is((await b2.getTopic('Kept'))?.writeQueueNums, 3);
  t.is(await b2.queryOffset('g1', 'Kept', 2), 7);
});

test('broker - messages written before a clean restart are all readable after it, offsets continue', async (t) => {
  const dir = tempDir(t);
  const b1 = await Broker.start({ storePathRootDir: dir, mappedFileSizeCommitLog: 64 * 1024 });
  const first = await b1.send(Array.from({ length: 500 }, (_, i) => ({ topic: 'R', body: body(`m${i}`) })), 0);
  await b1.shutdown();
  const b2 = await Broker.start({ storePathRootDir: dir, mappedFileSizeCommitLog: 64 * 1024 });
  t.teardown(() => b2.shutdown());
  const r = await b2.pull({ group: 'g', topic: 'R', queueId: 0, offset: 0, maxMsgNums: 32 });
  t.is(r.status, 'FOUND');
  t.is(r.maxOffset, 500);
  const [next] = await b2.send([{ topic: 'R', body: body('after') }], 0);
  t.is(next?.queueOffset, 500);
  t.true((next?.commitLogOffset ?? 0) > (first[499]?.commitLogOffset ?? Infinity));
});

test('broker - producers: instanceName defaults to DEFAULT and a second started producer of the group with it is refused', async (t) => {
  const broker = await startBroker(t);
  const p1 = new Producer({ groupName: 'pg', broker });
  t.is(p1.instanceName, 'DEFAULT');
  await p1.start();
  const p2 = new Producer({ groupName: 'pg', broker });
  const err = await t.throwsAsync(p2.start());
  t.true(isPetrelError(err, 'ERR_INSTANCE_NAME_TAKEN'));
  const p3 = new Producer({ groupName: 'pg', instanceName: 'second', broker });
  await p3.start();
  const other = new Producer({ groupName: 'other-group', broker });
  await other.start();
  await p1.shutdown();
  await p2.start();
  for (const p of [p2, p3, other]) await p.shutdown();
});

test('broker - a client-made unique key is kept as the message id and refused when malformed', async (t) => {
  const broker = await startBroker(t);
  const [r] = await broker.send([{ topic: 'Ids', body: body('x'), uniqKey: '0102FC000000013DA20B17C55500000000' }]);
  t.is(r?.msgId, '0102FC000000013DA20B17C55500000000');
  await until(() => broker.positions.get(Position.DISPATCHED) > (r?.commitLogOffset ?? 0), 5000, 'dispatch');
  t.is((await broker.queryMessageById('0102FC000000013DA20B17C55500000000'))?.commitLogOffset, r?.commitLogOffset);
  t.true(isPetrelError(await t.throwsAsync(broker.send([{ topic: 'Ids', body: body('x'), uniqKey: 'bad key' }])), 'ERR_MESSAGE_ILLEGAL'));
});

for (const commitLogWriteMode of ['write', 'mmap'] as const) {
  test(`broker - batches written with commitLogWriteMode ${commitLogWriteMode} roll files, read back and survive a restart`, async (t) => {
    const dir = tempDir(t);
    const config = { storePathRootDir: dir, mappedFileSizeCommitLog: 64 * 1024, commitLogWriteMode };
    const expected: string[] = [];
    const first = await Broker.start(config);
    try {
      await first.createTopic({ topic: 'Rolls', readQueueNums: 1, writeQueueNums: 1 });
      for (let b = 0; b < 8; b++) {
        const batch = Array.from({ length: 50 }, (_, i) => `${b}-${i}-`.padEnd(500, 'x'));
        expected.push(...batch);
        const results = await first.send(batch.map((s) => ({ topic: 'Rolls', body: body(s) })), 0);
        t.true(results.every((r) => r.sendStatus === 'SEND_OK'));
      }
      t.true(first.positions.get(Position.WROTE) > 3 * 64 * 1024, 'the log spans several files');
    } finally {
      await first.shutdown();
    }
    const second = await Broker.start(config);
    t.teardown(() => second.shutdown());
    const got: string[] = [];
    for (let offset = 0; got.length < expected.length; ) {
      const r = await second.pull({ group: 'G', topic: 'Rolls', queueId: 0, offset, maxMsgNums: 32 });
      if (r.messages.length === 0) break;
      got.push(...r.messages.map((m) => text(m.body)));
      offset = r.nextBeginOffset;
    }
    t.deepEqual(got, expected);
  });
}

test('broker - a consumer silent past the 120 s expiry on the broker\'s clock is dropped from its group, one heard from stays', async (t) => {
  const clock = new ManualClock();
  // the expiry is checked every flushConsumerOffsetInterval of real time, against the injected clock
  const broker = await startBroker(t, { flushConsumerOffsetInterval: 20 }, { clock });
  const reg = (clientId: string) => ({ group: 'expiring', clientId, messageModel: 'CLUSTERING' as const, subscriptions: [{ topic: 'Expiry', filter: { type: 'TAG' as const, expression: '*' } }] });
  t.deepEqual(await broker.registerConsumer(reg('c-1')), ['c-1']);
  t.deepEqual(await broker.registerConsumer(reg('c-2')), ['c-1', 'c-2']);
  clock.advance(100_000);
  await broker.registerConsumer(reg('c-2')); // c-2 heartbeats; c-1 stays silent
  clock.advance(30_000);
  // c-1 was last heard 130 s ago on the broker's clock, c-2 30 s ago: the next check drops c-1 only
  t.deepEqual(await broker.awaitConsumerIdsChange('expiring', ['c-1', 'c-2'], 10_000), ['c-2']);
});
