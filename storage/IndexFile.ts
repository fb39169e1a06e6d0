/**
 * One IndexFile: an on-disk hash table from message keys to CommitLog offsets (ROCKETMQ.md 3.1).
 *
 * | region  | offset                    | size            | content                                      |
 * |---------|---------------------------|-----------------|----------------------------------------------|
 * | header  | 0                         | 40              | see OFF_* below                              |
 * | slots   | 40                        | slotNum * 4     | int: number of the newest entry (0 = empty)  |
 * | entries | 40 + slotNum * 4 + n * 20 | indexNum * 20   | entry n (1-based; entry 0 is never used)     |
 *
 * Entry: int key hash (non-negative) @0, long CommitLog offset @4, int seconds since the
 * header's beginTimestamp @12, int previous entry in the same slot @16 (0 ends the chain).
 *
 * Owner: the dispatcher. The header is rewritten on every put, so a process crash leaves a
 * consistent file; after an OS crash the files not known flushed are rebuilt by recovery.
 */
import { log } from '../common/diagnostics.js';
import { MappedFile, type MappedFileOptions } from './MappedFile.js';

export const INDEX_HEADER_SIZE = 40;
const OFF_BEGIN_TIMESTAMP = 0;
const OFF_END_TIMESTAMP = 8;
const OFF_BEGIN_PHY_OFFSET = 16;
const OFF_END_PHY_OFFSET = 24;
const OFF_HASH_SLOT_COUNT = 32;
const OFF_INDEX_COUNT = 36;

export const HASH_SLOT_SIZE = 4;
export const INDEX_ENTRY_SIZE = 20;
const OFF_ENTRY_HASH = 0;
const OFF_ENTRY_PHY_OFFSET = 4;
const OFF_ENTRY_TIME_DIFF = 12;
const OFF_ENTRY_PREV = 16;

const INT_MAX = 0x7fffffff;

export function indexFileSize(slotNum: number, indexNum: number): number {
  return INDEX_HEADER_SIZE + slotNum * HASH_SLOT_SIZE + indexNum * INDEX_ENTRY_SIZE;
}

export class IndexFile {
  readonly file: MappedFile;
  readonly slotNum: number;
  readonly indexNum: number;
  #beginTimestamp: number;
  #endTimestamp: number;
  #beginPhyOffset: number;
  #endPhyOffset: number;
  #hashSlotCount: number;
  #indexCount: number;

  private constructor(file: MappedFile, slotNum: number, indexNum: number) {
    this.file = file;
    this.slotNum = slotNum;
    this.indexNum = indexNum;
    this.#beginTimestamp = file.getLong(OFF_BEGIN_TIMESTAMP);
    this.#endTimestamp = file.getLong(OFF_END_TIMESTAMP);
    this.#beginPhyOffset = file.getLong(OFF_BEGIN_PHY_OFFSET);
    this.#endPhyOffset = file.getLong(OFF_END_PHY_OFFSET);
    this.#hashSlotCount = file.getInt32(OFF_HASH_SLOT_COUNT);
    this.#indexCount = Math.max(1, file.getInt32(OFF_INDEX_COUNT));
  }

  /**
   * A new, empty file. Like RocketMQ, it starts from the previous file's end offset and time,
   * so queries and re-dispatch know where it begins even before its first entry.
   */
  static create(path: string, slotNum: number, indexNum: number, previousEndPhy: number, previousEndTime: number, options: MappedFileOptions): IndexFile {
    // The header and slot table are read and written at random (a query reads any slot), so
    // their blocks are reserved whole before first use, before the file is mapped: a read of a
    // hole through a mapping on a full tmpfs is a SIGBUS too. Entries are reserved as they come.
    const file = MappedFile.create(path, indexFileSize(slotNum, indexNum), 0, options, INDEX_HEADER_SIZE + slotNum * HASH_SLOT_SIZE);
    try {
      const index = new IndexFile(file, slotNum, indexNum);
      index.#beginPhyOffset = index.#endPhyOffset = Math.max(0, previousEndPhy);
      index.#beginTimestamp = index.#endTimestamp = Math.max(0, previousEndTime);
      index.#indexCount = 1;
      index.#hashSlotCount = 0;
      index.#writeHeader();
      return index;
    } catch (err) {
      // a file the disk has no room for is not left behind for the next attempt to step over
      file.destroy();
      throw err;
    }
  }

