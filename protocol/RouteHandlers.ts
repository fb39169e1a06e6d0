/**
 * QueryRoute, QueryAssignment, Heartbeat and NotifyClientTermination.
 *
 * Routes name exactly one broker (the one this endpoint serves) at exactly one advertised
 * host:port, and always contain queue 0 as READ_WRITE: the official Node client only looks at
 * queue 0 (ROCKETMQ-GRPC.md 5.1), and the endpoint picks the real queue on send and pops across
 * all queues on receive. Every queue accepts every message type.
 */
import { Perm, isReadable, isWriteable, type TopicConfig } from '../api/BrokerApi.js';
import { StatusError } from './status.js';
import { AddressScheme, Code, MessageType, Permission, statusOk, type WireBroker, type WireMessageQueue, type WireResource, type WireStatus } from './wire.js';
import { rec, str } from './parse.js';
import { unwrapNamespace, wrapNamespace } from './MessageConversion.js';
import { validateGroupName, validateTopicName } from './MessageValidation.js';
import { requireTopic, type CallContext } from './RequestContext.js';
import type { ServiceContext } from './ServiceContext.js';
import { isIP } from 'node:net';

const ACCEPT_ALL: readonly MessageType[] = [MessageType.NORMAL, MessageType.FIFO, MessageType.DELAY, MessageType.TRANSACTION];

/** RocketMQ perm bits. */

export interface RouteResponse {
  readonly status: WireStatus;
  readonly message_queues?: readonly WireMessageQueue[];
}

export interface AssignmentResponse {
  readonly status: WireStatus;
  readonly assignments?: readonly { readonly message_queue: WireMessageQueue }[];
}

/** A request's topic or group Resource: validated, namespace applied. */
export function resourceName(raw: unknown, field: string, call: CallContext, kind: 'topic' | 'group'): string {
  const r = rec(raw, field);
  const name = str(r, 'name');
  if (kind === 'topic') validateTopicName(name);
  else validateGroupName(name);
  return wrapNamespace(call.namespace || str(r, 'resource_namespace'), name);
}

export function brokerOf(ctx: ServiceContext): WireBroker {
  const { host, port } = ctx.settings.advertised;
  const family = isIP(host);
  const scheme = family === 4 ? AddressScheme.IPv4 : family === 6 ? AddressScheme.IPv6 : AddressScheme.DOMAIN_NAME;
  return { name: ctx.broker.brokerName, id: 0, endpoints: { scheme, addresses: [{ host, port }] } };
}

function permissionOf(perm: number): Permission {
  const read = isReadable(perm);
  const write = isWriteable(perm);
  return read && write ? Permission.READ_WRITE : read ? Permission.READ : write ? Permission.WRITE : Permission.NONE;
}

function queue(ctx: ServiceContext, topic: WireResource, id: number, permission: Permission): WireMessageQueue {
  return { topic, id, permission, broker: brokerOf(ctx), accept_message_types: ACCEPT_ALL };
}

function wireTopic(call: CallContext, stored: string): WireResource {
  return { name: unwrapNamespace(call.namespace, stored), resource_namespace: call.namespace };
}

async function topicConfig(ctx: ServiceContext, topic: string): Promise<TopicConfig> {
  const config = await ctx.broker.getTopic(topic);
  if (config === undefined) throw new StatusError(Code.TOPIC_NOT_FOUND, `topic ${topic} does not exist`);
  return config;
}

export async function queryRoute(ctx: ServiceContext, request: unknown, call: CallContext): Promise<RouteResponse> {
  const req = rec(request);
  const topic = resourceName(req['topic'], 'topic', call, 'topic');
  requireTopic(call, ctx.acl, topic, 'ANY');
  const route = await ctx.broker.queryRoute(topic);
  const mine = route.brokers.find((b) => b.brokerName === ctx.broker.brokerName) ?? route.brokers[0];
  if (mine === undefined) throw new StatusError(Code.TOPIC_NOT_FOUND, `topic ${topic} has no route`);
  const count = Math.max(1, mine.readQueueNums, mine.writeQueueNums);
  const queues: WireMessageQueue[] = [];
  for (let id = 0; id < count; id++) {
    let perm = (id < mine.readQueueNums ? Perm.READ : 0) | (id < mine.writeQueueNums ? Perm.WRITE : 0);
    perm &= mine.perm;
    queues.push(queue(ctx, wireTopic(call, topic), id, id === 0 ? Permission.READ_WRITE : permissionOf(perm)));
  }
  return { status: statusOk(), message_queues: queues };
}

export async function queryAssignment(ctx: ServiceContext, request: unknown, call: CallContext): Promise<AssignmentResponse> {
  const req = rec(request);
  const topic = resourceName(req['topic'], 'topic', call, 'topic');
  const group = resourceName(req['group'], 'group', call, 'group');
  requireTopic(call, ctx.acl, topic, 'SUB');
  const config = await topicConfig(ctx, topic);
  if (!isReadable(config.perm) || config.readQueueNums < 1) throw new StatusError(Code.FORBIDDEN, `topic ${topic} is not readable`);
  const t = wireTopic(call, topic);
  if (!ctx.settings.groupPolicy(group).fifo) {
    return { status: statusOk(), assignments: [{ message_queue: queue(ctx, t, -1, Permission.READ_WRITE) }] };
  }
  const assignments = [];
  for (let id = 0; id < config.readQueueNums; id++) {
    assignments.push({ message_queue: queue(ctx, t, id, id < config.writeQueueNums ? Permission.READ_WRITE : Permission.READ) });
  }
  return { status: statusOk(), assignments };
}

export async function heartbeat(ctx: ServiceContext, _request: unknown, call: CallContext): Promise<{ status: WireStatus }> {
  const session = ctx.registry.get(call.clientId);
  if (session === undefined || !ctx.registry.touch(call.clientId)) {
    return { status: { code: Code.UNRECOGNIZED_CLIENT_TYPE, message: 'no Settings from this client yet: open the Telemetry stream first' } };
  }
  if (session.group !== undefined) {
    // Keeps the registration fresh if the broker expires silent consumers.
    await ctx.broker.registerConsumer({
      group: session.group,
      clientId: call.clientId,
      messageModel: 'CLUSTERING',
      subscriptions: session.settings.subscriptions.map((s) => ({ topic: wrapNamespace(session.namespace, s.topic.name), filter: s.filter })),
    });
  }
  return { status: statusOk() };
}

export async function notifyClientTermination(ctx: ServiceContext, _request: unknown, call: CallContext): Promise<{ status: WireStatus }> {
  await ctx.registry.terminate(call.clientId);
  return { status: statusOk() };
}
