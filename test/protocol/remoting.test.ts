import test from 'ava';
import net from 'node:net';
import v8 from 'node:v8';
import diagnostics from 'node:diagnostics_channel';
import { CHANNELS } from '../../common/diagnostics.js';
import { PetrelError, isPetrelError } from '../../common/errors.js';
import { FrameDecoder, encodeFrame } from '../../protocol/remoting/Frame.js';
import { RpcClient } from '../../protocol/remoting/RpcClient.js';
import { serveRpc, type RpcMethod, type RpcServer } from '../../protocol/remoting/RpcServer.js';
import { until } from '../helpers/broker.js';

function methods(extra: Record<string, RpcMethod> = {}): Map<string, RpcMethod> {
  return new Map<string, RpcMethod>([
    ['echo', (args) => args[0]],
    ['fail', () => { throw new PetrelError('ERR_TOPIC_NOT_EXIST', 'no such topic'); }],
    ['never', () => new Promise(() => undefined)],
    ['slow', (args) => new Promise((r) => setTimeout(() => r(args[0]), Number(args[1])))],
    ...Object.entries(extra),
  ]);
}

async function serve(t: { teardown(fn: () => unknown): void }, m = methods(), options = {}): Promise<RpcServer> {
  const server = await serveRpc(m, options);
  t.teardown(() => server.close());
  return server;
}

function client(t: { teardown(fn: () => unknown): void }, address: string, options = {}): RpcClient {
  const c = new RpcClient(address, options);
  t.teardown(() => c.close());
  return c;
}

/** Opens a raw socket, writes bytes, and resolves when the server closes it. */
function rawExchange(address: string, bytes: Buffer[]): Promise<'closed'> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: host ?? '127.0.0.1', port: Number(port) }, () => {
      for (const b of bytes) s.write(b);
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve('closed'));
    setTimeout(() => reject(new Error('server did not close the connection')), 5000).unref();
  });
}

