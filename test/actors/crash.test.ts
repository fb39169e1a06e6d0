import test from 'ava';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Broker } from '../../actors/Broker.js';
import { PushConsumer } from '../../client/PushConsumer.js';
import { text, until } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';

interface Ack {
  readonly id: string;
  readonly msgId: string;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
}

const script = fileURLToPath(new URL('../fixtures/crashProducer.js', import.meta.url));
/** Kill points, ms after the child's first acknowledgement: fixed so the test is repeatable. */
const KILL_AFTER_MS = [150, 400, 900];

function runUntilKilled(dir: string, round: number, killAfterMs: number): Promise<{ acks: Ack[]; consumed: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir, String(round)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acks: Ack[] = [];
    const consumed: string[] = [];
    let armed = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      let rec: { ack?: Ack; consumed?: string };
      try {
        rec = JSON.parse(line) as { ack?: Ack; consumed?: string };
      } catch {
        return; // a line torn by the kill
      }
      if (rec.ack !== undefined) acks.push(rec.ack);
      if (rec.consumed !== undefined) consumed.push(rec.consumed);
      if (rec.ack !== undefined && !armed) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.once('error', reject);
    child.once('exit', (_code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child ended with ${String(signal ?? _code)} before it was killed`));
      else resolve({ acks, consumed });
    });
  });
}

test('crash - after SIGKILL at several points, every SEND_OK message is where its SendResult said and consumption resumes', async (t) => {
  t.timeout(120_000);
  const dir = tempDir(t);
  const allAcks: Ack[] = [];
  const consumedBefore = new Set<string>();
  for (const [round, killAfter] of KILL_AFTER_MS.entries()) {
    const { acks, consumed } = await runUntilKilled(dir, round, killAfter);
    t.true(acks.length > 0, `round ${round} acknowledged something`);
    allAcks.push(...acks);
    for (const c of consumed) consumedBefore.add(c);

    // Recover in this process, check every acknowledged message, then let the child's next round go on.
    const broker = await Broker.start({ storePathRootDir: dir, flushDiskType: 'SYNC_FLUSH', mappedFileSizeCommitLog: 128 * 1024 });
    try {
      for (const a of allAcks) {
        const m = await broker.viewMessageByOffset(a.commitLogOffset);
        if (m === undefined || text(m.body) !== a.id || m.msgId !== a.msgId || m.queueId !== a.queueId || m.queueOffset !== a.queueOffset) {
          t.fail(`round ${round}: ${a.id} is not where its SendResult said (${JSON.stringify(a)})`);
          return;
        }
      }
      for (let q = 0; q < 4; q++) {
        const committed = await broker.queryOffset('crash-group', 'Crash', q);
        t.true(committed <= (await broker.maxOffset('Crash', q)), 'no committed offset past the recovered queue end');
      }
      t.log(`round ${round}: killed ${killAfter} ms after the first ack; ${acks.length} acknowledged, all ${allAcks.length} so far verified`);
    } finally {
      await broker.shutdown();
    }
  }

  // Consumption resumes from the committed offsets: what the children did not consume arrives now.
  const broker = await Broker.start({ storePathRootDir: dir, flushDiskType: 'SYNC_FLUSH', mappedFileSizeCommitLog: 128 * 1024 });
  t.teardown(() => broker.shutdown());
  const after = new Set<string>();
  const consumer = new PushConsumer({ groupName: 'crash-group', broker, pullLongPollMs: 100 });
  t.teardown(() => consumer.shutdown());
  consumer.subscribe('Crash', '*');
  consumer.registerMessageListener((msgs) => {
    for (const m of msgs) after.add(text(m.body));
    return 'CONSUME_SUCCESS';
  });
  await consumer.start();
  await until(() => allAcks.every((a) => consumedBefore.has(a.id) || after.has(a.id)), 30_000, 'every acknowledged message consumed at least once');
  const redelivered = [...after].filter((id) => consumedBefore.has(id)).length;
  t.log(`consumed before the kills ${consumedBefore.size}, after recovery ${after.size} (redelivered ${redelivered})`);
  t.true(allAcks.every((a) => consumedBefore.has(a.id) || after.has(a.id)));
});
