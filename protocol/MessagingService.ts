/**
 * apache.rocketmq.v2.MessagingService over a BrokerApi: the handler table grpc-js serves.
 * PullMessage, UpdateOffset, GetOffset, QueryOffset, RecallMessage and SyncLiteSubscription are
 * left out (grpc-js answers UNIMPLEMENTED): no official client in 1.0.8 needs them outside lite
 * topics and delay recall.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { ackMessage, changeInvisibleDuration, forwardToDeadLetterQueue, receiveMessage } from './ConsumeHandlers.js';
import { heartbeat, notifyClientTermination, queryAssignment, queryRoute } from './RouteHandlers.js';
import { endTransaction, sendMessage } from './SendHandlers.js';
import { telemetry } from './TelemetryHandler.js';
import { unary, type ServiceContext } from './ServiceContext.js';
import type { WireStatus } from './wire.js';

const statusOnly = (status: WireStatus): { status: WireStatus } => ({ status });

export function messagingService(ctx: ServiceContext): UntypedServiceImplementation {
  return {
    QueryRoute: unary(ctx, 'QueryRoute', (req, call) => queryRoute(ctx, req, call), statusOnly),
    Heartbeat: unary(ctx, 'Heartbeat', (req, call) => heartbeat(ctx, req, call), statusOnly),
    SendMessage: unary(ctx, 'SendMessage', (req, call) => sendMessage(ctx, req, call), statusOnly),
    QueryAssignment: unary(ctx, 'QueryAssignment', (req, call) => queryAssignment(ctx, req, call), statusOnly),
    ReceiveMessage: receiveMessage(ctx),
    AckMessage: unary(ctx, 'AckMessage', (req, call) => ackMessage(ctx, req, call), statusOnly),
    ForwardMessageToDeadLetterQueue: unary(ctx, 'ForwardMessageToDeadLetterQueue', (req, call) => forwardToDeadLetterQueue(ctx, req, call), statusOnly),
    EndTransaction: unary(ctx, 'EndTransaction', (req, call) => endTransaction(ctx, req, call), statusOnly),
    Telemetry: telemetry(ctx),
    NotifyClientTermination: unary(ctx, 'NotifyClientTermination', (req, call) => notifyClientTermination(ctx, req, call), statusOnly),
    ChangeInvisibleDuration: unary(ctx, 'ChangeInvisibleDuration', (req, call) => changeInvisibleDuration(ctx, req, call), statusOnly),
  };
}
