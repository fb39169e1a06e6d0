/**
 * ReceiveMessage, AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue, over
 * the PopService.
 *
 * ReceiveMessage answers in the shape the official client reads (ROCKETMQ-GRPC.md 5.3): status
 * OK, one response per message, delivery_timestamp, end; or MESSAGE_NOT_FOUND, delivery_timestamp,
 * end; or one error status, end. The long poll is cut short so the stream always ends before the
 * call's deadline.
 */
import type { Deadline, ServerWritableStream } from '@grpc/grpc-js';
import { StatusError, statusOfError } from './status.js';
import { ClientType, Code, statusOk, timestampOf, type WireAckResultEntry, type WireReceiveResponse, type WireStatus } from './wire.js';
import { bool, list, millis, num, rec, str } from './parse.js';
import { filterSpecOf } from './FilterMatcher.js';
import { toWireMessage } from './MessageConversion.js';
import { readCallContext, requireTopic, type CallContext } from './RequestContext.js';
import { resourceName } from './RouteHandlers.js';
import { summarize } from './SendHandlers.js';
import { reportUnexpected, type ServiceContext } from './ServiceContext.js';
import type { PopRequest, PoppedMessage } from './PopService.js';

/** Time kept between the end of the long poll and the call's deadline. */
function deadlineSlack(budgetMs: number): number {
  return Math.max(500, Math.min(2000, budgetMs / 10));
}

function remainingMs(deadline: Deadline, now: number): number {
  if (deadline instanceof Date) return deadline.getTime() - now;
  return Number.isFinite(deadline) ? deadline - now : Infinity;
}

function invisibleOf(ctx: ServiceContext, ms: number | undefined, field: string): number {
  if (ms === undefined) throw new StatusError(Code.ILLEGAL_INVISIBLE_TIME, `${field} is required`);
  const { minInvisibleMs, maxInvisibleMs } = ctx.settings;
  if (ms < minInvisibleMs || ms > maxInvisibleMs) {
    throw new StatusError(Code.ILLEGAL_INVISIBLE_TIME, `${field} ${ms} ms is outside [${minInvisibleMs}, ${maxInvisibleMs}] ms`);
  }
  return ms;
}

async function parseReceive(ctx: ServiceContext, request: unknown, call: CallContext, deadline: Deadline): Promise<PopRequest> {
  const req = rec(request);
  const group = resourceName(req['group'], 'group', call, 'group');
  const mq = rec(req['message_queue'], 'message_queue');
  const topic = resourceName(mq['topic'], 'message_queue.topic', call, 'topic');
  requireTopic(call, ctx.acl, topic, 'SUB');
  if (ctx.settings.groupPolicy(group).consumeEnable === false) throw new StatusError(Code.FORBIDDEN, `consumer group ${group} has consumeEnable=false`);
  const filter = filterSpecOf(req['filter_expression']);
  const batchSize = num(req, 'batch_size');
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > ctx.settings.maxReceiveBatchSize) {
    throw new StatusError(Code.BAD_REQUEST, `batch_size must be 1..${ctx.settings.maxReceiveBatchSize}, got ${batchSize}`);
  }
  const autoRenew = bool(req, 'auto_renew');
  const invisibleMs = autoRenew ? ctx.pop.autoRenewInvisibleMs : invisibleOf(ctx, millis(req, 'invisible_duration'), 'invisible_duration');
  const asked = millis(req, 'long_polling_timeout') ?? ctx.settings.longPollingTimeoutMs;
  if (asked < 0) throw new StatusError(Code.ILLEGAL_POLLING_TIME, 'long_polling_timeout is negative');
  const budget = remainingMs(deadline, ctx.clock.now());
  const pollMs = Math.max(0, Math.min(asked, ctx.settings.longPollingTimeoutMs, budget - deadlineSlack(budget)));
  const session = ctx.registry.get(call.clientId);
  const queueId = num(mq, 'id');
  // A FIFO push consumer polls each assigned queue on its own; everyone else pops across queues.
  const onlyQueue = session?.settings.clientType === ClientType.PUSH_CONSUMER && ctx.settings.groupPolicy(group).fifo && queueId >= 0 ? queueId : undefined;
  return {
    group,
    topic,
    clientId: call.clientId,
    ...(onlyQueue === undefined ? {} : { queueId: onlyQueue }),
    filter,
    batchSize,
    invisibleMs,
    autoRenew,
    pollMs,
  };
}

