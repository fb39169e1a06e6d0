import test from 'ava';
import type { CommittedOffset } from '../../api/BrokerApi.js';
import { ManualClock } from '../../common/clock.js';
import { ConsumerOffsets } from '../../actors/ConsumerOffsets.js';
import type { JsonState } from '../../actors/JsonState.js';
import { SlaveSync } from '../../actors/SlaveSync.js';
import { SubscriptionGroups } from '../../actors/SubscriptionGroups.js';
import { TopicConfigs } from '../../actors/TopicConfigs.js';

function memory(): JsonState {
  let v: unknown;
  return { load: () => v, save: (x) => (v = JSON.parse(JSON.stringify(x)) as unknown) };
}

test('slave sync - the master offset wins except where a client of the slave committed past it, and the period runs on the clock', async (t) => {
  let master: CommittedOffset[] = [{ group: 'g', topic: 'T', queueId: 0, offset: 10 }, { group: 'g', topic: 'T', queueId: 1, offset: 20 }];
  const offsets = new ConsumerOffsets(memory());
  const clock = new ManualClock();
  const sync = new SlaveSync({
    brokerName: 'b', periodMs: 10_000, clock, topics: new TopicConfigs(memory()), offsets, groups: new SubscriptionGroups(memory()), delay: memory(),
    connect: async () => ({
      listTopics: async () => [{ topic: 'T', readQueueNums: 2, writeQueueNums: 2, perm: 6, order: false }],
      allConsumerOffsets: async () => master,
      delayOffsets: async () => [{ level: 1, offset: 3 }],
      listSubscriptionGroups: async () => ({ version: 1, groups: [] }),
      close: () => undefined,
    }),
  });
  t.teardown(() => sync.stop());
  sync.setMasterAddress('127.0.0.1:1');
  t.is((await sync.syncNow())?.offsets, 2);
  t.is(offsets.query('g', 'T', 0), 10);
  // A client of the slave commits past the master on queue 0 (master away): a sync keeps it.
  offsets.commit('g', 'T', 0, 15);
  sync.noteLocalCommit('g', 'T', 0, 15);
  master = [{ group: 'g', topic: 'T', queueId: 0, offset: 12 }, { group: 'g', topic: 'T', queueId: 1, offset: 5 }];
  clock.advance(10_000);
  t.is((await sync.tick())?.keptLocal, 1);
  t.is(offsets.query('g', 'T', 0), 15, 'not moved back past what the slave consumed');
  t.is(offsets.query('g', 'T', 1), 5, 'a reset on the master reaches the slave');
  t.is(await sync.tick(), undefined, 'no sync before the period has passed on the clock');
  master = [{ group: 'g', topic: 'T', queueId: 0, offset: 16 }];
  clock.advance(10_000);
  await sync.tick();
  t.is(offsets.query('g', 'T', 0), 16, 'the master caught up: its offset wins again');
});
