import test from 'ava';
import { Metadata } from '@grpc/grpc-js';
import { ManualClock } from '../../common/clock.js';
import { AccessControl, authorizationHeader, formatRequestDateTime } from '../../protocol/AccessControl.js';
import { readCallContext, requireTopic } from '../../protocol/RequestContext.js';
import { StatusError } from '../../protocol/status.js';
import { Code } from '../../protocol/wire.js';

const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5));
const acl = new AccessControl({ accounts: [{ accessKey: 'ak', secretKey: 'secret-1', topicPerms: { t1: 'PUB' } }] }, clock);

function md(extra: Record<string, string> = {}): Metadata {
  const m = new Metadata();
  m.set('x-mq-client-id', 'host@1@0@abc');
  m.set('x-mq-date-time', formatRequestDateTime(clock.now()));
  for (const [k, v] of Object.entries(extra)) m.set(k, v);
  return m;
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof StatusError ? err.wireCode : -1;
  }
  return undefined;
}

test('request context - reads client id and namespace', (t) => {
  t.deepEqual(readCallContext(md({ 'x-mq-namespace': 'ns' }), undefined, 8192), { clientId: 'host@1@0@abc', namespace: 'ns', accessKey: undefined });
});

test('request context - a missing client id is CLIENT_ID_REQUIRED', (t) => {
  t.is(codeOf(() => readCallContext(new Metadata(), undefined, 8192)), Code.CLIENT_ID_REQUIRED);
});

test('request context - oversized metadata is REQUEST_HEADER_FIELDS_TOO_LARGE', (t) => {
  t.is(codeOf(() => readCallContext(md({ 'x-big': 'x'.repeat(9000) }), undefined, 8192)), Code.REQUEST_HEADER_FIELDS_TOO_LARGE);
});

test('request context - with access keys, a wrong or missing signature is UNAUTHORIZED', (t) => {
  const dt = formatRequestDateTime(clock.now());
  t.is(codeOf(() => readCallContext(md(), acl, 8192)), Code.UNAUTHORIZED);
  t.is(codeOf(() => readCallContext(md({ authorization: authorizationHeader('ak', 'wrong-secret', dt) }), acl, 8192)), Code.UNAUTHORIZED);
  t.is(readCallContext(md({ authorization: authorizationHeader('ak', 'secret-1', dt) }), acl, 8192).accessKey, 'ak');
});

test('request context - a topic the key may not use is FORBIDDEN', (t) => {
  const ctx = { clientId: 'c', namespace: '', accessKey: 'ak' };
  t.is(codeOf(() => requireTopic(ctx, acl, 't1', 'PUB')), undefined);
  t.is(codeOf(() => requireTopic(ctx, acl, 't1', 'ANY')), undefined);
  t.is(codeOf(() => requireTopic(ctx, acl, 't1', 'SUB')), Code.FORBIDDEN);
  t.is(codeOf(() => requireTopic(ctx, acl, 't2', 'ANY')), Code.FORBIDDEN);
  t.is(codeOf(() => requireTopic({ ...ctx, accessKey: undefined }, undefined, 't2', 'SUB')), undefined);
});
