import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { startCli } from './cliHarness.js';

const FREE_PORTS = ['--grpc-port', '0', '--remoting-port', '0', '--json', '--log-level', 'silent'];

test('start - a --conf without haListenPort opens no HA port on an ASYNC_MASTER, so two such brokers run side by side', async (t) => {
  const dir = tempDir(t);
  const running = [];
  for (const name of ['broker-x', 'broker-y']) {
    const conf = path.join(dir, `${name}.conf`);
    writeFileSync(conf, `brokerName=${name}\nbrokerRole=ASYNC_MASTER\nflushDiskType=ASYNC_FLUSH\nstorePathRootDir=${path.join(dir, name)}\n`);
    running.push(await startCli(t, ['start', '--conf', conf, ...FREE_PORTS]));
  }
  for (const r of running) {
    t.is(r.ready['ha'], null, `${String(r.ready['broker'])} listens for no slaves`);
    t.is((await r.stop()).code, 0);
  }
});

test('start - a --conf that sets haListenPort opens the HA port on an ASYNC_MASTER', async (t) => {
  const dir = tempDir(t);
  const conf = path.join(dir, 'ha.conf');
  writeFileSync(conf, `brokerName=broker-h\nhaListenPort=0\nstorePathRootDir=${path.join(dir, 'store')}\n`);
  const r = await startCli(t, ['start', '--conf', conf, ...FREE_PORTS]);
  t.regex(String(r.ready['ha']), /^127\.0\.0\.1:\d+$/);
  t.is((await r.stop()).code, 0);
});
