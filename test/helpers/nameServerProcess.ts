/**
 * A name server in a process of its own, for multi-process cluster tests:
 *
 *   node dist/test/helpers/nameServerProcess.js '{"port":0}'
 *
 * Prints `{"event":"ready","address":...,"pid":...}` once it listens on 127.0.0.1; a `stop` line or
 * the end of stdin shuts it down (`{"event":"stopped"}`, exit 0).
 */
import { createInterface } from 'node:readline';
import { NameServer, type NameServerOptions } from '../../namesrv/NameServer.js';

const options = JSON.parse(process.argv[2] ?? '{}') as NameServerOptions;
const ns = await NameServer.start({ port: 0, ...options });
process.stdout.write(`${JSON.stringify({ event: 'ready', address: ns.address, pid: process.pid })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await ns.shutdown();
  process.stdout.write(`${JSON.stringify({ event: 'stopped' })}\n`);
  process.exit(0);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (l) => {
  if (l.trim() === 'stop') void stop();
});
lines.on('close', () => void stop());
