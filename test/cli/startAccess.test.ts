import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isPetrelError } from '../../common/errors.js';
import { GrpcBrokerClient, type GrpcBrokerClientOptions } from '../../protocol/GrpcBrokerClient.js';
import { tempDir } from '../helpers/tmp.js';
import { lines, readyString, runCli, startCli } from './cliHarness.js';

const FREE_PORTS = ['--grpc-port', '0', '--remoting-port', '0'];

const ACL = {
  accounts: [{ accessKey: 'cli-app', secretKey: 'cli-secret-1', defaultTopicPerm: 'DENY', topicPerms: { CliSecure: 'PUB|SUB' } }],
};

async function started(t: Parameters<typeof tempDir>[0], options: GrpcBrokerClientOptions): Promise<GrpcBrokerClient> {
  const c = new GrpcBrokerClient(options);
  t.teardown(() => c.close().catch(() => undefined));
  await c.start();
  return c;
}

test('start --acl - a wrong signature is refused, the right one sends and receives', async (t) => {
  const dir = tempDir(t);
  const aclFile = path.join(dir, 'acl.json');
  writeFileSync(aclFile, JSON.stringify(ACL));
  const broker = await startCli(t, ['start', '--store', path.join(dir, 'store'), ...FREE_PORTS, '--acl', aclFile, '--json']);
  t.is(broker.ready['grpcAcl'], true);
  const endpoint = readyString(broker, 'grpc');

  const wrong = new GrpcBrokerClient({ endpoint, clientType: 'PRODUCER', requestTimeoutMs: 2000, credentials: { accessKey: 'cli-app', secretKey: 'not-the-secret' } });
  t.teardown(() => wrong.close().catch(() => undefined));
  t.true(isPetrelError(await t.throwsAsync(wrong.start()), 'ERR_UNAUTHENTICATED'));
  const unsigned = new GrpcBrokerClient({ endpoint, clientType: 'PRODUCER', requestTimeoutMs: 2000 });
  t.teardown(() => unsigned.close().catch(() => undefined));
  t.true(isPetrelError(await t.throwsAsync(unsigned.start()), 'ERR_UNAUTHENTICATED'));

  const credentials = { accessKey: 'cli-app', secretKey: 'cli-secret-1' };
  const producer = await started(t, { endpoint, clientType: 'PRODUCER', credentials, topics: ['CliSecure'] });
  const { messageId } = await producer.send({ topic: 'CliSecure', body: Buffer.from('signed') });
  const consumer = await started(t, {
    endpoint,
    clientType: 'SIMPLE_CONSUMER',
    credentials,
    group: 'cli-secure-group',
    subscriptions: [{ topic: 'CliSecure', filter: { type: 'TAG', expression: '*' } }],
  });
  const got = await consumer.receive({ topic: 'CliSecure', batchSize: 4, longPollMs: 3000 });
  t.deepEqual(
    got.map((m) => [m.messageId, m.body.toString()]),
    [[messageId, 'signed']],
  );
  await producer.close();
  await consumer.close();
  const stopped = await broker.stop('SIGTERM');
  t.is(stopped.code, 0, stopped.stderr);
});

test('start --tls-key/--tls-cert - clients that trust the certificate connect; plaintext is refused', async (t) => {
  const dir = tempDir(t);
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
    stdio: 'ignore',
  });
  const broker = await startCli(t, ['start', '--store', path.join(dir, 'store'), ...FREE_PORTS, '--tls-key', key, '--tls-cert', cert]);
  t.regex(broker.readyLine, /grpc 127\.0\.0\.1:\d+ \(TLS\), remoting/);
  const endpoint = /grpc (\S+) /.exec(broker.readyLine)?.[1] ?? '';
  const producer = await started(t, { endpoint, clientType: 'PRODUCER', tls: { ca: readFileSync(cert) } });
  t.true((await producer.send({ topic: 'CliTls', body: Buffer.from('x') })).messageId.length > 0);
  const plain = new GrpcBrokerClient({ endpoint, clientType: 'PRODUCER', requestTimeoutMs: 1000 });
  t.teardown(() => plain.close().catch(() => undefined));
  await t.throwsAsync(plain.start());
  await producer.close();
  t.is((await broker.stop('SIGTERM')).code, 0);
});

test('start - a bad --acl file or half a TLS pair is one ERR_CONFIG_INVALID line and exit 2', async (t) => {
  const dir = tempDir(t);
  const badAcl = path.join(dir, 'acl.json');
  writeFileSync(badAcl, JSON.stringify({ accounts: [{ accessKey: 'k', secretKey: 'short' }] }));
  const cases = [
    ['--acl', badAcl],
    ['--acl', path.join(dir, 'missing.json')],
    ['--tls-key', path.join(dir, 'key.pem')],
    ['--tls-ca', path.join(dir, 'ca.pem')],
  ];
  for (const extra of cases) {
    const r = await runCli(['start', '--store', path.join(dir, 'store'), ...FREE_PORTS, ...extra]);
    t.is(r.code, 2, extra.join(' '));
    t.is(r.stdout, '');
    t.is(lines(r.stderr).length, 1, r.stderr);
    t.regex(r.stderr, /^petrelmq: ERR_CONFIG_INVALID: \S/, extra.join(' '));
  }
});
