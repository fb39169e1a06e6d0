/**
 * Statuses on the wire, both ways. A handler answers every outcome with a body status (gRPC OK)
 * as the RocketMQ proxy does; StatusError carries a precise wire code from the edge of a handler,
 * statusOfError maps any PetrelError (from the broker, the pop service or a parser) to one, and
 * errorOfStatus turns a remote status back into a PetrelError for petrelmq's own client.
 */
import { PetrelError, isPetrelError, type ErrorCode } from '../common/errors.js';
import type { SendStatus } from '../api/BrokerApi.js';
import { Code, type WireStatus } from './wire.js';

/** The PetrelError code that best names a wire code, for errors raised from a wire status. */
export function errorCodeOfWire(code: number): ErrorCode {
  switch (code) {
    case Code.ILLEGAL_TOPIC:
      return 'ERR_TOPIC_INVALID';
    case Code.TOPIC_NOT_FOUND:
      return 'ERR_TOPIC_NOT_EXIST';
    case Code.ILLEGAL_CONSUMER_GROUP:
    case Code.CONSUMER_GROUP_NOT_FOUND:
      return 'ERR_GROUP_INVALID';
    case Code.ILLEGAL_MESSAGE_TAG:
    case Code.ILLEGAL_MESSAGE_KEY:
    case Code.ILLEGAL_MESSAGE_GROUP:
    case Code.ILLEGAL_MESSAGE_ID:
    case Code.ILLEGAL_DELIVERY_TIME:
    case Code.MESSAGE_PROPERTY_CONFLICT_WITH_TYPE:
    case Code.MESSAGE_CORRUPTED:
    case Code.MESSAGE_BODY_EMPTY:
      return 'ERR_MESSAGE_ILLEGAL';
    case Code.ILLEGAL_MESSAGE_PROPERTY_KEY:
      return 'ERR_PROPERTY_NAME_RESERVED';
    case Code.ILLEGAL_FILTER_EXPRESSION:
      return 'ERR_FILTER_SYNTAX';
    case Code.INVALID_RECEIPT_HANDLE:
      return 'ERR_RECEIPT_HANDLE_INVALID';
    case Code.INVALID_TRANSACTION_ID:
      return 'ERR_TRANSACTION_INVALID';
    case Code.UNAUTHORIZED:
      return 'ERR_UNAUTHENTICATED';
    case Code.FORBIDDEN:
      return 'ERR_NO_PERMISSION';
    case Code.ILLEGAL_OFFSET:
      return 'ERR_OFFSET_INVALID';
    case Code.PAYLOAD_TOO_LARGE:
    case Code.MESSAGE_BODY_TOO_LARGE:
      return 'ERR_MESSAGE_TOO_LARGE';
    case Code.MESSAGE_PROPERTIES_TOO_LARGE:
    case Code.REQUEST_HEADER_FIELDS_TOO_LARGE:
      return 'ERR_PROPERTIES_TOO_LARGE';
    case Code.TOO_MANY_REQUESTS:
      return 'ERR_SYSTEM_BUSY';
    case Code.UNSUPPORTED:
      return 'ERR_FILTER_NOT_SUPPORTED';
    case Code.PROXY_TIMEOUT:
    case Code.REQUEST_TIMEOUT:
      return 'ERR_TIMEOUT';
    default:
      return code >= 40000 && code < 50000 ? 'ERR_INVALID_ARGUMENT' : 'ERR_REMOTE';
  }
}

/** An outcome with an exact wire code, thrown inside handlers and answered as a body status. */
export class StatusError extends PetrelError {
  readonly wireCode: Code;

  constructor(wireCode: Code, message: string, options?: { cause?: unknown }) {
    super(errorCodeOfWire(wireCode), message, options);
    this.name = 'StatusError';
    this.wireCode = wireCode;
  }

  toStatus(): WireStatus {
    return { code: this.wireCode, message: this.message };
  }
}