  static open(path: string, slotNum: number, indexNum: number, options: MappedFileOptions): IndexFile {
    const file = MappedFile.open(path, indexFileSize(slotNum, indexNum), 0, options);
    if (options.readOnly !== true) {
      try {
        file.reserve(0, INDEX_HEADER_SIZE + slotNum * HASH_SLOT_SIZE);
      } catch (err) {
        // Best effort at open: a store on a full disk still starts and serves; writes to the
        // file still pass the guard and fail with ERR_STORE_IO until there is room.
        log('warn', 'index file slots not reserved: the disk has no room', { path, error: err instanceof Error ? err.message : String(err) });
      }
    }
    const index = new IndexFile(file, slotNum, indexNum);
    if (options.readOnly !== true) index.#settleTornPut();
    return index;
  }

  /**
   * A process killed inside putKey can leave the header's end naming the entry just written
   * while its count does not include it yet: the end goes back to the last counted entry (its
   * time to the second the entry stores), so the uncounted record is indexed again.
   */
  #settleTornPut(): void {
    const n = this.#indexCount;
    if (n <= 1 || n >= this.indexNum) return;
    if (this.entryPhyOffset(n - 1) === this.#endPhyOffset || this.entryPhyOffset(n) !== this.#endPhyOffset) return;
    this.#endPhyOffset = this.entryPhyOffset(n - 1);
    this.#endTimestamp = this.#beginTimestamp + this.file.getInt32(this.#entryAt(n - 1) + OFF_ENTRY_TIME_DIFF) * 1000;
    this.#writeHeader();
  }

  get beginTimestamp(): number {
    return this.#beginTimestamp;
  }
  get endTimestamp(): number {
    return this.#endTimestamp;
  }
  get beginPhyOffset(): number {
    return this.#beginPhyOffset;
  }
  get endPhyOffset(): number {
    return this.#endPhyOffset;
  }
  get hashSlotCount(): number {
    return this.#hashSlotCount;
  }
  /** Next entry number; entries are 1 .. indexCount - 1. */
  get indexCount(): number {
    return this.#indexCount;
  }
  get path(): string {
    return this.file.path;
  }

