import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { startCli } from './cliHarness.js';

/** The kernel's name of every thread of a process (what top -H and ps -L show). */
function threadNames(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim());
}

const linux = process.platform === 'linux' ? test : test.skip;

linux('start - each actor thread of a running broker is named after its actor in /proc/<pid>/task/*/comm (Linux only)', async (t) => {
  const dir = tempDir(t);
  const conf = path.join(dir, 'broker.conf');
  // haListenPort=0 gives the ASYNC_MASTER its replication actor, on a free port.
  writeFileSync(conf, `brokerName=broker-t\nhaListenPort=0\nstorePathRootDir=${path.join(dir, 'store')}\n`);
  const r = await startCli(t, ['start', '--conf', conf, '--grpc-port', '0', '--remoting-port', '0', '--json', '--log-level', 'silent']);
  const pid = r.ready['pid'];
  if (typeof pid !== 'number') throw new Error(`no pid in the ready line ${r.readyLine}`);
  // The ready line comes after every actor started, and each names its thread before it starts.
  const names = threadNames(pid);
  for (const actor of ['writer', 'flush', 'dispatcher', 'replication', 'grpc-endpoint']) {
    t.true(names.includes(actor), `a thread named ${actor} among ${names.join(', ')}`);
  }
  t.is((await r.stop()).code, 0);
});