function header(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function logged(): { reasons: string[]; stop(): void } {
  const reasons: string[] = [];
  const fn = (m: unknown): void => {
    const r = m as { msg?: unknown };
    if (typeof r.msg === 'string') reasons.push(r.msg);
  };
  diagnostics.subscribe(CHANNELS.log, fn);
  return { reasons, stop: () => diagnostics.unsubscribe(CHANNELS.log, fn) };
}

test('remoting - frames split across chunks and packed into one chunk decode in order', (t) => {
  const frames = [1, 2, 3].map((i) => Buffer.concat(encodeFrame({ i, body: new Uint8Array(i * 1000).fill(i) }, 1 << 20)));
  const stream = Buffer.concat(frames);
  const decoder = new FrameDecoder(1 << 20);
  const out: unknown[] = [];
  for (let at = 0; at < stream.length; at += 7) out.push(...decoder.push(stream.subarray(at, at + 7)).map((p) => v8.deserialize(p)));
  t.deepEqual(out.map((o) => (o as { i: number }).i), [1, 2, 3]);
  t.is(decoder.buffered, 0);
  const packed = new FrameDecoder(1 << 20).push(stream);
  t.is(packed.length, 3);
});

test('remoting - a declared length over the limit is refused before its payload is buffered', (t) => {
  const decoder = new FrameDecoder(1024);
  const err = t.throws(() => decoder.push(header(1025)));
  t.true(isPetrelError(err, 'ERR_FRAME_INVALID'));
  t.true(isPetrelError(t.throws(() => new FrameDecoder(1024).push(header(0))), 'ERR_FRAME_INVALID'));
});

test('remoting - a request round-trips with its byte bodies intact', async (t) => {
  const server = await serve(t);
  const c = client(t, server.address);
  const body = new Uint8Array([0, 1, 2, 255]);
  const back = (await c.call('echo', [{ body, n: 7, nested: { s: 'x' } }])) as { body: Uint8Array; n: number; nested: { s: string } };
  t.true(back.body instanceof Uint8Array);
  t.deepEqual([...back.body], [0, 1, 2, 255]);
  t.is(back.n, 7);
  t.is(back.nested.s, 'x');
  t.true(server.address.startsWith('127.0.0.1:'));
});

test('remoting - a remote PetrelError comes back with its code and retriable flag', async (t) => {
  const server = await serve(t);
  const c = client(t, server.address);
  const err = await t.throwsAsync(c.call('fail', []));
  t.true(isPetrelError(err, 'ERR_TOPIC_NOT_EXIST'));
  t.false((err as PetrelError).retriable);
});

test('remoting - an unknown method is answered with ERR_METHOD_NOT_FOUND and the connection stays', async (t) => {
  const server = await serve(t);
  const c = client(t, server.address);
  t.true(isPetrelError(await t.throwsAsync(c.call('shutdown', [])), 'ERR_METHOD_NOT_FOUND'));
  t.true(isPetrelError(await t.throwsAsync(c.call('toString', [])), 'ERR_METHOD_NOT_FOUND'));
  t.true(isPetrelError(await t.throwsAsync(c.call('__proto__', [])), 'ERR_METHOD_NOT_FOUND'));
  t.is(await c.call('echo', ['still here']), 'still here');
  t.is(server.connectionCount, 1);
});

test('remoting - an oversized frame closes that connection with a logged reason; the server keeps serving', async (t) => {
  const log = logged();
  t.teardown(() => log.stop());
  const server = await serve(t, methods(), { maxFrameBytes: 4096 });
  const other = client(t, server.address);
  t.is(await other.call('echo', [1]), 1);
  t.is(await rawExchange(server.address, [header(1 << 20), Buffer.alloc(100)]), 'closed');
  t.true(log.reasons.some((r) => /closing connection/.test(r) && /over the 4096-byte limit/.test(r)), log.reasons.join('\n'));
  t.is(await other.call('echo', [2]), 2, 'another connection was not disturbed');
  t.is(await client(t, server.address).call('echo', [3]), 3, 'new connections are served');
});

test('remoting - a malformed payload or envelope closes that connection; the server keeps serving', async (t) => {
  const server = await serve(t);
  const garbage = Buffer.from('definitely not v8 data');
  t.is(await rawExchange(server.address, [header(garbage.length), garbage]), 'closed');
  const wrongShape = v8.serialize({ type: 'request', id: -5, method: 'echo', args: [], oneway: false });
  t.is(await rawExchange(server.address, [header(wrongShape.length), wrongShape]), 'closed');
  const notAList = v8.serialize({ type: 'request', id: 1, method: 'echo', args: 'x', oneway: false });
  t.is(await rawExchange(server.address, [header(notAList.length), notAList]), 'closed');
  t.is(await client(t, server.address).call('echo', ['ok']), 'ok');
});

test('remoting - a request larger than a frame is refused before it is written', async (t) => {
  const server = await serve(t);
  const c = client(t, server.address, { maxFrameBytes: 4096 });
  t.true(isPetrelError(await t.throwsAsync(c.call('echo', [new Uint8Array(10_000)])), 'ERR_FRAME_INVALID'));
  t.is(await c.call('echo', ['fine']), 'fine');
});

test('remoting - a reply larger than a frame becomes an error reply', async (t) => {
  const server = await serve(t, methods({ big: () => new Uint8Array(10_000) }), { maxFrameBytes: 4096 });
  const c = client(t, server.address);
  t.true(isPetrelError(await t.throwsAsync(c.call('big', [])), 'ERR_FRAME_INVALID'));
  t.is(await c.call('echo', [1]), 1);
});

test('remoting - a request without a reply in time fails with ERR_TIMEOUT; a late reply is ignored', async (t) => {
  const server = await serve(t);
  const c = client(t, server.address);
  t.true(isPetrelError(await t.throwsAsync(c.call('never', [], 100)), 'ERR_TIMEOUT'));
  t.true(isPetrelError(await t.throwsAsync(c.call('slow', ['late', 200], 50)), 'ERR_TIMEOUT'));
  await new Promise((r) => setTimeout(r, 250));
  t.is(await c.call('echo', ['next']), 'next');
});

test('remoting - an unreachable peer fails with ERR_SERVICE_NOT_AVAILABLE; a lost one with ERR_REMOTE; the client reconnects', async (t) => {
  let server = await serveRpc(methods());
  const port = server.port;
  const c = client(t, server.address, { reconnectMinMs: 20, reconnectMaxMs: 50 });
  t.is(await c.call('echo', [1]), 1);
  const inFlight = c.call('never', [], 5000);
  await server.close();
  const lost = await t.throwsAsync(inFlight);
  t.true(isPetrelError(lost, 'ERR_REMOTE'));
  t.true((lost as PetrelError).retriable);
  const down = await t.throwsAsync(c.call('echo', [2]));
  t.true(isPetrelError(down, 'ERR_SERVICE_NOT_AVAILABLE'));
  t.true((down as PetrelError).retriable);
  server = await serveRpc(methods(), { port });
  t.teardown(() => server.close());
  await t.notThrowsAsync(until(async () => (await c.call('echo', [3]).catch(() => undefined)) === 3, 5000, 'reconnect'));
});

test('remoting - requests beyond the per-connection limit get ERR_SYSTEM_BUSY', async (t) => {
  const server = await serve(t, methods(), { maxInFlightPerConnection: 2 });
  const c = client(t, server.address);
  const held = [c.call('slow', [1, 300]), c.call('slow', [2, 300])];
  t.true(isPetrelError(await t.throwsAsync(c.call('echo', [3])), 'ERR_SYSTEM_BUSY'));
  t.deepEqual(await Promise.all(held), [1, 2]);
  t.is(await c.call('echo', [4]), 4);
});

test('remoting - the server listens on 127.0.0.1 by default and refuses a bad port', async (t) => {
  const server = await serve(t);
  t.regex(server.address, /^127\.0\.0\.1:\d+$/);
  await t.throwsAsync(serveRpc(methods(), { port: 70000 }), { code: 'ERR_CONFIG_INVALID' });
});

test('remoting - close() fails requests in flight with ERR_CLIENT_STATE', async (t) => {
  const server = await serve(t);
  const c = new RpcClient(server.address);
  const p = c.call('never', [], 5000);
  await new Promise((r) => setTimeout(r, 20));
  c.close();
  t.true(isPetrelError(await t.throwsAsync(p), 'ERR_CLIENT_STATE'));
  await t.notThrowsAsync(until(() => server.connectionCount === 0, 2000, 'server sees the close'));
});

test('remoting - close() while the connection is still being opened fails the call with ERR_CLIENT_STATE', async (t) => {
  const server = await serve(t);
  const c = new RpcClient(server.address);
  const p = c.call('echo', ['too late']);
  c.close();
  t.true(isPetrelError(await t.throwsAsync(p), 'ERR_CLIENT_STATE'));
});
