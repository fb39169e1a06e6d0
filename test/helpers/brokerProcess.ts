/**
 * A broker in a process of its own, for multi-process tests and benchmarks:
 *
 *   node dist/test/helpers/brokerProcess.js '<broker config as JSON>'
 *
 * It starts a Broker from the compiled dist and talks in JSON lines. Out (stdout), one object a
 * line: `{"event":"started","haAddress":...,"wrote":...}` once it runs, then one answer per command.
 * In (stdin), one command a line: `stats` (positions and replication figures), `fault <name>`
 * (Broker.injectHaFault), `stop` (clean shutdown, then `{"event":"stopped"}` and exit 0). End of
 * stdin stops it too; SIGKILL is the crash case. Errors are printed as `{"event":"error",...}`.
 */
import { createInterface } from 'node:readline';
import { Broker } from '../../actors/Broker.js';
import { Position } from '../../actors/BrokerPositions.js';
import type { HaFault } from '../../actors/ReplicationActor.js';
import { remotingNetwork } from '../../protocol/remoting/brokerNetwork.js';

function out(v: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

const config: unknown = JSON.parse(process.argv[2] ?? '{}');
const broker = await Broker.start(config as Parameters<typeof Broker.start>[0], { network: remotingNetwork });
out({ event: 'started', haAddress: broker.haAddress ?? null, wrote: broker.positions.get(Position.WROTE), pid: process.pid });

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  stopping ??= broker.shutdown().then(() => {
    out({ event: 'stopped' });
    process.exit(0);
  });
  return stopping;
}

const lines = createInterface({ input: process.stdin });
lines.on('close', () => void stop());
for await (const line of lines) {
  const [cmd, arg] = line.trim().split(/\s+/);
  try {
    if (cmd === 'stats') {
      const p = broker.positions;
      out({
        event: 'stats',
        wrote: p.get(Position.WROTE),
        flushed: p.get(Position.FLUSHED),
        dispatched: p.get(Position.DISPATCHED),
        replication: (await broker.replicationStats()) ?? null,
      });
    } else if (cmd === 'fault') {
      await broker.injectHaFault(arg as HaFault);
      out({ event: 'fault', fault: arg });
    } else if (cmd === 'stop') {
      await stop();
    } else if (cmd !== undefined && cmd !== '') {
      out({ event: 'error', message: `unknown command ${cmd}` });
    }
  } catch (err) {
    out({ event: 'error', message: err instanceof Error ? err.message : String(err) });
  }
}
