import test from 'ava';
import { PullConsumer } from '../../client/PullConsumer.js';
import { isPetrelError } from '../../common/errors.js';
import { body, startBroker, text, until } from '../helpers/broker.js';

test('pullConsumer - pulls a queue with a tag filter, re-checking colliding tags, and moves its offset', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'PullT', readQueueNums: 2, writeQueueNums: 2 });
  for (const tag of ['Aa', 'BB', 'Aa', 'C']) await broker.send([{ topic: 'PullT', body: body(tag), tags: tag }], 0);
  await until(async () => (await broker.maxOffset('PullT', 0)) === 4, 5000, 'dispatch');
  const c = new PullConsumer({ groupName: 'puller', broker });
  await c.start();
  t.teardown(() => c.shutdown());
  const queues = await c.fetchMessageQueues('PullT');
  t.deepEqual(queues.map((q) => q.queueId), [0, 1]);
  const r = await c.pull(queues[0] ?? { topic: 'PullT', brokerName: '', queueId: 0 }, 'Aa', 0);
  t.is(r.status, 'FOUND');
  t.deepEqual(r.messages.map((m) => text(m.body)), ['Aa', 'Aa'], 'BB shares the hash of Aa and is dropped here');
  t.is(r.nextBeginOffset, 4);
  t.is(await c.fetchConsumeOffset(queues[0] ?? { topic: 'PullT', brokerName: '', queueId: 0 }), -1);
  await c.updateConsumeOffset(queues[0] ?? { topic: 'PullT', brokerName: '', queueId: 0 }, r.nextBeginOffset);
  t.is(await broker.queryOffset('puller', 'PullT', 0), 4);
  t.true(isPetrelError(await t.throwsAsync(c.updateConsumeOffset(queues[0] ?? { topic: 'PullT', brokerName: '', queueId: 0 }, -1)), 'ERR_OFFSET_INVALID'));
});

test('pullConsumer - the async iterator yields every message in order, waits at the end, and commits what the loop finished', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Iter', readQueueNums: 1, writeQueueNums: 1 });
  for (let i = 0; i < 5; i++) await broker.send([{ topic: 'Iter', body: body(`m${i}`) }], 0);
  const c = new PullConsumer({ groupName: 'iter', broker, pullLongPollMs: 200 });
  await c.start();
  t.teardown(() => c.shutdown());
  const mq = { topic: 'Iter', brokerName: broker.brokerName, queueId: 0 };
  const seen: string[] = [];
  const late = (async () => {
    await until(() => seen.length === 5, 5000, 'first five');
    await broker.send([{ topic: 'Iter', body: body('m5') }], 0);
  })();
  for await (const m of c.messages(mq, { from: 'first' })) {
    seen.push(text(m.body));
    if (seen.length === 6) break;
  }
  await late;
  t.deepEqual(seen, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
  t.is(await broker.queryOffset('iter', 'Iter', 0), 5, 'the message the loop broke on is not committed');
  const again: string[] = [];
  for await (const m of c.messages(mq)) {
    again.push(text(m.body));
    break;
  }
  t.deepEqual(again, ['m5'], 'the group resumes from its committed offset');
});

test('pullConsumer - calls before start() and bad options are refused with typed errors', async (t) => {
  const broker = await startBroker(t);
  const c = new PullConsumer({ groupName: 'early', broker });
  t.true(isPetrelError(await t.throwsAsync(c.fetchMessageQueues('X')), 'ERR_CLIENT_STATE'));
  t.true(isPetrelError(t.throws(() => new PullConsumer({ groupName: 'g', broker, pullBatchSize: 0 })), 'ERR_INVALID_ARGUMENT'));
});
