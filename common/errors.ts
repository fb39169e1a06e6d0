/**
 * The one error table of petrelmq.
 *
 * Every error the project throws at an edge is a PetrelError whose `code` comes from ERROR_CODES.
 * Callers match on `code`, never on message text. Errors cross threads as plain data
 * (`toErrorData`) and are rebuilt on arrival (`fromErrorData`) with the same code and class.
 * docs/errors.md lists the same table; a test keeps the two in step.
 */

/** code -> [retriable, one-line meaning]. Add a row here and in docs/errors.md together. */
export const ERROR_CODES = {
  // configuration and input at the edge
  ERR_CONFIG_INVALID: [false, 'a configuration value is unknown, of the wrong type or out of range'],
  ERR_TOPIC_INVALID: [false, 'a topic name is empty, too long or holds characters RocketMQ refuses'],
  ERR_TOPIC_NOT_EXIST: [false, 'the topic does not exist and auto-creation is off'],
  ERR_QUEUE_ID_INVALID: [false, 'a queue id is negative or not below the queue count'],
  ERR_MESSAGE_ILLEGAL: [false, 'a message is malformed (no body, wrong types)'],
  ERR_MESSAGE_TOO_LARGE: [false, 'a message body is larger than maxMessageSize'],
  ERR_PROPERTIES_TOO_LARGE: [false, 'encoded properties are longer than 32,767 bytes'],
  ERR_PROPERTY_NAME_RESERVED: [false, 'a user property uses a name RocketMQ reserves'],
  ERR_GROUP_INVALID: [false, 'a producer or consumer group name is empty, too long or malformed'],
  ERR_GROUP_NOT_EXIST: [false, 'the consumer group is unknown to the broker (no subscription group entry, no committed offset, no live consumer)'],
  ERR_INSTANCE_NAME_TAKEN: [false, 'another started client of the same group already uses this instance name'],
  ERR_FILTER_SYNTAX: [false, 'a filter expression does not parse'],
  ERR_FILTER_TOO_COMPLEX: [false, 'a filter expression is too long or nested too deeply'],
  ERR_FILTER_NOT_SUPPORTED: [false, 'SQL92 filtering is off on this broker (enablePropertyFilter)'],
  ERR_INVALID_ARGUMENT: [false, 'an argument has the wrong type or value'],
  // storage
  ERR_STORE_CORRUPT: [false, 'a store file is damaged beyond what recovery can repair'],
  ERR_STORE_LOCKED: [false, 'another broker holds the store folder'],
  ERR_STORE_CLOSED: [false, 'the store is shut down'],
  ERR_STORE_IO: [true, 'an operating-system call on a store file failed'],
  ERR_DISK_FULL: [true, 'a filesystem holding a store folder (root, CommitLog, consumequeue/, index/) is fuller than diskSpaceWarningLevelRatio, or dispatch is held because a ConsumeQueue or IndexFile write failed; the message names the folder; writes are refused until space is freed'],
  ERR_OFFSET_INVALID: [false, 'an offset is outside the stored range'],
  ERR_OFFSET_STALE: [false, "a consumer's offset commit predates the group's latest offset reset of that queue and was refused; the consumer adopts the reset and commits from there"],
  // broker and runtime
  ERR_SERVICE_NOT_AVAILABLE: [true, 'the broker cannot take this request now (shutting down, slave, not writable)'],
  ERR_SYSTEM_BUSY: [true, 'a queue is full and the caller asked not to wait'],
  ERR_NO_PERMISSION: [false, 'the topic or access key does not allow this operation'],
  ERR_TIMEOUT: [true, 'a request got no reply within its deadline'],
  ERR_ACTOR_STOPPED: [true, 'the actor addressed is stopped or restarting'],
  ERR_ACTOR_CRASHED: [true, 'the actor failed while handling the request'],
  ERR_RING_FULL: [true, 'the shared ring has no room and the writer asked not to wait'],
  ERR_RECORD_TOO_LARGE: [false, 'a record is larger than the shared ring can ever hold'],
  ERR_RING_CLOSED: [false, 'the shared ring is closed and takes no more records'],
  ERR_POOL_QUEUE_FULL: [true, 'the thread pool queue is at its limit'],
  ERR_POOL_CLOSED: [false, 'the thread pool is closed and takes no more work'],
  ERR_POOL_TASK_FAILED: [true, 'a batch handler in a thread pool threw an error'],
  ERR_CANCELLED: [false, 'the operation was cancelled'],
  ERR_UNEXPECTED: [false, 'a failure petrelmq did not classify; the message names its cause (an operating-system error, or a bug to report)'],
  ERR_CLIENT_STATE: [false, 'the client is not started, or already shut down'],
  ERR_MESSAGE_CLONE_TOO_LARGE: [false, 'a message posted between threads would copy more buffer bytes beyond its own data than its bound (16 MiB by default): a view of a large buffer escaped its thread'],
  // network
  ERR_FRAME_INVALID: [false, 'a frame on a broker link is malformed or out of bounds'],
  ERR_REPLY_TOO_LARGE: [false, 'the reply to a request could not fit one frame of the link, so the request was refused before anything was done'],
  ERR_UNAUTHENTICATED: [false, 'the request signature is missing or wrong'],
  ERR_REMOTE: [true, 'a remote peer answered with an error'],
  ERR_METHOD_NOT_FOUND: [false, 'a remote request names a method the peer does not serve'],
  ERR_RECEIPT_HANDLE_INVALID: [false, 'a receipt handle is malformed, forged, stale or no longer in flight'],
  ERR_TRANSACTION_INVALID: [false, 'a transaction id is unknown, already ended or expired'],
} as const satisfies Record<string, readonly [boolean, string]>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface PetrelErrorData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly retriable: boolean;
}

export class PetrelError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PetrelError';
    this.code = code;
    this.retriable = options?.retriable ?? ERROR_CODES[code][0];
  }

  toJSON(): PetrelErrorData {
    return toErrorData(this);
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export function isPetrelError(err: unknown, code?: ErrorCode): err is PetrelError {
  return err instanceof PetrelError && (code === undefined || err.code === code);
}

/** Plain data for postMessage: structured clone drops the class of an Error. */
export function toErrorData(err: unknown): PetrelErrorData {
  if (err instanceof PetrelError) return { code: err.code, message: err.message, retriable: err.retriable };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'ERR_ACTOR_CRASHED', message, retriable: true };
}

export function fromErrorData(data: unknown): PetrelError {
  if (typeof data === 'object' && data !== null) {
    const rec = data as Record<string, unknown>;
    if (isErrorCode(rec['code']) && typeof rec['message'] === 'string') {
      const retriable = typeof rec['retriable'] === 'boolean' ? rec['retriable'] : ERROR_CODES[rec['code']][0];
      return new PetrelError(rec['code'], rec['message'], { retriable });
    }
  }
  return new PetrelError('ERR_ACTOR_CRASHED', `unrecognised error data: ${JSON.stringify(data)}`);
}
