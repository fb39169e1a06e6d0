/**
 * Logs of the `petrelmq` process: pino on the main thread, fed from the diagnostics channels of
 * common/diagnostics.ts (the `log` channel and the actor supervision channels). Nothing in the
 * broker imports a logger; an embedded broker is silent because nobody subscribes.
 *
 * Records go to stderr as pino's JSON lines, so stdout stays free for a command's result (the
 * ready line of `petrelmq start`, a --json document). Writes are synchronous: a process that
 * exits right after logging loses nothing.
 *
 * A server can hold its startup records until it is ready (`hold: true`, then `release()`): if
 * startup fails, they are dropped and the failure is the one line the user sees.
 */
import diagnostics from 'node:diagnostics_channel';
import { pino, type Logger } from 'pino';
import { CHANNELS, type ChannelName } from '../common/diagnostics.js';
import type { LogLevel } from './args.js';

export interface LogSink {
  readonly logger: Logger;
  /** Writes the records held so far and stops holding. */
  release(): void;
  /** Stops listening to the channels; records still held are dropped. */
  close(): void;
}

/** Records held before release(), at most: a startup that logs more keeps the first ones. */
const MAX_HELD = 1000;

type Fields = Record<string, unknown>;

function fieldsOf(message: unknown): Fields {
  return typeof message === 'object' && message !== null ? { ...(message as Fields) } : { value: message };
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Starts logging at `level` (silent subscribes to nothing). */
export function startLogging(level: LogLevel, options: { readonly hold?: boolean; readonly name?: string } = {}): LogSink {
  const logger = pino({ name: options.name ?? 'petrelmq', level, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
  if (level === 'silent') return { logger, release: () => undefined, close: () => undefined };

  // Records keep their own time when held, so a released startup reads as it happened.
  let held: { level: Level; fields: Fields; msg: string }[] | undefined = options.hold === true ? [] : undefined;
  const write = (lvl: Level, fields: Fields, msg: string): void => {
    if (held === undefined) logger[lvl](fields, msg);
    else if (held.length < MAX_HELD) held.push({ level: lvl, fields: { ...fields, heldAt: new Date().toISOString() }, msg });
  };
  const handlers: [ChannelName, (message: unknown) => void][] = [
    [CHANNELS.log, (m) => {
      const { level: l, msg, ...rest } = fieldsOf(m);
      const lvl = typeof l === 'string' && LEVELS.has(l) ? (l as Level) : 'info';
      write(lvl, rest, typeof msg === 'string' ? msg : 'log');
    }],
    [CHANNELS.actorCrashed, (m) => write('error', fieldsOf(m), 'actor crashed')],
    [CHANNELS.actorRestarted, (m) => write('warn', fieldsOf(m), 'actor restarted')],
    [CHANNELS.actorStopped, (m) => write('info', fieldsOf(m), 'actor stopped')],
    [CHANNELS.storeRecovered, (m) => write('info', fieldsOf(m), 'store recovered')],
    [CHANNELS.storeDiskSpace, (m) => {
      const fields = fieldsOf(m);
      if (fields['full'] === true) write('warn', fields, 'store disk full: sends are refused with ERR_DISK_FULL until space is freed');
      else write('info', fields, 'store disk space available again: sends resume');
    }],
    [CHANNELS.storeCorrupt, (m) => write('error', fieldsOf(m), 'store damage')],
  ];
  for (const [name, fn] of handlers) diagnostics.subscribe(name, fn);
  return {
    logger,
    release() {
      const records = held ?? [];
      held = undefined;
      for (const r of records) logger[r.level](r.fields, r.msg);
    },
    close() {
      held = undefined;
      for (const [name, fn] of handlers) diagnostics.unsubscribe(name, fn);
    },
  };
}