const BY_ERROR_CODE: Partial<Record<ErrorCode, Code>> = {
  ERR_CONFIG_INVALID: Code.BAD_REQUEST,
  ERR_TOPIC_INVALID: Code.ILLEGAL_TOPIC,
  ERR_TOPIC_NOT_EXIST: Code.TOPIC_NOT_FOUND,
  ERR_QUEUE_ID_INVALID: Code.BAD_REQUEST,
  ERR_MESSAGE_ILLEGAL: Code.BAD_REQUEST,
  ERR_MESSAGE_TOO_LARGE: Code.MESSAGE_BODY_TOO_LARGE,
  ERR_RECORD_TOO_LARGE: Code.MESSAGE_BODY_TOO_LARGE,
  ERR_PROPERTIES_TOO_LARGE: Code.MESSAGE_PROPERTIES_TOO_LARGE,
  ERR_PROPERTY_NAME_RESERVED: Code.ILLEGAL_MESSAGE_PROPERTY_KEY,
  ERR_GROUP_INVALID: Code.ILLEGAL_CONSUMER_GROUP,
  ERR_FILTER_SYNTAX: Code.ILLEGAL_FILTER_EXPRESSION,
  ERR_FILTER_TOO_COMPLEX: Code.ILLEGAL_FILTER_EXPRESSION,
  ERR_FILTER_NOT_SUPPORTED: Code.UNSUPPORTED,
  ERR_INVALID_ARGUMENT: Code.BAD_REQUEST,
  ERR_OFFSET_INVALID: Code.ILLEGAL_OFFSET,
  ERR_SERVICE_NOT_AVAILABLE: Code.INTERNAL_ERROR,
  // RocketMQ answers a put on a full disk (or a failed store write) with SERVICE_NOT_AVAILABLE
  ERR_DISK_FULL: Code.INTERNAL_ERROR,
  ERR_STORE_IO: Code.INTERNAL_ERROR,
  ERR_STORE_CLOSED: Code.INTERNAL_ERROR,
  ERR_ACTOR_STOPPED: Code.INTERNAL_ERROR,
  ERR_SYSTEM_BUSY: Code.TOO_MANY_REQUESTS,
  ERR_RING_FULL: Code.TOO_MANY_REQUESTS,
  ERR_POOL_QUEUE_FULL: Code.TOO_MANY_REQUESTS,
  ERR_NO_PERMISSION: Code.FORBIDDEN,
  ERR_TIMEOUT: Code.PROXY_TIMEOUT,
  ERR_UNAUTHENTICATED: Code.UNAUTHORIZED,
  ERR_FRAME_INVALID: Code.BAD_REQUEST,
  ERR_RECEIPT_HANDLE_INVALID: Code.INVALID_RECEIPT_HANDLE,
  ERR_TRANSACTION_INVALID: Code.INVALID_TRANSACTION_ID,
};

/** The body status for an error thrown while serving a request. Unknown errors are internal. */
export function statusOfError(err: unknown): WireStatus {
  if (err instanceof StatusError) return err.toStatus();
  if (isPetrelError(err)) return { code: BY_ERROR_CODE[err.code] ?? Code.INTERNAL_SERVER_ERROR, message: err.message };
  return { code: Code.INTERNAL_SERVER_ERROR, message: 'internal error' };
}

/** RocketMQ's proxy answers a stored-but-not-durable send with these codes. */
export function codeOfSendStatus(status: SendStatus): Code {
  switch (status) {
    case 'SEND_OK':
      return Code.OK;
    case 'FLUSH_DISK_TIMEOUT':
      return Code.MASTER_PERSISTENCE_TIMEOUT;
    case 'FLUSH_SLAVE_TIMEOUT':
      return Code.SLAVE_PERSISTENCE_TIMEOUT;
    case 'SLAVE_NOT_AVAILABLE':
      return Code.HA_NOT_AVAILABLE;
  }
}

/** Whether the official client's StatusChecker lets this code through (5. of ROCKETMQ-GRPC.md). */
export function isPassingCode(code: number | undefined): boolean {
  return code === undefined || code === Code.OK || code === Code.MULTIPLE_RESULTS || code === Code.MESSAGE_NOT_FOUND;
}

/** A remote status as a PetrelError (petrelmq's own client). */
export function errorOfStatus(status: WireStatus, what: string): PetrelError {
  const code = errorCodeOfWire(status.code);
  const retriable = status.code >= 50000 || status.code === Code.TOO_MANY_REQUESTS;
  return new PetrelError(code, `${what}: ${status.message} (status ${status.code})`, { retriable });
}
