/**
 * Delay messages over gRPC carry an absolute delivery time; the broker delays by level
 * (messageDelayLevel, "1s 5s 10s 30s 1m ... 2h"). The endpoint maps the wanted delay to the
 * smallest level at or above it, so a message is never delivered early and at most one level
 * step late, and the broker keeps it durably through its schedule topic like any delayed
 * message. A delay beyond the largest level cannot be honoured and is refused with
 * ILLEGAL_DELIVERY_TIME. The wanted time also travels as TIMER_DELIVER_MS, so the consumer sees
 * the delivery_timestamp the producer asked for. The levels are parsed by storage/DelayLevels.ts.
 */
import { StatusError } from './status.js';
import { Code } from './wire.js';

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
