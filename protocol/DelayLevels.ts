/**
 * Delay messages over gRPC carry an absolute delivery time; the broker delays by level
 * (messageDelayLevel, "1s 5s 10s 30s 1m ... 2h"). The endpoint maps the wanted delay to the
 * smallest level at or above it, so a message is never delivered early and at most one level
 * step late, and the broker keeps it durably through its schedule topic like any delayed
 * message. A delay beyond the largest level cannot be honoured and is refused with
 * ILLEGAL_DELIVERY_TIME. The wanted time also travels as TIMER_DELIVER_MS, so the consumer sees
 * the delivery_timestamp the producer asked for.
 */
import { PetrelError } from '../common/errors.js';
import { StatusError } from './status.js';
import { Code } from './wire.js';

export const DEFAULT_DELAY_LEVELS = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1s 5s 10s ..." -> [1000, 5000, 10000, ...]: level n is element n-1. */
export function parseDelayLevels(text: string): number[] {
  const levels = text.trim().split(/\s+/).map((item) => {
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(item);
    const unit = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
    if (!m || m[1] === undefined || unit === undefined) throw new PetrelError('ERR_CONFIG_INVALID', `delay level "${item}" is not <number><ms|s|m|h|d>`);
    return Number(m[1]) * unit;
  });
  for (let i = 1; i < levels.length; i++) {
    if ((levels[i] ?? 0) <= (levels[i - 1] ?? 0)) throw new PetrelError('ERR_CONFIG_INVALID', 'delay levels must increase');
  }
  return levels;
}

/**
 * The delay level for a message wanted at `deliverAtMs` when it is `nowMs`: undefined when it is
 * due already, else the 1-based level of the smallest delay >= the wait.
 */
export function delayLevelFor(deliverAtMs: number, nowMs: number, levels: readonly number[]): number | undefined {
  const wait = deliverAtMs - nowMs;
  if (wait <= 0) return undefined;
  const index = levels.findIndex((delay) => delay >= wait);
  if (index < 0) {
    const max = levels[levels.length - 1] ?? 0;
    throw new StatusError(Code.ILLEGAL_DELIVERY_TIME, `delivery is ${wait} ms away, more than the longest delay level (${max} ms)`);
  }
  return index + 1;
}
