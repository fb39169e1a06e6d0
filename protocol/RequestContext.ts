/**
 * What every call carries in its metadata (ROCKETMQ-GRPC.md 2), read once per call: the client
 * id, the namespace, and, when access keys are configured, the authenticated key. Oversized
 * metadata and failed authentication are refused here, before a handler does anything, so a
 * refused call has no side effect.
 */
import type { Metadata } from '@grpc/grpc-js';
import { StatusError } from './status.js';
import { Code } from './wire.js';
import type { AccessControl, TopicAction } from './AccessControl.js';

export interface CallContext {
  readonly clientId: string;
  readonly namespace: string;
  /** The authenticated access key; undefined when access control is off. */
  readonly accessKey: string | undefined;
}

export const DEFAULT_MAX_METADATA_BYTES = 8 * 1024;

function first(metadata: Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : v.toString('utf8');
}

/** Total size of the metadata: names plus values, in bytes. */
export function metadataSize(metadata: Metadata): number {
  let size = 0;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const v of values) size += key.length + (typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  }
  return size;
}

/**
 * Reads and checks a call's metadata. Throws StatusError: REQUEST_HEADER_FIELDS_TOO_LARGE,
 * CLIENT_ID_REQUIRED, or UNAUTHORIZED.
 */
export function readCallContext(metadata: Metadata, acl: AccessControl | undefined, maxMetadataBytes: number): CallContext {
  const size = metadataSize(metadata);
  if (size > maxMetadataBytes) throw new StatusError(Code.REQUEST_HEADER_FIELDS_TOO_LARGE, `request metadata is ${size} bytes, more than ${maxMetadataBytes}`);
  const clientId = first(metadata, 'x-mq-client-id') ?? '';
  if (clientId.trim() === '' || clientId.length > 256) throw new StatusError(Code.CLIENT_ID_REQUIRED, 'x-mq-client-id is missing or longer than 256 characters');
  let accessKey: string | undefined;
  if (acl !== undefined) {
    const outcome = acl.authenticate(first(metadata, 'authorization'), first(metadata, 'x-mq-date-time'));
    if (!outcome.ok) throw new StatusError(Code.UNAUTHORIZED, `request refused: authorization ${outcome.reason.toLowerCase().replace('_', ' ')}`);
    accessKey = outcome.accessKey;
  }
  return { clientId, namespace: first(metadata, 'x-mq-namespace') ?? '', accessKey };
}

/** FORBIDDEN unless the call's key may use the topic (stored name) that way. */
export function requireTopic(ctx: CallContext, acl: AccessControl | undefined, topic: string, action: TopicAction | 'ANY'): void {
  if (acl === undefined || ctx.accessKey === undefined) return;
  const ok = action === 'ANY' ? acl.allows(ctx.accessKey, topic, 'PUB') || acl.allows(ctx.accessKey, topic, 'SUB') : acl.allows(ctx.accessKey, topic, action);
  if (!ok) throw new StatusError(Code.FORBIDDEN, `access key ${ctx.accessKey} may not ${action === 'PUB' ? 'publish to' : action === 'SUB' ? 'subscribe to' : 'use'} topic ${topic}`);
}
