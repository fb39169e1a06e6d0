import test from 'ava';
import type { ExecutionContext } from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { Producer as OfficialProducer } from 'rocketmq-client-nodejs';
import type { SendResult } from '../../api/BrokerApi.js';
import { METRIC_NAMES } from '../../cli/metrics.js';
import { Producer } from '../../client/Producer.js';
import { isPetrelError } from '../../common/errors.js';
import { connectBrokerApi, type RemoteBrokerApi } from '../../protocol/remoting/RemoteBrokerApi.js';
import { body, until, untilQueued } from '../helpers/broker.js';
import { fillUp, mountTmpfs } from '../helpers/smallFs.js';
import { bodiesOf, pullAll } from '../helpers/storeAudit.js';
import { tempDir } from '../helpers/tmp.js';
import { readyString, startCli, type Running } from './cliHarness.js';

const quietLogger = { info: (): void => undefined, warn: (): void => undefined, error: (): void => undefined, debug: (): void => undefined };
const TOPIC = 'DiskFullNet';
const GROUP = 'disk_full_group';
const BIG = 64 * 1024;
const FULL_LOG = 'store disk full: sends are refused with ERR_DISK_FULL until space is freed';
const FREE_LOG = 'store disk space available again: sends resume';

/** The value of the first sample line of `name` whose labels include `having`. */
function sample(metrics: string, name: string, having = ''): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(having)) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** The parsed JSON log lines of the process whose msg is `msg`. */
function logged(r: Running, msg: string): Record<string, unknown>[] {
  return r.stderr().split('\n').filter((l) => l.includes(msg)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The names of messages whose bodies are `name:padding`, sorted. */
function namesOf(messages: Parameters<typeof bodiesOf>[0]): string[] {
  return bodiesOf(messages).map((b) => b.split(':')[0] ?? '').sort();
}

type Outcome = { ok: true; id: string; queueOffset: number } | { ok: false; error: string; code: string };

async function outcome(p: Promise<{ id: string; queueOffset: number }>): Promise<Outcome> {
  try {
    return { ok: true, ...(await p) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err), code: isPetrelError(err) ? err.code : (err as Error).name };
  }
}

test('start - a full disk under the store: gRPC and remoting sends fail with a clear error, /metrics and the log show the flag once per change; after freeing, sends succeed, are read back and survive a restart (1 GiB CommitLog on 48 MiB)', async (t: ExecutionContext) => {
  const fsys = mountTmpfs(t, 48);
  if ('skip' in fsys) {
    t.log(fsys.skip);
    t.pass();
    return;
  }
  const store = path.join(fsys.dir, 'store');
  const conf = path.join(tempDir(t), 'broker.conf');
  // the disk is measured every 100 ms, and offsets persisted as often, so both run while it is full
  fs.writeFileSync(conf, 'cleanResourceInterval=100\nflushConsumerOffsetInterval=100\n');
  const args = ['start', '--conf', conf, '--store', store, '--grpc-port', '0', '--remoting-port', '0', '--metrics-port', '0', '--json', '--log-level', 'info'];

  let running = await startCli(t, args);
  let api: RemoteBrokerApi = await connectBrokerApi(readyString(running, 'remoting'));
  t.teardown(() => api.close());
  await api.createTopic({ topic: TOPIC, readQueueNums: 4, writeQueueNums: 4 });
  const official = new OfficialProducer({ endpoints: readyString(running, 'grpc'), namespace: '', logger: quietLogger, topic: TOPIC });
  await official.startup();
  // bounded: the official client may wait on a broker that is gone when a test fails
  t.teardown(() => Promise.race([official.shutdown().catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]));
  const producer = new Producer({ groupName: 'disk_full_producer', broker: api, retryTimesWhenSendFailed: 0 });
  await producer.start();
  t.teardown(() => producer.shutdown().catch(() => undefined));

  // A body is its name, a colon and padding. While the disk is full the bodies are 64 KiB: a small
  // record may still fit in a page the filesystem already gave the CommitLog, and is then stored.
  const bodyOf = (name: string, size: number): string => `${name}:`.padEnd(size, 'x');
  const sendGrpc = (name: string, size = 0): Promise<Outcome> =>
    outcome(official.send({ topic: TOPIC, keys: [name], body: Buffer.from(bodyOf(name, size)) }).then((r) => ({ id: r.messageId, queueOffset: Number(r.offset) })));
  const sendRemoting = (name: string, size = 0): Promise<Outcome> =>
    outcome(producer.send({ topic: TOPIC, keys: name, body: body(bodyOf(name, size)) }).then((r: SendResult) => {
      if (r.sendStatus !== 'SEND_OK') throw new Error(`${name}: ${r.sendStatus}`);
      return { id: r.msgId, queueOffset: r.queueOffset };
    }));
  /** Every message acknowledged so far, by name. */
  const acked = new Map<string, string>();
  const refused = new Set<string>();
  const record = (name: string, o: Outcome): void => {
    if (o.ok) acked.set(name, o.id);
    else refused.add(name);
  };

  for (let i = 0; i < 8; i++) {
    record(`g-before-${i}`, await sendGrpc(`g-before-${i}`));
    record(`r-before-${i}`, await sendRemoting(`r-before-${i}`));
  }
  t.is(acked.size, 16, 'every send before the disk fills is acknowledged');
  await untilQueued(api, TOPIC, 16);
  await api.commitOffset(GROUP, TOPIC, 0, 1);

  const metricsUrl = readyString(running, 'metrics');
  const scrape = async (): Promise<string> => (await fetch(metricsUrl)).text();
  t.is(sample(await scrape(), METRIC_NAMES.diskFull), 0);

  // The disk fills up. Sends fail, whether the write is refused by the filesystem (ERR_STORE_IO)
  // or by the disk-full flag once it is measured (ERR_DISK_FULL); none is acknowledged.
  const filler = fillUp(fsys.dir);
  const whileFull: [string, Outcome][] = [];
  for (let i = 0; i < 6; i++) {
    whileFull.push([`g-full-${i}`, await sendGrpc(`g-full-${i}`, BIG)]);
    whileFull.push([`r-full-${i}`, await sendRemoting(`r-full-${i}`, BIG)]);
  }
  for (const [name, o] of whileFull) record(name, o);
  const ended = (): boolean => running.child.exitCode !== null || running.child.signalCode !== null;
  if (ended()) {
    t.fail(`the broker process ended (code ${running.child.exitCode}, signal ${running.child.signalCode}): ${running.stderr().slice(-3000)}`);
    return;
  }
  t.log('while full:', whileFull.map(([n, o]) => `${n} ${o.ok ? 'SEND_OK' : o.code}`).join(', '));
  t.deepEqual(whileFull.filter(([, o]) => o.ok).map(([n]) => n), [], 'no send is acknowledged while the disk is full');
  for (const [name, o] of whileFull) {
    if (o.ok) continue;
    t.regex(o.error, /disk is full|no space left on device/, `${name}: ${o.error}`);
    if (name.startsWith('r-')) t.true(['ERR_DISK_FULL', 'ERR_STORE_IO'].includes(o.code), `${name}: ${o.code}`);
  }
  // A committed offset while full: persisting it fails, the broker keeps running and says so.
  await api.commitOffset(GROUP, TOPIC, 0, 2);

  let metrics = '';
  await until(async () => sample((metrics = await scrape()), METRIC_NAMES.diskFull) === 1, 10_000, 'petrelmq_store_disk_full 1');
  const ratio = sample(metrics, METRIC_NAMES.diskUsedRatio) ?? 0;
  t.log(`${METRIC_NAMES.diskUsedRatio} while full: ${ratio}`);
  t.true(ratio >= 0.9, `used ratio ${ratio} >= diskSpaceWarningLevelRatio 90 %`);
  // more sends and scrapes while the flag stays set: refused with ERR_DISK_FULL, logged once
  for (let i = 0; i < 5; i++) {
    const o = await sendRemoting(`r-flagged-${i}`, i % 2 === 0 ? 0 : BIG);
    record(`r-flagged-${i}`, o);
    t.like(o, { ok: false, code: 'ERR_DISK_FULL' });
    t.is(sample(await scrape(), METRIC_NAMES.diskFull), 1);
  }
  await until(() => ended() || logged(running, 'consumer offsets not persisted').length > 0, 10_000, 'the failed offset persistence logged');
  t.false(ended(), `the broker runs on: ${running.stderr().slice(-3000)}`);
  t.is(logged(running, FULL_LOG).length, 1, 'one warn line for the change to full, not one per send');
  t.like(logged(running, FULL_LOG)[0], { level: 40, full: true });

  fs.rmSync(filler);
  await until(async () => sample((metrics = await scrape()), METRIC_NAMES.diskFull) === 0, 10_000, 'petrelmq_store_disk_full 0');
  t.true((sample(metrics, METRIC_NAMES.diskUsedRatio) ?? 1) < 0.9);
  await until(() => logged(running, FREE_LOG).length > 0, 10_000, 'the change back logged');
  t.is(logged(running, FULL_LOG).length, 1);
  t.is(logged(running, FREE_LOG).length, 1, 'one line for the change back');

  for (let i = 0; i < 8; i++) {
    const g = await sendGrpc(`g-after-${i}`);
    const r = await sendRemoting(`r-after-${i}`);
    t.true(g.ok && r.ok, `sends resume: ${JSON.stringify([g, r])}`);
    record(`g-after-${i}`, g);
    record(`r-after-${i}`, r);
  }
  t.is(acked.size, 32);

  const audit = async (label: string): Promise<void> => {
    await untilQueued(api, TOPIC, acked.size);
    t.deepEqual(namesOf(await pullAll(api, TOPIC)), [...acked.keys()].sort(), `${label}: pulled exactly the acknowledged messages`);
    const end = Date.now() + 60_000;
    for (const [name, id] of acked) {
      const byKey = await api.queryMessageByKey(TOPIC, name, 8, 0, end);
      t.deepEqual(namesOf(byKey), [name], `${label}: key ${name}`);
      t.is(byKey[0]?.msgId, id, `${label}: ${name} carries the id its sender was given`);
    }
    for (const name of refused) t.deepEqual(await api.queryMessageByKey(TOPIC, name, 8, 0, end), [], `${label}: refused ${name} left nothing`);
  };
  await audit('before the restart');
  await until(async () => (await api.queryOffset(GROUP, TOPIC, 0)) === 2, 10_000, 'offset 2 committed');

  await official.shutdown();
  await producer.shutdown();
  api.close();
  const stopped = await running.stop();
  t.is(stopped.code, 0, stopped.stderr);
  t.false(fs.existsSync(path.join(store, 'abort')), 'a clean stop leaves no abort file');

  running = await startCli(t, args);
  api = await connectBrokerApi(readyString(running, 'remoting'));
  await audit('after the restart');
  t.is(await api.queryOffset(GROUP, TOPIC, 0), 2, 'the offset committed while the disk was full was persisted once space returned');
  api.close();
  t.is((await running.stop()).code, 0);
});
