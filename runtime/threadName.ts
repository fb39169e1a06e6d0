/**
 * Names the current thread for the operating system, so that `top -H`, `ps -L`, perf and gdb show
 * an actor's name instead of "node". Node 20 takes a Worker's `name` option for its own
 * diagnostics only and leaves the kernel's thread name as "node"; on Linux a thread can rename
 * itself by writing /proc/thread-self/comm. The write must be synchronous: an asynchronous one
 * would run on a libuv pool thread and rename that thread instead.
 *
 * The kernel keeps at most 15 bytes; elsewhere, or where /proc is not mounted, this does nothing.
 */
import { writeFileSync } from 'node:fs';

const COMM_MAX_BYTES = 15;

export function nameThread(name: string): void {
  if (process.platform !== 'linux') return;
  const bytes = Buffer.from(name, 'utf8').subarray(0, COMM_MAX_BYTES);
  try {
    writeFileSync('/proc/thread-self/comm', bytes);
  } catch {
    // A name is a diagnostic aid: without /proc the thread keeps working, named "node".
  }
}
