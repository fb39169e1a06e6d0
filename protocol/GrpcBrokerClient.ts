/**
 * petrelmq's own client of the RocketMQ v2 gRPC protocol: what the project's Producer and
 * consumers use when they are given an endpoint instead of an embedded broker. It speaks the
 * same RPCs as the official client (Telemetry settings first, then SendMessage, ReceiveMessage,
 * AckMessage, ChangeInvisibleDuration), signs every call when given access keys, and turns every
 * non-OK status into a PetrelError whose code callers match on.
 *
 * One instance is one client id: one producer, or one simple consumer of one group.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { Client, credentials as grpcCredentials, Metadata, type ChannelCredentials, type ClientDuplexStream } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import type { FilterSpec } from '../api/BrokerApi.js';
import { PetrelError } from '../common/errors.js';
import { authorizationHeader, formatRequestDateTime } from './AccessControl.js';
import { parseReceivedMessage, toOutgoingWire, type OutgoingMessage, type ReceivedMessage } from './ClientMessages.js';
import { messagingServiceDefinition } from './protos.js';
import { errorOfStatus, isPassingCode } from './status.js';
import { ClientType, FilterType, Language, durationOf, type WireSettings, type WireStatus } from './wire.js';
import { has, list, num, rec, str, type Rec } from './parse.js';

export interface GrpcBrokerClientOptions {
  /** The endpoint, host:port. */
  readonly endpoint: string;
  readonly clientType: 'PRODUCER' | 'SIMPLE_CONSUMER';
  /** Consumers: the consumer group. */
  readonly group?: string;
  /** Consumers: what the group subscribes to. */
  readonly subscriptions?: readonly { readonly topic: string; readonly filter: FilterSpec }[];
  /** Producers: the topics it will send to (validated at start). */
  readonly topics?: readonly string[];
  readonly namespace?: string;
  readonly credentials?: { readonly accessKey: string; readonly secretKey: string };
  /** true for TLS with the default roots; or the CA certificate(s) to trust, PEM. */
  readonly tls?: boolean | { readonly ca: Buffer };
  /** Deadline of each unary call. Default 3000 ms. */
  readonly requestTimeoutMs?: number;
  readonly clientId?: string;
}

export interface SendReceipt {
  readonly messageId: string;
  readonly offset: number;
  readonly transactionId: string;
}

export interface ReceiveOptions {
  readonly topic: string;
  readonly filter?: FilterSpec;
  readonly batchSize?: number;
  readonly invisibleMs?: number;
  readonly longPollMs?: number;
}

let counter = 0;

export class GrpcBrokerClient {
  readonly clientId: string;
  readonly #opt: GrpcBrokerClientOptions;
  readonly #client: Client;
  readonly #methods: Readonly<Record<string, MethodDefinition<object, object>>>;
  readonly #timeoutMs: number;
  #telemetry: ClientDuplexStream<object, unknown> | undefined;
  #settings: WireSettings | undefined;

  constructor(options: GrpcBrokerClientOptions) {
    this.#opt = options;
    this.clientId = options.clientId ?? `${os.hostname()}@${process.pid}@${counter++}@${Date.now().toString(36)}`;
    this.#timeoutMs = options.requestTimeoutMs ?? 3000;
    let creds: ChannelCredentials = grpcCredentials.createInsecure();
    if (options.tls === true) creds = grpcCredentials.createSsl();
    else if (typeof options.tls === 'object') creds = grpcCredentials.createSsl(options.tls.ca);
    this.#client = new Client(options.endpoint, creds, { 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    this.#methods = messagingServiceDefinition() as Readonly<Record<string, MethodDefinition<object, object>>>;
  }

  /** The Settings the endpoint answered at start. */
  get serverSettings(): WireSettings | undefined {
    return this.#settings;
  }

