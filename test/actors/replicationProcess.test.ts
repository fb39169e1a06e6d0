import test from 'ava';
import { Position } from '../../actors/BrokerPositions.js';
import { body, until } from '../helpers/broker.js';
import { startChildBroker } from '../helpers/childBroker.js';
import { commitLogBytes, commitLogBytesIn, sendMany, SMALL_FILES, startMaster, waitConnected } from '../helpers/replication.js';
import { tempDir } from '../helpers/tmp.js';

test('replication process - a slave in a child process keeps a SYNC_MASTER byte-identical; killed, sends get SLAVE_NOT_AVAILABLE; restarted, it catches up', async (t) => {
  const master = await startMaster(t, { brokerRole: 'SYNC_MASTER' });
  const dir = tempDir(t);
  const child = await startChildBroker({ ...SMALL_FILES, storePathRootDir: dir, brokerRole: 'SLAVE', brokerId: 1, haMasterAddress: master.haAddress ?? '' });
  t.teardown(() => child.kill());
  t.is(child.haAddress, null, 'a slave does not listen');
  await waitConnected(master, 1, 20_000);

  const results = await sendMany(master, 'Remote', 300, 'p');
  t.deepEqual([...new Set(results.map((r) => r.sendStatus))], ['SEND_OK']);
  const end = master.positions.get(Position.WROTE);
  await until(async () => (await child.command('stats')).wrote === end, 10_000, 'the child slave to hold everything');
  const stats = await child.command('stats');
  t.like(stats, { event: 'stats', wrote: end, replication: { role: 'slave', connected: true, badFrames: 0, truncations: 0 } });
  await until(async () => (await child.command('stats')).dispatched === end, 10_000, 'the child slave to dispatch');
  t.true(commitLogBytesIn(dir, master.config.mappedFileSizeCommitLog, 0, end).equals(commitLogBytes(master, 0, end)));

  await child.kill();
  await until(() => master.positions.get(Position.SLAVE_CONNECTED) === 0, 10_000, 'the master to see the slave gone');
  const [r] = await master.send([{ topic: 'Remote', body: body('after the kill') }]);
  t.is(r?.sendStatus, 'SLAVE_NOT_AVAILABLE');
  const meanwhile = await sendMany(master, 'Remote', 200, 'q');
  t.deepEqual([...new Set(meanwhile.map((m) => m.sendStatus))], ['SLAVE_NOT_AVAILABLE']);

  // Restarted after SIGKILL: abnormal recovery on its own files, then it catches up from there.
  const again = await startChildBroker({ ...SMALL_FILES, storePathRootDir: dir, brokerRole: 'SLAVE', brokerId: 1, haMasterAddress: master.haAddress ?? '' });
  t.teardown(() => again.kill());
  const end2 = master.positions.get(Position.WROTE);
  await until(async () => (await again.command('stats')).wrote === end2, 20_000, 'the restarted slave to catch up');
  t.true(commitLogBytesIn(dir, master.config.mappedFileSizeCommitLog, 0, end2).equals(commitLogBytes(master, 0, end2)));
  const [ok] = await master.send([{ topic: 'Remote', body: body('slave back') }]);
  t.is(ok?.sendStatus, 'SEND_OK');
  await again.stop();
});
