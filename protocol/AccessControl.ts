/**
 * Access keys for the gRPC endpoint: who may call, and which topics each key may publish to or
 * subscribe from.
 *
 * The official clients sign each call with
 *   authorization: MQv2-HMAC-SHA1 Credential=<accessKey>, SignedHeaders=x-mq-date-time, Signature=<hex>
 * where Signature = uppercase hex HMAC-SHA1(secretKey, value of x-mq-date-time). A call is
 * authenticated when the key is known, the signature matches, and the signed time
 * (yyyyMMddTHHmmssZ, UTC) is within maxClockSkewMs of the server's clock, which bounds how long a
 * captured header can be replayed. Permissions follow RocketMQ's plain ACL: a per-topic
 * DENY | PUB | SUB | PUB|SUB with a per-key default.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PetrelError } from '../common/errors.js';
import { systemClock, type Clock } from '../common/clock.js';

export type TopicPerm = 'DENY' | 'PUB' | 'SUB' | 'PUB|SUB';
export type TopicAction = 'PUB' | 'SUB';

export interface AclAccount {
  readonly accessKey: string;
  readonly secretKey: string;
  /** Permission on topics not listed in topicPerms. Default 'DENY'. */
  readonly defaultTopicPerm?: TopicPerm;
  readonly topicPerms?: Readonly<Record<string, TopicPerm>>;
}

export interface AclConfig {
  readonly accounts: readonly AclAccount[];
  /** Largest accepted distance between x-mq-date-time and the server clock. Default 15 minutes. */
  readonly maxClockSkewMs?: number;
}

export const DEFAULT_MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export type AuthOutcome =
  | { readonly ok: true; readonly accessKey: string }
  | { readonly ok: false; readonly reason: 'MISSING' | 'MALFORMED' | 'UNKNOWN_KEY' | 'BAD_SIGNATURE' | 'STALE' };

const HEADER = /^MQv2-HMAC-SHA1\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9A-Fa-f]+)\s*$/;
const DATE_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const PERMS: readonly TopicPerm[] = ['DENY', 'PUB', 'SUB', 'PUB|SUB'];

/** HMAC-SHA1 of the date-time, uppercase hex: what the client puts in Signature=. */
export function signDateTime(secretKey: string, dateTime: string): string {
  return createHmac('sha1', secretKey).update(dateTime).digest('hex').toUpperCase();
}

/** yyyyMMddTHHmmssZ -> ms since the epoch, or undefined. */
export function parseRequestDateTime(value: string): number | undefined {
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  if (y === undefined || mo === undefined || d === undefined || h === undefined || mi === undefined || s === undefined) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  return back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms : undefined;
}

/** The header the official client sends, for tests and for petrelmq's own client. */
export function authorizationHeader(accessKey: string, secretKey: string, dateTime: string): string {
  return `MQv2-HMAC-SHA1 Credential=${accessKey}, SignedHeaders=x-mq-date-time, Signature=${signDateTime(secretKey, dateTime)}`;
}

/** Request date-time in the clients' format for a wall-clock time. */
export function formatRequestDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

function parsePerm(value: unknown, where: string): TopicPerm {
  if (typeof value === 'string') {
    const normal = value.replace(/\s+/g, '').toUpperCase();
    const perm = normal === 'SUB|PUB' ? 'PUB|SUB' : normal;
    const found = PERMS.find((p) => p === perm);
    if (found) return found;
  }
  throw new PetrelError('ERR_CONFIG_INVALID', `acl ${where}: expected one of ${PERMS.join(', ')}`);
}

