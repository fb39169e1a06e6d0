/**
 * The store's disk-full flags (RocketMQ's RunningFlags DISK_FULL and LOGIC_DISK_FULL bits, set and
 * cleared by DefaultMessageStore's clean-up service). Every cleanResourceInterval the used share of
 * each filesystem holding a store folder (the root, the CommitLog folder, consumequeue/, index/) is
 * measured with statfs, once per filesystem: folders on one device are measured together. Above
 * diskSpaceWarningLevelRatio percent the store is marked full and refuses writes with
 * ERR_DISK_FULL (retriable), naming the folders on the full filesystem; below it writes resume by
 * themselves. `diskFull` is set by the root's or the CommitLog folder's filesystem,
 * `logicFull` by consumequeue/'s or index/'s.
 *
 * `logicFull` is also set, at once and with no period to wait for, while the dispatcher is held
 * because a ConsumeQueue or IndexFile write failed (the `dispatchHeld` probe, read on every
 * check of the flag): the messages sent meanwhile could not be pulled or found until it resumes,
 * for as long as that takes, so they are refused instead of acknowledged. RocketMQ stops writes
 * only on its logic-disk ratio; a held dispatch here is the same condition seen from the write.
 *
 * Time comes from the injected Clock: `poll()` measures again only when the interval has passed
 * on that clock, so a broker calls it on every write and a test drives it by advancing a
 * ManualClock (or calls `check()` to measure now). Each change of `full` is published on
 * CHANNELS.storeDiskSpace, which the process log (warn when full) and the metrics follow.
 *
 * Owner: the broker's main thread, where sends enter. Plain class; no timers of its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../common/clock.js';
import { channel, CHANNELS } from '../common/diagnostics.js';
import { PetrelError } from '../common/errors.js';

/** The store folders whose filesystems are measured. */
export type StoreFolder = 'root' | 'commitlog' | 'consumequeue' | 'index';
/** The folders written by dispatch (RocketMQ's logic files). */
export type LogicFolder = 'consumequeue' | 'index';

const LOGIC: ReadonlySet<StoreFolder> = new Set<StoreFolder>(['consumequeue', 'index']);

export interface DiskSpaceGuardOptions {
  /** Each store folder and where it is; a folder not made yet is measured where it would be made. */
  readonly folders: readonly { readonly folder: StoreFolder; readonly path: string }[];
  /** diskSpaceWarningLevelRatio: percent used at which the store counts as full. */
  readonly warningLevelRatio: number;
  /** cleanResourceInterval: ms between measurements. */
  readonly intervalMs: number;
  readonly clock: Clock;
  /** The logic folder whose write failure holds dispatch now; undefined while dispatch runs. */
  readonly dispatchHeld?: () => LogicFolder | undefined;
}

/** One filesystem holding store folders, as last measured. */
export interface FilesystemUsage {
  /** The first of its folders' paths (in the order root, commitlog, consumequeue, index). */
  readonly path: string;
  readonly folders: readonly StoreFolder[];
  /** Used share (0..1), as df counts it. */
  readonly usedRatio: number;
  /** Bytes free for the broker there. */
  readonly freeBytes: number;
  /** At or above the threshold. */
  readonly full: boolean;
}

/** What the last measurement found, with the dispatcher's state read now. */
export interface DiskSpaceState {
  /** Sends are refused: `diskFull` or `logicFull`. */
  readonly full: boolean;
  /** The root's or the CommitLog folder's filesystem is at or above the threshold (DISK_FULL). */
  readonly diskFull: boolean;
  /** consumequeue/'s or index/'s filesystem is at or above the threshold, or dispatch is held by a write failure (LOGIC_DISK_FULL). */
  readonly logicFull: boolean;
  /** The logic folder whose write failure holds dispatch, if any. */
  readonly dispatchHeld: LogicFolder | undefined;
  /** The highest used share (0..1) of the store's filesystems. */
  readonly usedRatio: number;
  /** The fullest filesystem's first folder path. */
  readonly path: string;
  /** The store folders on the fullest filesystem. */
  readonly folders: readonly StoreFolder[];
  /** Bytes free for the broker there. */
  readonly freeBytes: number;
  /** The share (0..1) at which the store counts as full. */
  readonly threshold: number;
  /** Every filesystem measured, one entry each. */
  readonly filesystems: readonly FilesystemUsage[];
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

/** `dir`, or the nearest folder above it that exists (where it would be made), with its device. */
function existingAncestor(dir: string): { dir: string; dev: number } | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      return { dir: d, dev: fs.statSync(d).dev };
    } catch {
      if (path.dirname(d) === d) return undefined;
    }
  }
}

/** The part of the state a measurement gives. */
type Measured = Omit<DiskSpaceState, 'full' | 'logicFull' | 'dispatchHeld'> & { readonly logicRatioFull: boolean };

