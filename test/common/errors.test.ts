import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ERROR_CODES, PetrelError, fromErrorData, toErrorData, type ErrorCode } from '../../common/errors.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

test('errors - docs/errors.md lists exactly the codes of the table', (t) => {
  const doc = readFileSync(path.join(root, 'docs/errors.md'), 'utf8');
  const documented = [...doc.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
  t.deepEqual(documented, Object.keys(ERROR_CODES).sort());
});

test('errors - an error survives a trip through plain data with its code and retriable flag', (t) => {
  const err = new PetrelError('ERR_TIMEOUT', 'no reply in 5 ms');
  const back = fromErrorData(JSON.parse(JSON.stringify(toErrorData(err))));
  t.true(back instanceof PetrelError);
  t.is(back.code, 'ERR_TIMEOUT');
  t.true(back.retriable);
  t.is(back.message, 'no reply in 5 ms');
});

test('errors - a foreign error becomes ERR_ACTOR_CRASHED', (t) => {
  const data = toErrorData(new TypeError('boom'));
  t.is(data.code, 'ERR_ACTOR_CRASHED');
  t.is(fromErrorData({ nonsense: true }).code, 'ERR_ACTOR_CRASHED');
});

test('errors - retriable defaults come from the table', (t) => {
  for (const [code, [retriable]] of Object.entries(ERROR_CODES)) {
    t.is(new PetrelError(code as ErrorCode, 'x').retriable, retriable);
  }
});
