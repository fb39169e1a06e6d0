/**
 * The CommitLog's write side: appends encoded records to a MappedFileQueue the way RocketMQ's
 * CommitLog.asyncPutMessage does (ROCKETMQ.md 1.5, 1.8).
 *
 * Owner: the writer (the MessageStore in one thread; the writer actor later). It is the only
 * object that appends to the CommitLog and the only one that assigns physical offsets and store
 * timestamps. Other threads read through CommitLogReader and flush through CommitLogFlusher.
 * After a crash it is rebuilt by StoreRecovery, which finds the end of the valid records and cuts
 * everything after it.
 */
import type { Clock } from '../common/clock.js';
import { PetrelError } from '../common/errors.js';
import { dataViewOf } from './Long.js';
import { MappedFileQueue } from './MappedFileQueue.js';
import { RESERVE_CHUNK, type MappedFile } from './MappedFile.js';
import type { MappedFileBackendKind, SyncMethod } from './FileBackend.js';
import { patchPropertiesCrc, patchRecord } from './MessageCodec.js';
import { BLANK_MAGIC, BLANK_RECORD_LENGTH } from './RecordLayout.js';

export interface CommitLogOptions {
  readonly dir: string;
  /** mappedFileSizeCommitLog */
  readonly fileSize: number;
  readonly backend: MappedFileBackendKind;
  readonly syncMethod?: SyncMethod;
  readonly clock: Clock;
  /** warmMapedFileEnable: pre-fault each new file through its mapping. */
  readonly warm?: boolean;
  /** enabledAppendPropCRC: records carry the whole-record CRC entry, filled in at append. */
  readonly appendPropertiesCrc?: boolean;
}

/**
 * Where the log stood before a batch (see CommitLog.mark): the number of files, the write
 * position of the last one and the last store timestamp.
 */
export interface AppendMark {
  readonly files: number;
  readonly last: MappedFile | undefined;
  readonly lastWrote: number;
  readonly lastStoreTimestamp: number;
  /** Per file written since the mark: the end of the furthest write tried (a failed one included). */
  readonly touched: Map<MappedFile, number>;
}

export class CommitLog {
  readonly queue: MappedFileQueue;
  readonly fileSize: number;
  readonly #clock: Clock;
  readonly #warm: boolean;
  readonly #appendCrc: boolean;
  #lastStoreTimestamp = 0;
  #srcBytes: Uint8Array | undefined;
  #srcView: DataView | undefined;
  /** The mark of the batch being appended (WriterActor), whose writes a rollback zeroes. */
  #mark: AppendMark | undefined;
  /** A file created ahead of need, not yet part of the queue. */
  #next: MappedFile | undefined;
  /** Records appended by appendDeferred and not yet copied: `length` bytes of `src` for `file` at `at`. */
  #run: { readonly file: MappedFile; readonly src: Uint8Array; readonly srcStart: number; length: number; readonly at: number } | undefined;

  constructor(options: CommitLogOptions) {
    this.fileSize = options.fileSize;
    this.#clock = options.clock;
    this.#warm = options.warm ?? false;
    this.#appendCrc = options.appendPropertiesCrc ?? false;
    this.queue = new MappedFileQueue({
      dir: options.dir,
      fileSize: options.fileSize,
      backend: options.backend,
      ...(options.syncMethod === undefined ? {} : { syncMethod: options.syncMethod }),
    });
  }

  load(): void {
    this.queue.load();
  }

  /** Store timestamp given to the last appended record. */
  get lastStoreTimestamp(): number {
    return this.#lastStoreTimestamp;
  }

  /** Store timestamps stay monotone in file order even if the clock steps back. */
  set lastStoreTimestamp(value: number) {
    this.#lastStoreTimestamp = value;
  }

  minOffset(): number {
    return this.queue.minOffset();
  }

  maxOffset(): number {
    return this.queue.maxOffset();
  }

  get flushedWhere(): number {
    return this.queue.flushedWhere;
  }

  /** The largest record a file can hold: it must leave room for the blank record. */
  get maxRecordSize(): number {
    return this.fileSize - BLANK_RECORD_LENGTH;
  }

  /**
   * Appends the encoded record `src[srcOffset, srcOffset + size)` and returns its physical
   * offset. QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP are patched into `src` first (and the
   * whole-record CRC, when enabled), then the bytes are copied into the mapping. When the record
   * plus a blank record does not fit in the current file, the file is closed with the blank
   * record and the record goes to a new file. `now` (default: the clock) is the store time,
   * raised to the previous record's if the clock stepped back.
   */
  append(src: Uint8Array, srcOffset: number, size: number, queueOffset: number, now: number = this.#clock.now()): number {
    const physicalOffset = this.appendDeferred(src, srcOffset, size, queueOffset, now);
    this.commit();
    return physicalOffset;
  }

