/**
 * A bare gRPC client of MessagingService for wire-level tests: requests are plain objects in the
 * loader's shape, or raw bytes that skip protobuf encoding altogether.
 */
import { randomUUID } from 'node:crypto';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { authorizationHeader, formatRequestDateTime } from '../../protocol/AccessControl.js';
import { messagingServiceDefinition } from '../../protocol/protos.js';

export type Rec = Record<string, unknown>;

export interface RawOptions {
  readonly clientId?: string;
  readonly credentials?: { readonly accessKey: string; readonly secretKey: string };
  readonly extra?: Readonly<Record<string, string>>;
  readonly deadlineMs?: number;
}

export class RawRpc {
  readonly #client: Client;
  readonly #methods = messagingServiceDefinition() as Readonly<Record<string, MethodDefinition<object, object>>>;

  constructor(address: string) {
    this.#client = new Client(address, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  }

  close(): void {
    this.#client.close();
  }

  metadata(options: RawOptions = {}): Metadata {
    const md = new Metadata();
    const dateTime = formatRequestDateTime(Date.now());
    if (options.clientId !== '') md.set('x-mq-client-id', options.clientId ?? 'raw@1@0@test');
    md.set('x-mq-date-time', dateTime);
    md.set('x-mq-request-id', randomUUID());
    if (options.credentials) md.set('authorization', authorizationHeader(options.credentials.accessKey, options.credentials.secretKey, dateTime));
    for (const [k, v] of Object.entries(options.extra ?? {})) md.set(k, v);
    return md;
  }

  #method(name: string): MethodDefinition<object, object> {
    const m = this.#methods[name];
    if (m === undefined) throw new Error(`no method ${name}`);
    return m;
  }

  unary(name: string, request: object, options: RawOptions = {}): Promise<Rec> {
    const m = this.#method(name);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, this.metadata(options), { deadline: Date.now() + (options.deadlineMs ?? 5000) }, (err, value) =>
        err ? reject(err) : resolve(value as Rec),
      );
    });
  }

  /** Sends bytes as they are, as the request of a unary method. */
  unaryBytes(name: string, bytes: Buffer, options: RawOptions = {}): Promise<Rec> {
    const m = this.#method(name);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(m.path, (b: Buffer) => b, m.responseDeserialize, bytes, this.metadata(options), { deadline: Date.now() + (options.deadlineMs ?? 5000) }, (err, value) =>
        err ? reject(err) : resolve(value as Rec),
      );
    });
  }

  /** A server-streaming call: every frame, and when the stream ended. */
  stream(name: string, request: object, options: RawOptions = {}): Promise<{ frames: Rec[]; endedAfterMs: number }> {
    const m = this.#method(name);
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const frames: Rec[] = [];
      const call = this.#client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, request, this.metadata(options), {
        deadline: Date.now() + (options.deadlineMs ?? 5000),
      });
      call.on('data', (f: Rec) => frames.push(f));
      call.on('error', (err: ServiceError) => reject(err));
      call.on('end', () => resolve({ frames, endedAfterMs: Date.now() - started }));
    });
  }

  /** Opens Telemetry, writes one command and resolves with the first command the server sends. */
  telemetryOnce(command: object, options: RawOptions = {}): Promise<Rec> {
    const m = this.#method('Telemetry');
    return new Promise((resolve, reject) => {
      const call = this.#client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, this.metadata(options));
      const timer = setTimeout(() => {
        call.cancel();
        reject(new Error('no Telemetry answer'));
      }, options.deadlineMs ?? 5000);
      call.on('data', (f: Rec) => {
        clearTimeout(timer);
        call.end();
        call.cancel();
        resolve(f);
      });
      call.on('error', () => undefined);
      call.write(command);
    });
  }
}

export function statusCode(r: Rec): number | undefined {
  const status = r['status'];
  if (status === null || typeof status !== 'object') return undefined;
  const code = (status as Rec)['code'];
  return typeof code === 'number' ? code : undefined;
}
