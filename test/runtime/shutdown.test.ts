import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const child = fileURLToPath(new URL('./fixtures/shutdownChild.js', import.meta.url));

test('system - after shutdown no thread is left: the process exits on its own', async (t) => {
  const proc = spawn(process.execPath, [child], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const limitMs = 20_000;
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve('still running');
    }, limitMs);
    proc.once('exit', (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? String(signal));
    });
  });
  t.is(code, 0, err);
  const seen = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
  t.deepEqual(seen, {
    sums: [2, 3, 4, 1],
    workersBefore: 6,
    workersAfter: 0,
    actorsAfter: 0,
    batch: 3,
    poolThreadsAfter: 0,
    gotRecord: true,
    reached: true,
  });
});
