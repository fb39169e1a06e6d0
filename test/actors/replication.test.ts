import test from 'ava';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Broker } from '../../actors/Broker.js';
import { Position } from '../../actors/BrokerPositions.js';
import { isPetrelError } from '../../common/errors.js';
import { body, until } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';
import {
  commitLogBytes, firstFileOffset, pullAll, sendMany, startMaster, startNode, startSlave, waitCaughtUp, waitConnected, waitDispatched,
} from '../helpers/replication.js';

test('replication - a slave gets the master\'s CommitLog byte for byte, and its ConsumeQueues serve the same messages', async (t) => {
  const master = await startMaster(t);
  t.regex(master.haAddress ?? '', /^127\.0\.0\.1:\d+$/);
  const slave = await startSlave(t, master);
  await waitConnected(master);
  // Enough 200-byte messages to roll several 64 KiB files: blank records travel too.
  const sent = await sendMany(master, 'Replicated', 900, 'm');
  t.true(sent.every((r) => r.sendStatus === 'SEND_OK'));
  const end = master.positions.get(Position.WROTE);
  t.true(end > 3 * 64 * 1024, 'several files written');
  await waitCaughtUp(master, slave);

  t.is(firstFileOffset(slave), 0, 'an empty slave of an empty master replicates from offset 0');
  t.true(commitLogBytes(slave, 0, end).equals(commitLogBytes(master, 0, end)), 'byte-identical over [0, end)');

  await waitDispatched(slave, master);
  for (let q = 0; q < 4; q++) {
    const onMaster = await pullAll(master, 'Replicated', q);
    const onSlave = await pullAll(slave, 'Replicated', q);
    t.is(onSlave.length, onMaster.length);
    t.deepEqual(onSlave.map((m) => [m.msgId, m.queueOffset, m.commitLogOffset, m.tags]), onMaster.map((m) => [m.msgId, m.queueOffset, m.commitLogOffset, m.tags]));
  }
  const byKey = await slave.queryMessageByKey('Replicated', 'm-k17', 4, 0, Date.now() + 1000);
  t.deepEqual(byKey.map((m) => m.msgId), [sent[17]?.msgId]);

  const stats = await slave.replicationStats();
  t.is(stats?.role, 'slave');
  if (stats?.role === 'slave') {
    t.true(stats.connected);
    t.is(stats.badFrames, 0);
    t.is(stats.reportedOffset, end);
  }
});

test('replication - a SLAVE refuses sends and message send-backs with ERR_SERVICE_NOT_AVAILABLE and reads normally', async (t) => {
  const master = await startMaster(t);
  const slave = await startSlave(t, master);
  const err = await t.throwsAsync(slave.send([{ topic: 'T', body: body('x') }]));
  t.true(isPetrelError(err, 'ERR_SERVICE_NOT_AVAILABLE'));
  const [r] = await master.send([{ topic: 'T', body: body('from the master') }]);
  await until(() => slave.positions.get(Position.DISPATCHED) === master.positions.get(Position.WROTE), 10_000, 'slave dispatch');
  const read = await slave.viewMessageByOffset(r?.commitLogOffset ?? -1);
  t.is(read?.msgId, r?.msgId);
  if (read === undefined) return;
  const back = await t.throwsAsync(slave.sendBack('G', read, 1, 16));
  t.true(isPetrelError(back, 'ERR_SERVICE_NOT_AVAILABLE'));
});

