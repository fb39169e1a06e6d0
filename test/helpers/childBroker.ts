/** Starts brokerProcess.js in a child process and talks to it (tests and benchmarks). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BrokerConfigInput } from '../../actors/BrokerConfig.js';

export type ChildEvent = Readonly<Record<string, unknown>> & { readonly event: string };

export interface ChildBroker {
  readonly pid: number;
  readonly haAddress: string | null;
  /** One command, resolved with the next line the child prints. */
  command(line: string, timeoutMs?: number): Promise<ChildEvent>;
  /** Clean shutdown; resolves when the process has exited. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL; resolves when the process has exited. */
  kill(): Promise<void>;
  readonly exited: Promise<number | null>;
}

const script = fileURLToPath(new URL('./brokerProcess.js', import.meta.url));

export async function startChildBroker(config: BrokerConfigInput, startTimeoutMs = 30_000): Promise<ChildBroker> {
  const child: ChildProcess = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waiting: ((e: ChildEvent) => void)[] = [];
  const early: ChildEvent[] = [];
  const stdout = child.stdout;
  if (stdout === null) throw new Error('no stdout from the broker process');
  createInterface({ input: stdout }).on('line', (line) => {
    let e: ChildEvent;
    try {
      e = JSON.parse(line) as ChildEvent;
    } catch {
      return;
    }
    const w = waiting.shift();
    if (w !== undefined) w(e);
    else early.push(e);
  });
  const next = (timeoutMs: number): Promise<ChildEvent> => {
    const e = early.shift();
    if (e !== undefined) return Promise.resolve(e);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the broker process said nothing for ${timeoutMs} ms`)), timeoutMs);
      const done = (ev: ChildEvent): void => {
        clearTimeout(timer);
        resolve(ev);
      };
      waiting.push(done);
      void exited.then((code) => {
        const i = waiting.indexOf(done);
        if (i < 0) return;
        waiting.splice(i, 1);
        clearTimeout(timer);
        reject(new Error(`the broker process exited (${String(code)})`));
      });
    });
  };
  const started = await next(startTimeoutMs);
  if (started.event !== 'started') throw new Error(`the broker process did not start: ${JSON.stringify(started)}`);
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  return {
    pid: child.pid ?? -1,
    haAddress: typeof started['haAddress'] === 'string' ? started['haAddress'] : null,
    command(line, timeoutMs = 10_000) {
      child.stdin?.write(`${line}\n`);
      return next(timeoutMs);
    },
    async stop(timeoutMs = 30_000) {
      if (!alive) return;
      child.stdin?.end('stop\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (alive) child.kill('SIGKILL');
      await exited;
    },
    exited,
  };
}
