/**
 * How every `petrelmq` command talks to its caller: results on stdout (text or one JSON document
 * with --json), errors as exactly one line on stderr (the PetrelError code and message, or a JSON
 * object with --json) and a non-zero exit code. Scripts can rely on both shapes.
 */
import { CommanderError } from 'commander';
import { PetrelError, isPetrelError, type ErrorCode } from '../common/errors.js';

/** Exit codes: 1 for a failure at run time, 2 for a command line that does not parse. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CliErrorLine {
  readonly code: ErrorCode;
  readonly message: string;
  readonly exitCode: number;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Turns whatever was thrown into the one line the user sees. */
export function describeError(err: unknown): CliErrorLine {
  if (err instanceof CommanderError) {
    // commander's own messages start with "error: "; the code says what kind of usage error.
    return { code: 'ERR_INVALID_ARGUMENT', message: oneLine(err.message.replace(/^error:\s*/, '')), exitCode: EXIT_USAGE };
  }
  if (isPetrelError(err)) {
    const usage = err.code === 'ERR_INVALID_ARGUMENT' || err.code === 'ERR_CONFIG_INVALID';
    return { code: err.code, message: oneLine(err.message), exitCode: usage ? EXIT_USAGE : EXIT_FAILURE };
  }
  // Anything else has no code of ours: ERR_UNEXPECTED, naming the system error code when it has one.
  if (err instanceof Error) {
    const sys = (err as NodeJS.ErrnoException).code;
    const message = typeof sys === 'string' && !err.message.startsWith(sys) ? `${sys}: ${err.message}` : err.message;
    return { code: 'ERR_UNEXPECTED', message: oneLine(message), exitCode: EXIT_FAILURE };
  }
  return { code: 'ERR_UNEXPECTED', message: oneLine(String(err)), exitCode: EXIT_FAILURE };
}

export function printError(err: unknown, json: boolean): number {
  const e = describeError(err);
  const line = json ? JSON.stringify({ error: { code: e.code, message: e.message } }) : `petrelmq: ${e.code}: ${e.message}`;
  process.stderr.write(`${line}\n`);
  return e.exitCode;
}

/** A usage error raised by a command after commander parsed its line (e.g. two exclusive flags). */
export function usage(message: string, code: ErrorCode = 'ERR_INVALID_ARGUMENT'): PetrelError {
  return new PetrelError(code, message);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Prints rows as an aligned text table on stdout. */
export function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  printLine(line(headers));
  for (const r of rows) printLine(line(r));
}
