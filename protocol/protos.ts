/**
 * The RocketMQ v2 protos, loaded once by @grpc/proto-loader from the package's proto/ folder:
 * apache/rocketmq-apis' definitions as the official client (rocketmq-client-nodejs 1.0.8) ships
 * them, vendored with their license and notice, so that the broker needs no client at run time.
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
import { fileURLToPath } from 'node:url';
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

/** The folder holding apache/rocketmq/v2/*.proto: proto/ at the package root (this file runs from dist/protocol/). */
export function protoRoot(): string {
  return fileURLToPath(new URL('../../proto/', import.meta.url));
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
