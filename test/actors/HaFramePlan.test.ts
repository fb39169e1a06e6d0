import test from 'ava';
import { FramePlan, joinParts, type OwnBytes, type PlannedWrite } from '../../actors/HaFramePlan.js';
import { ByteQueue, encodeFrame } from '../../actors/HaWire.js';

const FILE = 1024;

function own(bytes: Uint8Array, min = 0): OwnBytes {
  return { minOffset: () => min, read: (offset, size) => (offset - min + size <= bytes.length ? bytes.subarray(offset - min, offset - min + size) : undefined) };
}

function queueOf(...frames: Buffer[]): ByteQueue {
  const q = new ByteQueue();
  // Split every frame in two chunks, so headers and bodies straddle reads.
  for (const f of frames) {
    q.push(f.subarray(0, 5));
    q.push(f.subarray(5));
  }
  return q;
}

function summary(writes: readonly PlannedWrite[]): string[] {
  return writes.map((w) => (w.kind === 'append' ? `append ${w.offset}+${w.length}` : w.kind === 'truncate' ? `truncate ${w.offset}` : 'verified'));
}

test('HaFramePlan - an empty slave takes frames from a file boundary and plans one append per file', (t) => {
  const plan = new FramePlan(FILE, own(new Uint8Array(0)), undefined, 0);
  const q = queueOf(encodeFrame(2048, Buffer.alloc(100, 1)), encodeFrame(2148, Buffer.alloc(50, 2)), encodeFrame(2198, Buffer.alloc(3072 - 2198, 3)), encodeFrame(3072, Buffer.alloc(10, 4)));
  const r = plan.take(q);
  t.is(r.bad, undefined);
  t.is(r.frames, 4);
  t.deepEqual(summary(r.writes), ['append 2048+1024', 'append 3072+10']);
  const first = r.writes[0];
  if (first?.kind === 'append') t.deepEqual([...joinParts(first.parts, first.length).subarray(98, 102)], [1, 1, 2, 2]);
  t.is(q.length, 0);
});

test('HaFramePlan - a partial frame waits for the rest of its bytes', (t) => {
  const plan = new FramePlan(FILE, own(new Uint8Array(0)), undefined, 0);
  const frame = encodeFrame(0, Buffer.alloc(40, 9));
  const q = new ByteQueue();
  q.push(frame.subarray(0, 20));
  t.deepEqual(plan.take(q), { writes: [], frames: 0, bad: undefined });
  q.push(frame.subarray(20));
  t.deepEqual(summary(plan.take(q).writes), ['append 0+40']);
});

test('HaFramePlan - a bad frame stops planning; writes planned before it stay', (t) => {
  const plan = new FramePlan(FILE, own(new Uint8Array(0)), undefined, 0);
  const r = plan.take(queueOf(encodeFrame(0, Buffer.alloc(10)), encodeFrame(20, Buffer.alloc(10))));
  t.deepEqual(summary(r.writes), ['append 0+10']);
  t.regex(r.bad ?? '', /masterPhyOffset 20 is past this slave's next offset 10/);
});

test('HaFramePlan - bytes the slave holds are compared, not written; the first difference is cut', (t) => {
  const mine = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const plan = new FramePlan(FILE, own(mine), 1, 300);
  const theirs = Buffer.from(mine.subarray(1, 300));
  theirs[150 - 1] = 0xee; // offset 150 differs
  const r = plan.take(queueOf(encodeFrame(1, theirs), encodeFrame(300, Buffer.alloc(5, 7))));
  t.deepEqual(summary(r.writes), ['truncate 150', 'append 150+155']);
  t.is(plan.verifiedUpTo, undefined);
});

test('HaFramePlan - matching bytes finish the check and new bytes are appended after the slave\'s end', (t) => {
  const mine = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  const plan = new FramePlan(FILE, own(mine), 1, 300);
  t.is(plan.verifiedUpTo, 1);
  const r1 = plan.take(queueOf(encodeFrame(1, Buffer.from(mine.subarray(1, 200)))));
  t.deepEqual(summary(r1.writes), []);
  t.is(plan.verifiedUpTo, 200);
  const r2 = plan.take(queueOf(encodeFrame(200, Buffer.concat([Buffer.from(mine.subarray(200, 300)), Buffer.alloc(20, 5)]))));
  t.deepEqual(summary(r2.writes), ['verified', 'append 300+20']);
  t.is(plan.verifiedUpTo, undefined);
});

test('HaFramePlan - a heartbeat below the slave\'s end cuts the log there; one ahead is a bad frame', (t) => {
  const mine = new Uint8Array(500);
  const a = new FramePlan(FILE, own(mine), 1, 500);
  // The master, caught up at 100, sent everything it has: the slave's [100, 500) is not the master's.
  t.deepEqual(summary(a.take(queueOf(encodeFrame(1, Buffer.alloc(99)), encodeFrame(100, undefined))).writes), ['truncate 100']);
  const b = new FramePlan(FILE, own(mine), 400, 500);
  const rb = b.take(queueOf(encodeFrame(250, undefined)));
  t.deepEqual(summary(rb.writes), ['truncate 250']);
  const c = new FramePlan(FILE, own(mine), 500, 500);
  t.regex(c.take(queueOf(encodeFrame(600, undefined))).bad ?? '', /past this slave's next offset 500/);
  t.deepEqual(c.take(queueOf(encodeFrame(500, undefined))).writes, [], 'a heartbeat at the end is just a heartbeat');
});

test('HaFramePlan - a cut below the first stored byte empties the slave, which then waits for a file boundary', (t) => {
  const plan = new FramePlan(FILE, own(new Uint8Array(100), 1024), 1100, 1124);
  const r = plan.take(queueOf(encodeFrame(512, undefined), encodeFrame(0, Buffer.alloc(8))));
  t.deepEqual(summary(r.writes), ['truncate 512', 'append 0+8']);
});
