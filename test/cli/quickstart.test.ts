/**
 * The README's quick start, as a new user runs it: the project's files (what git tracks, no
 * node_modules, no dist) in a fresh folder, then `npm install`, then `npm start`. `npm test` is
 * not run in the copy (it would run this test again); `npm run build` stands in for it.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { ROOT, runToEnd, type Finished } from './cliHarness.js';

/** The environment of a fresh shell: none of the outer `npm test` run's npm_* variables. */
function freshEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_') && k !== 'INIT_CWD') env[k] = v;
  return { ...env, ...extra };
}

function npm(cwd: string, args: readonly string[], timeoutMs: number): Promise<Finished> {
  return runToEnd('npm', args, { cwd, env: freshEnv({}), timeoutMs });
}

function copyProject(to: string): number {
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f.length > 0 && !f.startsWith('node_modules/') && !f.startsWith('dist/'));
  let copied = 0;
  for (const f of files) {
    const from = path.join(ROOT, f);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(path.dirname(path.join(to, f)), { recursive: true });
    copyFileSync(from, path.join(to, f));
    copied += 1;
  }
  return copied;
}

test('quick start - in a fresh copy, npm install then npm start prints the ready line and stops cleanly on SIGINT', async (t) => {
  t.timeout(15 * 60_000);
  const dir = tempDir(t, 'petrelmq-quickstart-');
  t.true(copyProject(dir) > 0);
  t.false(existsSync(path.join(dir, 'node_modules')));

  const install = await npm(dir, ['install'], 8 * 60_000);
  t.is(install.code, 0, install.stderr);
  const build = await npm(dir, ['run', 'build'], 5 * 60_000);
  t.is(build.code, 0, build.stdout + build.stderr);

  // Free ports through the environment, so the command stays exactly the README's `npm start`.
  const child = spawn('npm', ['start'], {
    cwd: dir,
    env: freshEnv({ PETRELMQ_GRPC_PORT: '0', PETRELMQ_REMOTING_PORT: '0' }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    // The whole group (npm, sh, node), in case the test failed before stopping it.
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  const ready = /^petrelmq broker (\S+) ready: grpc 127\.0\.0\.1:\d+, remoting 127\.0\.0\.1:\d+, store (\S+), pid (\d+)$/m;
  const deadline = Date.now() + 5 * 60_000;
  let m: RegExpExecArray | null = null;
  while ((m = ready.exec(stdout)) === null) {
    if (child.exitCode !== null || Date.now() > deadline) t.fail(`no ready line (exit ${child.exitCode}); stdout: ${stdout}; stderr: ${stderr}`);
    if (child.exitCode !== null || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.is(m[2], path.join(dir, 'petrelmq-data'), 'the default store is ./petrelmq-data');
  t.true(existsSync(path.join(dir, 'petrelmq-data', 'abort')), 'a running broker holds its abort file');

  // Ctrl-C for the broker: it stops cleanly and `npm start` ends with its exit code, 0.
  process.kill(Number(m[3]), 'SIGINT');
  const done = await Promise.race([exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000))]);
  t.not(done, 'late', `npm start did not end within 60 s of SIGINT; stderr: ${stderr}`);
  if (done === 'late') return;
  t.is(done.code, 0, stderr);
  t.false(existsSync(path.join(dir, 'petrelmq-data', 'abort')), 'a clean stop removes the abort file');
});