test('replication - SYNC_MASTER returns SEND_OK once the slave has the bytes, SLAVE_NOT_AVAILABLE with no slave', async (t) => {
  const master = await startMaster(t, { brokerRole: 'SYNC_MASTER', slaveTimeout: 3000 });
  const [alone] = await master.send([{ topic: 'Sync', body: body('no slave yet') }]);
  t.is(alone?.sendStatus, 'SLAVE_NOT_AVAILABLE');
  await until(() => master.positions.get(Position.DISPATCHED) > (alone?.commitLogOffset ?? 0), 10_000, 'dispatch');
  t.is((await master.viewMessageByOffset(alone?.commitLogOffset ?? -1))?.msgId, alone?.msgId, 'stored on the master all the same');

  const slave = await startSlave(t, master);
  await waitConnected(master);
  const results = await sendMany(master, 'Sync', 200, 's');
  t.deepEqual([...new Set(results.map((r) => r.sendStatus))], ['SEND_OK']);
  // SEND_OK under SYNC_MASTER means the slave held the bytes before the reply.
  const last = results.reduce((a, r) => Math.max(a, r.commitLogOffset), 0);
  t.true(slave.positions.get(Position.WROTE) > last);

  await slave.shutdown();
  await until(() => master.positions.get(Position.SLAVE_CONNECTED) === 0, 10_000, 'the master to see the slave go');
  const [gone] = await master.send([{ topic: 'Sync', body: body('slave gone') }]);
  t.is(gone?.sendStatus, 'SLAVE_NOT_AVAILABLE');
});

test('replication - SYNC_MASTER returns FLUSH_SLAVE_TIMEOUT while the slave stops acknowledging, SEND_OK once it resumes', async (t) => {
  const master = await startMaster(t, { brokerRole: 'SYNC_MASTER', slaveTimeout: 1000 });
  const slave = await startSlave(t, master);
  await waitConnected(master);
  // The first frame opens files on both ends; only then is the link's latency its own.
  await master.send([{ topic: 'Acks', body: body('warm-up') }]);
  await until(() => master.positions.get(Position.SLAVE_ACKED) === master.positions.get(Position.WROTE), 10_000, 'the warm-up ack');
  const [ok] = await master.send([{ topic: 'Acks', body: body('acked') }]);
  t.is(ok?.sendStatus, 'SEND_OK');

  await slave.injectHaFault('suspendAcks');
  const started = performance.now();
  const [late] = await master.send([{ topic: 'Acks', body: body('not acked') }]);
  t.is(late?.sendStatus, 'FLUSH_SLAVE_TIMEOUT');
  t.true(performance.now() - started >= 900, 'waited about slaveTimeout');
  // The slave still received and wrote it: only the ack was missing.
  await until(() => slave.positions.get(Position.WROTE) === master.positions.get(Position.WROTE), 5000, 'slave write');

  await slave.injectHaFault('resumeAcks');
  const [again] = await master.send([{ topic: 'Acks', body: body('acked again') }]);
  t.is(again?.sendStatus, 'SEND_OK');
});

test('replication - SYNC_MASTER returns SLAVE_NOT_AVAILABLE at once when the slave is haMaxGapNotInSync behind', async (t) => {
  const master = await startMaster(t, { brokerRole: 'SYNC_MASTER', slaveTimeout: 5000, haMaxGapNotInSync: 4096 });
  const slave = await startSlave(t, master);
  await waitConnected(master);
  await slave.injectHaFault('suspendAcks');
  // Sends that do not wait (WAIT=false) pile up a gap past 4 KiB that the silent slave never acks.
  const filler = Array.from({ length: 40 }, (_, i) => ({ topic: 'Gap', body: body(`filler-${i}`.padEnd(200, '.')), waitStoreMsgOK: false }));
  t.deepEqual([...new Set((await master.send(filler)).map((r) => r.sendStatus))], ['SEND_OK']);
  const started = performance.now();
  const [far] = await master.send([{ topic: 'Gap', body: body('too far behind') }]);
  t.is(far?.sendStatus, 'SLAVE_NOT_AVAILABLE');
  t.true(performance.now() - started < 1000, 'decided up front, no wait');
  await slave.injectHaFault('resumeAcks');
  await until(() => master.positions.get(Position.SLAVE_LIVE_ACK) === master.positions.get(Position.WROTE), 10_000, 'acks back');
  const [near] = await master.send([{ topic: 'Gap', body: body('in sync again') }]);
  t.is(near?.sendStatus, 'SEND_OK');
});

test('replication - ASYNC_MASTER answers without waiting for a slave, and the slave follows', async (t) => {
  const master = await startMaster(t);
  const [r] = await master.send([{ topic: 'Async', body: body('no slave needed') }]);
  t.is(r?.sendStatus, 'SEND_OK');
  const slave = await startSlave(t, master);
  await waitCaughtUp(master, slave);
  await waitDispatched(slave);
  t.is((await slave.viewMessageByOffset(r?.commitLogOffset ?? -1))?.msgId, r?.msgId);
});

