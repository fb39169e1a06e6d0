/**
 * Runs the real `petrelmq` command (dist/cli/main.js) in child processes: one-shot commands with
 * a deadline, and long-running ones (start, namesrv) that are waited on until their ready line
 * and killed in teardown if a test left them running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

/** The project root (dist/test/cli/ is three levels below it). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const MAIN = path.join(ROOT, 'dist/cli/main.js');

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Lines of a stream's text, without the empty one after the last newline. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}

/** Runs a command to its end; kills it and rejects after timeoutMs. */
export function runToEnd(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(command)} ${args.join(' ')} did not finish within ${options.timeoutMs} ms; stderr: ${stderr}`));
    }, options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `petrelmq ...args` to its end; kills it and rejects after timeoutMs. */
export function runCli(args: readonly string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  return runToEnd(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeoutMs });
}

export interface Running {
  readonly child: ChildProcess;
  /** The first stdout line, as printed. */
  readonly readyLine: string;
  /** The ready line parsed as JSON ({} when it is the plain-text form). */
  readonly ready: Record<string, unknown>;
  /** Every stdout line so far. */
  stdoutLines(): string[];
  stderr(): string;
  /** Sends `signal` and waits (up to timeoutMs) for the process to end. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Finished>;
}

/**
 * Starts a long-running `petrelmq` command that prints one ready line and resolves once it has;
 * rejects when the process ends first or after timeoutMs.
 */
export function startCli(t: ExecutionContext, args: readonly string[], timeoutMs = 60_000): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`petrelmq ${args.join(' ')}: no ready line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    void exited.then((f) => {
      clearTimeout(timer);
      reject(new Error(`petrelmq ${args.join(' ')} ended before its ready line (code ${f.code}, signal ${f.signal}); stderr: ${f.stderr}`));
    });
    const onData = (): void => {
      const first = stdout.indexOf('\n');
      if (first < 0) return;
      child.stdout.off('data', onData);
      clearTimeout(timer);
      const readyLine = stdout.slice(0, first);
      let ready: Record<string, unknown> = {};
      try {
        ready = JSON.parse(readyLine) as Record<string, unknown>;
      } catch {
        // the plain-text form
      }
      resolve({
        child,
        readyLine,
        ready,
        stdoutLines: () => lines(stdout),
        stderr: () => stderr,
        stop: async (signal = 'SIGTERM', stopTimeoutMs = 30_000) => {
          child.kill(signal);
          let timer2: NodeJS.Timeout | undefined;
          const late = new Promise<never>((_, rej) => {
            timer2 = setTimeout(() => rej(new Error(`petrelmq did not exit within ${stopTimeoutMs} ms of ${signal}; stderr: ${stderr}`)), stopTimeoutMs);
          });
          try {
            return await Promise.race([exited, late]);
          } finally {
            clearTimeout(timer2);
          }
        },
      });
    };
    child.stdout.on('data', onData);
  });
}

export function readyString(r: Running, key: string): string {
  const v = r.ready[key];
  if (typeof v !== 'string') throw new Error(`ready line has no ${key}: ${JSON.stringify(r.ready)}`);
  return v;
}
