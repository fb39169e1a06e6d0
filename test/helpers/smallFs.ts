/** A small real filesystem for disk-full tests: a tmpfs the test mounts itself (root only). */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { tempDir } from './tmp.js';

/** Mounts a tmpfs of `mib` MiB on a temp folder, unmounted at teardown; a skip reason when this process cannot mount. */
export function mountTmpfs(t: ExecutionContext, mib: number): { dir: string } | { skip: string } {
  return mountTmpfsAt(t, tempDir(t, 'petrelmq-tmpfs-'), mib);
}

/** Writes a filler file in `dir` until the filesystem answers ENOSPC; returns its path (delete it to free the space). */
export function fillUp(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 16, 1);
  try {
    for (;;) {
      try {
        fs.writeSync(fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        break;
      }
    }
    // the last pages: smaller writes until not one byte fits
    const small = Buffer.alloc(512, 1);
    for (;;) {
      try {
        if (fs.writeSync(fd, small) === 0) break;
      } catch {
        break;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/**
 * Mounts a tmpfs of `mib` MiB on `dir` (made if missing), unmounted at teardown; for a store folder
 * on a filesystem of its own. Where this process cannot mount (not root) the test is told why and
 * skips, except under CI (CI=true, where .ci/run runs as root): there a failed mount fails the test,
 * so that a disk-full test never passes without filling a disk.
 */
export function mountTmpfsAt(t: ExecutionContext, dir: string, mib: number): { dir: string } | { skip: string } {
  const cannot = (why: string): { skip: string } => {
    if (process.env['CI'] === 'true') throw new Error(`CI runs the disk-full tests for real, but ${why}`);
    return { skip: why };
  };
  if (process.getuid?.() !== 0) return cannot('not root: cannot mount a tmpfs to fill');
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return cannot(`mount -t tmpfs failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  t.teardown(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  });
  return { dir };
}

/** Gives the tmpfs mounted on `dir` a new size (what it holds stays). */
export function resizeTmpfs(dir: string, mib: number): void {
  execFileSync('mount', ['-o', `remount,size=${mib}m`, dir], { stdio: 'pipe' });
}

/**
 * Writes a filler file in `dir` until the filesystem has no more than `leaveBytes` free for the
 * broker; returns its path (delete it to free the space). The filesystem then counts as fuller
 * than a ratio while writes that fit in what is left still succeed.
 */
export function fillLeaving(dir: string, leaveBytes: number): string {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 16, 1);
  try {
    for (;;) {
      const st = fs.statfsSync(dir);
      const over = st.bavail * st.bsize - leaveBytes;
      if (over <= 0) break;
      fs.writeSync(fd, chunk, 0, Math.min(chunk.length, over));
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}
