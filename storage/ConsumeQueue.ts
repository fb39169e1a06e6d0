/**
 * One ConsumeQueue: the index of one topic's queue into the CommitLog (ROCKETMQ.md 2.1). Queue
 * offset n is the unit at logical byte n * 20:
 *
 * | offset | size | field                                                |
 * |--------|------|------------------------------------------------------|
 * | 0      | 8    | CommitLog physical offset                            |
 * | 8      | 4    | record size (TOTALSIZE)                              |
 * | 12     | 8    | tag hash code (delivery time for SCHEDULE_TOPIC_XXXX) |
 *
 * With the ConsumeQueue extension on, the tag slot holds the address of the message's extension
 * unit instead (ROCKETMQ.md 2.2, ConsumeQueueExt.ts): extOffset + Long.MIN_VALUE, a long no double
 * holds exactly. In memory such a unit carries tagsCode = EXT_TAGS_CODE_BASE - extOffset, which is
 * exact, and like the address is <= Integer.MIN_VALUE - 1, the test RocketMQ uses (isExtTagsCode).
 *
 * Files hold mappedFileSizeConsumeQueue bytes (300,000 units) and are named by the logical
 * byte offset of their first unit. A "pre-blank" unit (0, 0x7FFFFFFF, 0) fills queue offsets
 * that never held a message. A unit is valid when phyOffset >= 0 and size > 0.
 *
 * Owner: the dispatcher (the MessageStore in one thread; the dispatcher actor later); readers on
 * other threads open read-only copies. At open, recover() sets the positions from the units,
 * truncateDirtyLogicFiles() removes units pointing past the CommitLog's end, and files missing
 * in the middle or holding invalid units (inspect) are rebuilt from the CommitLog.
 */
import fs from 'node:fs';
import path from 'node:path';
import { MappedFileQueue } from './MappedFileQueue.js';
import { MappedFile } from './MappedFile.js';
import { offsetToFileName } from './StorePaths.js';
import type { MappedFileBackendKind, SyncMethod } from './FileBackend.js';
import { getLong, setLong } from './Long.js';

export const CQ_STORE_UNIT_SIZE = 20;
const OFF_UNIT_PHYSICAL_OFFSET = 0;
const OFF_UNIT_SIZE = 8;
const OFF_UNIT_TAGS_CODE = 12;
/** Size of a pre-blank unit (Integer.MAX_VALUE). */
export const BLANK_UNIT_SIZE = 0x7fffffff;
/** Integer.MIN_VALUE - 1: the in-memory tag code of extension offset 0; lower codes are later offsets. */
export const EXT_TAGS_CODE_BASE = -2_147_483_649;
const TWO_POW_31 = 2_147_483_648;
const TWO_POW_32 = 4_294_967_296;

/** True when a unit's tagsCode stands for an extension unit rather than a tag hash. */
export function isExtTagsCode(tagsCode: number): boolean {
  return tagsCode <= EXT_TAGS_CODE_BASE;
}

/** The in-memory tag code of the extension unit at `extOffset`. */
export function extTagsCode(extOffset: number): number {
  return EXT_TAGS_CODE_BASE - extOffset;
}

/** The extension offset a tag code stands for (isExtTagsCode must hold). */
export function extOffsetOf(tagsCode: number): number {
  return EXT_TAGS_CODE_BASE - tagsCode;
}

/** One unit, read into a caller-owned object. */
export interface CqUnit {
  physicalOffset: number;
  size: number;
  tagsCode: number;
}

/**
 * Files of a queue to rebuild: logical bytes [from, to) (whole files), whose records lie in the
 * CommitLog after `phyFrom` (-1: from its start) and before `phyTo`.
 */
export interface CqDamage {
  readonly from: number;
  readonly to: number;
  readonly phyFrom: number;
  readonly phyTo: number;
}

export function emptyCqUnit(): CqUnit {
  return { physicalOffset: 0, size: 0, tagsCode: 0 };
}

export interface ConsumeQueueOptions {
  readonly topic: string;
  readonly queueId: number;
  readonly dir: string;
  /** mappedFileSizeConsumeQueue, a multiple of 20 */
  readonly fileSize: number;
  readonly backend: MappedFileBackendKind;
  readonly syncMethod?: SyncMethod;
  readonly readOnly?: boolean;
}

