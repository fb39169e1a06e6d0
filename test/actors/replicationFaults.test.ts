import test from 'ava';
import net from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Broker } from '../../actors/Broker.js';
import { Position } from '../../actors/BrokerPositions.js';
import { encodeFrame, MAX_FRAME_BODY } from '../../actors/HaWire.js';
import { until } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';
import { commitLogBytes, pullAll, sendMany, startMaster, startNode, startSlave, waitCaughtUp, waitDispatched } from '../helpers/replication.js';

/** A stand-in master: connection i reads the slave's first report and gets script[i]'s bytes. */
async function fakeMaster(t: import('ava').ExecutionContext, script: readonly ((report: bigint) => Buffer)[]): Promise<{ address: string; reports: bigint[]; closed: () => number }> {
  const reports: bigint[] = [];
  let connections = 0;
  let closed = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const step = script[Math.min(connections++, script.length - 1)];
    let got = Buffer.alloc(0);
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (answered || got.length < 8 || step === undefined) return;
      answered = true;
      const report = got.readBigInt64BE(0);
      reports.push(report);
      socket.write(step(report));
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed++;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  const port = (server.address() as net.AddressInfo).port;
  return { address: `127.0.0.1:${port}`, reports, closed: () => closed };
}

function header(offset: number, size: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeBigInt64BE(BigInt(offset), 0);
  b.writeInt32BE(size, 8);
  return b;
}

async function slaveStats(slave: Broker): Promise<{ badFrames: number; lastLinkError: string; truncations: number; lastTruncatedTo: number }> {
  const s = await slave.replicationStats();
  if (s?.role !== 'slave') throw new Error('not a slave');
  return { badFrames: s.badFrames, lastLinkError: s.lastLinkError ?? '', truncations: s.truncations, lastTruncatedTo: s.lastTruncatedTo };
}

test('replication faults - each kind of bad frame closes the link with its reason and writes nothing', async (t) => {
  const fileSize = 64 * 1024;
  const cases: [string, (report: bigint) => Buffer, RegExp][] = [
    ['bodySize past the limit', () => header(0, MAX_FRAME_BODY + 1), /bodySize 4194305 is outside/],
    ['negative bodySize', () => header(0, -5), /bodySize -5 is outside/],
    ['a body crossing a file', () => encodeFrame(fileSize - 10, Buffer.alloc(20, 1)), /crosses a CommitLog file/],
    ['an empty slave fed mid-file', () => encodeFrame(100, Buffer.alloc(10, 1)), /must start a CommitLog file/],
    ['an offset out of range', () => header(-1, 0), /masterPhyOffset -1 is out of range/],
  ];
  const master = await fakeMaster(t, cases.map(([, frame]) => frame));
  const slave = await startNode(t, { brokerRole: 'SLAVE', brokerId: 1, haMasterAddress: master.address });
  for (let i = 0; i < cases.length; i++) {
    const [name, , reason] = cases[i] ?? ['', () => Buffer.alloc(0), /./];
    await until(async () => (await slaveStats(slave)).badFrames > i, 15_000, `bad frame ${name}`);
    const s = await slaveStats(slave);
    t.regex(s.lastLinkError, reason, name);
    t.regex(s.lastLinkError, /^bad frame from master/, name);
  }
  await until(() => master.closed() >= cases.length, 5000, 'the slave to close every link');
  t.deepEqual(master.reports, cases.map(() => 0n), 'an empty slave reports 0 on every connection');
  t.is(slave.positions.get(Position.WROTE), 0);
  t.false(existsSync(path.join(slave.config.storePathRootDir, 'commitlog')) && readdirSync(path.join(slave.config.storePathRootDir, 'commitlog')).length > 0, 'no CommitLog file made');
});

