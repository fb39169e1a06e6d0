/**
 * The IndexFiles of the store (index/) and the dispatcher that fills them (RocketMQ's
 * IndexService and CommitLogDispatcherBuildIndex): every message is indexed under
 * `topic#UNIQ_KEY` and `topic#key` for each space-separated token of KEYS (ROCKETMQ.md 3.2).
 *
 * Owner: the dispatcher. Full files are flushed by `flush` (the flush actor's job later), which
 * reports the end time of the last durable full file for the checkpoint's indexMsgTimestamp.
 * After a crash, recovery deletes the files not known durable and re-dispatches the records they
 * covered, so every key of every surviving record can be found again.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../common/clock.js';
import { PetrelError } from '../common/errors.js';
import type { CommitLogDispatcher, DispatchRequest } from './CommitLogDispatcher.js';
import { IndexFile, indexFileSize } from './IndexFile.js';
import type { MappedFileOptions } from './MappedFile.js';
import { KEY_SEPARATOR } from './MessageProperties.js';
import { SysFlag, transactionType } from './RecordLayout.js';
import { indexDir, timeToIndexFileName } from './StorePaths.js';

export interface IndexServiceOptions extends MappedFileOptions {
  readonly rootDir: string;
  /** maxHashSlotNum */
  readonly slotNum: number;
  /** maxIndexNum */
  readonly indexNum: number;
  readonly clock: Clock;
}

