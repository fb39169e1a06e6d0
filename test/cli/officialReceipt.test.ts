import test from 'ava';
import { Producer as OfficialProducer } from 'rocketmq-client-nodejs';
import { connectBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { untilQueued } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';
import { lines, readyString, runCli, startCli } from './cliHarness.js';

const quietLogger = { info: (): void => undefined, warn: (): void => undefined, error: (): void => undefined, debug: (): void => undefined };

interface Found {
  readonly msgId: string;
  readonly offsetMsgId: string;
  readonly topic: string;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly body: string;
}

async function query(remoting: string, id: string): Promise<Found[]> {
  const r = await runCli(['message', 'query', '--id', id, '--broker', remoting, '--json']);
  if (r.code !== 0) throw new Error(`message query --id ${id}: exit ${r.code}: ${r.stderr}`);
  return (JSON.parse(lines(r.stdout)[0] ?? '{}') as { messages: Found[] }).messages;
}

// The official client reports the SendResultEntry's message_id, which is its own client-side id
// (UNIQ_KEY), and the entry's offset; the queue of its receipt is the MessageQueue it chose from
// the route itself (always queue 0), not anything the broker answers.
test('message query - the id and offset of an official gRPC SendReceipt find the message where it landed, by unique key and by its offset id', async (t) => {
  const running = await startCli(t, ['start', '--store', tempDir(t), '--grpc-port', '0', '--remoting-port', '0', '--json', '--log-level', 'silent']);
  const remoting = readyString(running, 'remoting');
  const api = await connectBrokerApi(remoting);
  t.teardown(() => api.close());
  await api.createTopic({ topic: 'ReceiptTopic', readQueueNums: 2, writeQueueNums: 2 });

  const producer = new OfficialProducer({ endpoints: readyString(running, 'grpc'), namespace: '', logger: quietLogger, topic: 'ReceiptTopic' });
  await producer.startup();
  const receipts = [];
  try {
    for (let i = 0; i < 4; i++) receipts.push(await producer.send({ topic: 'ReceiptTopic', body: Buffer.from(`r${i}`) }));
  } finally {
    await producer.shutdown();
  }
  await untilQueued(api, 'ReceiptTopic', 4);

  const queues = new Set<number>();
  for (const [i, receipt] of receipts.entries()) {
    const [found, ...more] = await query(remoting, receipt.messageId);
    if (found === undefined) throw new Error(`receipt ${i} (${receipt.messageId}) not found`);
    t.is(more.length, 0);
    t.is(found.body, `r${i}`);
    t.is(found.msgId, receipt.messageId, 'the stored UNIQ_KEY is the id the client reports');
    t.is(found.queueOffset, Number(receipt.offset), `receipt ${i}'s offset is the offset in queue ${found.queueId}, where it landed`);
    queues.add(found.queueId);
    if (i === receipts.length - 1) {
      const [byOffsetId] = await query(remoting, found.offsetMsgId);
      t.is(byOffsetId?.body, `r${i}`, 'an offset message id is decoded');
      t.is(byOffsetId?.msgId, receipt.messageId);
    }
  }
  t.deepEqual([...queues].sort(), [0, 1], 'the messages landed in both queues');
  t.is((await running.stop()).code, 0);
});
