import test from 'ava';
import { buildSettingsReply, parseClientSettings, type ServerSettings } from '../../protocol/ClientSettings.js';
import { StatusError } from '../../protocol/status.js';
import { ClientType, Code, FilterType } from '../../protocol/wire.js';
import { messagingServiceDefinition } from '../../protocol/protos.js';

const server: ServerSettings = { maxBodySize: 4 * 1024 * 1024, longPollingTimeoutMs: 20_000, receiveBatchSize: 32, fifo: false, maxDeliveryAttempts: 17 };
const common = {
  access_point: { scheme: 3, addresses: [{ host: 'localhost', port: 8081 }] },
  request_timeout: { seconds: 3, nanos: 0 },
  user_agent: { language: 8, version: '1.0.8', platform: 'linux', hostname: 'vm' },
};

/** Sends a reply through the real Telemetry serializer and back, as the client would read it. */
function overTheWire(settings: object): Record<string, unknown> {
  const telemetry = messagingServiceDefinition()['Telemetry'];
  if (telemetry === undefined) throw new Error('no Telemetry');
  const decoded = telemetry.responseDeserialize(telemetry.responseSerialize({ status: { code: Code.OK, message: 'OK' }, settings })) as Record<string, unknown>;
  return decoded['settings'] as Record<string, unknown>;
}

test('settings - a producer gets exponential backoff and max_body_size', (t) => {
  const client = parseClientSettings({ ...common, client_type: ClientType.PRODUCER, publishing: { topics: [{ name: 'orders' }], validate_message_type: true } });
  const reply = overTheWire(buildSettingsReply(client, server));
  t.like(reply, {
    client_type: ClientType.PRODUCER,
    backoff_policy: { max_attempts: 3, exponential_backoff: { multiplier: 2 } },
    publishing: { topics: [{ name: 'orders' }], max_body_size: 4 * 1024 * 1024, validate_message_type: true },
    request_timeout: { seconds: 3 },
    user_agent: { language: 8, version: '1.0.8' },
  });
  t.is(reply['pub_sub'], 'publishing');
});

test('settings - a push consumer gets receive_batch_size > 0, long polling, fifo and its retry policy', (t) => {
  const client = parseClientSettings({
    ...common,
    client_type: ClientType.PUSH_CONSUMER,
    subscription: { group: { name: 'g1' }, subscriptions: [{ topic: { name: 'orders' }, expression: { type: FilterType.TAG, expression: 'A||B' } }] },
  });
  const reply = overTheWire(buildSettingsReply(client, { ...server, fifo: true, longPollingTimeoutMs: 5_000 }));
  t.like(reply, {
    client_type: ClientType.PUSH_CONSUMER,
    backoff_policy: { max_attempts: 17 },
    subscription: {
      group: { name: 'g1' },
      subscriptions: [{ topic: { name: 'orders' }, expression: { type: FilterType.TAG, expression: 'A||B' } }],
      fifo: true,
      receive_batch_size: 32,
      long_polling_timeout: { seconds: 5 },
    },
  });
  t.truthy((reply['backoff_policy'] as Record<string, unknown>)['exponential_backoff']);
  t.is(reply['pub_sub'], 'subscription');
});

test('settings - a simple consumer gets a Settings reply echoing its subscription', (t) => {
  const client = parseClientSettings({
    ...common,
    client_type: ClientType.SIMPLE_CONSUMER,
    subscription: { group: { name: 'g2' }, subscriptions: [{ topic: { name: 'orders' }, expression: { type: FilterType.SQL, expression: 'a > 1' } }] },
  });
  t.deepEqual(client.subscriptions, [{ topic: { name: 'orders' }, filter: { type: 'SQL92', expression: 'a > 1' } }]);
  const reply = overTheWire(buildSettingsReply(client, server));
  t.like(reply, { client_type: ClientType.SIMPLE_CONSUMER, subscription: { group: { name: 'g2' } } });
});

test('settings - a blank tag expression means every message', (t) => {
  const client = parseClientSettings({
    client_type: ClientType.SIMPLE_CONSUMER,
    subscription: { group: { name: 'g' }, subscriptions: [{ topic: { name: 't' } }] },
  });
  t.deepEqual(client.subscriptions[0]?.filter, { type: 'TAG', expression: '*' });
});

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof StatusError ? err.wireCode : -1;
  }
  return undefined;
}

test('settings - unsupported client types, bad groups and bad filters are refused with their codes', (t) => {
  t.is(codeOf(() => parseClientSettings({ client_type: ClientType.PULL_CONSUMER })), Code.UNRECOGNIZED_CLIENT_TYPE);
  t.is(codeOf(() => parseClientSettings({})), Code.UNRECOGNIZED_CLIENT_TYPE);
  t.is(codeOf(() => parseClientSettings({ client_type: ClientType.SIMPLE_CONSUMER, subscription: {} })), Code.ILLEGAL_CONSUMER_GROUP);
  t.is(
    codeOf(() =>
      parseClientSettings({
        client_type: ClientType.SIMPLE_CONSUMER,
        subscription: { group: { name: 'g' }, subscriptions: [{ topic: { name: 't' }, expression: { type: FilterType.SQL, expression: 'a >' } }] },
      }),
    ),
    Code.ILLEGAL_FILTER_EXPRESSION,
  );
  t.is(
    codeOf(() => parseClientSettings({ client_type: ClientType.PRODUCER, publishing: { topics: [{ name: 'bad topic' }] } })),
    Code.ILLEGAL_TOPIC,
  );
  t.is(codeOf(() => parseClientSettings({ client_type: 'PRODUCER' })), Code.BAD_REQUEST);
});
