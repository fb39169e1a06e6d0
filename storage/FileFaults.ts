/**
 * Write faults on demand, for tests of what the store does when the disk refuses a write
 * (ENOSPC, EIO) on machines where a real filesystem cannot be filled. Nothing in the
 * configuration reaches this module: a fault exists only while code in the same thread holds the
 * handle `injectWriteFault` returned, so a broker started from a config file never sees one.
 *
 * A fault applies to every positioned write (FsBackend writes, and the writes that reserve the
 * blocks of a mapped file) on a path that starts with `pathPrefix`: the write puts at most
 * `partialBytes` bytes (a pwrite that got some bytes out before the disk filled), then fails
 * with `code`, as the operating system would.
 */

export interface WriteFaultSpec {
  /** Files whose path starts with this fail. */
  readonly pathPrefix: string;
  /** errno name of the failure; default ENOSPC. */
  readonly code?: 'ENOSPC' | 'EIO' | 'EDQUOT';
  /** Bytes a failing write still puts before it fails; default 0. */
  readonly partialBytes?: number;
}

export interface WriteFault {
  /** Writes that failed because of this fault so far. */
  readonly hits: number;
  /** Lifts the fault. */
  clear(): void;
}

interface ArmedFault {
  readonly spec: WriteFaultSpec;
  hits: number;
}

const armed: ArmedFault[] = [];

/** Arms a fault in this thread until `clear()`. */
export function injectWriteFault(spec: WriteFaultSpec): WriteFault {
  const fault: ArmedFault = { spec, hits: 0 };
  armed.push(fault);
  return {
    get hits() {
      return fault.hits;
    },
    clear() {
      const i = armed.indexOf(fault);
      if (i >= 0) armed.splice(i, 1);
    },
  };
}

/**
 * For a write of `length` bytes to `path`: undefined when no fault applies, else how many bytes
 * the write may put before it must fail with `writeFaultError`.
 */
export function writeFaultLimit(path: string, length: number): number | undefined {
  if (armed.length === 0) return undefined;
  for (const fault of armed) {
    if (!path.startsWith(fault.spec.pathPrefix)) continue;
    fault.hits++;
    return Math.min(length, Math.max(0, fault.spec.partialBytes ?? 0));
  }
  return undefined;
}

/** The error a faulted write fails with: shaped like Node's own errno errors. */
export function writeFaultError(path: string): NodeJS.ErrnoException {
  const fault = armed.find((f) => path.startsWith(f.spec.pathPrefix));
  const code = fault?.spec.code ?? 'ENOSPC';
  const text = code === 'EIO' ? 'i/o error' : code === 'EDQUOT' ? 'disk quota exceeded' : 'no space left on device';
  const err: NodeJS.ErrnoException = new Error(`${code}: ${text}, write`);
  err.code = code;
  err.syscall = 'write';
  err.path = path;
  return err;
}
