/**
 * Typed views of the apache.rocketmq.v2 messages petrelmq reads and writes, in the loader's
 * shape (see protos.ts): snake_case names, enums as numbers, int64 as numbers, bytes as Buffer,
 * unset fields absent. Requests arrive as `unknown` and are parsed by requests.ts; the shapes
 * here are what handlers build for responses and what the client side builds for requests.
 */

/** apache.rocketmq.v2.Code: the status codes response bodies carry. */
export const Code = {
  OK: 20000,
  MULTIPLE_RESULTS: 30000,
  BAD_REQUEST: 40000,
  ILLEGAL_ACCESS_POINT: 40001,
  ILLEGAL_TOPIC: 40002,
  ILLEGAL_CONSUMER_GROUP: 40003,
  ILLEGAL_MESSAGE_TAG: 40004,
  ILLEGAL_MESSAGE_KEY: 40005,
  ILLEGAL_MESSAGE_GROUP: 40006,
  ILLEGAL_MESSAGE_PROPERTY_KEY: 40007,
  INVALID_TRANSACTION_ID: 40008,
  ILLEGAL_MESSAGE_ID: 40009,
  ILLEGAL_FILTER_EXPRESSION: 40010,
  ILLEGAL_INVISIBLE_TIME: 40011,
  ILLEGAL_DELIVERY_TIME: 40012,
  INVALID_RECEIPT_HANDLE: 40013,
  MESSAGE_PROPERTY_CONFLICT_WITH_TYPE: 40014,
  UNRECOGNIZED_CLIENT_TYPE: 40015,
  MESSAGE_CORRUPTED: 40016,
  CLIENT_ID_REQUIRED: 40017,
  ILLEGAL_POLLING_TIME: 40018,
  ILLEGAL_OFFSET: 40019,
  UNAUTHORIZED: 40100,
  FORBIDDEN: 40300,
  NOT_FOUND: 40400,
  MESSAGE_NOT_FOUND: 40401,
  TOPIC_NOT_FOUND: 40402,
  CONSUMER_GROUP_NOT_FOUND: 40403,
  REQUEST_TIMEOUT: 40800,
  PAYLOAD_TOO_LARGE: 41300,
  MESSAGE_BODY_TOO_LARGE: 41301,
  MESSAGE_BODY_EMPTY: 41302,
  PRECONDITION_FAILED: 42800,
  TOO_MANY_REQUESTS: 42900,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 43100,
  MESSAGE_PROPERTIES_TOO_LARGE: 43101,
  INTERNAL_ERROR: 50000,
  INTERNAL_SERVER_ERROR: 50001,
  HA_NOT_AVAILABLE: 50002,
  NOT_IMPLEMENTED: 50100,
  PROXY_TIMEOUT: 50400,
  MASTER_PERSISTENCE_TIMEOUT: 50401,
  SLAVE_PERSISTENCE_TIMEOUT: 50402,
  UNSUPPORTED: 50500,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

export const ClientType = {
  UNSPECIFIED: 0,
  PRODUCER: 1,
  PUSH_CONSUMER: 2,
  SIMPLE_CONSUMER: 3,
  PULL_CONSUMER: 4,
  LITE_PUSH_CONSUMER: 5,
  LITE_SIMPLE_CONSUMER: 6,
} as const;
export type ClientType = (typeof ClientType)[keyof typeof ClientType];

export const MessageType = { UNSPECIFIED: 0, NORMAL: 1, FIFO: 2, DELAY: 3, TRANSACTION: 4, LITE: 5, PRIORITY: 6 } as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const Permission = { UNSPECIFIED: 0, NONE: 1, READ: 2, WRITE: 3, READ_WRITE: 4 } as const;
export type Permission = (typeof Permission)[keyof typeof Permission];

export const FilterType = { UNSPECIFIED: 0, TAG: 1, SQL: 2 } as const;
export const DigestType = { UNSPECIFIED: 0, CRC32: 1, MD5: 2, SHA1: 3 } as const;
export const Encoding = { UNSPECIFIED: 0, IDENTITY: 1, GZIP: 2 } as const;
export const AddressScheme = { UNSPECIFIED: 0, IPv4: 1, IPv6: 2, DOMAIN_NAME: 3 } as const;
export const TransactionResolution = { UNSPECIFIED: 0, COMMIT: 1, ROLLBACK: 2 } as const;
export const TransactionSource = { UNSPECIFIED: 0, CLIENT: 1, SERVER_CHECK: 2 } as const;
export const Language = { NODE_JS: 8 } as const;

export interface WireStatus {
  readonly code: number;
  readonly message: string;
}

export interface WireDuration {
  readonly seconds: number;
  readonly nanos: number;
}

/** google.protobuf.Timestamp has the same two fields. */
export type WireTimestamp = WireDuration;

export interface WireResource {
  readonly name: string;
  readonly resource_namespace?: string;
}

export interface WireAddress {
  readonly host: string;
  readonly port: number;
}

export interface WireEndpoints {
  readonly scheme: number;
  readonly addresses: readonly WireAddress[];
}

export interface WireBroker {
  readonly name: string;
  readonly id: number;
  readonly endpoints: WireEndpoints;
}

export interface WireMessageQueue {
  readonly topic: WireResource;
  readonly id: number;
  readonly permission: Permission;
  readonly broker: WireBroker;
  readonly accept_message_types: readonly MessageType[];
}

export interface WireFilterExpression {
  readonly type: number;
  readonly expression: string;
}

export interface WireSubscriptionEntry {
  readonly topic: WireResource;
  readonly expression?: WireFilterExpression;
}

export interface WireRetryPolicy {
  readonly max_attempts: number;
  readonly exponential_backoff?: { readonly initial: WireDuration; readonly max: WireDuration; readonly multiplier: number };
}

export interface WireSettings {
  readonly client_type?: number;
  readonly access_point?: WireEndpoints;
  readonly backoff_policy?: WireRetryPolicy;
  readonly request_timeout?: WireDuration;
  readonly publishing?: {
    readonly topics: readonly WireResource[];
    readonly max_body_size: number;
    readonly validate_message_type: boolean;
  };
  readonly subscription?: {
    readonly group?: WireResource;
    readonly subscriptions: readonly WireSubscriptionEntry[];
    readonly fifo?: boolean;
    readonly receive_batch_size?: number;
    readonly long_polling_timeout?: WireDuration;
  };
  readonly user_agent?: { readonly language: number; readonly version: string; readonly platform: string; readonly hostname: string };
}

export interface WireSystemProperties {
  readonly tag?: string;
  readonly keys: readonly string[];
  readonly message_id: string;
  readonly body_digest?: { readonly type: number; readonly checksum: string };
  readonly body_encoding: number;
  readonly message_type: number;
  readonly born_timestamp?: WireTimestamp;
  readonly born_host: string;
  readonly store_timestamp?: WireTimestamp;
  readonly store_host?: string;
  readonly delivery_timestamp?: WireTimestamp;
  readonly receipt_handle?: string;
  readonly queue_id: number;
  readonly queue_offset?: number;
  readonly invisible_duration?: WireDuration;
  readonly delivery_attempt?: number;
  readonly message_group?: string;
  readonly dead_letter_queue?: { readonly topic: string; readonly message_id: string };
}

export interface WireMessage {
  readonly topic: WireResource;
  readonly user_properties: Readonly<Record<string, string>>;
  readonly system_properties: WireSystemProperties;
  readonly body: Buffer;
}

export interface WireSendResultEntry {
  readonly status: WireStatus;
  readonly message_id: string;
  readonly transaction_id: string;
  readonly offset: number;
  readonly recall_handle?: string;
}

/** One frame of the ReceiveMessage server stream: exactly one of the three. */
export type WireReceiveResponse =
  | { readonly status: WireStatus }
  | { readonly message: WireMessage }
  | { readonly delivery_timestamp: WireTimestamp };

export interface WireAckResultEntry {
  readonly message_id: string;
  readonly receipt_handle: string;
  readonly status: WireStatus;
}

export interface WireTelemetryCommand {
  readonly status?: WireStatus;
  readonly settings?: WireSettings;
  readonly recover_orphaned_transaction_command?: { readonly message: WireMessage; readonly transaction_id: string };
}

export function durationOf(ms: number): WireDuration {
  const whole = Math.max(0, Math.floor(ms));
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1_000_000 };
}

export function timestampOf(epochMs: number): WireTimestamp {
  const whole = Math.floor(epochMs);
  const seconds = Math.floor(whole / 1000);
  return { seconds, nanos: (whole - seconds * 1000) * 1_000_000 };
}

export function statusOk(message = 'OK'): WireStatus {
  return { code: Code.OK, message };
}
