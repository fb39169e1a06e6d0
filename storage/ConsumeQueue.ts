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
 * other threads open read-only copies. After a crash, recover() scans to the first invalid unit
 * and truncateDirtyLogicFiles() removes units pointing past the CommitLog's end.
 */
import { MappedFileQueue } from './MappedFileQueue.js';
import type { MappedFile } from './MappedFile.js';
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
  readonly queue: MappedFileQueue;
  /** End (offset + size) of the furthest CommitLog record this queue points to; -1 when empty. */
  #maxPhysicOffset = -1;
  /** Logical byte offset of the first unit still usable. */
  #minLogicOffset = 0;

  constructor(options: ConsumeQueueOptions) {
    this.topic = options.topic;
    this.queueId = options.queueId;
    this.queue = new MappedFileQueue({
      dir: options.dir,
      fileSize: options.fileSize,
      backend: options.backend,
      ...(options.readOnly === undefined ? {} : { readOnly: options.readOnly }),
      ...(options.syncMethod === undefined ? {} : { syncMethod: options.syncMethod }),
    });
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
   * Finds the end of the valid units, scanning from the third-last file (earlier ones are taken
   * as sound, as RocketMQ does), and sets the write position there. Returns that logical offset.
   */
  recover(): number {
    const files = this.queue.files;
    const unit = emptyCqUnit();
    let end = this.queue.minOffset();
    const start = Math.max(0, files.length - 3);
    for (let i = 0; i < start; i++) {
      const file = files[i];
      if (file !== undefined) file.wrotePosition = file.flushedPosition = file.fileSize;
    }
    for (let i = start; i < files.length; i++) {
      const file = files[i];
      if (file === undefined) break;
      let pos = 0;
      for (; pos + CQ_STORE_UNIT_SIZE <= file.fileSize; pos += CQ_STORE_UNIT_SIZE) {
        readUnit(file, pos, unit);
        if (unit.physicalOffset < 0 || unit.size <= 0) break;
        if (unit.size !== BLANK_UNIT_SIZE) this.#maxPhysicOffset = unit.physicalOffset + unit.size;
      }
      file.wrotePosition = pos;
      file.flushedPosition = pos;
      end = file.fileFromOffset + pos;
      if (pos < file.fileSize) break;
    }
    this.queue.truncateDirtyFiles(end, false);
    this.queue.flushedWhere = end;
    if (this.#maxPhysicOffset < 0) this.#maxPhysicOffset = this.#lastUnitEnd();
    return end;
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
