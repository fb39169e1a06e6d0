import test from 'ava';
import { ManualClock } from '../../common/clock.js';
import { isPetrelError } from '../../common/errors.js';
import {
  AccessControl,
  authorizationHeader,
  formatRequestDateTime,
  parseAclConfig,
  parseRequestDateTime,
  signDateTime,
} from '../../protocol/AccessControl.js';

const config = {
  accounts: [
    { accessKey: 'alice', secretKey: 'alice-secret', defaultTopicPerm: 'DENY' as const, topicPerms: { orders: 'PUB|SUB' as const, audit: 'SUB' as const } },
    { accessKey: 'bob', secretKey: 'bob-secret', defaultTopicPerm: 'PUB' as const },
  ],
};

function setup(): { acl: AccessControl; clock: ManualClock; now: string } {
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 0, 24, 36));
  return { acl: new AccessControl(config, clock), clock, now: formatRequestDateTime(clock.now()) };
}

test('access control - the date-time format is the clients\' yyyyMMddTHHmmssZ', (t) => {
  t.is(formatRequestDateTime(Date.UTC(2026, 10, 25, 0, 24, 36, 999)), '20261125T002436Z');
  t.is(parseRequestDateTime('20261125T002436Z'), Date.UTC(2026, 10, 25, 0, 24, 36));
  t.is(parseRequestDateTime('20261131T002436Z'), undefined);
  t.is(parseRequestDateTime('2026-11-25T00:24:36Z'), undefined);
});

test('access control - the signature is uppercase hex HMAC-SHA1 of the date-time', (t) => {
  // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog"), a published test vector.
  t.is(signDateTime('key', 'The quick brown fox jumps over the lazy dog'), 'DE7C9B85B8B78AA6BC8A7A36F70A90701C9DB4D9');
});

test('access control - a right signature authenticates its key', (t) => {
  const { acl, now } = setup();
  t.deepEqual(acl.authenticate(authorizationHeader('alice', 'alice-secret', now), now), { ok: true, accessKey: 'alice' });
  // Lowercase hex is the same signature.
  const lower = `MQv2-HMAC-SHA1 Credential=bob, SignedHeaders=x-mq-date-time, Signature=${signDateTime('bob-secret', now).toLowerCase()}`;
  t.deepEqual(acl.authenticate(lower, now), { ok: true, accessKey: 'bob' });
});

test('access control - a wrong signature is BAD_SIGNATURE', (t) => {
  const { acl, now } = setup();
  t.deepEqual(acl.authenticate(authorizationHeader('alice', 'not-the-secret', now), now), { ok: false, reason: 'BAD_SIGNATURE' });
  // Signed over another time than the one sent.
  const other = formatRequestDateTime(Date.UTC(2026, 10, 25, 0, 24, 37));
  t.deepEqual(acl.authenticate(authorizationHeader('alice', 'alice-secret', other), now), { ok: false, reason: 'BAD_SIGNATURE' });
  t.deepEqual(acl.authenticate('MQv2-HMAC-SHA1 Credential=alice, SignedHeaders=x-mq-date-time, Signature=ABC', now), { ok: false, reason: 'BAD_SIGNATURE' });
});

test('access control - a missing or malformed header is refused', (t) => {
  const { acl, now } = setup();
  t.deepEqual(acl.authenticate(undefined, now), { ok: false, reason: 'MISSING' });
  t.deepEqual(acl.authenticate('', now), { ok: false, reason: 'MISSING' });
  t.deepEqual(acl.authenticate('Basic YWxpY2U6c2VjcmV0', now), { ok: false, reason: 'MALFORMED' });
  t.deepEqual(acl.authenticate(authorizationHeader('alice', 'alice-secret', now), undefined), { ok: false, reason: 'MALFORMED' });
  const otherHeaders = `MQv2-HMAC-SHA1 Credential=alice, SignedHeaders=host, Signature=${signDateTime('alice-secret', now)}`;
  t.deepEqual(acl.authenticate(otherHeaders, now), { ok: false, reason: 'MALFORMED' });
});

test('access control - an unknown key is UNKNOWN_KEY', (t) => {
  const { acl, now } = setup();
  t.deepEqual(acl.authenticate(authorizationHeader('mallory', 'alice-secret', now), now), { ok: false, reason: 'UNKNOWN_KEY' });
});

test('access control - a signature older or newer than the allowed skew is STALE', (t) => {
  const { acl, clock, now } = setup();
  const header = authorizationHeader('alice', 'alice-secret', now);
  clock.advance(15 * 60 * 1000);
  t.true(acl.authenticate(header, now).ok);
  clock.advance(1000);
  t.deepEqual(acl.authenticate(header, now), { ok: false, reason: 'STALE' });
  const future = formatRequestDateTime(clock.now() + 16 * 60 * 1000);
  t.deepEqual(acl.authenticate(authorizationHeader('alice', 'alice-secret', future), future), { ok: false, reason: 'STALE' });
});

test('access control - topic permissions follow the listed perm, then the default', (t) => {
  const { acl } = setup();
  t.true(acl.allows('alice', 'orders', 'PUB'));
  t.true(acl.allows('alice', 'orders', 'SUB'));
  t.false(acl.allows('alice', 'audit', 'PUB'));
  t.true(acl.allows('alice', 'audit', 'SUB'));
  t.false(acl.allows('alice', 'other', 'SUB'));
  t.false(acl.allows('alice', 'constructor', 'SUB'));
  t.true(acl.allows('bob', 'anything', 'PUB'));
  t.false(acl.allows('bob', 'anything', 'SUB'));
  t.false(acl.allows('nobody', 'orders', 'PUB'));
});

test('access control - a bad configuration is ERR_CONFIG_INVALID', (t) => {
  for (const bad of [
    null,
    { accounts: 'x' },
    { accounts: [{ accessKey: '', secretKey: 'secret1' }] },
    { accounts: [{ accessKey: 'a', secretKey: 'short' }] },
    { accounts: [{ accessKey: 'a', secretKey: 'secret1', defaultTopicPerm: 'ALL' }] },
    { accounts: [{ accessKey: 'a', secretKey: 'secret1', topicPerms: { t: 'WRITE' } }] },
    { accounts: [{ accessKey: 'a', secretKey: 'secret1' }, { accessKey: 'a', secretKey: 'secret2' }] },
    { accounts: [], maxClockSkewMs: 10 },
  ]) {
    const err = t.throws(() => parseAclConfig(bad));
    t.true(isPetrelError(err, 'ERR_CONFIG_INVALID'));
  }
  t.is(parseAclConfig({ accounts: [{ accessKey: 'a', secretKey: 'secret1', defaultTopicPerm: 'sub|pub' }] }).accounts[0]?.defaultTopicPerm, 'PUB|SUB');
});
