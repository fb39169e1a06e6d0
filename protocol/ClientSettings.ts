/**
 * The Settings a client opens its Telemetry stream with, and the Settings the endpoint answers.
 *
 * The reply echoes the client's own fields and fills in what each client type needs from a
 * server (ROCKETMQ-GRPC.md 4 and 8): a producer must get backoff_policy.exponential_backoff and
 * publishing.max_body_size or its sends fail; a push consumer must get receive_batch_size > 0 and
 * takes its long-polling time from here; a simple consumer only needs the reply to arrive.
 */
import type { FilterSpec } from '../api/BrokerApi.js';
import { StatusError } from './status.js';
import { ClientType, Code, durationOf, type WireEndpoints, type WireResource, type WireSettings, type WireSubscriptionEntry } from './wire.js';
import { has, list, millis, num, rec, str, type Rec } from './parse.js';
import { compileFilter, filterSpecOf } from './FilterMatcher.js';
import { validateGroupName, validateTopicName } from './MessageValidation.js';

export interface SubscriptionSetting {
  readonly topic: WireResource;
  readonly filter: FilterSpec;
}

export interface ClientSettings {
  readonly clientType: ClientType;
  readonly accessPoint: WireEndpoints | undefined;
  readonly requestTimeoutMs: number | undefined;
  /** Producer: the topics it declared. */
  readonly topics: readonly WireResource[];
  /** Consumers: the group and its subscriptions. */
  readonly group: WireResource | undefined;
  readonly subscriptions: readonly SubscriptionSetting[];
  readonly userAgent: { readonly language: number; readonly version: string; readonly platform: string; readonly hostname: string } | undefined;
}

/** What the server decides for a client. */
export interface ServerSettings {
  readonly maxBodySize: number;
  /** Long polling the push consumer should use. Proxy: 20 s. */
  readonly longPollingTimeoutMs: number;
  /** Messages a push consumer asks for at once. Proxy: 32. */
  readonly receiveBatchSize: number;
  readonly fifo: boolean;
  readonly maxDeliveryAttempts: number;
}

export function isConsumer(type: ClientType): boolean {
  return type === ClientType.PUSH_CONSUMER || type === ClientType.SIMPLE_CONSUMER;
}

function resourceOf(r: Rec): WireResource {
  const ns = str(r, 'resource_namespace');
  return ns === '' ? { name: str(r, 'name') } : { name: str(r, 'name'), resource_namespace: ns };
}

function endpointsOf(r: Rec): WireEndpoints {
  return {
    scheme: num(r, 'scheme'),
    addresses: list(r, 'addresses').map((a) => {
      const addr = rec(a, 'addresses[]');
      return { host: str(addr, 'host'), port: num(addr, 'port') };
    }),
  };
}

function clientTypeOf(value: number): ClientType {
  switch (value) {
    case ClientType.PRODUCER:
    case ClientType.PUSH_CONSUMER:
    case ClientType.SIMPLE_CONSUMER:
      return value;
    default:
      throw new StatusError(Code.UNRECOGNIZED_CLIENT_TYPE, `client type ${value} is not supported (producer, push consumer and simple consumer are)`);
  }
}

/** Parses the client's Settings; consumers must name a valid group and valid filters. */
export function parseClientSettings(raw: unknown): ClientSettings {
  const s = rec(raw, 'settings');
  const clientType = clientTypeOf(num(s, 'client_type'));
  const pub = rec(s['publishing'], 'publishing');
  const sub = rec(s['subscription'], 'subscription');
  const topics = list(pub, 'topics').map((t) => resourceOf(rec(t, 'publishing.topics[]')));
  topics.forEach((t) => validateTopicName(t.name));
  let group: WireResource | undefined;
  const subscriptions: SubscriptionSetting[] = [];
  if (isConsumer(clientType)) {
    group = resourceOf(rec(sub['group'], 'subscription.group'));
    validateGroupName(group.name);
    for (const entry of list(sub, 'subscriptions')) {
      const e = rec(entry, 'subscriptions[]');
      const topic = resourceOf(rec(e['topic'], 'subscriptions[].topic'));
      validateTopicName(topic.name);
      const filter = filterSpecOf(e['expression']);
      compileFilter(filter);
      subscriptions.push({ topic, filter });
    }
  }
  const ua = has(s, 'user_agent') ? rec(s['user_agent'], 'user_agent') : undefined;
  return {
    clientType,
    accessPoint: has(s, 'access_point') ? endpointsOf(rec(s['access_point'], 'access_point')) : undefined,
    requestTimeoutMs: millis(s, 'request_timeout'),
    topics,
    group,
    subscriptions,
    userAgent:
      ua === undefined ? undefined : { language: num(ua, 'language'), version: str(ua, 'version'), platform: str(ua, 'platform'), hostname: str(ua, 'hostname') },
  };
}

function subscriptionEntry(s: SubscriptionSetting): WireSubscriptionEntry {
  return { topic: s.topic, expression: { type: s.filter.type === 'SQL92' ? 2 : 1, expression: s.filter.expression } };
}

/** The Settings reply for one client. */
export function buildSettingsReply(client: ClientSettings, server: ServerSettings): WireSettings {
  const common = {
    client_type: client.clientType,
    ...(client.accessPoint === undefined ? {} : { access_point: client.accessPoint }),
    ...(client.requestTimeoutMs === undefined ? {} : { request_timeout: durationOf(client.requestTimeoutMs) }),
    ...(client.userAgent === undefined ? {} : { user_agent: client.userAgent }),
  };
  if (client.clientType === ClientType.PRODUCER) {
    return {
      ...common,
      backoff_policy: { max_attempts: 3, exponential_backoff: { initial: durationOf(10), max: durationOf(1000), multiplier: 2 } },
      publishing: { topics: client.topics, max_body_size: server.maxBodySize, validate_message_type: true },
    };
  }
  return {
    ...common,
    backoff_policy: {
      max_attempts: server.maxDeliveryAttempts,
      exponential_backoff: { initial: durationOf(1000), max: durationOf(60_000), multiplier: 2 },
    },
    subscription: {
      ...(client.group === undefined ? {} : { group: client.group }),
      subscriptions: client.subscriptions.map(subscriptionEntry),
      fifo: server.fifo,
      receive_batch_size: server.receiveBatchSize,
      long_polling_timeout: durationOf(server.longPollingTimeoutMs),
    },
  };
}
