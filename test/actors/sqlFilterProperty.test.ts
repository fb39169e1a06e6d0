import test from 'ava';
import fc from 'fast-check';
import type { Message } from '../../api/BrokerApi.js';
import { compileSqlFilter } from '../../filter/sql/SqlFilter.js';
import { printSql } from '../../filter/sql/printer.js';
import { body } from '../helpers/broker.js';
import { arbProps, condition } from '../filter/sqlArbitraries.js';
import { BLOOM_ON, dispatched, ids, pullAll, registerSql, startFilterBroker } from './sqlFilterHelpers.js';

const SEED = 20_241_125;
const QUEUES = 2;

/**
 * A generated property map as a message: TAGS is the broker's, so it travels as the tag, and blank
 * values, which a producer may not send, are left out (RocketMQ drops them from the map anyway).
 */
function messageOf(topic: string, props: Record<string, string>, i: number): Message {
  const user = Object.fromEntries(Object.entries(props).filter(([name, value]) => name !== 'TAGS' && value !== ''));
  const tags = props['TAGS'];
  return { topic, body: body(`m${i}`), properties: user, ...(tags === undefined || tags === '' ? {} : { tags }) };
}

test('sqlFilter property - the bloom path delivers exactly what exact evaluation delivers', async (t) => {
  t.timeout(110_000);
  const broker = await startFilterBroker(t, BLOOM_ON);
  let run = 0;
  let delivered = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(condition(2).map(printSql), { minLength: 1, maxLength: 4 }),
      fc.array(arbProps, { minLength: 1, maxLength: 30 }),
      fc.array(arbProps, { minLength: 1, maxLength: 30 }),
      async (expressions, before, after) => {
        const topic = `Prop${run++}`;
        await broker.createTopic({ topic, readQueueNums: QUEUES, writeQueueNums: QUEUES });
        const counts = [0, 0];
        const send = async (list: Record<string, string>[], from: number): Promise<void> => {
          for (const [k, props] of list.entries()) {
            const i = from + k;
            await broker.send([messageOf(topic, props, i)], i % QUEUES);
            counts[i % QUEUES] = (counts[i % QUEUES] ?? 0) + 1;
          }
        };
        // messages from before the groups register carry no bits for them; later ones do
        await send(before, 0);
        await dispatched(broker, topic, counts);
        for (const [g, expression] of expressions.entries()) await registerSql(broker, `${topic}_g${g}`, topic, expression);
        await send(after, before.length);
        await dispatched(broker, topic, counts);

        const all = await pullAll(broker, `${topic}_all`, topic, QUEUES);
        for (const [g, expression] of expressions.entries()) {
          const filter = { type: 'SQL92', expression } as const;
          const exact = compileSqlFilter(expression);
          const expected = ids(all.filter((m) => exact.evaluate(m.properties)));
          const bloom = ids(await pullAll(broker, `${topic}_g${g}`, topic, QUEUES, filter));
          const unregistered = ids(await pullAll(broker, `${topic}_exact${g}`, topic, QUEUES, filter));
          if (bloom.join() !== expected.join() || unregistered.join() !== expected.join()) {
            t.log({ expression, expected: expected.length, bloom: bloom.length, exact: unregistered.length });
            return false;
          }
          delivered += expected.length;
        }
        return true;
      },
    ),
    { numRuns: 80, seed: SEED, endOnFailure: true },
  );
  const stats = await broker.filterStats();
  t.log({ matched: delivered, ...stats });
  t.true(delivered > 50, 'the generated expressions match some messages');
  t.true(stats.bloomSkipped > 50, 'the bloom bits skipped messages');
});