  /**
   * Like append, but the copy waits for commit(): records that lie back to back in one source
   * buffer go into the file in one write (one memcpy, or one pwrite with the fs backend) instead
   * of one each. Until commit() the records are counted in maxOffset() but their bytes are not
   * in the file, so the caller commits before it publishes a position that covers them; every
   * other method of this class commits first.
   */
  appendDeferred(src: Uint8Array, srcOffset: number, size: number, queueOffset: number, now: number = this.#clock.now()): number {
    if (size + BLANK_RECORD_LENGTH > this.fileSize) {
      throw new PetrelError('ERR_MESSAGE_TOO_LARGE', `a record of ${size} bytes can never fit in a CommitLog file of ${this.fileSize}`);
    }
    let file = this.queue.last();
    if (file === undefined || file.isFull()) file = this.#newFile();
    if (size + BLANK_RECORD_LENGTH > file.fileSize - file.wrotePosition) {
      this.#writeBlank(file);
      file = this.#newFile();
    }
    const physicalOffset = file.fileFromOffset + file.wrotePosition;
    const storeTimestamp = now > this.#lastStoreTimestamp ? now : this.#lastStoreTimestamp;
    this.#lastStoreTimestamp = storeTimestamp;
    patchRecord(this.#viewOf(src), srcOffset, queueOffset, physicalOffset, storeTimestamp);
    if (this.#appendCrc) patchPropertiesCrc(src, srcOffset, size);
    const run = this.#run;
    if (run !== undefined && run.file === file && run.src === src && run.srcStart + run.length === srcOffset && run.at + run.length === file.wrotePosition) {
      run.length += size;
    } else {
      this.commit();
      this.#run = { file, src, srcStart: srcOffset, length: size, at: file.wrotePosition };
    }
    file.wrotePosition += size;
    return physicalOffset;
  }

  /** Where the log stands now, for `rollback` should the batch about to be appended fail. */
  mark(): AppendMark {
    this.commit();
    const last = this.queue.last();
    const mark = { files: this.queue.files.length, last, lastWrote: last?.wrotePosition ?? 0, lastStoreTimestamp: this.#lastStoreTimestamp, touched: new Map<MappedFile, number>() };
    this.#mark = mark;
    return mark;
  }

  /** Notes, before a write into `file` up to `end`, what a rollback to the current mark must zero. */
  #touch(file: MappedFile, end: number): void {
    const touched = this.#mark?.touched;
    if (touched !== undefined && (touched.get(file) ?? 0) < end) touched.set(file, end);
  }

  /**
   * Undoes every append since `mark` after one of them, or their commit, failed (a full disk):
   * the pending copy is dropped, files rolled to since are taken out of the queue (the first is
   * kept, empty, as the next file, so readers that opened it keep the same file), the write
   * position and last store timestamp go back to the mark. Bytes that may have reached the file
   * past the mark (a write that failed part way, the blank record of a roll) are zeroed, best
   * effort and from the mark on, so that no later recovery takes them for records; what cannot
   * be zeroed was never written either, as a write fills its range from the start.
   */
  rollback(mark: AppendMark): void {
    this.#run = undefined;
    this.#mark = undefined;
    this.#lastStoreTimestamp = mark.lastStoreTimestamp;
    for (const [file, end] of mark.touched) zeroBestEffort(file, file === mark.last ? mark.lastWrote : 0, end);
    while (this.queue.files.length > mark.files) {
      const rolled = this.queue.detachLast();
      if (rolled === undefined) break;
      rolled.wrotePosition = 0;
      rolled.flushedPosition = 0;
      if (this.queue.files.length === mark.files && this.#next === undefined) this.#next = rolled;
      else rolled.destroy();
    }
    const last = this.queue.last();
    if (last !== undefined && last.wrotePosition > mark.lastWrote) {
      last.wrotePosition = mark.lastWrote;
      last.flushedPosition = Math.min(last.flushedPosition, mark.lastWrote);
    }
  }

  /** Copies the records appendDeferred left pending into their file. */
  commit(): void {
    const run = this.#run;
    if (run === undefined) return;
    this.#run = undefined;
    this.#touch(run.file, run.at + run.length);
    run.file.write(run.at, run.src, run.srcStart, run.length);
  }

  /**
   * Writes bytes copied from another CommitLog (a slave receiving its master's stream) at
   * `offset`, which must be this log's end: the bytes land at the same physical offsets as on
   * the master, records, blank records and file tails included, and nothing in them is patched.
   * An empty log starts with the file that begins at `offset` (a file boundary). The bytes must
   * stay inside one file; the file after a full one is created as the master created it.
   */
  appendRaw(offset: number, src: Uint8Array, srcOffset: number, length: number): void {
    this.commit();
    const mark = this.mark();
    try {
      this.#appendRaw(offset, src, srcOffset, length);
    } catch (err) {
      this.rollback(mark);
      throw err;
    }
  }

  #appendRaw(offset: number, src: Uint8Array, srcOffset: number, length: number): void {
    let file = this.queue.last();
    if (file === undefined) {
      if (offset % this.fileSize !== 0) {
        throw new PetrelError('ERR_OFFSET_INVALID', `an empty CommitLog starts at a file boundary, not at ${offset}`);
      }
      file = this.queue.createFile(offset);
      if (this.#warm) file.warm(0);
    } else {
      const end = this.maxOffset();
      if (offset !== end) throw new PetrelError('ERR_OFFSET_INVALID', `raw bytes for offset ${offset} do not continue the CommitLog, which ends at ${end}`);
      if (file.isFull()) file = this.#newFile();
    }
    const pos = offset - file.fileFromOffset;
    if (pos + length > file.fileSize) {
      throw new PetrelError('ERR_OFFSET_INVALID', `${length} raw bytes at ${offset} would cross the end of CommitLog file ${file.fileName}`);
    }
    this.#touch(file, pos + length);
    file.write(pos, src, srcOffset, length);
    file.wrotePosition = pos + length;
  }

  #viewOf(src: Uint8Array): DataView {
    if (src !== this.#srcBytes || this.#srcView === undefined) {
      this.#srcBytes = src;
      this.#srcView = dataViewOf(src);
    }
    return this.#srcView;
  }

  /** Ends `file` with a blank record: remaining bytes + BLANK_MAGIC; the file is then full. */
  #writeBlank(file: MappedFile): void {
    this.commit();
    const at = file.wrotePosition;
    const remaining = file.fileSize - at;
    this.#touch(file, at + 8);
    file.setInt32(at, remaining);
    file.setInt32(at + 4, BLANK_MAGIC);
    file.wrotePosition = file.fileSize;
  }

  #newFile(): MappedFile {
    const next = this.#next;
    this.#next = undefined;
    const last = this.queue.last();
    if (next !== undefined && last !== undefined && next.fileFromOffset === last.fileFromOffset + this.fileSize) {
      this.queue.adopt(next);
      return next;
    }
    next?.destroy();
    // No warm-up here: in the writer's own thread pre-faulting costs what the faults it saves
    // would, and a whole file at once stalls the put that rolled. Warming happens ahead of need
    // in preallocateNextFile (the writer's idle time) or not at all.
    return this.queue.lastWritable(this.queue.maxOffset());
  }