  /**
   * Why the header cannot be right, or undefined when it holds together: counts in range, begin
   * not after end, and (with entries) the first and last entries' offsets equal to the header's
   * begin and end. Damage inside the slots or entries that leaves all of this intact is not seen
   * here; a query still checks every record it is led to, so it never answers a wrong message.
   */
  inconsistency(): string | undefined {
    const f = this.file;
    const count = f.getInt32(OFF_INDEX_COUNT);
    const slots = this.#hashSlotCount;
    if (count < 0 || count > this.indexNum) return `index count ${count} is outside [0, ${this.indexNum}]`;
    if (slots < 0 || slots > this.slotNum || slots > Math.max(0, count - 1)) return `hash slot count ${slots} does not fit ${count} entries in ${this.slotNum} slots`;
    // An empty file's offsets and times are only where the file before it ended.
    if (this.#indexCount <= 1) return undefined;
    if (this.#beginPhyOffset < 0 || this.#endPhyOffset < this.#beginPhyOffset) return `CommitLog offsets ${this.#beginPhyOffset}..${this.#endPhyOffset} are out of order`;
    if (this.#beginTimestamp < 0 || this.#endTimestamp < this.#beginTimestamp) return `store times ${this.#beginTimestamp}..${this.#endTimestamp} are out of order`;
    if (this.entryPhyOffset(1) !== this.#beginPhyOffset) return `its first entry points at ${this.entryPhyOffset(1)}, its header begins at ${this.#beginPhyOffset}`;
    if (this.entryPhyOffset(this.#indexCount - 1) !== this.#endPhyOffset) return `its last entry points at ${this.entryPhyOffset(this.#indexCount - 1)}, its header ends at ${this.#endPhyOffset}`;
    return undefined;
  }

  isFull(): boolean {
    return this.#indexCount >= this.indexNum;
  }

  #writeHeader(): void {
    const f = this.file;
    f.setLong(OFF_BEGIN_TIMESTAMP, this.#beginTimestamp);
    f.setLong(OFF_END_TIMESTAMP, this.#endTimestamp);
    f.setLong(OFF_BEGIN_PHY_OFFSET, this.#beginPhyOffset);
    f.setLong(OFF_END_PHY_OFFSET, this.#endPhyOffset);
    f.setInt32(OFF_HASH_SLOT_COUNT, this.#hashSlotCount);
    f.setInt32(OFF_INDEX_COUNT, this.#indexCount);
  }

  #slotAt(slot: number): number {
    return INDEX_HEADER_SIZE + slot * HASH_SLOT_SIZE;
  }

  #entryAt(n: number): number {
    return INDEX_HEADER_SIZE + this.slotNum * HASH_SLOT_SIZE + n * INDEX_ENTRY_SIZE;
  }

  /**
   * Makes room for the next `count` entries: false when the file cannot take that many, else
   * their blocks are reserved, or ERR_STORE_IO (a full disk) with nothing written. A record's
   * entries are reserved together before the first is written, so a full disk never leaves a
   * record half indexed.
   */
  reserveEntries(count: number): boolean {
    if (this.#indexCount + count > this.indexNum) return false;
    this.file.reserve(this.#entryAt(this.#indexCount), this.#entryAt(this.#indexCount + count));
    return true;
  }

  /** Adds (hash, offset, time) as the newest entry of its slot; false when the file is full. */
  putKey(keyHash: number, physicalOffset: number, storeTimestamp: number): boolean {
    if (this.isFull()) return false;
    const first = this.#indexCount <= 1;
    if (first) {
      this.#beginPhyOffset = physicalOffset;
      this.#beginTimestamp = storeTimestamp;
    }
    const f = this.file;
    const slotPos = this.#slotAt(keyHash % this.slotNum);
    let head = f.getInt32(slotPos);
    if (head <= 0 || head >= this.#indexCount) head = 0;
    const diff = Math.min(INT_MAX, Math.max(0, Math.floor((storeTimestamp - this.#beginTimestamp) / 1000)));
    const n = this.#indexCount;
    const at = this.#entryAt(n);
    f.setInt32(at + OFF_ENTRY_HASH, keyHash);
    f.setLong(at + OFF_ENTRY_PHY_OFFSET, physicalOffset);
    f.setInt32(at + OFF_ENTRY_TIME_DIFF, diff);
    f.setInt32(at + OFF_ENTRY_PREV, head);
    f.setInt32(slotPos, n);
    if (head === 0) {
      this.#hashSlotCount++;
      f.setInt32(OFF_HASH_SLOT_COUNT, this.#hashSlotCount);
    }
    this.#indexCount = n + 1;
    this.#endPhyOffset = physicalOffset;
    this.#endTimestamp = storeTimestamp;
    // Only the header fields that changed: a crash then leaves a consistent header.
    if (first) this.#writeHeader();
    f.setLong(OFF_END_TIMESTAMP, storeTimestamp);
    f.setLong(OFF_END_PHY_OFFSET, physicalOffset);
    f.setInt32(OFF_INDEX_COUNT, this.#indexCount);
    return true;
  }

  /**
   * Collects into `out` (newest first) the offsets of entries with `keyHash` whose time may lie
   * in [begin, end]. Entry times have one-second resolution, so an entry counts when its second
   * overlaps the range. Hash collisions are not filtered here (ROCKETMQ.md 3.4): `accept`, when
   * given, checks the record itself (its keys, its exact store time).
   */
  selectPhyOffsets(
    out: number[],
    keyHash: number,
    maxNum: number,
    begin: number,
    end: number,
    accept: ((phy: number) => boolean) | undefined,
  ): void {
    const f = this.file;
    let next = f.getInt32(this.#slotAt(keyHash % this.slotNum));
    if (next <= 0 || next >= this.#indexCount) return;
    for (let guard = 0; out.length < maxNum && guard < this.#indexCount; guard++) {
      const at = this.#entryAt(next);
      const hash = f.getInt32(at + OFF_ENTRY_HASH);
      const phy = f.getLong(at + OFF_ENTRY_PHY_OFFSET);
      const diff = f.getInt32(at + OFF_ENTRY_TIME_DIFF);
      const prev = f.getInt32(at + OFF_ENTRY_PREV);
      if (diff < 0) break;
      const time = this.#beginTimestamp + diff * 1000;
      if (hash === keyHash && time <= end && time + 999 >= begin && (accept === undefined || accept(phy))) out.push(phy);
      if (prev <= 0 || prev >= next || time + 999 < begin) break;
      next = prev;
    }
  }

  /** True when an entry files CommitLog offset `phy` under `keyHash` (its slot's chain is walked down to older offsets). */
  hasEntry(keyHash: number, phy: number): boolean {
    const f = this.file;
    let next = f.getInt32(this.#slotAt(keyHash % this.slotNum));
    for (let guard = 0; next > 0 && next < this.#indexCount && guard < this.#indexCount; guard++) {
      const at = this.#entryAt(next);
      const entryPhy = f.getLong(at + OFF_ENTRY_PHY_OFFSET);
      if (entryPhy === phy && f.getInt32(at + OFF_ENTRY_HASH) === keyHash) return true;
      if (entryPhy < phy) return false;
      const prev = f.getInt32(at + OFF_ENTRY_PREV);
      if (prev >= next) return false;
      next = prev;
    }
    return false;
  }

  /** CommitLog offset of entry `n` (1-based). */
  entryPhyOffset(n: number): number {
    return this.file.getLong(this.#entryAt(n) + OFF_ENTRY_PHY_OFFSET);
  }

  /**
   * Removes the entries pointing at or past `physicalOffset` (recovery cut the CommitLog there),
   * unlinking them from their slots and zeroing them. Entries are in CommitLog order, so the cut
   * is found by binary search. `storeTimeOf` gives the new end time from the CommitLog.
   */
  truncate(physicalOffset: number, storeTimeOf: (phy: number) => number | undefined): void {
    let lo = 1;
    let hi = this.#indexCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entryPhyOffset(mid) < physicalOffset) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= this.#indexCount) return;
    const f = this.file;
    for (let n = this.#indexCount - 1; n >= lo; n--) {
      const at = this.#entryAt(n);
      const slotPos = this.#slotAt(f.getInt32(at + OFF_ENTRY_HASH) % this.slotNum);
      if (f.getInt32(slotPos) === n) {
        const prev = f.getInt32(at + OFF_ENTRY_PREV);
        f.setInt32(slotPos, prev);
        if (prev === 0) this.#hashSlotCount--;
      }
      f.fill(0, at, at + INDEX_ENTRY_SIZE);
    }
    this.#indexCount = lo;
    if (lo > 1) {
      this.#endPhyOffset = this.entryPhyOffset(lo - 1);
      this.#endTimestamp = storeTimeOf(this.#endPhyOffset) ?? this.#endTimestamp;
    } else {
      this.#endPhyOffset = this.#beginPhyOffset;
      this.#endTimestamp = this.#beginTimestamp;
    }
    this.#writeHeader();
  }

  flush(): void {
    this.file.forceSync();
  }

  close(): void {
    this.file.close();
  }

  destroy(): void {
    this.file.destroy();
  }
}
