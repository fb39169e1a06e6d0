/**
 * The serving side of a remoting link: a TCP server that answers framed requests (Frame.ts,
 * Envelope.ts) by calling one of a fixed set of methods. Only names in the method table are
 * callable; a request for any other name gets ERR_METHOD_NOT_FOUND and the connection stays.
 * A frame that is oversized or does not parse closes that one connection, with the reason
 * published on the log channel; the server and its other connections go on.
 *
 * Bounds: at most maxInFlightPerConnection requests run per connection (more get ERR_SYSTEM_BUSY),
 * at most maxConnections connections, and a peer that does not read its replies is cut once
 * maxPendingWriteBytes are queued for it. Listens on 127.0.0.1 unless told otherwise.
 *
 * Owned by the thread that started it; close() cuts every connection (requests in flight are
 * answered nowhere: callers see ERR_REMOTE and retry elsewhere).
 */
import net from 'node:net';
import { PetrelError } from '../../common/errors.js';
import { log } from '../../common/diagnostics.js';
import { checkMaxFrameBytes, decodePayload, encodeFrame, FrameDecoder } from './Frame.js';
import { errorDataOf, parseRequest, type ReplyEnvelope, type RequestEnvelope } from './Envelope.js';

/** Who is calling: one TCP connection. */
export interface RpcPeer {
  /** Unique per server, increasing. */
  readonly connectionId: number;
  /** host:port of the peer. */
  readonly remoteAddress: string;
}

export type RpcMethod = (args: readonly unknown[], peer: RpcPeer) => unknown;

export interface RpcServerOptions {
  /** Address to bind. Default '127.0.0.1'; anything else must be asked for. */
  readonly host?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  readonly port?: number;
  /** Largest frame payload either way, bytes. Default DEFAULT_MAX_FRAME_BYTES (8 MiB + 256 KiB). */
  readonly maxFrameBytes?: number;
  /** Requests running at once per connection. Default 4096. */
  readonly maxInFlightPerConnection?: number;
  /** Connections at once. Default 1024. */
  readonly maxConnections?: number;
  /** Reply bytes queued for a peer that does not read before it is cut. Default 4 frames. */
  readonly maxPendingWriteBytes?: number;
  /** Name used in log records. Default 'remoting'. */
  readonly name?: string;
  /** Called once when a connection closes, for any reason. */
  readonly onDisconnect?: (peer: RpcPeer) => void;
}

export interface RpcServer {
  /** host:port the server listens on (the bound port when 0 was asked). */
  readonly address: string;
  readonly port: number;
  /** Open connections now. */
  readonly connectionCount: number;
  /** Stops listening and cuts every connection. */
  close(): Promise<void>;
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export async function serveRpc(methods: ReadonlyMap<string, RpcMethod>, options: RpcServerOptions = {}): Promise<RpcServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new PetrelError('ERR_CONFIG_INVALID', `port must be an integer in [0, 65535], got ${String(port)}`);
  const maxFrame = checkMaxFrameBytes(options.maxFrameBytes);
  const maxInFlight = options.maxInFlightPerConnection ?? 4096;
  const maxPendingWrite = options.maxPendingWriteBytes ?? 4 * maxFrame;
  const name = options.name ?? 'remoting';
  const sockets = new Set<net.Socket>();
  let nextConnectionId = 1;

  const server = net.createServer({ noDelay: true }, (socket) => {
    const peer: RpcPeer = { connectionId: nextConnectionId++, remoteAddress: formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0) };
    sockets.add(socket);
    const decoder = new FrameDecoder(maxFrame);
    let inFlight = 0;

    const cut = (reason: string): void => {
      if (socket.destroyed) return;
      log('warn', `${name}: closing connection from ${peer.remoteAddress}: ${reason}`, { connectionId: peer.connectionId });
      socket.destroy();
    };

    const reply = (envelope: ReplyEnvelope): void => {
      if (socket.destroyed) return;
      let frame: [Buffer, Buffer];
      try {
        frame = encodeFrame(envelope, maxFrame);
      } catch (err) {
        frame = encodeFrame({ type: 'reply', id: envelope.id, ok: false, error: errorDataOf(err) }, maxFrame);
      }
      socket.cork();
      socket.write(frame[0]);
      socket.write(frame[1]);
      socket.uncork();
      if (socket.writableLength > maxPendingWrite) cut(`peer does not read its replies (${socket.writableLength} bytes queued)`);
    };

    const handle = (req: RequestEnvelope): void => {
      const method = methods.get(req.method);
      if (method === undefined) {
        if (!req.oneway) reply({ type: 'reply', id: req.id, ok: false, error: errorDataOf(new PetrelError('ERR_METHOD_NOT_FOUND', `${name} serves no method "${req.method}"`)) });
        return;
      }
      if (inFlight >= maxInFlight) {
        if (!req.oneway) reply({ type: 'reply', id: req.id, ok: false, error: errorDataOf(new PetrelError('ERR_SYSTEM_BUSY', `${maxInFlight} requests already in flight on this connection`)) });
        return;
      }
      inFlight += 1;
      Promise.resolve()
        .then(() => method(req.args, peer))
        .then(
          (value) => {
            if (!req.oneway) reply({ type: 'reply', id: req.id, ok: true, value });
          },
          (err: unknown) => {
            if (!req.oneway) reply({ type: 'reply', id: req.id, ok: false, error: errorDataOf(err) });
          },
        )
        .finally(() => {
          inFlight -= 1;
        });
    };

    socket.on('data', (chunk: Buffer) => {
      let requests: RequestEnvelope[];
      try {
        requests = decoder.push(chunk).map((p) => parseRequest(decodePayload(p)));
      } catch (err) {
        cut(err instanceof Error ? err.message : String(err));
        return;
      }
      for (const r of requests) handle(r);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      options.onDisconnect?.(peer);
    });
  });
  server.maxConnections = options.maxConnections ?? 1024;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new PetrelError('ERR_CONFIG_INVALID', `${name} cannot listen on ${formatAddress(host, port)}: ${err.message}`, { cause: err }));
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log('error', `${name}: server error: ${err.message}`));
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  let closing: Promise<void> | undefined;
  return {
    address: formatAddress(host, boundPort),
    port: boundPort,
    get connectionCount() {
      return sockets.size;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
