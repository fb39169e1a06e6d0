/**
 * What the MessagingService handlers share: the broker they serve, the endpoint's resolved
 * settings, and the per-endpoint state (clients, pop service, held transactions). Also the one
 * wrapper every unary handler goes through: metadata checked first, every outcome answered as
 * a body status with gRPC OK (the proxy's practice), unexpected errors logged and answered as
 * INTERNAL_SERVER_ERROR, so a bad request never reaches past its own call.
 */
import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';
import type { BrokerApi } from '../api/BrokerApi.js';
import type { Clock } from '../common/clock.js';
import { isPetrelError } from '../common/errors.js';
import { log } from '../common/diagnostics.js';
import type { AccessControl } from './AccessControl.js';
import type { ClientRegistry } from './ClientRegistry.js';
import type { MessageLimits } from './MessageValidation.js';
import type { GroupPolicy, PopService } from './PopService.js';
import type { TransactionStore } from './TransactionStore.js';
import { readCallContext, type CallContext } from './RequestContext.js';
import { StatusError, statusOfError } from './status.js';
import type { WireAddress, WireStatus } from './wire.js';

export interface EndpointSettings {
  /** The one host:port put in routes and assignments. */
  readonly advertised: WireAddress;
  readonly limits: MessageLimits;
  /** messageDelayLevel in ms, level n at index n-1. */
  readonly delayLevels: readonly number[];
  /** Longest long poll of a receive, and the value push consumers get in Settings. */
  readonly longPollingTimeoutMs: number;
  readonly receiveBatchSize: number;
  /** Largest batch one receive may ask for. */
  readonly maxReceiveBatchSize: number;
  readonly minInvisibleMs: number;
  readonly maxInvisibleMs: number;
  readonly maxMetadataBytes: number;
  /** Most messages in one SendMessage request. */
  readonly maxMessagesPerSend: number;
  readonly groupPolicy: (group: string) => GroupPolicy;
  /** Reads the broker's subscription groups again (before a consumer is told its group's settings). */
  readonly refreshGroupPolicies?: () => Promise<void>;
}

export interface ServiceContext {
  readonly broker: BrokerApi;
  readonly clock: Clock;
  readonly acl: AccessControl | undefined;
  readonly settings: EndpointSettings;
  readonly registry: ClientRegistry;
  readonly pop: PopService;
  readonly transactions: TransactionStore;
}

/** Logs errors that are not a client's fault. */
export function reportUnexpected(rpc: string, err: unknown): void {
  if (err instanceof StatusError) return;
  if (isPetrelError(err) && !err.retriable) return;
  log('error', `grpc: ${rpc} failed`, { error: err instanceof Error ? err.stack ?? err.message : String(err) });
}

/**
 * A unary handler: `serve` gets the parsed call context; `failed` shapes a response around an
 * error status.
 */
export function unary<Res>(
  ctx: ServiceContext,
  rpc: string,
  serve: (request: unknown, call: CallContext, raw: ServerUnaryCall<unknown, Res>) => Promise<Res>,
  failed: (status: WireStatus) => Res,
): handleUnaryCall<unknown, Res> {
  return (raw, callback) => {
    let call: CallContext;
    try {
      call = readCallContext(raw.metadata, ctx.acl, ctx.settings.maxMetadataBytes);
    } catch (err) {
      callback(null, failed(statusOfError(err)));
      return;
    }
    serve(raw.request, call, raw).then(
      (response) => callback(null, response),
      (err: unknown) => {
        reportUnexpected(rpc, err);
        callback(null, failed(statusOfError(err)));
      },
    );
  };
}
