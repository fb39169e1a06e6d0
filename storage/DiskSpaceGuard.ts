/**
 * The store's disk-full flag (RocketMQ's RunningFlags DISK_FULL bit, set and cleared by
 * DefaultMessageStore's clean-up service): every cleanResourceInterval the used share of the
 * filesystems holding the store root and the CommitLog folder is measured with statfs; above
 * diskSpaceWarningLevelRatio percent the store is marked full and refuses writes with
 * ERR_DISK_FULL (retriable), below it writes resume by themselves.
 *
 * Time comes from the injected Clock: `poll()` measures again only when the interval has passed
 * on that clock, so a broker calls it on every write and a test drives it by advancing a
 * ManualClock (or calls `check()` to measure now). Each change of the flag is published on
 * CHANNELS.storeDiskSpace, which the process log (warn when full) and the metrics follow.
 *
 * Owner: the broker's main thread, where sends enter. Plain class; no timers of its own.
 */
import fs from 'node:fs';
import type { Clock } from '../common/clock.js';
import { channel, CHANNELS } from '../common/diagnostics.js';
import { PetrelError } from '../common/errors.js';

export interface DiskSpaceGuardOptions {
  /** Folders whose filesystems hold the store (the root, the CommitLog folder when elsewhere). */
  readonly paths: readonly string[];
  /** diskSpaceWarningLevelRatio: percent used at which the store counts as full. */
  readonly warningLevelRatio: number;
  /** cleanResourceInterval: ms between measurements. */
  readonly intervalMs: number;
  readonly clock: Clock;
}

/** What the last measurement found. */
export interface DiskSpaceState {
  readonly full: boolean;
  /** The highest used share (0..1) of the store's filesystems. */
  readonly usedRatio: number;
  /** The folder whose filesystem is the fullest. */
  readonly path: string;
  /** Bytes free for the broker there. */
  readonly freeBytes: number;
  /** The share (0..1) at which the store counts as full. */
  readonly threshold: number;
}

const diskChannel = channel(CHANNELS.storeDiskSpace);

/** The used share (0..1) of the filesystem holding `dir`, as df counts it, and the bytes free there. */
export function usedRatioOf(dir: string): { usedRatio: number; freeBytes: number } {
  const st = fs.statfsSync(dir);
  // blocks - bfree is used; bavail is what an unprivileged writer may still take, so used +
  // avail is the share the reserved blocks leave to the broker (df's Use%).
  const used = st.blocks - st.bfree;
  const total = used + st.bavail;
  return { usedRatio: total > 0 ? used / total : 1, freeBytes: st.bavail * st.bsize };
}

export class DiskSpaceGuard {
  readonly #o: DiskSpaceGuardOptions;
  readonly #paths: string[];
  #state: DiskSpaceState;
  #checkedAt: number;

  constructor(options: DiskSpaceGuardOptions) {
    this.#o = options;
    this.#paths = [...new Set(options.paths)];
    this.#state = { full: false, usedRatio: 0, path: this.#paths[0] ?? '', freeBytes: 0, threshold: options.warningLevelRatio / 100 };
    this.#checkedAt = options.clock.monotonic();
    this.check();
  }

  get state(): DiskSpaceState {
    return this.#state;
  }

  get full(): boolean {
    return this.#state.full;
  }

  /** Measures again if the interval has passed on the clock; returns the state. */
  poll(): DiskSpaceState {
    if (this.#o.clock.monotonic() - this.#checkedAt >= this.#o.intervalMs) this.check();
    return this.#state;
  }

  /** Measures now and sets or clears the flag. */
  check(): DiskSpaceState {
    this.#checkedAt = this.#o.clock.monotonic();
    const threshold = this.#o.warningLevelRatio / 100;
    let worst = { usedRatio: -1, freeBytes: 0, path: this.#paths[0] ?? '' };
    for (const dir of this.#paths) {
      let m: { usedRatio: number; freeBytes: number };
      try {
        m = usedRatioOf(dir);
      } catch {
        continue; // a folder not made yet: its parent's filesystem is measured through the root
      }
      if (m.usedRatio > worst.usedRatio) worst = { ...m, path: dir };
    }
    if (worst.usedRatio < 0) return this.#state;
    const was = this.#state.full;
    this.#state = { full: worst.usedRatio >= threshold, usedRatio: worst.usedRatio, path: worst.path, freeBytes: worst.freeBytes, threshold };
    if (was !== this.#state.full && diskChannel.hasSubscribers) diskChannel.publish({ ...this.#state });
    return this.#state;
  }

  /** Throws ERR_DISK_FULL while the store is marked full (after polling). */
  assertWritable(): void {
    const s = this.poll();
    if (!s.full) return;
    const pct = (r: number): string => `${(r * 100).toFixed(1)}%`;
    throw new PetrelError(
      'ERR_DISK_FULL',
      `the store's disk is full: ${s.path} is ${pct(s.usedRatio)} used (diskSpaceWarningLevelRatio ${pct(s.threshold)}, ${s.freeBytes} bytes free); writes resume when space is freed`,
    );
  }
}
