import test from 'ava';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { compileSqlFilter } from '../../filter/sql/SqlFilter.js';
import { tempDir } from '../helpers/tmp.js';
import { BLOOM_ON, ids, pullAll, startFilterBroker } from './sqlFilterHelpers.js';

const script = fileURLToPath(new URL('../fixtures/sqlFilterCrashProducer.js', import.meta.url));
const EXPRESSION = "k IN ('1', '7') AND n > 5";
/** Kill points, ms after the child's first acknowledgement. */
const KILL_AFTER_MS = [200, 500];

/** Runs the producer child on `dir` and kills it with SIGKILL `killAfterMs` after its first ack; resolves with the acked counters. */
function runUntilKilled(dir: string, round: number, killAfterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir, String(round), EXPRESSION], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acks: number[] = [];
    let armed = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      let rec: { ack?: number };
      try {
        rec = JSON.parse(line) as { ack?: number };
      } catch {
        return; // a line torn by the kill
      }
      if (rec.ack === undefined) return;
      acks.push(rec.ack);
      if (!armed) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') reject(new Error(`child ended with ${String(signal ?? code)} before it was killed`));
      else resolve(acks);
    });
  });
}

test('sqlFilter crash - after SIGKILL mid-dispatch, recovery keeps bits and extension in step: the bloom path stays exact', async (t) => {
  t.timeout(110_000);
  const dir = tempDir(t);
  const exact = compileSqlFilter(EXPRESSION);
  const acked = new Set<number>();
  for (const [round, killAfter] of KILL_AFTER_MS.entries()) {
    for (const n of await runUntilKilled(dir, round, killAfter)) acked.add(n);
    const broker = await startFilterBroker(t, { ...BLOOM_ON, storePathRootDir: dir, mappedFileSizeCommitLog: 1 << 20, mappedFileSizeConsumeQueue: 20 * 1000 });
    try {
      const all = await pullAll(broker, `all${round}`, 'CrashSql', 2);
      const stored = new Set(all.map((m) => Number(m.properties['n'])));
      t.true([...acked].every((n) => stored.has(n)), `round ${round}: every acknowledged message survived`);
      const before = await broker.filterStats();
      const bloom = await pullAll(broker, 'sql', 'CrashSql', 2, { type: 'SQL92', expression: EXPRESSION });
      const after = await broker.filterStats();
      t.deepEqual(ids(bloom), ids(all.filter((m) => exact.evaluate(m.properties))), `round ${round}: the bloom path delivers what exact evaluation does`);
      t.true(after.bloomSkipped - before.bloomSkipped > 0, `round ${round}: the persisted bits were used`);
      t.log(`round ${round}: ${acked.size} acknowledged, ${all.length} stored, ${bloom.length} matched, ${after.bloomSkipped - before.bloomSkipped} skipped on bits`);
    } finally {
      await broker.shutdown();
    }
  }
});
