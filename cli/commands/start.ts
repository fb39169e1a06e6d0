/**
 * `petrelmq start`: one broker in this process with its network endpoints. It recovers the store
 * (clean or after a crash), serves the RocketMQ v2 gRPC endpoint (on a worker thread of its own,
 * optionally with access keys and TLS) and the admin/remoting port, optionally Prometheus metrics,
 * prints one ready line on stdout, and on SIGINT or SIGTERM stops taking requests, shuts the broker
 * down cleanly (everything flushed, offsets saved) and exits 0. If the gRPC endpoint's thread keeps
 * failing past its restart budget, the broker is shut down the same way and the exit code is 1.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { Broker } from '../../actors/Broker.js';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';
import { log } from '../../common/diagnostics.js';
import { PetrelError } from '../../common/errors.js';
import type { AclConfig } from '../../protocol/AccessControl.js';
import type { EndpointThread } from '../../protocol/EndpointThread.js';
import type { TlsOptions } from '../../protocol/GrpcEndpoint.js';
import { parseLogLevel, parsePort, type LogLevel } from '../args.js';
import type { BrokerMetrics, MetricsServer } from '../metrics.js';
import { printJson, printLine } from '../output.js';
import { serveRemoting, type RemotingServer } from '../remoting.js';
import { StopSignals } from '../signals.js';
import { remotingNetwork } from '../../protocol/remoting/brokerNetwork.js';

interface StartOptions {
  readonly store?: string;
  readonly conf?: string;
  readonly namesrvAddr?: string;
  readonly host: string;
  readonly grpcPort: number;
  readonly remotingPort?: number;
  readonly metricsPort?: number;
  readonly acl?: string;
  readonly tlsKey?: string;
  readonly tlsCert?: string;
  readonly tlsCa?: string;
  readonly logLevel: LogLevel;
  readonly json?: boolean;
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run a broker: recover the store, serve gRPC and the admin port, stop cleanly on SIGINT/SIGTERM')
    .addOption(new Option('--store <dir>', 'store folder [default: ./petrelmq-data, or storePathRootDir of --conf]').env('PETRELMQ_STORE'))
    .addOption(new Option('--conf <file>', 'RocketMQ-style broker.conf (key=value); --store overrides its storePathRootDir'))
    .addOption(new Option('-n, --namesrv-addr <addrs>', 'name servers to register with, "host:port;host:port" (broker.conf namesrvAddr)').env('PETRELMQ_NAMESRV_ADDR'))
    .addOption(new Option('--host <host>', 'address every port listens on').default('127.0.0.1').env('PETRELMQ_HOST'))
    .addOption(new Option('--grpc-port <port>', 'RocketMQ v2 gRPC port (0 picks a free one)').argParser(parsePort).default(8081).env('PETRELMQ_GRPC_PORT'))
    .addOption(
      new Option('--remoting-port <port>', 'admin/remoting port (0 picks a free one) [default: listenPort of the config, 10911]')
        .argParser(parsePort)
        .env('PETRELMQ_REMOTING_PORT'),
    )
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics at /metrics on this port (off unless given)').argParser(parsePort).env('PETRELMQ_METRICS_PORT'))
    .addOption(
      new Option(
        '--acl <file>',
        'gRPC access keys from a JSON file, {"accounts":[{"accessKey":"app","secretKey":"...","defaultTopicPerm":"DENY","topicPerms":{"Orders":"PUB|SUB"}}]} (perms DENY, PUB, SUB, PUB|SUB); unsigned or wrongly signed calls are refused (off unless given)',
      ).env('PETRELMQ_ACL'),
    )
    .addOption(new Option('--tls-key <file>', 'gRPC over TLS: the private key, PEM (with --tls-cert)').env('PETRELMQ_TLS_KEY'))
    .addOption(new Option('--tls-cert <file>', 'gRPC over TLS: the certificate chain, PEM (with --tls-key)').env('PETRELMQ_TLS_CERT'))
    .addOption(new Option('--tls-ca <file>', 'with TLS: CA bundle, PEM; clients must present a certificate it signed').env('PETRELMQ_TLS_CA'))
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (logs go to stderr)').argParser(parseLogLevel).default('info').env('PETRELMQ_LOG_LEVEL'))
    .option('--json', 'print the ready line as JSON')
    .action(async (_args: unknown, cmd: Command) => {
      await runStart(cmd.opts<StartOptions>());
    });
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]']);

async function brokerConfig(o: StartOptions): Promise<BrokerConfigInput> {
  const { readBrokerConfInput } = await import('../../actors/BrokerConfig.js');
  // Only the keys the file names: a default it leaves out must stay a default (an ASYNC_MASTER
  // opens its HA port only when haListenPort is given).
  const base: BrokerConfigInput = o.conf === undefined ? {} : readBrokerConfInput(o.conf);
  // Flags win over the file; without either, BrokerConfig's defaults hold (store ./petrelmq-data).
  return {
    ...base,
    ...(o.store === undefined ? {} : { storePathRootDir: path.resolve(o.store) }),
    ...(o.namesrvAddr === undefined ? {} : { namesrvAddr: o.namesrvAddr }),
  };
}

/** --acl: the file's JSON, checked before the broker starts. */
async function aclConfig(file: string | undefined): Promise<AclConfig | undefined> {
  if (file === undefined) return undefined;
  const { parseAclConfig } = await import('../../protocol/AccessControl.js');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PetrelError('ERR_CONFIG_INVALID', `--acl ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return parseAclConfig(raw);
}

/** --tls-key, --tls-cert, --tls-ca: key and certificate go together; a CA asks for client certificates. */
function tlsOptions(o: StartOptions): TlsOptions | undefined {
  if (o.tlsKey === undefined && o.tlsCert === undefined) {
    if (o.tlsCa !== undefined) throw new PetrelError('ERR_CONFIG_INVALID', '--tls-ca needs --tls-key and --tls-cert');
    return undefined;
  }
  if (o.tlsKey === undefined || o.tlsCert === undefined) throw new PetrelError('ERR_CONFIG_INVALID', '--tls-key and --tls-cert go together');
  return {
    keyFile: path.resolve(o.tlsKey),
    certFile: path.resolve(o.tlsCert),
    ...(o.tlsCa === undefined ? {} : { caFile: path.resolve(o.tlsCa), requireClientCert: true }),
  };
}

async function runStart(o: StartOptions): Promise<void> {
  const acl = await aclConfig(o.acl);
  const tls = tlsOptions(o);
  // Loaded here rather than at the top, so that other commands and --help start quickly.
  const [{ Broker }, { startGrpcEndpointActor }, { BrokerMetrics, serveMetrics }, { startLogging }] = await Promise.all([
    import('../../actors/Broker.js'),
    import('../../protocol/EndpointThread.js'),
    import('../metrics.js'),
    import('../logging.js'),
  ]);
  const logs = startLogging(o.logLevel, { hold: true });
  const signals = new StopSignals();
  let broker: Broker;
  try {
    broker = await Broker.start(await brokerConfig(o), { network: remotingNetwork });
  } catch (err) {
    signals.dispose();
    logs.close();
    throw err;
  }
  let endpoint: EndpointThread | undefined;
  let endpointFailed: (error: PetrelError) => void = () => undefined;
  const failure = new Promise<PetrelError>((resolve) => (endpointFailed = resolve));
  let remoting: RemotingServer | undefined;
  let metrics: { metrics: BrokerMetrics; server: MetricsServer } | undefined;
  const closeAll = async (): Promise<void> => {
    await endpoint?.stop();
    await remoting?.close();
    await metrics?.server.close();
    metrics?.metrics.close();
    await broker.shutdown();
  };
  let grpc: string;
  try {
    const wildcard = WILDCARDS.has(o.host);
    endpoint = await startGrpcEndpointActor(
      broker,
      {
        host: o.host,
        port: o.grpcPort,
        maxBodySize: broker.config.maxMessageSize,
        messageDelayLevel: broker.config.messageDelayLevel,
        ...(wildcard ? { advertisedAddress: broker.config.brokerIP1 } : {}),
        ...(acl === undefined ? {} : { acl }),
        ...(tls === undefined ? {} : { tls }),
      },
      { onFailure: endpointFailed },
    );
    grpc = endpoint.address;
    remoting = await serveRemoting(broker, o.host, o.remotingPort ?? broker.config.listenPort);
    if (broker.config.namesrvAddr.trim() !== '') {
      // Name servers hand this address to clients: it must be one they can dial.
      await broker.advertise(wildcard ? `${broker.config.brokerIP1}:${remoting.port}` : remoting.address, broker.haAddress);
    }
    if (o.metricsPort !== undefined) {
      const m = new BrokerMetrics(broker);
      try {
        metrics = { metrics: m, server: await serveMetrics(m, o.host, o.metricsPort) };
      } catch (err) {
        m.close();
        throw err;
      }
    }
  } catch (err) {
    await closeAll();
    signals.dispose();
    logs.close();
    throw err;
  }

  const ready = {
    ready: true,
    broker: broker.brokerName,
    grpc,
    grpcAcl: acl !== undefined,
    grpcTls: tls !== undefined,
    remoting: remoting.address,
    ha: broker.haAddress ?? null,
    namesrv: broker.config.namesrvAddr === '' ? null : broker.config.namesrvAddr,
    metrics: metrics === undefined ? null : `http://${metrics.server.address}/metrics`,
    store: broker.config.storePathRootDir,
    pid: process.pid,
  };
  if (o.json === true) printJson(ready);
  else {
    const guards = [...(ready.grpcTls ? ['TLS'] : []), ...(ready.grpcAcl ? ['access keys'] : [])];
    const parts = [`grpc ${grpc}${guards.length === 0 ? '' : ` (${guards.join(', ')})`}`, `remoting ${ready.remoting}`];
    if (ready.ha !== null) parts.push(`ha ${ready.ha}`);
    if (ready.namesrv !== null) parts.push(`registered with ${ready.namesrv}`);
    if (ready.metrics !== null) parts.push(`metrics ${ready.metrics}`);
    printLine(`petrelmq broker ${ready.broker} ready: ${parts.join(', ')}, store ${ready.store}, pid ${ready.pid}`);
  }
  logs.release();
  log('info', 'broker ready', ready);

  const failed = await Promise.race([signals.wait().then(() => undefined), failure]);
  if (failed !== undefined) log('error', 'the gRPC endpoint failed past its restart budget: stopping', { code: failed.code, error: failed.message });
  await closeAll();
  log('info', 'broker stopped cleanly');
  logs.close();
  signals.dispose();
  // gRPC keeps timers of its own for a while after shutdown; nothing is left to lose here.
  process.exit(failed === undefined ? 0 : 1);
}
