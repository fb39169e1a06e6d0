import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isPetrelError } from '../../common/errors.js';
import { GrpcBrokerClient, type GrpcBrokerClientOptions } from '../../protocol/GrpcBrokerClient.js';
import type { ReceivedMessage } from '../../protocol/ClientMessages.js';
import { tempDir } from '../helpers/tmp.js';
import { repeatUntil, sleep, startEndpoint } from './harness.js';

async function client(t: Parameters<typeof startEndpoint>[0], options: GrpcBrokerClientOptions): Promise<GrpcBrokerClient> {
  const c = new GrpcBrokerClient(options);
  t.teardown(() => c.close().catch(() => undefined));
  await c.start();
  return c;
}

async function receiveAll(c: GrpcBrokerClient, topic: string, want: number, invisibleMs = 10_000): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  await repeatUntil(async () => void out.push(...(await c.receive({ topic, batchSize: 16, invisibleMs, longPollMs: 1000 }))), () => out.length >= want, 15_000, `${want} messages`);
  return out;
}

test('grpc broker client - sends and receives with tags, keys, properties and the message id kept', async (t) => {
  const { address } = await startEndpoint(t);
  const producer = await client(t, { endpoint: address, clientType: 'PRODUCER', topics: ['OwnClient'] });
  t.is(producer.serverSettings?.publishing?.max_body_size, 4 * 1024 * 1024);
  const receipt = await producer.send({ topic: 'OwnClient', body: Buffer.from('hello'), tag: 'T1', keys: ['k1'], properties: { a: 'b' } });
  t.regex(receipt.messageId, /^01[0-9A-F]{32}$/);
  const consumer = await client(t, { endpoint: address, clientType: 'SIMPLE_CONSUMER', group: 'own-g', subscriptions: [{ topic: 'OwnClient', filter: { type: 'TAG', expression: 'T1' } }] });
  const [m] = await receiveAll(consumer, 'OwnClient', 1);
  t.like(m, { messageId: receipt.messageId, tag: 'T1', deliveryAttempt: 1, corrupted: false, properties: { a: 'b' } });
  t.deepEqual(m?.keys, ['k1']);
  t.is(m?.body.toString(), 'hello');
  if (m === undefined) return;
  await consumer.ack('OwnClient', m);
  const err = await t.throwsAsync(consumer.ack('OwnClient', m));
  t.true(isPetrelError(err, 'ERR_RECEIPT_HANDLE_INVALID'));
});

test('grpc broker client - changeInvisibleDuration returns the handle that acks; unacked messages return', async (t) => {
  const { address } = await startEndpoint(t);
  const producer = await client(t, { endpoint: address, clientType: 'PRODUCER' });
  await producer.send({ topic: 'OwnRetry', body: Buffer.from('x') });
  const consumer = await client(t, { endpoint: address, clientType: 'SIMPLE_CONSUMER', group: 'own-retry', subscriptions: [{ topic: 'OwnRetry', filter: { type: 'TAG', expression: '*' } }] });
  const [first] = await receiveAll(consumer, 'OwnRetry', 1, 600);
  if (first === undefined) return t.fail();
  await sleep(700);
  const [second] = await receiveAll(consumer, 'OwnRetry', 1, 60_000);
  if (second === undefined) return t.fail();
  t.is(second.deliveryAttempt, 2);
  const handle = await consumer.changeInvisibleDuration('OwnRetry', second, 30_000);
  t.not(handle, second.receiptHandle);
  t.true(isPetrelError(await t.throwsAsync(consumer.ack('OwnRetry', second)), 'ERR_RECEIPT_HANDLE_INVALID'));
  await consumer.ack('OwnRetry', { messageId: second.messageId, receiptHandle: handle });
});