  /**
   * Creates the file after the current one ahead of time and, with warmMapedFileEnable,
   * pre-faults it (RocketMQ's AllocateMappedFileService); with no file yet, creates the first.
   * The writer calls it when idle: the pages must be faulted through the writer's own mapping to
   * help. Returns false when there is nothing to do.
   */
  preallocateNextFile(): boolean {
    const last = this.queue.last();
    if (last === undefined) {
      const first = this.#newFile();
      if (this.#warm) first.warm(0);
      return true;
    }
    if (this.#next !== undefined) return false;
    this.#next = this.queue.createDetached(last.fileFromOffset + this.fileSize);
    if (this.#warm) this.#next.warm(0);
    return true;
  }

  /** The file holding `offset` and the position in it, or undefined past the written end. */
  fileFor(offset: number): MappedFile | undefined {
    if (offset >= this.maxOffset()) return undefined;
    return this.queue.findByOffset(offset);
  }

  /** Bytes [offset, offset + size) of the log: a view valid for one request, or undefined. */
  getData(offset: number, size: number): Uint8Array | undefined {
    this.commit();
    const file = this.queue.findByOffset(offset);
    if (file === undefined) return undefined;
    const pos = offset - file.fileFromOffset;
    if (pos + size > file.wrotePosition) return undefined;
    return file.read(pos, size);
  }

  /** Flushes with RocketMQ's leastPages rule; returns the new flushed offset. */
  flush(leastPages: number): number {
    this.commit();
    return this.queue.flush(leastPages);
  }

  /**
   * Cuts the log at `offset` (recovery; a slave dropping a tail its master does not have). With
   * `zero`, stale bytes past it are zeroed. Below the first file, every file goes.
   */
  truncate(offset: number, zero: boolean): void {
    this.commit();
    this.#next?.destroy();
    this.#next = undefined;
    this.queue.truncateDirtyFiles(offset, zero);
  }

  /**
   * Deletes files last modified more than `reservedMs` before `now`, oldest first, at most
   * `max`, never the current file and never one ending past `keepFrom` (data not yet dispatched
   * or flushed). Returns how many were deleted.
   */
  deleteExpiredFiles(now: number, reservedMs: number, max: number, keepFrom: number): number {
    return this.queue.deleteFirstFiles(
      max,
      (file) => file.fileFromOffset + file.fileSize <= keepFrom && file.lastModified() + reservedMs <= now,
    );
  }

  close(): void {
    this.commit();
    this.#next?.close();
    this.#next = undefined;
    this.queue.close();
  }
}

/**
 * Zeroes [from, to) of `file` from the start, a chunk at a time, as far as the disk lets it; a
 * failure stops it quietly. The bytes it cannot reach lie past where a failed write stopped (a
 * write fills its range from the start; one through a mapping reserves its chunks before it
 * copies anything), so they hold nothing of the batch.
 */
function zeroBestEffort(file: MappedFile, from: number, to: number): void {
  for (let at = from; at < to; ) {
    const end = Math.min(to, (Math.floor(at / RESERVE_CHUNK) + 1) * RESERVE_CHUNK);
    try {
      file.fill(0, at, end);
    } catch {
      return;
    }
    at = end;
  }
}