export class ConsumeQueue {
  readonly topic: string;
  readonly queueId: number;
  #queue: MappedFileQueue;
  readonly #options: ConsumeQueueOptions;
  /** End (offset + size) of the furthest CommitLog record this queue points to; -1 when empty. */
  #maxPhysicOffset = -1;
  /** Logical byte offset of the first unit still usable. */
  #minLogicOffset = 0;
  /** The furthest end recover() found in the files (before any cut at the CommitLog's end). */
  #unitsEnd = 0;
  /** The queue's end when a rebuild began. */
  #rebuildFloor = 0;

  constructor(options: ConsumeQueueOptions) {
    this.topic = options.topic;
    this.queueId = options.queueId;
    this.#options = options;
    this.#queue = this.#newQueue();
  }

  #newQueue(): MappedFileQueue {
    const options = this.#options;
    return new MappedFileQueue({
      dir: options.dir,
      fileSize: options.fileSize,
      backend: options.backend,
      ...(options.readOnly === undefined ? {} : { readOnly: options.readOnly }),
      ...(options.syncMethod === undefined ? {} : { syncMethod: options.syncMethod }),
    });
  }

  /** The queue's files (replaced when a rebuild fills a gap). */
  get queue(): MappedFileQueue {
    return this.#queue;
  }

  load(): void {
    this.queue.load();
    this.#minLogicOffset = this.queue.minOffset();
  }

  get maxPhysicOffset(): number {
    return this.#maxPhysicOffset;
  }

  /** First queue offset that can be read. */
  get minOffsetInQueue(): number {
    return this.#minLogicOffset / CQ_STORE_UNIT_SIZE;
  }

  /** Queue offset the next message will get. */
  get maxOffsetInQueue(): number {
    return this.queue.maxOffset() / CQ_STORE_UNIT_SIZE;
  }

  /**
   * Sets the positions from the units: every file but the last is full, and the last ends after
   * its last non-zero unit. Nothing is cut here: units that do not make sense (zeroed, out of
   * order, torn) are found by `inspect` and rebuilt from the CommitLog (ConsumeQueueRepair.ts),
   * and units past the CommitLog's end are removed by truncateDirtyLogicFiles. Returns the end.
   */
  recover(): number {
    const files = this.queue.files;
    const last = files[files.length - 1];
    for (const file of files) {
      if (file === last) break;
      file.wrotePosition = file.flushedPosition = file.fileSize;
    }
    let end = this.queue.minOffset();
    if (last !== undefined) {
      // The end of the last non-zero unit, found without touching the file's unwritten pages.
      const lastByte = last.lastNonZero(0, last.fileSize - (last.fileSize % CQ_STORE_UNIT_SIZE));
      const pos = lastByte < 0 ? 0 : (Math.floor(lastByte / CQ_STORE_UNIT_SIZE) + 1) * CQ_STORE_UNIT_SIZE;
      last.wrotePosition = last.flushedPosition = pos;
      end = last.fileFromOffset + pos;
    }
    this.queue.flushedWhere = end;
    this.#maxPhysicOffset = this.#lastUnitEnd();
    this.#unitsEnd = Math.max(this.#unitsEnd, end);
    return end;
  }

  /**
   * Logical byte ranges [from, to) of whole files that are missing between the first and the
   * last file, or hold a unit that cannot be right: zeroed, pointing before the unit ahead of it
   * or past `logEnd`. Units of one queue are written in CommitLog order, so every real unit
   * starts at or after the end of the one before it. Each range comes with the CommitLog span its
   * records must lie in: after the last sound unit before it, before the first sound unit after it.
   */
  inspect(logEnd: number): CqDamage[] {
    const out: CqDamage[] = [];
    const unit = emptyCqUnit();
    const files = this.queue.files;
    const size = this.queue.fileSize;
    let prevEnd = -1;
    let open: { from: number; phyFrom: number } | undefined;
    const close = (to: number, phyTo: number): void => {
      if (open === undefined) return;
      out.push({ from: open.from, to, phyFrom: open.phyFrom, phyTo });
      open = undefined;
    };
    let expected = files[0]?.fileFromOffset ?? 0;
    for (let i = 0; i < files.length; i++) {
      const file = files[i] as MappedFile;
      if (file.fileFromOffset > expected) open ??= { from: expected, phyFrom: prevEnd };
      expected = file.fileFromOffset + size;
      const isLast = i === files.length - 1;
      const limit = isLast ? file.wrotePosition : file.fileSize - (file.fileSize % CQ_STORE_UNIT_SIZE);
      let bad = false;
      let firstPhy = -1;
      let fileEnd = prevEnd;
      for (let pos = 0; pos + CQ_STORE_UNIT_SIZE <= limit; pos += CQ_STORE_UNIT_SIZE) {
        readUnit(file, pos, unit);
        if (unit.size === BLANK_UNIT_SIZE && unit.physicalOffset === 0) continue;
        if (unit.physicalOffset < 0 || unit.size <= 0 || unit.size === BLANK_UNIT_SIZE || unit.physicalOffset < fileEnd || unit.physicalOffset + unit.size > logEnd) {
          bad = true;
          break;
        }
        if (firstPhy < 0) firstPhy = unit.physicalOffset;
        fileEnd = unit.physicalOffset + unit.size;
      }
      if (bad) {
        open ??= { from: file.fileFromOffset, phyFrom: prevEnd };
        continue;
      }
      close(file.fileFromOffset, firstPhy >= 0 ? firstPhy : logEnd);
      prevEnd = fileEnd;
    }
    if (open !== undefined) close(expected, logEnd);
    return out;
  }

  /**
   * The files at the end of the queue that are gone: the queue ends before `expected.maxOffset`,
   * the end it had when it was last closed (ConsumeQueueEnds.ts). Whole files from the one the
   * queue ends in (or the saved min offset's, when the queue has nothing) to the saved end; their
   * records lie after the last unit before that file and no later than the saved last record.
   */
  tailDamage(expected: { readonly minOffset: number; readonly maxOffset: number; readonly maxPhysicOffset: number }, logEnd: number): CqDamage | undefined {
    const max = this.maxOffsetInQueue;
    const phyTo = expected.maxPhysicOffset < 0 ? logEnd : Math.min(expected.maxPhysicOffset, logEnd);
    // Units found at open reaching the saved end: the queue is shorter now only because the
    // CommitLog was cut, and the records of the units cut are gone with it.
    if (this.#unitsEnd / CQ_STORE_UNIT_SIZE >= expected.maxOffset || max >= expected.maxOffset) return undefined;
    const size = this.queue.fileSize;
    const start = (this.queue.files.length === 0 ? Math.max(max, expected.minOffset) : max) * CQ_STORE_UNIT_SIZE;
    const from = start - (start % size);
    const to = Math.ceil((expected.maxOffset * CQ_STORE_UNIT_SIZE) / size) * size;
    const unit = emptyCqUnit();
    let phyFrom = -1;
    for (let q = from / CQ_STORE_UNIT_SIZE - 1; q >= this.minOffsetInQueue && this.getUnit(q, unit); q--) {
      if (unit.size === BLANK_UNIT_SIZE) continue;
      phyFrom = unit.physicalOffset + unit.size;
      break;
    }
    return { from, to, phyFrom, phyTo };
  }

  /**
   * Makes the files of `damage` exist and zeroes them, for their units to be written again from
   * the CommitLog with putRebuiltUnit and closed with endRebuild.
   */
  beginRebuild(damage: CqDamage): void {
    this.#rebuildFloor = this.queue.maxOffset();
    const size = this.queue.fileSize;
    let created = false;
    for (let from = damage.from; from < damage.to; from += size) {
      const file = this.queue.findByOffset(from);
      if (file !== undefined && file.fileFromOffset === from) {
        file.fill(0, 0, file.fileSize);
        continue;
      }
      fs.mkdirSync(this.#options.dir, { recursive: true });
      MappedFile.create(path.join(this.#options.dir, offsetToFileName(from)), size, from, this.#options).close();
      created = true;
    }
    if (created) {
      // The queue only appends files at its end: a file made in a gap is picked up by reloading.
      this.#queue.close();
      this.#queue = this.#newQueue();
      this.#queue.load();
      this.recover();
    }
    for (let from = damage.from; from < damage.to; from += size) {
      const file = this.queue.findByOffset(from);
      if (file !== undefined) file.wrotePosition = file.flushedPosition = 0;
    }
  }

  /** Writes a unit found in the CommitLog for a queue offset inside a range being rebuilt. */
  putRebuiltUnit(queueOffset: number, physicalOffset: number, size: number, tagsCode: number): void {
    const logical = queueOffset * CQ_STORE_UNIT_SIZE;
    const file = this.queue.findByOffset(logical);
    if (file === undefined) return;
    const pos = logical - file.fileFromOffset;
    writeUnit(file, pos, physicalOffset, size, tagsCode);
    file.wrotePosition = Math.max(file.wrotePosition, pos + CQ_STORE_UNIT_SIZE);
  }

  /**
   * Ends a rebuild: queue offsets no record claimed become pre-blank units (a file before the last
   * is full; the last ends after its last unit, and no earlier than the queue ended before the
   * rebuild) and the positions are set again.
   */
  endRebuild(damage: CqDamage): void {
    const size = this.queue.fileSize;
    const last = this.queue.last();
    for (let from = damage.from; from < damage.to; from += size) {
      const file = this.queue.findByOffset(from);
      if (file === undefined) continue;
      // The queue never ends before it did: offsets it had handed out are not handed out again.
      const whole = file.fileSize - (file.fileSize % CQ_STORE_UNIT_SIZE);
      const upTo = file === last ? Math.max(file.wrotePosition, Math.min(whole, this.#rebuildFloor - file.fileFromOffset)) : whole;
      for (let pos = 0; pos < upTo; pos += CQ_STORE_UNIT_SIZE) {
        if (isZeroUnit(file, pos)) writeUnit(file, pos, 0, BLANK_UNIT_SIZE, 0);
      }
      file.wrotePosition = upTo;
      file.flush(0);
    }
    this.recover();
  }

  #lastUnitEnd(): number {
    const max = this.maxOffsetInQueue;
    const unit = emptyCqUnit();
    for (let q = max - 1; q >= this.minOffsetInQueue; q--) {
      if (!this.getUnit(q, unit)) break;
      if (unit.size !== BLANK_UNIT_SIZE) return unit.physicalOffset + unit.size;
    }
    return -1;
  }

  /**
   * Writes the unit of queue offset `queueOffset`. Idempotent (ROCKETMQ.md 2.6): a record
   * already covered (offset + size <= maxPhysicOffset) or a queue offset already written is
   * skipped. Queue offsets never written before it are filled with pre-blank units.
   */
  putMessagePositionInfo(physicalOffset: number, size: number, tagsCode: number, queueOffset: number): void {
    if (physicalOffset + size <= this.#maxPhysicOffset) return;
    const expected = queueOffset * CQ_STORE_UNIT_SIZE;
    let file = this.queue.lastWritable(expected);
    const first = this.queue.files.length === 1 && file.wrotePosition === 0;
    if (expected < file.fileFromOffset + file.wrotePosition) return;
    while (file.fileFromOffset + file.wrotePosition < expected) {
      writeUnit(file, file.wrotePosition, 0, BLANK_UNIT_SIZE, 0);
      file.wrotePosition += CQ_STORE_UNIT_SIZE;
      if (file.isFull()) file = this.queue.lastWritable(expected);
    }
    if (first) this.#minLogicOffset = expected;
    writeUnit(file, file.wrotePosition, physicalOffset, size, tagsCode);
    file.wrotePosition += CQ_STORE_UNIT_SIZE;
    this.#maxPhysicOffset = physicalOffset + size;
  }

  /** Reads the unit of `queueOffset` into `out`; false when it is not stored. */
  getUnit(queueOffset: number, out: CqUnit): boolean {
    const logical = queueOffset * CQ_STORE_UNIT_SIZE;
    if (logical < this.#minLogicOffset) return false;
    const file = this.queue.findByOffset(logical);
    if (file === undefined) return false;
    const pos = logical - file.fileFromOffset;
    if (pos + CQ_STORE_UNIT_SIZE > file.wrotePosition) return false;
    readUnit(file, pos, out);
    return true;
  }

  /** The first queue offset at or after `queueOffset` that has a stored unit (max offset when none). */
  nextStoredOffset(queueOffset: number): number {
    const logical = Math.max(queueOffset * CQ_STORE_UNIT_SIZE, this.#minLogicOffset);
    for (const file of this.queue.files) {
      if (file.fileFromOffset + file.wrotePosition > logical) return Math.max(logical, file.fileFromOffset) / CQ_STORE_UNIT_SIZE;
    }
    return this.maxOffsetInQueue;
  }

  /**
   * Removes units pointing at or past CommitLog offset `physicalOffset` (the CommitLog was cut
   * there) and zeroes them, so no later scan takes them for valid units.
   */
  truncateDirtyLogicFiles(physicalOffset: number): void {
    const unit = emptyCqUnit();
    let cut = this.queue.maxOffset() / CQ_STORE_UNIT_SIZE;
    while (cut > this.minOffsetInQueue && this.getUnit(cut - 1, unit)) {
      if (unit.size !== BLANK_UNIT_SIZE && unit.physicalOffset < physicalOffset) break;
      cut--;
    }
    const logical = cut * CQ_STORE_UNIT_SIZE;
    if (logical === this.queue.maxOffset()) return;
    const file = this.queue.findByOffset(logical);
    if (file !== undefined && logical - file.fileFromOffset < file.wrotePosition) {
      file.fill(0, logical - file.fileFromOffset, file.wrotePosition);
    }
    this.queue.truncateDirtyFiles(logical, false);
    if (logical < this.#minLogicOffset) this.#minLogicOffset = logical;
    this.#maxPhysicOffset = this.#lastUnitEnd();
  }

  /**
   * Moves the min offset to the first unit pointing at or past `minPhysicalOffset` (the oldest
   * CommitLog byte still stored). Units are in CommitLog order, so each file is binary-searched.
   */
  correctMinOffset(minPhysicalOffset: number): void {
    const unit = emptyCqUnit();
    const below = (file: MappedFile, pos: number): boolean => {
      readUnit(file, pos, unit);
      return unit.size === BLANK_UNIT_SIZE || unit.physicalOffset < minPhysicalOffset;
    };
    for (const file of this.queue.files) {
      const units = file.wrotePosition / CQ_STORE_UNIT_SIZE;
      if (units === 0 || file.fileFromOffset + file.wrotePosition <= this.#minLogicOffset) continue;
      if (below(file, (units - 1) * CQ_STORE_UNIT_SIZE)) continue;
      let lo = 0;
      let hi = units - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (below(file, mid * CQ_STORE_UNIT_SIZE)) lo = mid + 1;
        else hi = mid;
      }
      this.#minLogicOffset = Math.max(this.#minLogicOffset, file.fileFromOffset + lo * CQ_STORE_UNIT_SIZE);
      return;
    }
    this.#minLogicOffset = Math.max(this.#minLogicOffset, this.queue.maxOffset());
  }

  /** Deletes files whose every unit points below `minPhysicalOffset`; then corrects the min. */
  deleteExpiredFiles(minPhysicalOffset: number, max: number): number {
    const unit = emptyCqUnit();
    const n = this.queue.deleteFirstFiles(max, (file) => {
      if (file.wrotePosition < CQ_STORE_UNIT_SIZE) return false;
      readUnit(file, file.wrotePosition - CQ_STORE_UNIT_SIZE, unit);
      return unit.size !== BLANK_UNIT_SIZE && unit.physicalOffset + unit.size <= minPhysicalOffset;
    });
    if (n > 0) this.#minLogicOffset = Math.max(this.#minLogicOffset, this.queue.minOffset());
    this.correctMinOffset(minPhysicalOffset);
    return n;
  }

  /**
   * The queue offset nearest a store time, by binary search over the units, reading each probe's
   * store time through `storeTimeOf` (ROCKETMQ.md 2.5). 'lower': the first message stored at or
   * after `timestamp` (max offset when none); 'upper': the last stored at or before it (min
   * offset when none).
   */
  getOffsetInQueueByTime(timestamp: number, boundary: 'lower' | 'upper', storeTimeOf: (unit: CqUnit) => number | undefined): number {
    const unit = emptyCqUnit();
    let lo = this.minOffsetInQueue;
    let hi = this.maxOffsetInQueue;
    const timeAt = (q: number): number => (this.getUnit(q, unit) ? (storeTimeOf(unit) ?? Number.NEGATIVE_INFINITY) : Number.NEGATIVE_INFINITY);
    if (boundary === 'lower') {
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (timeAt(mid) < timestamp) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    }
    const min = lo;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (timeAt(mid) <= timestamp) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(min, lo - 1);
  }

  flush(leastPages: number): number {
    return this.queue.flush(leastPages);
  }

  close(): void {
    this.queue.close();
  }

  destroy(): void {
    this.queue.destroy();
    this.#maxPhysicOffset = -1;
    this.#minLogicOffset = 0;
  }
}

/** True when all 20 bytes of the unit at `pos` are zero (never written). */
function isZeroUnit(file: MappedFile, pos: number): boolean {
  return file.getInt32(pos) === 0 && file.getInt32(pos + 4) === 0 && file.getInt32(pos + 8) === 0 && file.getInt32(pos + 12) === 0 && file.getInt32(pos + 16) === 0;
}

function readUnit(file: MappedFile, pos: number, out: CqUnit): void {
  const view = file.view;
  if (view !== undefined) {
    out.physicalOffset = getLong(view, pos + OFF_UNIT_PHYSICAL_OFFSET);
    out.size = view.getInt32(pos + OFF_UNIT_SIZE);
    out.tagsCode = getLong(view, pos + OFF_UNIT_TAGS_CODE);
    if (isExtTagsCode(out.tagsCode)) out.tagsCode = extSlotTagsCode(view.getInt32(pos + OFF_UNIT_TAGS_CODE), view.getUint32(pos + OFF_UNIT_TAGS_CODE + 4));
  } else {
    out.physicalOffset = file.getLong(pos + OFF_UNIT_PHYSICAL_OFFSET);
    out.size = file.getInt32(pos + OFF_UNIT_SIZE);
    out.tagsCode = file.getLong(pos + OFF_UNIT_TAGS_CODE);
    if (isExtTagsCode(out.tagsCode)) out.tagsCode = extSlotTagsCode(file.getInt32(pos + OFF_UNIT_TAGS_CODE), file.getInt32(pos + OFF_UNIT_TAGS_CODE + 4) >>> 0);
  }
}

/** The tag code of a slot holding an extension address, from its high and low words (exact, where getLong is not). */
function extSlotTagsCode(high: number, low: number): number {
  return extTagsCode((high + TWO_POW_31) * TWO_POW_32 + low);
}

/** Writes a tag code into the slot: a tag hash as a long, an extension tag code as its address. */
function setTagSlot(view: DataView, position: number, tagsCode: number): void {
  if (!isExtTagsCode(tagsCode)) {
    setLong(view, position, tagsCode);
    return;
  }
  const extOffset = extOffsetOf(tagsCode);
  const high = Math.floor(extOffset / TWO_POW_32);
  view.setInt32(position, high - TWO_POW_31);
  view.setUint32(position + 4, extOffset - high * TWO_POW_32);
}

function writeUnit(file: MappedFile, pos: number, physicalOffset: number, size: number, tagsCode: number): void {
  // writableView reserves the unit's blocks first: a full disk is ERR_STORE_IO here, not a SIGBUS
  const view = file.writableView(pos, pos + CQ_STORE_UNIT_SIZE);
  if (view !== undefined) {
    setLong(view, pos + OFF_UNIT_PHYSICAL_OFFSET, physicalOffset);
    view.setInt32(pos + OFF_UNIT_SIZE, size);
    setTagSlot(view, pos + OFF_UNIT_TAGS_CODE, tagsCode);
  } else {
    const unit = new Uint8Array(CQ_STORE_UNIT_SIZE);
    const dv = new DataView(unit.buffer);
    setLong(dv, OFF_UNIT_PHYSICAL_OFFSET, physicalOffset);
    dv.setInt32(OFF_UNIT_SIZE, size);
    setTagSlot(dv, OFF_UNIT_TAGS_CODE, tagsCode);
    file.write(pos, unit, 0, CQ_STORE_UNIT_SIZE);
  }
}