export class DiskSpaceGuard {
  readonly #o: DiskSpaceGuardOptions;
  readonly #threshold: number;
  #measured: Measured;
  #checkedAt: number;
  /** `full` as last published. */
  #published = false;

  constructor(options: DiskSpaceGuardOptions) {
    this.#o = options;
    this.#threshold = options.warningLevelRatio / 100;
    const first = options.folders[0];
    this.#measured = {
      diskFull: false, logicRatioFull: false, usedRatio: 0, path: first?.path ?? '', folders: first === undefined ? [] : [first.folder],
      freeBytes: 0, threshold: this.#threshold, filesystems: [],
    };
    this.#checkedAt = options.clock.monotonic();
    this.check();
  }

  /** The state as last measured, with the dispatcher's state read now. */
  get state(): DiskSpaceState {
    const m = this.#measured;
    const held = this.#o.dispatchHeld?.();
    const logicFull = m.logicRatioFull || held !== undefined;
    const { logicRatioFull: _, ...rest } = m;
    const s: DiskSpaceState = { ...rest, full: m.diskFull || logicFull, logicFull, dispatchHeld: held };
    if (s.full !== this.#published) {
      this.#published = s.full;
      if (diskChannel.hasSubscribers) {
        const { filesystems: __, ...record } = s;
        diskChannel.publish(s.full ? { ...record, reason: this.#reasons(s).join('; ') } : record);
      }
    }
    return s;
  }

  /** Whether sends are refused now, without building the state (the send path asks per message). */
  get full(): boolean {
    const m = this.#measured;
    return m.diskFull || m.logicRatioFull || this.#o.dispatchHeld?.() !== undefined || this.#published;
  }

  /** Measures again if the interval has passed on the clock; returns the state. */
  poll(): DiskSpaceState {
    if (this.#o.clock.monotonic() - this.#checkedAt >= this.#o.intervalMs) this.check();
    return this.state;
  }

  /** Measures now and sets or clears the flags. */
  check(): DiskSpaceState {
    this.#checkedAt = this.#o.clock.monotonic();
    // one entry per device, in the order the folders are given
    const byDev = new Map<number, { path: string; measureAt: string; folders: StoreFolder[] }>();
    for (const { folder, path: p } of this.#o.folders) {
      const at = existingAncestor(p);
      if (at === undefined) continue;
      const fsys = byDev.get(at.dev);
      if (fsys === undefined) byDev.set(at.dev, { path: p, measureAt: at.dir, folders: [folder] });
      else if (!fsys.folders.includes(folder)) fsys.folders.push(folder);
    }
    const filesystems: FilesystemUsage[] = [];
    for (const f of byDev.values()) {
      let m: { usedRatio: number; freeBytes: number };
      try {
        m = usedRatioOf(f.measureAt);
      } catch {
        continue; // gone between the stat and the statfs: measured next time
      }
      filesystems.push({ path: f.path, folders: f.folders, usedRatio: m.usedRatio, freeBytes: m.freeBytes, full: m.usedRatio >= this.#threshold });
    }
    if (filesystems.length === 0) return this.state;
    let worst = filesystems[0] as FilesystemUsage;
    for (const f of filesystems) if (f.usedRatio > worst.usedRatio) worst = f;
    const fullHolding = (pred: (folder: StoreFolder) => boolean): boolean => filesystems.some((f) => f.full && f.folders.some(pred));
    this.#measured = {
      diskFull: fullHolding((f) => !LOGIC.has(f)),
      logicRatioFull: fullHolding((f) => LOGIC.has(f)),
      usedRatio: worst.usedRatio,
      path: worst.path,
      folders: worst.folders,
      freeBytes: worst.freeBytes,
      threshold: this.#threshold,
      filesystems,
    };
    return this.state;
  }

  /** Throws ERR_DISK_FULL, naming what is full, while the store is marked full (after polling). */
  assertWritable(): void {
    const s = this.poll();
    if (!s.full) return;
    throw new PetrelError('ERR_DISK_FULL', `the store's disk is full: ${this.#reasons(s).join('; ')}; writes resume when space is freed`);
  }

  /** What makes the store full: each full filesystem with its folders, and a held dispatch. */
  #reasons(s: DiskSpaceState): string[] {
    const pct = (r: number): string => `${(r * 100).toFixed(1)}%`;
    const why = s.filesystems
      .filter((f) => f.full)
      .map((f) => `${f.path} (${f.folders.join(', ')}) is ${pct(f.usedRatio)} used (diskSpaceWarningLevelRatio ${pct(s.threshold)}, ${f.freeBytes} bytes free)`);
    if (s.dispatchHeld !== undefined) {
      const at = this.#o.folders.find((f) => f.folder === s.dispatchHeld)?.path ?? s.dispatchHeld;
      why.push(`dispatch is held because a write to ${s.dispatchHeld}/ failed (${at}), so new messages could not be pulled or found by key`);
    }
    return why;
  }
}
