/**
 * Parsers for command-line values, used as commander argParsers. Each throws commander's
 * InvalidArgumentError, which commander turns into "option '--x <n>' argument 'y' is invalid. ...",
 * reported as one ERR_INVALID_ARGUMENT line.
 */
import { InvalidArgumentError } from 'commander';

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value.trim()) || !Number.isInteger(n) || n > 65535) {
    throw new InvalidArgumentError('expected a port number 0..65535 (0 picks a free port)');
  }
  return n;
}

export function parseIntAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected an integer >= ${min}`);
    }
    return n;
  };
}

/** "host:port" or "[v6]:port". */
export function parseHostPort(value: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(m?.[3]);
  if (m === null || port < 1 || port > 65535) throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:10911');
  return value.trim();
}

/** Milliseconds since the epoch, or an ISO 8601 date ("2024-05-01T12:00:00Z"). */
export function parseTime(value: string): number {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError('expected milliseconds since the epoch or an ISO 8601 date');
  return t;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(value: string): LogLevel {
  const v = value.trim().toLowerCase();
  const found = LOG_LEVELS.find((l) => l === v);
  if (found === undefined) throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}`);
  return found;
}
