import test from 'ava';
import { isPetrelError } from '../../common/errors.js';
import { body, startBroker, text } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';
import { Broker } from '../../actors/Broker.js';

test('long polling - a held pull is answered by the dispatch that grows its own queue, not by another queue', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Held', readQueueNums: 2, writeQueueNums: 2 });
  let answered = false;
  const held = broker.pull({ group: 'G', topic: 'Held', queueId: 0, offset: 0, maxMsgNums: 8, longPollMs: 20_000 }).finally(() => (answered = true));
  await broker.send([{ topic: 'Held', body: body('for queue 1') }], 1);
  // queue 1 now holds its message for any reader, while queue 0's pull is still held
  const other = await broker.pull({ group: 'G', topic: 'Held', queueId: 1, offset: 0, maxMsgNums: 8, longPollMs: 20_000 });
  t.deepEqual(other.messages.map((m) => text(m.body)), ['for queue 1']);
  t.false(answered);
  const started = performance.now();
  await broker.send([{ topic: 'Held', body: body('for queue 0') }], 0);
  const r = await held;
  t.is(r.status, 'FOUND');
  t.deepEqual(r.messages.map((m) => text(m.body)), ['for queue 0']);
  t.true(performance.now() - started < 10_000, 'woken by the dispatch, long before its 20 s were up');
});

test('long polling - a pull with nothing to find is answered empty when its time is up', async (t) => {
  const broker = await startBroker(t);
  await broker.createTopic({ topic: 'Quiet', readQueueNums: 1, writeQueueNums: 1 });
  const started = performance.now();
  const r = await broker.pull({ group: 'G', topic: 'Quiet', queueId: 0, offset: 0, maxMsgNums: 8, longPollMs: 300 });
  t.true(performance.now() - started >= 290, 'held for its long-poll time');
  t.is(r.status, 'NO_MATCHED_LOGIC_QUEUE', 'a topic with no message yet has no ConsumeQueue');
  t.is(r.messages.length, 0);
  const at = await broker.pull({ group: 'G', topic: 'Quiet', queueId: 0, offset: 0, maxMsgNums: 8 });
  t.is(at.status, 'NO_MATCHED_LOGIC_QUEUE', 'without longPollMs the answer comes at once');
});

test('long polling - held pulls are answered when the broker shuts down, not left to their timeout', async (t) => {
  const broker = await Broker.start({ storePathRootDir: tempDir(t), mappedFileSizeCommitLog: 1 << 20 });
  await broker.createTopic({ topic: 'Closing', readQueueNums: 2, writeQueueNums: 2 });
  const pulls = [0, 1].map((queueId) => broker.pull({ group: 'G', topic: 'Closing', queueId, offset: 0, maxMsgNums: 8, longPollMs: 60_000 }));
  const started = performance.now();
  await broker.shutdown();
  const settled = await Promise.allSettled(pulls);
  t.true(performance.now() - started < 20_000);
  for (const s of settled) {
    if (s.status === 'fulfilled') t.is(s.value.messages.length, 0);
    else t.true(isPetrelError(s.reason, 'ERR_ACTOR_STOPPED'), String(s.reason));
  }
});