  /** Opens the Telemetry stream with this client's Settings and waits for the endpoint's answer. */
  async start(): Promise<void> {
    const method = this.#method('Telemetry');
    const stream = this.#client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, this.#metadata());
    this.#telemetry = stream;
    const answer = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PetrelError('ERR_TIMEOUT', 'no Settings from the endpoint')), this.#timeoutMs);
      stream.on('data', (raw: unknown) => {
        const cmd = rec(raw);
        const status = has(cmd, 'status') ? this.#status(cmd['status']) : undefined;
        if (status !== undefined && !isPassingCode(status.code)) {
          clearTimeout(timer);
          reject(errorOfStatus(status, 'Telemetry'));
        } else if (has(cmd, 'settings')) {
          clearTimeout(timer);
          this.#settings = cmd['settings'] as WireSettings;
          resolve();
        }
      });
      stream.on('error', (err: Error) => {
        clearTimeout(timer);
        reject(new PetrelError('ERR_REMOTE', `Telemetry: ${err.message}`, { cause: err }));
      });
    });
    stream.write(this.#settingsCommand());
    try {
      await answer;
    } catch (err) {
      this.#closeTelemetry();
      throw err;
    }
  }

  async send(message: OutgoingMessage): Promise<SendReceipt> {
    const wire = toOutgoingWire(message, this.#opt.namespace ?? '', os.hostname(), Date.now());
    const res = await this.#unary('SendMessage', { messages: [wire] });
    const entry = rec(list(res, 'entries')[0]);
    this.#check(entry['status'] ?? res['status'], 'SendMessage');
    return { messageId: str(entry, 'message_id'), offset: num(entry, 'offset'), transactionId: str(entry, 'transaction_id') };
  }

  /** Pops up to batchSize messages; [] when none arrived within the long poll. */
  async receive(options: ReceiveOptions): Promise<ReceivedMessage[]> {
    const group = this.#requireGroup();
    const longPollMs = options.longPollMs ?? 20_000;
    const filter = options.filter ?? { type: 'TAG', expression: '*' };
    const request = {
      group: this.#resource(group),
      message_queue: { topic: this.#resource(options.topic), id: 0, permission: 4, broker: { name: '', id: 0 } },
      filter_expression: { type: filter.type === 'SQL92' ? FilterType.SQL : FilterType.TAG, expression: filter.expression },
      batch_size: options.batchSize ?? 32,
      invisible_duration: durationOf(options.invisibleMs ?? 30_000),
      auto_renew: false,
      long_polling_timeout: durationOf(longPollMs),
    };
    const frames = await this.#serverStream('ReceiveMessage', request, this.#timeoutMs + longPollMs);
    const out: ReceivedMessage[] = [];
    for (const frame of frames) {
      const f = rec(frame);
      if (has(f, 'status')) this.#check(f['status'], 'ReceiveMessage');
      if (has(f, 'message')) out.push(parseReceivedMessage(f['message']));
    }
    return out;
  }

  async ack(topic: string, message: Pick<ReceivedMessage, 'messageId' | 'receiptHandle'>): Promise<void> {
    const res = await this.#unary('AckMessage', {
      group: this.#resource(this.#requireGroup()),
      topic: this.#resource(topic),
      entries: [{ message_id: message.messageId, receipt_handle: message.receiptHandle }],
    });
    this.#check(res['status'], 'AckMessage');
  }

  /** Returns the receipt handle that replaces the given one. */
  async changeInvisibleDuration(topic: string, message: Pick<ReceivedMessage, 'messageId' | 'receiptHandle'>, invisibleMs: number): Promise<string> {
    const res = await this.#unary('ChangeInvisibleDuration', {
      group: this.#resource(this.#requireGroup()),
      topic: this.#resource(topic),
      receipt_handle: message.receiptHandle,
      invisible_duration: durationOf(invisibleMs),
      message_id: message.messageId,
    });
    this.#check(res['status'], 'ChangeInvisibleDuration');
    return str(res, 'receipt_handle');
  }

  async heartbeat(): Promise<void> {
    const group = this.#opt.group;
    const res = await this.#unary('Heartbeat', {
      client_type: this.#clientType(),
      ...(group === undefined ? {} : { group: this.#resource(group) }),
    });
    this.#check(res['status'], 'Heartbeat');
  }

  /** Says goodbye (NotifyClientTermination), ends the Telemetry stream and closes the channel. */
  async close(): Promise<void> {
    try {
      if (this.#telemetry !== undefined) {
        const group = this.#opt.group;
        await this.#unary('NotifyClientTermination', group === undefined ? {} : { group: this.#resource(group) });
      }
    } finally {
      this.#closeTelemetry();
      this.#client.close();
    }
  }

  #closeTelemetry(): void {
    const stream = this.#telemetry;
    this.#telemetry = undefined;
    if (stream === undefined) return;
    stream.removeAllListeners();
    stream.on('error', () => undefined);
    stream.end();
    stream.cancel();
  }

  #method(name: string): MethodDefinition<object, object> {
    const m = this.#methods[name];
    if (m === undefined) throw new Error(`unknown RPC ${name}`);
    return m;
  }

  #metadata(): Metadata {
    const md = new Metadata();
    const dateTime = formatRequestDateTime(Date.now());
    md.set('x-mq-protocol', 'v2');
    md.set('x-mq-client-id', this.clientId);
    md.set('x-mq-date-time', dateTime);
    md.set('x-mq-request-id', randomUUID());
    md.set('x-mq-language', 'HTTP');
    md.set('x-mq-client-version', 'petrelmq');
    if (this.#opt.namespace) md.set('x-mq-namespace', this.#opt.namespace);
    const c = this.#opt.credentials;
    if (c !== undefined) md.set('authorization', authorizationHeader(c.accessKey, c.secretKey, dateTime));
    return md;
  }

  #unary(name: string, request: object): Promise<Rec> {
    const method = this.#method(name);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.#metadata(),
        { deadline: Date.now() + this.#timeoutMs },
        (err, value) => {
          if (err) reject(new PetrelError(err.code === 4 ? 'ERR_TIMEOUT' : 'ERR_REMOTE', `${name}: ${err.message}`, { cause: err }));
          else resolve(rec(value));
        },
      );
    });
  }

  #serverStream(name: string, request: object, timeoutMs: number): Promise<unknown[]> {
    const method = this.#method(name);
    return new Promise((resolve, reject) => {
      const frames: unknown[] = [];
      const call = this.#client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, request, this.#metadata(), {
        deadline: Date.now() + timeoutMs,
      });
      call.on('data', (frame: unknown) => frames.push(frame));
      call.on('error', (err: Error & { code?: number }) => reject(new PetrelError(err.code === 4 ? 'ERR_TIMEOUT' : 'ERR_REMOTE', `${name}: ${err.message}`, { cause: err })));
      call.on('end', () => resolve(frames));
    });
  }

  #status(raw: unknown): WireStatus {
    const s = rec(raw);
    return { code: num(s, 'code'), message: str(s, 'message') };
  }

  #check(raw: unknown, what: string): void {
    if (raw === undefined) return;
    const status = this.#status(raw);
    if (!isPassingCode(status.code)) throw errorOfStatus(status, what);
  }

  #requireGroup(): string {
    if (this.#opt.group === undefined) throw new PetrelError('ERR_CLIENT_STATE', 'this client has no consumer group');
    return this.#opt.group;
  }

  #resource(name: string): { name: string; resource_namespace: string } {
    return { name, resource_namespace: this.#opt.namespace ?? '' };
  }

  #clientType(): number {
    return this.#opt.clientType === 'PRODUCER' ? ClientType.PRODUCER : ClientType.SIMPLE_CONSUMER;
  }

  #settingsCommand(): object {
    const [host, port] = this.#opt.endpoint.split(':');
    const common = {
      client_type: this.#clientType(),
      access_point: { scheme: 3, addresses: [{ host: host ?? '', port: Number(port ?? 80) }] },
      request_timeout: durationOf(this.#timeoutMs),
      user_agent: { language: Language.NODE_JS, version: 'petrelmq', platform: `${process.platform} ${process.arch}`, hostname: os.hostname() },
    };
    if (this.#opt.clientType === 'PRODUCER') {
      return { settings: { ...common, publishing: { topics: (this.#opt.topics ?? []).map((t) => this.#resource(t)), validate_message_type: true } } };
    }
    return {
      settings: {
        ...common,
        subscription: {
          group: this.#resource(this.#requireGroup()),
          subscriptions: (this.#opt.subscriptions ?? []).map((s) => ({
            topic: this.#resource(s.topic),
            expression: { type: s.filter.type === 'SQL92' ? FilterType.SQL : FilterType.TAG, expression: s.filter.expression },
          })),
        },
      },
    };
  }
}

