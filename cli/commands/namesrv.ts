/**
 * `petrelmq namesrv`: a name server (RocketMQ's mqnamesrv) that brokers register with and clients
 * ask for routes. Prints one ready line; stops cleanly on SIGINT or SIGTERM. Its tables live in
 * memory only: brokers register again within registerNameServerPeriod after a restart.
 */
import { Option, type Command } from 'commander';
import type { NameServer } from '../../namesrv/NameServer.js';
import { log } from '../../common/diagnostics.js';
import { parseLogLevel, parsePort, type LogLevel } from '../args.js';
import { printJson, printLine } from '../output.js';
import { StopSignals } from '../signals.js';

interface NamesrvOptions {
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  readonly json?: boolean;
}

export function registerNamesrv(program: Command): void {
  program
    .command('namesrv')
    .description('run a name server that brokers register with and clients ask for routes')
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1').env('PETRELMQ_NAMESRV_HOST'))
    .addOption(new Option('--port <port>', 'port (0 picks a free one)').argParser(parsePort).default(9876).env('PETRELMQ_NAMESRV_PORT'))
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (logs go to stderr)').argParser(parseLogLevel).default('info').env('PETRELMQ_LOG_LEVEL'))
    .option('--json', 'print the ready line as JSON')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.opts<NamesrvOptions>();
      const [{ NameServer }, { startLogging }] = await Promise.all([import('../../namesrv/NameServer.js'), import('../logging.js')]);
      const logs = startLogging(o.logLevel, { hold: true });
      const signals = new StopSignals();
      let server: NameServer;
      try {
        server = await NameServer.start({ host: o.host, port: o.port });
      } catch (err) {
        signals.dispose();
        logs.close();
        throw err;
      }
      const ready = { ready: true, namesrv: server.address, pid: process.pid };
      if (o.json === true) printJson(ready);
      else printLine(`petrelmq namesrv ready: ${server.address}, pid ${process.pid}`);
      logs.release();
      log('info', 'name server ready', ready);
      await signals.wait();
      await server.shutdown();
      log('info', 'name server stopped cleanly');
      logs.close();
      signals.dispose();
      process.exit(0);
    });
}
