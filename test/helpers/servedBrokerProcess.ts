/**
 * A broker group member in a process of its own, reachable over the remoting transport, for
 * multi-process cluster tests:
 *
 *   node dist/test/helpers/servedBrokerProcess.js '{"config":{...broker config},"port":0}'
 *
 * It starts a Broker from dist/ with the config, serves it with serveBrokerApi on 127.0.0.1:port
 * (0: a free port), registers it with the name servers of config.namesrvAddr, and prints one line:
 * `{"event":"ready","address":...,"haAddress":...,"pid":...}`. A `stop` line or the end of stdin
 * shuts it down cleanly (`{"event":"stopped"}`, exit 0); SIGKILL is the crash case.
 */
import { createInterface } from 'node:readline';
import { Broker } from '../../actors/Broker.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import { serveBrokerApi } from '../../protocol/remoting/BrokerApiServer.js';
import { remotingNetwork } from '../../protocol/remoting/brokerNetwork.js';

const arg = JSON.parse(process.argv[2] ?? '{}') as { config?: BrokerConfigInput; port?: number };
const broker = await Broker.start(arg.config ?? {}, { network: remotingNetwork });
const server = await serveBrokerApi(broker, { port: arg.port ?? 0 });
if (broker.config.namesrvAddr !== '') await broker.advertise(server.address, broker.haAddress);
process.stdout.write(`${JSON.stringify({ event: 'ready', address: server.address, haAddress: broker.haAddress ?? null, pid: process.pid })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await broker.shutdown();
  await server.close();
  process.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
  process.exit(0);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (l) => {
  if (l.trim() === 'stop') void stop();
});
lines.on('close', () => void stop());