/** The server-streaming ReceiveMessage handler. */
export function receiveMessage(ctx: ServiceContext): (stream: ServerWritableStream<unknown, WireReceiveResponse>) => void {
  return (stream) => {
    const finish = (frames: WireReceiveResponse[]): void => {
      if (stream.cancelled) return;
      for (const f of frames) stream.write(f);
      stream.end();
    };
    const stamp = (): WireReceiveResponse => ({ delivery_timestamp: timestampOf(ctx.clock.now()) });
    let call: CallContext;
    try {
      call = readCallContext(stream.metadata, ctx.acl, ctx.settings.maxMetadataBytes);
    } catch (err) {
      finish([{ status: statusOfError(err) }]);
      return;
    }
    let request: PopRequest | undefined;
    parseReceive(ctx, stream.request, call, stream.getDeadline())
      .then((parsed) => {
        request = parsed;
        return ctx.pop.receive(parsed);
      })
      .then((popped: PoppedMessage[]) => {
        if (stream.cancelled && request !== undefined) {
          for (const p of popped) ctx.pop.abandon(request.group, request.topic, p.receiptHandle);
          return;
        }
        if (popped.length === 0) {
          finish([{ status: { code: Code.MESSAGE_NOT_FOUND, message: 'no new message' } }, stamp()]);
          return;
        }
        const frames: WireReceiveResponse[] = [{ status: statusOk() }];
        for (const p of popped) {
          frames.push({ message: toWireMessage(p.message, p, call.namespace) });
        }
        frames.push(stamp());
        finish(frames);
      })
      .catch((err: unknown) => {
        reportUnexpected('ReceiveMessage', err);
        finish([{ status: statusOfError(err) }]);
      });
  };
}

export interface AckResponse {
  readonly status: WireStatus;
  readonly entries?: readonly WireAckResultEntry[];
}

export async function ackMessage(ctx: ServiceContext, request: unknown, call: CallContext): Promise<AckResponse> {
  const req = rec(request);
  const group = resourceName(req['group'], 'group', call, 'group');
  const topic = resourceName(req['topic'], 'topic', call, 'topic');
  requireTopic(call, ctx.acl, topic, 'SUB');
  const raw = list(req, 'entries');
  if (raw.length === 0) throw new StatusError(Code.BAD_REQUEST, 'AckMessage without entries');
  if (raw.length > ctx.settings.maxReceiveBatchSize) throw new StatusError(Code.BAD_REQUEST, `AckMessage with more than ${ctx.settings.maxReceiveBatchSize} entries`);
  const entries: WireAckResultEntry[] = [];
  for (const e of raw) {
    const r = rec(e, 'entries[]');
    const handle = str(r, 'receipt_handle');
    let status: WireStatus = statusOk();
    try {
      await ctx.pop.ack(group, topic, handle);
    } catch (err) {
      reportUnexpected('AckMessage', err);
      status = statusOfError(err);
    }
    entries.push({ message_id: str(r, 'message_id'), receipt_handle: handle, status });
  }
  return { status: summarize(entries.map((e) => e.status)), entries };
}

export async function changeInvisibleDuration(
  ctx: ServiceContext,
  request: unknown,
  call: CallContext,
): Promise<{ status: WireStatus; receipt_handle?: string }> {
  const req = rec(request);
  const group = resourceName(req['group'], 'group', call, 'group');
  const topic = resourceName(req['topic'], 'topic', call, 'topic');
  requireTopic(call, ctx.acl, topic, 'SUB');
  const ms = millis(req, 'invisible_duration');
  if (ms === undefined || ms < 0 || ms > ctx.settings.maxInvisibleMs) {
    throw new StatusError(Code.ILLEGAL_INVISIBLE_TIME, `invisible_duration must be 0..${ctx.settings.maxInvisibleMs} ms`);
  }
  const handle = ctx.pop.changeInvisibleDuration(group, topic, str(req, 'receipt_handle'), ms);
  return { status: statusOk(), receipt_handle: handle };
}

export async function forwardToDeadLetterQueue(ctx: ServiceContext, request: unknown, call: CallContext): Promise<{ status: WireStatus }> {
  const req = rec(request);
  const group = resourceName(req['group'], 'group', call, 'group');
  const topic = resourceName(req['topic'], 'topic', call, 'topic');
  requireTopic(call, ctx.acl, topic, 'SUB');
  await ctx.pop.forwardToDeadLetterQueue(group, topic, str(req, 'receipt_handle'));
  return { status: statusOk() };
}
