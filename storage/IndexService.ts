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

export class IndexService implements CommitLogDispatcher {
  readonly #options: IndexServiceOptions;
  readonly #dir: string;
  #files: IndexFile[] = [];
  /** Full files not yet flushed. */
  #pendingFlush: IndexFile[] = [];
  /** CommitLog offset of the last record indexed; -1 when none. */
  #lastIndexedPhy = -1;
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

  load(): void {
    if (!fs.existsSync(this.#dir)) return;
    const size = indexFileSize(this.#options.slotNum, this.#options.indexNum);
    for (const name of fs.readdirSync(this.#dir).filter((n) => /^\d{17}$/.test(n)).sort()) {
      const file = path.join(this.#dir, name);
      const actual = fs.statSync(file).size;
      if (actual !== size) {
        throw new PetrelError(
          'ERR_STORE_CORRUPT',
          `${file} is ${actual} bytes, not ${size}: was maxHashSlotNum or maxIndexNum changed since it was written?`,
        );
      }
      this.#files.push(IndexFile.open(file, this.#options.slotNum, this.#options.indexNum, this.#options));
    }
    this.#recomputeLastIndexed();
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
    if (request.commitLogOffset <= this.#lastIndexedPhy) return;
    if (transactionType(request.sysFlag) === SysFlag.TRANSACTION_ROLLBACK_TYPE) return;
    const topicHash = this.#topicHash(request.topic);
    const phy = request.commitLogOffset;
    const ts = request.storeTimestamp;
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
    // A record is indexed whole or not at all: its entries' blocks are reserved in one file before
    // the first is written, so a full disk (ERR_STORE_IO) leaves nothing to repeat or to miss when
    // dispatch tries the record again, here or after a restart. Where writes cannot be reserved
    // ahead (the fs backend), the entries already put are remembered and not put again.
    const done = this.#partial?.phy === phy ? this.#partial.done : 0;
    this.#prepare(hashes.length - done);
    for (let i = done; i < hashes.length; i++) {
      try {
        this.#put(hashes[i] ?? 0, phy, ts);
      } catch (err) {
        this.#partial = { phy, done: i };
        throw err;
      }
    }
    this.#partial = undefined;
    this.#lastIndexedPhy = phy;
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
    for (let i = this.#files.length - 1; i >= 0 && out.length < maxNum; i--) {
      const f = this.#files[i];
      if (f === undefined || f.indexCount <= 1) continue;
      if (f.beginTimestamp <= end && f.endTimestamp + 999 >= begin) f.selectPhyOffsets(out, hash, maxNum, begin, end, accept);
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
