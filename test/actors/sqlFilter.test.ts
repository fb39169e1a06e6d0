import test, { type ExecutionContext } from 'ava';
import type { Broker } from '../../actors/Broker.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import type { MessageExt } from '../../api/BrokerApi.js';
import { Producer } from '../../client/Producer.js';
import { PushConsumer } from '../../client/PushConsumer.js';
import { body, startBroker, until } from '../helpers/broker.js';
import { BLOOM_OFF, BLOOM_ON, dispatched, ids, pullAll, registerSql, startFilterBroker } from './sqlFilterHelpers.js';

async function producer(t: ExecutionContext, broker: Broker): Promise<Producer> {
  const p = new Producer({ groupName: 'pg', instanceName: `i${Math.random()}`, broker });
  await p.start();
  t.teardown(() => p.shutdown());
  return p;
}

/** A push consumer that records what it receives, by message id. */
function recorder(t: ExecutionContext, broker: Broker, group: string): { consumer: PushConsumer; seen: Map<string, number> } {
  const consumer = new PushConsumer({ groupName: group, broker, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', pullLongPollMs: 200 });
  t.teardown(() => consumer.shutdown());
  const seen = new Map<string, number>();
  consumer.registerMessageListener((msgs: MessageExt[]) => {
    for (const m of msgs) seen.set(m.msgId, (seen.get(m.msgId) ?? 0) + 1);
    return 'CONSUME_SUCCESS';
  });
  return { consumer, seen };
}

interface Sent {
  readonly msgId: string;
  readonly region: string;
  readonly price: number;
  readonly tag: string;
}

const REGIONS = ['eu', 'us', 'ap'] as const;
const TAGS = ['TagA', 'TagB', 'TagC'] as const;

async function sendBatch(p: Producer, topic: string, from: number, count: number): Promise<Sent[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, k) => {
      const i = from + k;
      const region = REGIONS[i % 3] ?? 'eu';
      const price = (i * 37) % 100;
      const tag = TAGS[(i >> 1) % 3] ?? 'TagA';
      const r = await p.send({ topic, body: body(`m${i}`), tags: tag, properties: { region, price: String(price) } });
      return { msgId: r.msgId, region, price, tag };
    }),
  );
}

test('sqlFilter - with enablePropertyFilter off a SQL92 subscription is refused with ERR_FILTER_NOT_SUPPORTED', async (t) => {
  const broker = await startBroker(t);
  const { consumer } = recorder(t, broker, 'sqlOff');
  consumer.subscribe('Off', { type: 'SQL92', expression: 'a > 1' });
  await t.throwsAsync(consumer.start(), { code: 'ERR_FILTER_NOT_SUPPORTED' });
  await t.throwsAsync(broker.pull({ group: 'adhoc', topic: 'Off', queueId: 0, offset: 0, maxMsgNums: 1, filter: { type: 'SQL92', expression: 'a > 1' } }), {
    code: 'ERR_FILTER_NOT_SUPPORTED',
  });
});

test('sqlFilter - a SQL92 subscription that does not parse is refused at registration with ERR_FILTER_SYNTAX', async (t) => {
  const broker = await startFilterBroker(t, BLOOM_ON);
  await t.throwsAsync(registerSql(broker, 'bad', 'Bad', "region = 'eu' AND"), { code: 'ERR_FILTER_SYNTAX' });
  t.deepEqual(await broker.consumerIds('bad'), []);
});