test('replication faults - a frame at the wrong offset closes the link; the good frames before it stay written', async (t) => {
  // Real CommitLog bytes from a real master, replayed by a stand-in master.
  const source = await startNode(t, {});
  await sendMany(source, 'Replayed', 40, 'r');
  const end = source.positions.get(Position.WROTE);
  const bytes = commitLogBytes(source, 0, end);
  const half = Math.floor(bytes.length / 2);
  const master = await fakeMaster(t, [
    () => Buffer.concat([encodeFrame(0, bytes.subarray(0, half)), encodeFrame(half, bytes.subarray(half)), encodeFrame(end + 100, Buffer.alloc(50, 7))]),
    () => Buffer.alloc(0),
  ]);
  const slave = await startNode(t, { brokerRole: 'SLAVE', brokerId: 1, haMasterAddress: master.address });
  await until(async () => (await slaveStats(slave)).badFrames === 1, 15_000, 'the bad frame');
  t.regex((await slaveStats(slave)).lastLinkError, new RegExp(`masterPhyOffset ${end + 100} is past this slave's next offset ${end}`));
  t.is(slave.positions.get(Position.WROTE), end);
  t.true(commitLogBytes(slave, 0, end).equals(bytes));
  await waitDispatched(slave, source);
  t.is((await pullAll(slave, 'Replayed', 0)).length, (await pullAll(source, 'Replayed', 0)).length);
  // The slave reconnects and reports what it holds: its start point, 1 at the lowest.
  await until(() => master.reports.length >= 2, 10_000, 'a reconnect');
  t.deepEqual(master.reports.slice(0, 2), [0n, 1n]);
});

test('replication faults - a slave whose bytes differ from its master\'s is cut at the first difference and follows the master', async (t) => {
  const slaveDir = tempDir(t);
  // The slave's store starts with a history of its own, written while it was a master.
  const former = await startNode(t, { storePathRootDir: slaveDir });
  await sendMany(former, 'Former', 30, 'own', 2);
  await former.shutdown();

  const master = await startMaster(t);
  await sendMany(master, 'Current', 60, 'master', 2);
  const slave = await startSlave(t, master, { storePathRootDir: slaveDir });
  await waitCaughtUp(master, slave);
  const end = master.positions.get(Position.WROTE);
  t.true(commitLogBytes(slave, 0, end).equals(commitLogBytes(master, 0, end)));
  const s = await slaveStats(slave);
  t.is(s.truncations, 1);
  t.true(s.lastTruncatedTo < 200, 'the histories part within the first record');
  await waitDispatched(slave, master);
  t.deepEqual(await pullAll(slave, 'Former', 0), [], 'units of the cut records are gone');
  for (const q of [0, 1]) {
    t.deepEqual((await pullAll(slave, 'Current', q)).map((m) => m.msgId), (await pullAll(master, 'Current', q)).map((m) => m.msgId));
  }
});

test('replication faults - a slave ahead of its master is cut back to the master\'s end, then follows it', async (t) => {
  const masterDir = tempDir(t);
  const slaveDir = tempDir(t);
  let master = await startMaster(t, { storePathRootDir: masterDir });
  let slave = await startSlave(t, master, { storePathRootDir: slaveDir });
  await sendMany(master, 'Shared', 80, 'm', 2);
  await waitCaughtUp(master, slave);
  const masterEnd = master.positions.get(Position.WROTE);
  await slave.shutdown();
  await master.shutdown();

  // Messages the master never had: the slave's tail now diverges past the master's end.
  const alone = await startNode(t, { storePathRootDir: slaveDir });
  await sendMany(alone, 'Extra', 20, 'x', 1);
  t.true(alone.positions.get(Position.WROTE) > masterEnd);
  await alone.shutdown();

  master = await startMaster(t, { storePathRootDir: masterDir });
  t.is(master.positions.get(Position.WROTE), masterEnd);
  slave = await startSlave(t, master, { storePathRootDir: slaveDir });
  await until(async () => (await slaveStats(slave)).truncations === 1, 15_000, 'the cut');
  t.is((await slaveStats(slave)).lastTruncatedTo, masterEnd);
  await waitCaughtUp(master, slave);
  t.is(slave.positions.get(Position.WROTE), masterEnd);
  await waitDispatched(slave);
  t.deepEqual(await pullAll(slave, 'Extra', 0), [], 'the extra messages are gone from the slave');

  await sendMany(master, 'Shared', 40, 'n', 2);
  await waitCaughtUp(master, slave);
  const end = master.positions.get(Position.WROTE);
  t.true(commitLogBytes(slave, 0, end).equals(commitLogBytes(master, 0, end)));
  await waitDispatched(slave, master);
  for (const q of [0, 1]) {
    t.deepEqual((await pullAll(slave, 'Shared', q)).map((m) => m.msgId), (await pullAll(master, 'Shared', q)).map((m) => m.msgId));
  }
});
