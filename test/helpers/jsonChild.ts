/** Starts a helper script in a child process and waits for its one "ready" JSON line (cluster tests). */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export interface JsonChild {
  readonly pid: number;
  /** The fields of the ready line. */
  readonly ready: Readonly<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** A clean stop; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Runs dist/test/helpers/<name>.js with one JSON argument. */
export function startJsonChild(name: string, arg: unknown, readyTimeoutMs = 30_000): Promise<JsonChild> {
  const script = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify(arg)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let alive = true;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    alive = false;
    resolve(code);
  }));
  const kill = async (): Promise<void> => {
    if (alive) child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill();
      reject(new Error(`${name} was not ready within ${readyTimeoutMs} ms`));
    }, readyTimeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${String(code)}) before it was ready`));
    });
    const stdout = child.stdout;
    createInterface({ input: stdout }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (msg['event'] !== 'ready') return;
      clearTimeout(timer);
      resolve({
        pid: child.pid ?? -1,
        ready: msg,
        exited,
        kill,
        async stop(timeoutMs = 20_000) {
          if (!alive) return;
          child.stdin.end('stop\n');
          const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
          await exited;
          clearTimeout(t);
        },
      });
    });
  });
}

/** A port of 127.0.0.1 that nothing listens on now (bound once by the OS, then released). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