for (const [mode, config] of [
  ['bloom path on', BLOOM_ON],
  ['bloom path off', BLOOM_OFF],
] as const satisfies readonly (readonly [string, BrokerConfigInput])[]) {
  test.serial(`sqlFilter - two SQL92 groups and a tag group each receive exactly their messages (${mode})`, async (t) => {
    const broker = await startFilterBroker(t, config);
    const topic = 'Props';
    await broker.createTopic({ topic, readQueueNums: 4, writeQueueNums: 4 });
    const p = await producer(t, broker);
    // some messages before any group registers: those are evaluated exactly on the bloom path too
    const early = await sendBatch(p, topic, 0, 60);
    const groups = {
      cheapEu: { expression: "region = 'eu' AND price < 50", wants: (m: Sent) => m.region === 'eu' && m.price < 50 },
      pricyOrAp: { expression: "price BETWEEN 90 AND 99 OR region IN ('ap')", wants: (m: Sent) => m.price >= 90 || m.region === 'ap' },
    };
    const a = recorder(t, broker, 'cheapEu');
    a.consumer.subscribe(topic, { type: 'SQL92', expression: groups.cheapEu.expression });
    const b = recorder(t, broker, 'pricyOrAp');
    b.consumer.subscribe(topic, { type: 'SQL92', expression: groups.pricyOrAp.expression });
    const c = recorder(t, broker, 'tagsAC');
    c.consumer.subscribe(topic, 'TagA || TagC');
    await Promise.all([a.consumer.start(), b.consumer.start(), c.consumer.start()]);
    const late = await sendBatch(p, topic, 60, 240);
    const sent = [...early, ...late];

    const expected = {
      a: sent.filter(groups.cheapEu.wants).map((m) => m.msgId).sort(),
      b: sent.filter(groups.pricyOrAp.wants).map((m) => m.msgId).sort(),
      c: sent.filter((m) => m.tag === 'TagA' || m.tag === 'TagC').map((m) => m.msgId).sort(),
    };
    t.true(expected.a.length > 0 && expected.b.length > 0 && expected.c.length > 0);
    await until(() => a.seen.size >= expected.a.length && b.seen.size >= expected.b.length && c.seen.size >= expected.c.length, 20_000, 'every group consumed');
    // let any extra delivery show up before comparing
    await new Promise((r) => setTimeout(r, 300));
    t.deepEqual([...a.seen.keys()].sort(), expected.a);
    t.deepEqual([...b.seen.keys()].sort(), expected.b);
    t.deepEqual([...c.seen.keys()].sort(), expected.c);
    for (const r of [a, b, c]) t.true([...r.seen.values()].every((n) => n === 1), 'each message once');

    const stats = await broker.filterStats();
    t.log(mode, stats);
    if (config === BLOOM_ON) {
      t.true(stats.bitmapsComputed >= late.length, 'bits computed for the messages sent after registration');
      t.true(stats.bloomSkipped > 0, 'the bloom bits skipped messages without reading them');
    } else {
      t.is(stats.bloomSkipped, 0);
      t.is(stats.bitmapsComputed, 0);
    }
  });
}

test.serial('sqlFilter - a restart keeps the bits: skips stay exact, older messages are evaluated exactly', async (t) => {
  const first = await startFilterBroker(t, BLOOM_ON);
  const dir = first.config.storePathRootDir;
  const topic = 'Restart';
  const want = 'n >= 40 AND n < 60 OR k = 1';
  const wanted = (n: number): boolean => (n >= 40 && n < 60) || n % 10 === 1;
  await first.createTopic({ topic, readQueueNums: 2, writeQueueNums: 2 });
  const send = async (broker: Broker, from: number, to: number): Promise<void> => {
    for (let n = from; n < to; n++) {
      await broker.send([{ topic, body: body(String(n)), properties: { n: String(n), k: String(n % 10) } }], n % 2);
    }
  };
  await send(first, 0, 20); // before registration: no bits for the group
  await dispatched(first, topic, [10, 10]);
  // a later millisecond than the last store: messages sent after registering are all past bitsValidSince
  await new Promise((r) => setTimeout(r, 5));
  await registerSql(first, 'g', topic, want);
  await send(first, 20, 100);
  await dispatched(first, topic, [50, 50]);
  await first.shutdown();

  const second = await startFilterBroker(t, { ...BLOOM_ON, storePathRootDir: dir });
  await send(second, 100, 140); // before the group comes back: the persisted table still gives bits
  await dispatched(second, topic, [70, 70]);
  const before = await second.filterStats();
  const got = await pullAll(second, 'g', topic, 2, { type: 'SQL92', expression: want });
  const after = await second.filterStats();
  const numbers = got.map((m) => Number(m.properties['n'])).sort((x, y) => x - y);
  const expected = Array.from({ length: 140 }, (_, n) => n).filter(wanted);
  t.deepEqual(numbers, expected);
  // only one group has bits, so no other group's bits can cover its own: every message with bits that it
  // does not want is skipped, and the CommitLog is read only for the 20 older messages and its matches
  const withBitsUnwanted = 120 - expected.filter((n) => n >= 20).length;
  t.is(after.bloomSkipped - before.bloomSkipped, withBitsUnwanted);
  t.is(after.commitLogReads - before.commitLogReads, 20 + expected.filter((n) => n >= 20).length);
  t.is(after.unitsScanned - before.unitsScanned, 140);

  // the group comes back with the same expression: its bits stay valid, nothing is re-read
  await registerSql(second, 'g', topic, want);
  const again = await pullAll(second, 'g', topic, 2, { type: 'SQL92', expression: want });
  t.deepEqual(ids(again), ids(got));
  // another expression for the group: the old bits are not trusted for it
  const other = 'n < 10';
  await registerSql(second, 'g', topic, other);
  const changed = await pullAll(second, 'g', topic, 2, { type: 'SQL92', expression: other });
  t.deepEqual(changed.map((m) => Number(m.properties['n'])).sort((x, y) => x - y), Array.from({ length: 10 }, (_, n) => n));
});
