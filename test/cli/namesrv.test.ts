import test from 'ava';
import { RpcClient } from '../../protocol/remoting/RpcClient.js';
import { until } from '../helpers/broker.js';
import { tempDir } from '../helpers/tmp.js';
import { readyString, runCli, startCli } from './cliHarness.js';

interface ClusterInfo {
  brokers: { brokerName: string; addrs: Record<number, string> }[];
}

test('namesrv - prints its ready line; a broker started with -n registers its remoting address; SIGINT exits 0', async (t) => {
  const ns = await startCli(t, ['namesrv', '--port', '0', '--json']);
  const address = readyString(ns, 'namesrv');
  t.regex(address, /^127\.0\.0\.1:\d+$/);
  const broker = await startCli(t, ['start', '--store', tempDir(t), '--grpc-port', '0', '--remoting-port', '0', '-n', address, '--json', '--log-level', 'silent']);
  t.is(broker.ready['namesrv'], address);

  const rpc = new RpcClient(address);
  t.teardown(() => rpc.close());
  let info: ClusterInfo = { brokers: [] };
  await until(async () => {
    info = (await rpc.call('getClusterInfo', [])) as ClusterInfo;
    return info.brokers.length > 0;
  }, 20_000, 'the broker in the cluster info');
  t.deepEqual(info.brokers.map((b) => [b.brokerName, b.addrs[0]]), [['broker-a', readyString(broker, 'remoting')]]);

  t.is((await broker.stop()).code, 0);
  const stopped = await ns.stop('SIGINT');
  t.is(stopped.code, 0, stopped.stderr);
});

test('namesrv - a port in use is one error line and a non-zero exit', async (t) => {
  const ns = await startCli(t, ['namesrv', '--port', '0', '--json', '--log-level', 'silent']);
  const port = readyString(ns, 'namesrv').split(':')[1] ?? '';
  const r = await runCli(['namesrv', '--port', port, '--log-level', 'silent']);
  t.not(r.code, 0);
  t.regex(r.stderr, /^petrelmq: ERR_[A-Z_]+: .*\n$/);
  t.is((await ns.stop()).code, 0);
});
