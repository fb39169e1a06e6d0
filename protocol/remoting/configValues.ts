/**
 * Parsers of the broker's configuration tables as they cross a remoting link (actors/BrokerApi.ts
 * SubscriptionGroupConfig, CommittedOffset, DelayOffset): shapes only, as in brokerValues.ts. A
 * group update's settings are passed on as given (numbers and booleans); the broker checks names,
 * keys and ranges itself (ERR_GROUP_INVALID, ERR_CONFIG_INVALID).
 */
import type { CommittedOffset, DelayOffset, SubscriptionGroupConfig, SubscriptionGroupInput, SubscriptionGroupTable } from '../../actors/BrokerApi.js';
import { bool, int, list, rec, refuse, str, type Check } from './narrow.js';

export function subscriptionGroupConfig(c: Check, v: unknown, path: string): SubscriptionGroupConfig {
  const r = rec(c, v, path);
  const n = (k: string): number => int(c, r[k], `${path}.${k}`);
  const b = (k: string): boolean => bool(c, r[k], `${path}.${k}`);
  return {
    groupName: str(c, r['groupName'], `${path}.groupName`),
    consumeEnable: b('consumeEnable'),
    consumeFromMinEnable: b('consumeFromMinEnable'),
    consumeBroadcastEnable: b('consumeBroadcastEnable'),
    consumeMessageOrderly: b('consumeMessageOrderly'),
    retryQueueNums: n('retryQueueNums'),
    retryMaxTimes: n('retryMaxTimes'),
    brokerId: n('brokerId'),
    whichBrokerWhenConsumeSlowly: n('whichBrokerWhenConsumeSlowly'),
    notifyConsumerIdsChangedEnable: b('notifyConsumerIdsChangedEnable'),
    consumeTimeoutMinute: n('consumeTimeoutMinute'),
  };
}

export function subscriptionGroupTable(c: Check, v: unknown, path: string): SubscriptionGroupTable {
  const r = rec(c, v, path);
  return {
    version: int(c, r['version'], `${path}.version`),
    groups: list(c, r['groups'], `${path}.groups`).map((g, i) => subscriptionGroupConfig(c, g, `${path}.groups[${i}]`)),
  };
}

/** A create/update request: groupName a string, every other value a number or a boolean. */
export function subscriptionGroupInput(c: Check, v: unknown, path: string): SubscriptionGroupInput {
  const r = rec(c, v, path);
  const out: Record<string, string | number | boolean> = { groupName: str(c, r['groupName'], `${path}.groupName`) };
  for (const [k, x] of Object.entries(r)) {
    if (k === 'groupName') continue;
    if (typeof x !== 'number' && typeof x !== 'boolean') throw refuse(c, `${path}.${k}`, 'a number or a boolean');
    out[k] = x;
  }
  return out as unknown as SubscriptionGroupInput;
}

export function committedOffset(c: Check, v: unknown, path: string): CommittedOffset {
  const r = rec(c, v, path);
  return {
    group: str(c, r['group'], `${path}.group`),
    topic: str(c, r['topic'], `${path}.topic`),
    queueId: int(c, r['queueId'], `${path}.queueId`),
    offset: int(c, r['offset'], `${path}.offset`),
  };
}

export function delayOffset(c: Check, v: unknown, path: string): DelayOffset {
  const r = rec(c, v, path);
  return { level: int(c, r['level'], `${path}.level`), offset: int(c, r['offset'], `${path}.offset`) };
}
