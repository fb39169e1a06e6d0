/**
 * The RocketMQ v2 protos, loaded once from the rocketmq-client-nodejs package by
 * @grpc/proto-loader so that server and client speak exactly the definitions the official client
 * was built from.
 *
 * Loader choices (every object crossing the wire in protocol/ follows them):
 * - keepCase: field names stay snake_case as in the .proto files (`message_id`, not `messageId`).
 * - longs: Number. int64 fields (offsets, Duration/Timestamp seconds) become JS numbers; every value
 *   the protocol carries (queue offsets, epoch seconds) is far below 2^53.
 * - enums: Number. Enum fields are their numeric values (Code.OK = 20000, FilterType.TAG = 1).
 * - defaults: false. An unset field is absent (undefined); parsers supply proto3 defaults.
 * - oneofs: true. A decoded oneof also names its present case (`content: 'message'`).
 * - bytes: Buffer (the loader's default).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadSync, type PackageDefinition, type ServiceDefinition, type Options } from '@grpc/proto-loader';

export const SERVICE_NAME = 'apache.rocketmq.v2.MessagingService';

export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: Number,
  enums: Number,
  defaults: false,
  oneofs: true,
};

let cached: PackageDefinition | undefined;

/** The folder holding apache/rocketmq/v2/*.proto inside the installed client package. */
export function protoRoot(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('rocketmq-client-nodejs/package.json')), 'proto');
}

export function packageDefinition(): PackageDefinition {
  cached ??= loadSync('apache/rocketmq/v2/service.proto', { ...LOADER_OPTIONS, includeDirs: [protoRoot()] });
  return cached;
}

/** The MessagingService definition, as grpc-js Server.addService and makeGenericClientConstructor take it. */
export function messagingServiceDefinition(): ServiceDefinition {
  const def = packageDefinition()[SERVICE_NAME];
  if (def === undefined || !('QueryRoute' in def)) throw new Error(`${SERVICE_NAME} missing from the bundled protos`);
  return def as ServiceDefinition;
}
