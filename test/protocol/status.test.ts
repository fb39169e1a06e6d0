import test from 'ava';
import { ERROR_CODES, PetrelError, type ErrorCode } from '../../common/errors.js';
import { codeOfSendStatus, errorCodeOfWire, errorOfStatus, isPassingCode, statusOfError, StatusError } from '../../protocol/status.js';
import { Code } from '../../protocol/wire.js';

const KNOWN_CODES = new Set<number>(Object.values(Code));

test('status - every PetrelError code maps to a status code the protocol defines', (t) => {
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const status = statusOfError(new PetrelError(code, 'x'));
    t.true(KNOWN_CODES.has(status.code), code);
    t.not(status.code, Code.OK, code);
  }
});

test('status - the common broker refusals get the proxy codes', (t) => {
  const cases: [ErrorCode, number][] = [
    ['ERR_TOPIC_NOT_EXIST', Code.TOPIC_NOT_FOUND],
    ['ERR_TOPIC_INVALID', Code.ILLEGAL_TOPIC],
    ['ERR_MESSAGE_TOO_LARGE', Code.MESSAGE_BODY_TOO_LARGE],
    ['ERR_PROPERTY_NAME_RESERVED', Code.ILLEGAL_MESSAGE_PROPERTY_KEY],
    ['ERR_FILTER_SYNTAX', Code.ILLEGAL_FILTER_EXPRESSION],
    ['ERR_FILTER_NOT_SUPPORTED', Code.UNSUPPORTED],
    ['ERR_NO_PERMISSION', Code.FORBIDDEN],
    ['ERR_UNAUTHENTICATED', Code.UNAUTHORIZED],
    ['ERR_RECEIPT_HANDLE_INVALID', Code.INVALID_RECEIPT_HANDLE],
    ['ERR_SYSTEM_BUSY', Code.TOO_MANY_REQUESTS],
    ['ERR_SERVICE_NOT_AVAILABLE', Code.INTERNAL_ERROR],
  ];
  for (const [err, code] of cases) t.is(statusOfError(new PetrelError(err, 'x')).code, code, err);
});

test('status - a StatusError keeps its exact code, anything else is an internal error without details', (t) => {
  t.deepEqual(statusOfError(new StatusError(Code.ILLEGAL_MESSAGE_TAG, 'bad tag')), { code: Code.ILLEGAL_MESSAGE_TAG, message: 'bad tag' });
  t.deepEqual(statusOfError(new TypeError('secret stack detail')), { code: Code.INTERNAL_SERVER_ERROR, message: 'internal error' });
});

test('status - send statuses map to the proxy persistence codes', (t) => {
  t.is(codeOfSendStatus('SEND_OK'), Code.OK);
  t.is(codeOfSendStatus('FLUSH_DISK_TIMEOUT'), Code.MASTER_PERSISTENCE_TIMEOUT);
  t.is(codeOfSendStatus('FLUSH_SLAVE_TIMEOUT'), Code.SLAVE_PERSISTENCE_TIMEOUT);
  t.is(codeOfSendStatus('SLAVE_NOT_AVAILABLE'), Code.HA_NOT_AVAILABLE);
});

test('status - the client lets OK, MULTIPLE_RESULTS, MESSAGE_NOT_FOUND and a missing status through', (t) => {
  for (const code of [undefined, Code.OK, Code.MULTIPLE_RESULTS, Code.MESSAGE_NOT_FOUND]) t.true(isPassingCode(code));
  for (const code of [Code.BAD_REQUEST, Code.INVALID_RECEIPT_HANDLE, Code.INTERNAL_ERROR]) t.false(isPassingCode(code));
});

test('status - a remote status becomes a PetrelError with a matching code', (t) => {
  const err = errorOfStatus({ code: Code.INVALID_RECEIPT_HANDLE, message: 'stale' }, 'AckMessage');
  t.is(err.code, 'ERR_RECEIPT_HANDLE_INVALID');
  t.false(err.retriable);
  t.true(errorOfStatus({ code: Code.INTERNAL_ERROR, message: 'x' }, 'y').retriable);
  t.true(errorOfStatus({ code: Code.TOO_MANY_REQUESTS, message: 'x' }, 'y').retriable);
  t.is(errorCodeOfWire(Code.FORBIDDEN), 'ERR_NO_PERMISSION');
  t.is(errorCodeOfWire(Code.ILLEGAL_POLLING_TIME), 'ERR_INVALID_ARGUMENT');
  t.is(errorCodeOfWire(Code.INTERNAL_SERVER_ERROR), 'ERR_REMOTE');
});
