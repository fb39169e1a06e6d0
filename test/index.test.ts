import test from 'ava';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runToEnd } from './cli/cliHarness.js';
import { tempDir } from './helpers/tmp.js';

/**
 * An application of a user's: it imports petrelmq by its package name (resolved through
 * node_modules, so package.json "exports" applies), starts a broker at the default configuration,
 * sends from a worker thread over brokerHandle + connectBroker as the README shows, starts the
 * gRPC endpoint on a thread of its own, and prints what it saw as one JSON line.
 */
const APP = `
import { Worker } from 'node:worker_threads';
import * as petrelmq from 'petrelmq';
const { Broker, brokerHandle, startGrpcEndpointActor } = petrelmq;
const broker = await Broker.start({ storePathRootDir: process.argv[2] });
await broker.createTopic({ topic: 'FromWorker', readQueueNums: 4, writeQueueNums: 4 });
const handle = brokerHandle(broker);
const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { handle }, transferList: [handle.port] });
const sent = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
const endpoint = await startGrpcEndpointActor(broker, { host: '127.0.0.1', port: 0 });
const grpc = endpoint.address;
await endpoint.stop();
let client = 'imported';
try { await import('rocketmq-client-nodejs'); } catch (err) { client = err.code; }
let deep = 'imported';
try { await import('petrelmq/dist/protocol/BrokerLink.js'); } catch (err) { deep = err.code; }
await broker.shutdown();
console.log(JSON.stringify({ names: Object.keys(petrelmq), sent, grpc, deep, client }));
process.exit(0);
`;

/**
 * Makes rocketmq-client-nodejs (a devDependency: the tests' official client) unresolvable, by
 * import and by require, on every thread of the process (workers inherit --import): the broker and
 * its gRPC endpoint must run without it.
 */
const NO_OFFICIAL_CLIENT = `
import Module, { register } from 'node:module';
const blocked = (s) => s === 'rocketmq-client-nodejs' || s.startsWith('rocketmq-client-nodejs/');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (blocked(request)) throw Object.assign(new Error('rocketmq-client-nodejs is not installed'), { code: 'MODULE_NOT_FOUND' });
  return resolveFilename.call(this, request, ...rest);
};
register('data:text/javascript,' + encodeURIComponent(\`
export async function resolve(specifier, context, next) {
  if (specifier === 'rocketmq-client-nodejs' || specifier.startsWith('rocketmq-client-nodejs/')) {
    throw Object.assign(new Error('rocketmq-client-nodejs is not installed'), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}\`));
`;

const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
import { connectBroker, Producer } from 'petrelmq';
const api = connectBroker(workerData.handle);
const producer = new Producer({ groupName: 'worker-producer', broker: api });
await producer.start();
const r = await producer.send({ topic: 'FromWorker', body: Buffer.from('from a worker') });
await producer.shutdown();
api.close();
parentPort.postMessage({ sendStatus: r.sendStatus, topic: r.messageQueue.topic });
`;

test('index - an application importing petrelmq by name gets brokerHandle, connectBroker and the gRPC endpoint, and a worker thread sends through them, without the official client installed', async (t) => {
  const app = tempDir(t);
  mkdirSync(path.join(app, 'node_modules'));
  symlinkSync(ROOT, path.join(app, 'node_modules', 'petrelmq'), 'dir');
  writeFileSync(path.join(app, 'app.mjs'), APP);
  writeFileSync(path.join(app, 'worker.mjs'), WORKER);
  writeFileSync(path.join(app, 'no-official-client.mjs'), NO_OFFICIAL_CLIENT);
  const run = await runToEnd(process.execPath, ['--import', path.join(app, 'no-official-client.mjs'), path.join(app, 'app.mjs'), path.join(app, 'store')], { cwd: app, env: process.env, timeoutMs: 60_000 });
  t.is(run.code, 0, run.stderr);
  const seen = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { names: string[]; sent: { sendStatus: string; topic: string }; grpc: string; deep: string; client: string };
  t.is(seen.client, 'ERR_MODULE_NOT_FOUND', 'the official client cannot be loaded in this process');
  for (const name of ['Broker', 'brokerHandle', 'connectBroker', 'GrpcEndpoint', 'startGrpcEndpointActor', 'GrpcBrokerClient', 'Producer', 'PushConsumer']) {
    t.true(seen.names.includes(name), `petrelmq exports ${name}`);
  }
  t.deepEqual(seen.sent, { sendStatus: 'SEND_OK', topic: 'FromWorker' });
  t.regex(seen.grpc, /^127\.0\.0\.1:\d+$/);
  // The exports map keeps internals private: everything a user needs comes from the root.
  t.is(seen.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});
