/**
 * Logs of the `petrelmq` process: pino on the main thread, fed from the diagnostics channels of
 * common/diagnostics.ts (the `log` channel and the actor supervision channels). Nothing in the
 * broker imports a logger; an embedded broker is silent because nobody subscribes.
 *
 * Records go to stderr as pino's JSON lines, so stdout stays free for a command's result (the
 * ready line of `petrelmq start`, a --json document). Writes are synchronous: a process that
 * exits right after logging loses nothing.
 */
import diagnostics from 'node:diagnostics_channel';
import { pino, type Logger } from 'pino';
import { CHANNELS, type ChannelName } from '../common/diagnostics.js';
import type { LogLevel } from './args.js';

export interface LogSink {
  readonly logger: Logger;
  /** Stops listening to the channels. */
  close(): void;
}

type Fields = Record<string, unknown>;

function fieldsOf(message: unknown): Fields {
  return typeof message === 'object' && message !== null ? { ...(message as Fields) } : { value: message };
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/** Starts logging at `level` (silent subscribes to nothing). */
export function startLogging(level: LogLevel, name = 'petrelmq'): LogSink {
  const logger = pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
  if (level === 'silent') return { logger, close: () => undefined };

  const handlers: [ChannelName, (message: unknown) => void][] = [
    [CHANNELS.log, (m) => {
      const { level: l, msg, ...rest } = fieldsOf(m);
      const lvl = typeof l === 'string' && LEVELS.has(l) ? (l as 'debug' | 'info' | 'warn' | 'error') : 'info';
      logger[lvl](rest, typeof msg === 'string' ? msg : 'log');
    }],
    [CHANNELS.actorCrashed, (m) => logger.error(fieldsOf(m), 'actor crashed')],
    [CHANNELS.actorRestarted, (m) => logger.warn(fieldsOf(m), 'actor restarted')],
    [CHANNELS.actorStopped, (m) => logger.info(fieldsOf(m), 'actor stopped')],
    [CHANNELS.storeRecovered, (m) => logger.info(fieldsOf(m), 'store recovered')],
  ];
  for (const [name, fn] of handlers) diagnostics.subscribe(name, fn);
  return {
    logger,
    close() {
      for (const [name, fn] of handlers) diagnostics.unsubscribe(name, fn);
    },
  };
}