test('replication - a slave that was down catches up when it returns, from where its files end', async (t) => {
  const master = await startMaster(t);
  const slaveDir = tempDir(t);
  let slave = await startSlave(t, master, { storePathRootDir: slaveDir });
  await sendMany(master, 'CatchUp', 300, 'a');
  await waitCaughtUp(master, slave);
  const before = slave.positions.get(Position.WROTE);
  await slave.shutdown();

  await sendMany(master, 'CatchUp', 500, 'b');
  const end = master.positions.get(Position.WROTE);
  t.true(end > before);
  slave = await startSlave(t, master, { storePathRootDir: slaveDir });
  t.true(slave.positions.get(Position.WROTE) >= before, 'restarted from where its files end');
  await waitCaughtUp(master, slave);
  t.true(commitLogBytes(slave, 0, end).equals(commitLogBytes(master, 0, end)));
  const stats = await slave.replicationStats();
  t.is(stats?.role === 'slave' ? stats.truncations : -1, 0, 'nothing cut: the files agreed');
  await waitDispatched(slave, master);
  t.is((await pullAll(slave, 'CatchUp', 0)).length, (await pullAll(master, 'CatchUp', 0)).length);
});

test('replication - a slave whose link is cut reconnects by itself and goes on', async (t) => {
  const master = await startMaster(t, { brokerRole: 'SYNC_MASTER' });
  const slave = await startSlave(t, master);
  await waitConnected(master);
  await sendMany(master, 'Cut', 50, 'c');
  await slave.injectHaFault('cutLinks');
  await until(async () => {
    const s = await slave.replicationStats();
    return s?.role === 'slave' && s.connects >= 2 && s.connected;
  }, 10_000, 'a second connection');
  await waitConnected(master);
  const rs = await sendMany(master, 'Cut', 50, 'd');
  t.deepEqual([...new Set(rs.map((r) => r.sendStatus))], ['SEND_OK']);
  await waitCaughtUp(master, slave);
  const end = master.positions.get(Position.WROTE);
  t.true(commitLogBytes(slave, 0, end).equals(commitLogBytes(master, 0, end)));
});

test('replication - an ASYNC_MASTER on default settings opens no HA socket; one given haListenPort does', async (t) => {
  const plain = await startNode(t, {});
  t.is(plain.haAddress, undefined);
  t.is(await plain.replicationStats(), undefined);
  const listening = await startNode(t, { haListenPort: 0 });
  t.regex(listening.haAddress ?? '', /^127\.0\.0\.1:\d+$/);
});

test('replication - a broker.conf that names haListenPort makes an ASYNC_MASTER listen', async (t) => {
  const dir = tempDir(t);
  const conf = path.join(dir, 'broker.conf');
  writeFileSync(conf, `storePathRootDir=${path.join(dir, 'store')}\nmappedFileSizeCommitLog=65536\nhaListenPort=0\n`);
  const broker = await Broker.start(conf);
  t.teardown(() => broker.shutdown());
  t.regex(broker.haAddress ?? '', /^127\.0\.0\.1:\d+$/);
});

test('replication - a slave reconnects to its master restarted on the same address and catches up', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const masterDir = tempDir(t);
  let master = await startMaster(t, { storePathRootDir: masterDir, haListenPort: port });
  const slave = await startSlave(t, master);
  await sendMany(master, 'Restart', 100, 'before');
  await waitCaughtUp(master, slave);
  await master.shutdown();
  master = await startMaster(t, { storePathRootDir: masterDir, haListenPort: port });
  t.is(master.haAddress, `127.0.0.1:${port}`);
  await sendMany(master, 'Restart', 100, 'after');
  await waitCaughtUp(master, slave, 20_000);
  const end = master.positions.get(Position.WROTE);
  t.true(commitLogBytes(slave, 0, end).equals(commitLogBytes(master, 0, end)));
  const stats = await slave.replicationStats();
  t.is(stats?.role === 'slave' ? stats.truncations : -1, 0);
});