/** Validates an ACL configuration from code or a config file. */
export function parseAclConfig(input: unknown): AclConfig {
  if (typeof input !== 'object' || input === null) throw new PetrelError('ERR_CONFIG_INVALID', 'acl must be an object');
  const rec = input as Record<string, unknown>;
  const rawAccounts = rec['accounts'];
  if (!Array.isArray(rawAccounts)) throw new PetrelError('ERR_CONFIG_INVALID', 'acl.accounts must be an array');
  const seen = new Set<string>();
  const accounts = rawAccounts.map((raw: unknown, i): AclAccount => {
    if (typeof raw !== 'object' || raw === null) throw new PetrelError('ERR_CONFIG_INVALID', `acl.accounts[${i}] must be an object`);
    const a = raw as Record<string, unknown>;
    const accessKey = a['accessKey'];
    const secretKey = a['secretKey'];
    if (typeof accessKey !== 'string' || !/^[A-Za-z0-9_.@-]{1,128}$/.test(accessKey)) {
      throw new PetrelError('ERR_CONFIG_INVALID', `acl.accounts[${i}].accessKey must be 1-128 characters of [A-Za-z0-9_.@-]`);
    }
    if (typeof secretKey !== 'string' || secretKey.length < 6) {
      throw new PetrelError('ERR_CONFIG_INVALID', `acl.accounts[${i}].secretKey must be a string of at least 6 characters`);
    }
    if (seen.has(accessKey)) throw new PetrelError('ERR_CONFIG_INVALID', `acl: accessKey ${accessKey} is listed twice`);
    seen.add(accessKey);
    const topicPerms: Record<string, TopicPerm> = Object.create(null) as Record<string, TopicPerm>;
    const rawPerms = a['topicPerms'];
    if (rawPerms !== undefined) {
      if (typeof rawPerms !== 'object' || rawPerms === null) throw new PetrelError('ERR_CONFIG_INVALID', `acl.accounts[${i}].topicPerms must be an object`);
      for (const [topic, perm] of Object.entries(rawPerms)) topicPerms[topic] = parsePerm(perm, `accounts[${i}].topicPerms.${topic}`);
    }
    const defaultTopicPerm = a['defaultTopicPerm'] === undefined ? 'DENY' : parsePerm(a['defaultTopicPerm'], `accounts[${i}].defaultTopicPerm`);
    return { accessKey, secretKey, defaultTopicPerm, topicPerms };
  });
  const skew = rec['maxClockSkewMs'];
  if (skew !== undefined && (typeof skew !== 'number' || !Number.isInteger(skew) || skew < 1000)) {
    throw new PetrelError('ERR_CONFIG_INVALID', 'acl.maxClockSkewMs must be an integer >= 1000');
  }
  return { accounts, maxClockSkewMs: typeof skew === 'number' ? skew : DEFAULT_MAX_CLOCK_SKEW_MS };
}

export class AccessControl {
  readonly #accounts: ReadonlyMap<string, AclAccount>;
  readonly #maxSkewMs: number;
  readonly #clock: Clock;

  constructor(config: AclConfig, clock: Clock = systemClock) {
    const parsed = parseAclConfig(config);
    this.#accounts = new Map(parsed.accounts.map((a) => [a.accessKey, a]));
    this.#maxSkewMs = parsed.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    this.#clock = clock;
  }

  /** Checks the authorization header against x-mq-date-time. */
  authenticate(authorization: string | undefined, dateTime: string | undefined): AuthOutcome {
    if (authorization === undefined || authorization === '') return { ok: false, reason: 'MISSING' };
    const m = HEADER.exec(authorization);
    if (!m || m[1] === undefined || m[3] === undefined || m[2]?.toLowerCase() !== 'x-mq-date-time' || dateTime === undefined) {
      return { ok: false, reason: 'MALFORMED' };
    }
    const account = this.#accounts.get(m[1]);
    if (account === undefined) return { ok: false, reason: 'UNKNOWN_KEY' };
    const expected = Buffer.from(signDateTime(account.secretKey, dateTime), 'latin1');
    const given = Buffer.from(m[3].toUpperCase(), 'latin1');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'BAD_SIGNATURE' };
    const signedAt = parseRequestDateTime(dateTime);
    if (signedAt === undefined || Math.abs(this.#clock.now() - signedAt) > this.#maxSkewMs) return { ok: false, reason: 'STALE' };
    return { ok: true, accessKey: account.accessKey };
  }

  /** Whether an authenticated key may publish to (PUB) or consume from (SUB) a topic. */
  allows(accessKey: string, topic: string, action: TopicAction): boolean {
    const account = this.#accounts.get(accessKey);
    if (account === undefined) return false;
    const perms = account.topicPerms;
    const listed = perms !== undefined && Object.hasOwn(perms, topic) ? perms[topic] : undefined;
    const perm = listed ?? account.defaultTopicPerm ?? 'DENY';
    return perm === 'PUB|SUB' || perm === action;
  }
}
