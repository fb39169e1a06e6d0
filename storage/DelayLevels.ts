/**
 * messageDelayLevel, the one parser: "1s 5s 10s 30s 1m ... 2h" into milliseconds per level
 * (index 0 is level 1). RocketMQ's units are s, m, h and d; ms is accepted too, for short delays
 * in tests. Levels need not increase (RocketMQ does not ask it); 1 to 64 of them.
 */
import { PetrelError } from '../common/errors.js';

/** RocketMQ's default messageDelayLevel, level 1 first. */
export const DEFAULT_DELAY_LEVELS = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';

export const MAX_DELAY_LEVELS = 64;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Refuses a malformed spec with ERR_CONFIG_INVALID naming messageDelayLevel and the bad item. */
export function parseDelayLevels(spec: string): number[] {
  const items = spec.trim() === '' ? [] : spec.trim().split(/\s+/);
  if (items.length === 0 || items.length > MAX_DELAY_LEVELS) {
    throw new PetrelError('ERR_CONFIG_INVALID', `messageDelayLevel "${spec}" must hold 1 to ${MAX_DELAY_LEVELS} durations like "1s 5s 10m 2h 100ms"`);
  }
  return items.map((item) => {
    const m = /^(\d+)(ms|[smhd])$/.exec(item);
    const unit = m?.[2] === undefined ? undefined : UNIT_MS[m[2]];
    if (m === null || unit === undefined) throw new PetrelError('ERR_CONFIG_INVALID', `messageDelayLevel item "${item}" is not <number><ms|s|m|h|d>`);
    return Number(m[1]) * unit;
  });
}