test('grpc broker client - FIFO groups keep their order and delay messages wait for their time', async (t) => {
  const { address } = await startEndpoint(t, {}, { groups: { 'own-fifo': { fifo: true } } });
  const producer = await client(t, { endpoint: address, clientType: 'PRODUCER' });
  for (let i = 0; i < 6; i++) await producer.send({ topic: 'OwnFifo', messageGroup: 'only', body: Buffer.from(String(i)) });
  const consumer = await client(t, { endpoint: address, clientType: 'SIMPLE_CONSUMER', group: 'own-fifo', subscriptions: [{ topic: 'OwnFifo', filter: { type: 'TAG', expression: '*' } }] });
  const order: string[] = [];
  await repeatUntil(
    async () => {
      const batch = await consumer.receive({ topic: 'OwnFifo', batchSize: 4, invisibleMs: 10_000, longPollMs: 1000 });
      for (const m of batch) {
        order.push(m.body.toString());
        await consumer.ack('OwnFifo', m);
      }
    },
    () => order.length >= 6,
    15_000,
    'six FIFO messages',
  );
  t.deepEqual(order, ['0', '1', '2', '3', '4', '5']);

  const at = Date.now() + 900;
  const { messageId } = await producer.send({ topic: 'OwnDelay', body: Buffer.from('later'), deliveryTimestamp: at });
  const delayed = await client(t, { endpoint: address, clientType: 'SIMPLE_CONSUMER', group: 'own-delay', subscriptions: [{ topic: 'OwnDelay', filter: { type: 'TAG', expression: '*' } }] });
  const [m] = await receiveAll(delayed, 'OwnDelay', 1);
  t.is(m?.messageId, messageId);
  t.true(Date.now() >= at, 'not delivered before its delivery time');
  t.is(m?.deliveryTimestamp, at);
});

test('grpc broker client - a wrong secret is ERR_UNAUTHENTICATED at start', async (t) => {
  const { address } = await startEndpoint(t, {}, { acl: { accounts: [{ accessKey: 'ak', secretKey: 'secret-1', defaultTopicPerm: 'PUB|SUB' }] } });
  const ok = await client(t, { endpoint: address, clientType: 'PRODUCER', credentials: { accessKey: 'ak', secretKey: 'secret-1' } });
  await ok.send({ topic: 'OwnAcl', body: Buffer.from('x') });
  const bad = new GrpcBrokerClient({ endpoint: address, clientType: 'PRODUCER', credentials: { accessKey: 'ak', secretKey: 'wrong-1' } });
  t.teardown(() => bad.close().catch(() => undefined));
  t.true(isPetrelError(await t.throwsAsync(bad.start()), 'ERR_UNAUTHENTICATED'));
});

function selfSignedCert(dir: string): { key: string; cert: string } | undefined {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
      stdio: 'ignore',
    });
  } catch {
    return undefined;
  }
  return { key, cert };
}

test('grpc broker client - over TLS with the server certificate trusted; plaintext is refused', async (t) => {
  const files = selfSignedCert(tempDir(t));
  if (files === undefined) return t.fail('openssl is needed to make a test certificate');
  const { address } = await startEndpoint(t, {}, { tls: { keyFile: files.key, certFile: files.cert } });
  const ca = readFileSync(files.cert);
  const producer = await client(t, { endpoint: address, clientType: 'PRODUCER', tls: { ca } });
  const { messageId } = await producer.send({ topic: 'OwnTls', body: Buffer.from('secret') });
  const consumer = await client(t, { endpoint: address, clientType: 'SIMPLE_CONSUMER', tls: { ca }, group: 'own-tls', subscriptions: [{ topic: 'OwnTls', filter: { type: 'TAG', expression: '*' } }] });
  const [m] = await receiveAll(consumer, 'OwnTls', 1);
  t.is(m?.messageId, messageId);
  const plain = new GrpcBrokerClient({ endpoint: address, clientType: 'PRODUCER', requestTimeoutMs: 1000 });
  t.teardown(() => plain.close().catch(() => undefined));
  await t.throwsAsync(plain.start());
});