/** Java's String.hashCode continued over more characters: hash(prefix + s) from hash(prefix). */
function continueHash(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** RocketMQ's indexKeyHashMethod: abs of the Java hash, with Integer.MIN_VALUE mapped to 0. */
function positiveHash(h: number): number {
  return h === -2147483648 ? 0 : Math.abs(h);
}

/** The hash an index entry is filed under for `topic#key`. */
export function indexKeyHash(topic: string, key: string): number {
  return positiveHash(continueHash(continueHash(0, topic + '#'), key));
}

/** CommitLog offsets [from, to) no IndexFile covers; new files for it go at files[before]. */
export interface IndexGap {
  readonly from: number;
  readonly to: number;
  readonly before: number;
}

export class IndexService implements CommitLogDispatcher {
  readonly #options: IndexServiceOptions;
  readonly #dir: string;
  #files: IndexFile[] = [];
  /** Full files not yet flushed. */
  #pendingFlush: IndexFile[] = [];
  /** CommitLog offset of the last record indexed; -1 when none. */
  #lastIndexedPhy = -1;
  /** Files load() found damaged and deleted. */
  readonly #dropped: { file: string; reason: string }[] = [];
  /** Hash of "topic#" for recent topics. */
  readonly #topicHashes = new Map<string, number>();
  /** A record whose entries were put in part before a write failed (fs backend only). */
  #partial: { readonly phy: number; readonly done: number } | undefined;

  constructor(options: IndexServiceOptions) {
    this.#options = options;
    this.#dir = indexDir(options.rootDir);
  }

  get files(): readonly IndexFile[] {
    return this.#files;
  }

  get lastIndexedPhyOffset(): number {
    return this.#lastIndexedPhy;
  }

  /**
   * Opens the files of index/. Files that cannot be right are dropped (deleted) and listed in
   * `dropped`, for recovery to index their records again: a file of the wrong size among files of
   * the right one, a header that contradicts itself or its own first and last entries, or a
   * file that begins before the one ahead of it ends. When every file has the same wrong size,
   * the configuration changed (maxHashSlotNum, maxIndexNum) and that is ERR_STORE_CORRUPT.
   * The files are kept in CommitLog order (their begin offsets; creation order for sound files).
   */
  load(): void {
    if (!fs.existsSync(this.#dir)) return;
    const size = indexFileSize(this.#options.slotNum, this.#options.indexNum);
    const names = fs.readdirSync(this.#dir).filter((n) => /^\d{17}$/.test(n)).sort();
    const sizes = names.map((n) => fs.statSync(path.join(this.#dir, n)).size);
    if (names.length > 0 && sizes.every((s) => s !== size) && sizes.every((s) => s === sizes[0])) {
      throw new PetrelError(
        'ERR_STORE_CORRUPT',
        `every file of ${this.#dir} is ${sizes[0] ?? 0} bytes, not ${size}: was maxHashSlotNum or maxIndexNum changed since they were written? (remove the folder to index the CommitLog again)`,
      );
    }
    const opened: IndexFile[] = [];
    for (const [i, name] of names.entries()) {
      const file = path.join(this.#dir, name);
      if (sizes[i] !== size) {
        this.#drop(file, undefined, `${sizes[i] ?? 0} bytes, not ${size}`);
        continue;
      }
      const f = IndexFile.open(file, this.#options.slotNum, this.#options.indexNum, this.#options);
      const why = f.inconsistency();
      if (why !== undefined) this.#drop(file, f, why);
      else opened.push(f);
    }
    opened.sort((a, b) => a.beginPhyOffset - b.beginPhyOffset || (a.path < b.path ? -1 : 1));
    for (const f of opened) {
      const prev = this.#files[this.#files.length - 1];
      if (prev !== undefined && prev.indexCount > 1 && f.indexCount > 1 && f.beginPhyOffset < prev.endPhyOffset) {
        // (one record's keys may end one file and begin the next)
        this.#drop(f.path, f, `begins at CommitLog offset ${f.beginPhyOffset}, before ${prev.endPhyOffset} where ${path.basename(prev.path)} ends`);
        continue;
      }
      this.#files.push(f);
    }
    this.#recomputeLastIndexed();
  }

  /** Files load() dropped as damaged, with why. */
  get dropped(): readonly { readonly file: string; readonly reason: string }[] {
    return this.#dropped;
  }

  #drop(file: string, opened: IndexFile | undefined, reason: string): void {
    if (opened !== undefined) opened.destroy();
    else fs.rmSync(file, { force: true });
    this.#dropped.push({ file: path.basename(file), reason });
  }

  /**
   * CommitLog stretches whose records no file indexes though files on both sides do (a file
   * missing or dropped between them), and before the first file down to `minOffset`. There is
   * one where a file begins after the record following the last one the file before it holds
   * (`nextRecord` gives the offset after the record at an offset); it runs from that last record
   * to where the next file begins. A stretch holding no indexable record is harmless to walk. The tail after the last file is not a gap: recovery dispatches from
   * lastIndexedPhyOffset.
   */
  gaps(minOffset: number, nextRecord: (phy: number) => number): IndexGap[] {
    const out: IndexGap[] = [];
    let prevEnd: number | undefined;
    for (const [i, f] of this.#files.entries()) {
      if (f.indexCount <= 1) continue;
      // From the record the file before ends with: its keys may have gone on in the missing file
      // (a query drops the offsets it already has).
      if (prevEnd === undefined ? minOffset < f.beginPhyOffset : nextRecord(prevEnd) < f.beginPhyOffset) {
        out.push({ from: prevEnd ?? minOffset, to: f.beginPhyOffset, before: i });
      }
      prevEnd = f.endPhyOffset;
    }
    return out;
  }

  /**
   * Indexes the records `walk` hands over (those of `gap`, in CommitLog order) into new files
   * placed where the gap is, flushed at the end. Returns how many files were written.
   */
  fillGap(gap: IndexGap, walk: (onRecord: (r: DispatchRequest) => void) => void): number {
    let at = gap.before;
    let current: IndexFile | undefined;
    let made = 0;
    // each entry's blocks are reserved before it is written: a full disk fails the start, never faults a page
    const put = (hash: number, phy: number, ts: number): void => {
      if (current !== undefined && current.reserveEntries(1) && current.putKey(hash, phy, ts)) return;
      const previous = current ?? this.#files[at - 1];
      current = IndexFile.create(this.#uniqueName(previous), this.#options.slotNum, this.#options.indexNum, previous?.endPhyOffset ?? 0, previous?.endTimestamp ?? 0, this.#options);
      this.#files.splice(at, 0, current);
      at++;
      made++;
      current.reserveEntries(1);
      current.putKey(hash, phy, ts);
    };
    walk((r) => this.#index(r, put));
    for (let i = gap.before; i < at; i++) this.#files[i]?.flush();
    return made;
  }

  /** A file name after `previous`'s that no file has (names only need to be unique; order is by offset). */
  #uniqueName(previous: IndexFile | undefined): string {
    fs.mkdirSync(this.#dir, { recursive: true });
    let name = previous === undefined ? timeToIndexFileName(0) : path.basename(previous.path);
    do name = (BigInt(name) + 1n).toString().padStart(17, '0');
    while (fs.existsSync(path.join(this.#dir, name)));
    return path.join(this.#dir, name);
  }

  #recomputeLastIndexed(): void {
    this.#lastIndexedPhy = -1;
    for (let i = this.#files.length - 1; i >= 0; i--) {
      const f = this.#files[i];
      if (f !== undefined && f.indexCount > 1) {
        this.#lastIndexedPhy = f.endPhyOffset;
        return;
      }
    }
  }

  /**
   * Recovery: deletes every file whose end time is after `durableUntil` (the checkpoint's
   * indexMsgTimestamp: nothing later is known flushed) and returns the CommitLog offset from
   * which they must be rebuilt, or undefined when none was deleted.
   */
  deleteFilesAfter(durableUntil: number): number | undefined {
    let rebuildFrom: number | undefined;
    const keep: IndexFile[] = [];
    for (const f of this.#files) {
      if (f.endTimestamp > durableUntil || f.indexCount <= 1) {
        if (f.indexCount > 1) rebuildFrom = Math.min(rebuildFrom ?? Number.POSITIVE_INFINITY, f.beginPhyOffset);
        f.destroy();
      } else {
        keep.push(f);
      }
    }
    this.#files = keep;
    this.#pendingFlush = this.#pendingFlush.filter((f) => keep.includes(f));
    this.#recomputeLastIndexed();
    return rebuildFrom;
  }

  /** Recovery: removes entries pointing at or past `physicalOffset`. */
  truncate(physicalOffset: number, storeTimeOf: (phy: number) => number | undefined): void {
    for (const f of this.#files) if (f.endPhyOffset >= physicalOffset) f.truncate(physicalOffset, storeTimeOf);
    this.#recomputeLastIndexed();
  }

  #topicHash(topic: string): number {
    let h = this.#topicHashes.get(topic);
    if (h === undefined) {
      if (this.#topicHashes.size > 4096) this.#topicHashes.clear();
      h = continueHash(0, topic + '#');
      this.#topicHashes.set(topic, h);
    }
    return h;
  }

  /** BuildIndex: idempotent, by CommitLog offset; rolled-back transaction records are skipped. */
  dispatch(request: DispatchRequest): void {
    const phy = request.commitLogOffset;
    if (phy < this.#lastIndexedPhy) return;
    const hashes = this.#hashes(request);
    if (hashes === undefined) return;
    // The last record indexed may have had keys left to file when its file ended (the file
    // after it lost): each key is filed unless it is already there.
    const again = phy === this.#lastIndexedPhy;
    // A record is indexed whole or not at all: its entries' blocks are reserved in one file before
    // the first is written, so a full disk (ERR_STORE_IO) leaves nothing to repeat or to miss when
    // dispatch tries the record again, here or after a restart. Where writes cannot be reserved
    // ahead (the fs backend), the entries already put are remembered and not put again.
    const done = !again && this.#partial?.phy === phy ? this.#partial.done : 0;
    const toPut = again ? hashes.filter((h) => !this.#hasEntry(h, phy)) : hashes.slice(done);
    this.#prepare(toPut.length);
    const ts = request.storeTimestamp;
    for (let i = 0; i < toPut.length; i++) {
      try {
        this.#put(toPut[i] ?? 0, phy, ts);
      } catch (err) {
        if (!again) this.#partial = { phy, done: done + i };
        throw err;
      }
    }
    this.#partial = undefined;
    this.#lastIndexedPhy = phy;
  }

  #hasEntry(hash: number, phy: number): boolean {
    for (let i = this.#files.length - 1; i >= 0; i--) {
      const f = this.#files[i];
      if (f === undefined || f.indexCount <= 1) continue;
      if (f.endPhyOffset < phy) return false;
      if (f.hasEntry(hash, phy)) return true;
    }
    return false;
  }

  /** The slot hashes of the record's UNIQ_KEY and each KEYS token; undefined for a record never indexed. */
  #hashes(request: DispatchRequest): number[] | undefined {
    if (transactionType(request.sysFlag) === SysFlag.TRANSACTION_ROLLBACK_TYPE) return undefined;
    const topicHash = this.#topicHash(request.topic);
    const hashes: number[] = [];
    if (request.uniqKey !== '') hashes.push(positiveHash(continueHash(topicHash, request.uniqKey)));
    const keys = request.keys;
    if (keys !== '') {
      if (!keys.includes(KEY_SEPARATOR)) {
        hashes.push(positiveHash(continueHash(topicHash, keys)));
      } else {
        for (const key of keys.split(KEY_SEPARATOR)) if (key !== '') hashes.push(positiveHash(continueHash(topicHash, key)));
      }
    }
    return hashes;
  }

  /** Files the record's entries through `put` (a gap being filled); false for a record never indexed. */
  #index(request: DispatchRequest, put: (hash: number, phy: number, ts: number) => void): boolean {
    const hashes = this.#hashes(request);
    if (hashes === undefined) return false;
    for (const h of hashes) put(h, request.commitLogOffset, request.storeTimestamp);
    return true;
  }

  /** The last file, or a new one, with the blocks of the next `count` entries reserved. */
  #prepare(count: number): void {
    if (count <= 0) return;
    const last = this.#files[this.#files.length - 1];
    if (last !== undefined && last.reserveEntries(count)) return;
    // more entries than one file holds: they roll from file to file as they are put
    if (count > this.#options.indexNum - 1) return;
    // the empty file stays when its reservation fails: the next attempt reserves it again
    this.#newFile(last).reserveEntries(count);
  }

  #put(hash: number, phy: number, ts: number): void {
    let file = this.#files[this.#files.length - 1];
    if (file === undefined || !file.putKey(hash, phy, ts)) {
      file = this.#newFile(file);
      file.putKey(hash, phy, ts);
    }
  }

  #newFile(previous: IndexFile | undefined): IndexFile {
    fs.mkdirSync(this.#dir, { recursive: true });
    // Named by creation time, and always after the last file so that name order stays creation
    // order even when the clock is behind (then the name is just the last one plus one).
    let name = timeToIndexFileName(this.#options.clock.now());
    const lastName = this.#files.length > 0 ? path.basename(this.#files[this.#files.length - 1]?.path ?? '') : '';
    const after = (n: string): string => (BigInt(n) + 1n).toString().padStart(17, '0');
    if (lastName !== '' && name <= lastName) name = after(lastName);
    while (fs.existsSync(path.join(this.#dir, name))) name = after(name);
    const file = IndexFile.create(
      path.join(this.#dir, name),
      this.#options.slotNum,
      this.#options.indexNum,
      previous?.endPhyOffset ?? 0,
      previous?.endTimestamp ?? 0,
      this.#options,
    );
    if (previous !== undefined) this.#pendingFlush.push(previous);
    this.#files.push(file);
    return file;
  }

  /**
   * CommitLog offsets of messages filed under `topic#key` with a store time that may lie in
   * [begin, end], newest file first (ROCKETMQ.md 3.4). Without `accept`, hash collisions are
   * included as in RocketMQ; with it, only offsets it accepts count towards maxNum.
   */
  queryOffsets(topic: string, key: string, maxNum: number, begin: number, end: number, accept?: (phy: number) => boolean): number[] {
    const out: number[] = [];
    const hash = indexKeyHash(topic, key);
    // A record indexed again after a lost file may be in two files: each offset counts once.
    const seen = new Set<number>();
    const once = (phy: number): boolean => {
      if (seen.has(phy)) return false;
      seen.add(phy);
      return accept === undefined || accept(phy);
    };
    for (let i = this.#files.length - 1; i >= 0 && out.length < maxNum; i--) {
      const f = this.#files[i];
      if (f === undefined || f.indexCount <= 1) continue;
      if (f.beginTimestamp <= end && f.endTimestamp + 999 >= begin) f.selectPhyOffsets(out, hash, maxNum, begin, end, once);
      if (f.beginTimestamp < begin) break;
    }
    return out;
  }

  /**
   * Flushes full files not yet durable (and, with `all`, the current one too); returns the end
   * time of the newest full file now durable, or undefined when none became so.
   */
  flush(all: boolean): number | undefined {
    let durable: number | undefined;
    for (const f of this.#pendingFlush) {
      f.flush();
      durable = f.endTimestamp;
    }
    this.#pendingFlush = [];
    if (all) this.#files[this.#files.length - 1]?.flush();
    return durable;
  }

  /** Deletes files (not the current one) whose entries all point below `minPhysicalOffset`. */
  deleteExpiredFiles(minPhysicalOffset: number, max: number): number {
    let n = 0;
    while (n < max && this.#files.length > 1) {
      const f = this.#files[0];
      if (f === undefined || f.endPhyOffset >= minPhysicalOffset) break;
      f.destroy();
      this.#files.shift();
      this.#pendingFlush = this.#pendingFlush.filter((p) => p !== f);
      n++;
    }
    return n;
  }

  close(): void {
    for (const f of this.#files) f.close();
    this.#files = [];
    this.#pendingFlush = [];
  }
}
