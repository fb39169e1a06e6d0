/**
 * The ConsumeQueue extension of one queue (RocketMQ's ConsumeQueueExt): per message, a variable
 * unit holding its tag hash, store time and the bloom bitmap of the SQL92 groups that want it.
 * The ConsumeQueue unit's 8-byte tag slot then holds the unit's address instead of the tag hash.
 *
 * Files: `<storeRoot>/consumequeue_ext/<topic>/<queueId>/<20-digit offset>`, each exactly
 * `fileSize` bytes (48 MiB by default, created sparse), named by the logical offset of its first
 * byte. Offsets run on across files: file i starts at i * fileSize.
 *
 * Units and their addresses: CqExtUnit.ts.
 *
 * End of file: the last END_BLANK_LENGTH (4) bytes of a file are never used by a unit. A unit
 * that does not fit before them goes to the next file, and the old file gets the blank marker at
 * its write position: the short -1 (0xFFFF) followed by two zero bytes. A reader scanning a file
 * stops at a size <= 0: -1 is the marker, 0 is space never written.
 *
 * Ownership: one writer instance, owned by the dispatcher, appends and truncates. Reader
 * instances (readOnly) on any thread read units by the addresses they find in ConsumeQueue units;
 * the dispatcher writes a unit before the CQ unit that points at it, so every address a reader
 * sees is readable. A unit is visible when append returns and durable after flush(). The writer
 * instance also serves reads (pulls run on the dispatcher's thread) from a read-ahead block: units
 * of consecutive messages lie side by side, so one read serves a whole pull.
 *
 * After a crash: load() scans the files and puts the write position after the last well-formed
 * unit. Units past the last CQ unit that survived are garbage; the ConsumeQueue's recovery calls
 * truncateAfter(address of its last unit's extension) or truncateAll() to drop them.
 */
import { closeSync, fdatasyncSync, ftruncateSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { PetrelError } from '../common/errors.js';
import type { ConsumeQueueExtUnitView } from './MessageFilter.js';
import { READ_AHEAD_BYTES, createExtFile, ioError, openExtFile, readAt, scanUnitsEnd, writeBlankMarker, writeFully, type ExtFile } from './CqExtFile.js';
import {
  BITMAP_OFFSET,
  BITMAP_SIZE_OFFSET,
  CQ_EXT_END_BLANK_LENGTH,
  CQ_EXT_MIN_UNIT_SIZE,
  DEFAULT_CQ_EXT_FILE_SIZE,
  SIZE_OFFSET,
  STORE_TIME_OFFSET,
  TAGS_CODE_OFFSET,
  TWO_POW_32,
  decodeExtAddress,
  encodeCqExtUnit,
  encodeExtAddress,
  isExtAddress,
  type CqExtUnit,
} from './CqExtUnit.js';

export interface ConsumeQueueExtOptions {
  /** The store root; files go under consumequeue_ext/<topic>/<queueId>/. */
  readonly storeRoot: string;
  readonly topic: string;
  readonly queueId: number;
  /** Bytes per file; default DEFAULT_CQ_EXT_FILE_SIZE. Small values make tests roll files. */
  readonly fileSize?: number;
  /** A reader: never creates, writes or truncates. Default false. */
  readonly readOnly?: boolean;
}

/** Bytes [start, end) of a file, read at once; `data` views `bytes`. */
interface ReadBlock {
  readonly file: ExtFile;
  readonly start: number;
  readonly end: number;
  readonly bytes: Buffer;
  readonly data: DataView;
}

export class ConsumeQueueExt {
  readonly dir: string;
  readonly fileSize: number;
  private readonly readOnly: boolean;
  private files: ExtFile[] = [];
  /** Offset where the next unit goes. */
  private writeOffset = 0;
  private readonly dirty = new Set<ExtFile>();
  private closed = false;
  /**
   * The writer's read-ahead block: bytes [start, end) of one file, all below the write position
   * when read. Such bytes change only by truncation or file removal, which drop the block.
   */
  private block: ReadBlock | undefined;

  constructor(options: ConsumeQueueExtOptions) {
    const fileSize = options.fileSize ?? DEFAULT_CQ_EXT_FILE_SIZE;
    if (!Number.isInteger(fileSize) || fileSize < CQ_EXT_MIN_UNIT_SIZE + CQ_EXT_END_BLANK_LENGTH) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `consume queue extension file size ${fileSize} cannot hold a unit`);
    }
    if (!Number.isInteger(options.queueId) || options.queueId < 0) {
      throw new PetrelError('ERR_QUEUE_ID_INVALID', `queue id ${options.queueId} is not a non-negative integer`);
    }
    if (options.topic === '' || options.topic === '.' || options.topic === '..' || /[/\\\0]/.test(options.topic)) {
      throw new PetrelError('ERR_TOPIC_INVALID', `topic ${JSON.stringify(options.topic)} cannot name a folder`);
    }
    this.fileSize = fileSize;
    this.readOnly = options.readOnly ?? false;
    this.dir = ConsumeQueueExt.dirFor(options.storeRoot, options.topic, options.queueId);
  }

  static dirFor(storeRoot: string, topic: string, queueId: number): string {
    return path.join(storeRoot, 'consumequeue_ext', topic, String(queueId));
  }

  /**
   * Opens the existing files and finds the write position by scanning units. Throws
   * ERR_STORE_CORRUPT when a file has the wrong size or the names leave a gap.
   */
  load(): void {
    this.ensureOpen();
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((name) => /^\d{20}$/.test(name)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw ioError('list', this.dir, err);
    }
    for (const name of names) {
      const base = Number(name);
      const file = path.join(this.dir, name);
      const previous = this.files[this.files.length - 1];
      if (base % this.fileSize !== 0 || (previous !== undefined && base !== previous.base + this.fileSize)) {
        throw new PetrelError('ERR_STORE_CORRUPT', `consume queue extension file ${file} does not follow the one before it`);
      }
      if (statSync(file).size !== this.fileSize) {
        throw new PetrelError('ERR_STORE_CORRUPT', `consume queue extension file ${file} is not ${this.fileSize} bytes`);
      }
      this.files.push({ base, path: file, fd: openExtFile(file, this.readOnly ? 'r' : 'r+') });
    }
    this.writeOffset = this.scanEnd();
  }

  /** Address of the first unit kept. */
  minAddress(): bigint {
    return encodeExtAddress(this.files[0]?.base ?? 0);
  }

  /** Address the next unit will get if it fits in the current file. */
  maxAddress(): bigint {
    return encodeExtAddress(this.writeOffset);
  }

  /** Appends a unit and returns its address for the CQ tag slot. Visible at once; durable after flush(). */
  append(unit: CqExtUnit): bigint {
    this.ensureWritable();
    const bytes = encodeCqExtUnit(unit);
    if (bytes.length > this.fileSize - CQ_EXT_END_BLANK_LENGTH) {
      throw new PetrelError('ERR_INVALID_ARGUMENT', `consume queue extension unit of ${bytes.length} bytes cannot fit a ${this.fileSize}-byte file`);
    }
    let position = this.writeOffset % this.fileSize;
    if (position + bytes.length > this.fileSize - CQ_EXT_END_BLANK_LENGTH) {
      this.dirty.add(writeBlankMarker(this.fileForWrite(this.writeOffset), position));
      this.writeOffset += this.fileSize - position;
      position = 0;
    }
    if (this.writeOffset + bytes.length > Number.MAX_SAFE_INTEGER) {
      throw new PetrelError('ERR_OFFSET_INVALID', 'consume queue extension is full');
    }
    const file = this.fileForWrite(this.writeOffset);
    writeFully(file, bytes, position);
    this.dirty.add(file);
    const address = encodeExtAddress(this.writeOffset);
    this.writeOffset += bytes.length;
    return address;
  }

  /**
   * The unit at `address`, or undefined when there is none: not an extension address, a file
   * already deleted or never written, or bytes that are not a well-formed unit.
   */
  get(address: bigint): CqExtUnit | undefined {
    this.ensureOpen();
    if (!isExtAddress(address)) return undefined;
    const offset = decodeExtAddress(address);
    const file = this.readOnly ? this.fileForReading(offset) : this.fileFor(offset);
    if (file === undefined) return undefined;
    const position = offset - file.base;
    if (position + CQ_EXT_MIN_UNIT_SIZE > this.fileSize - CQ_EXT_END_BLANK_LENGTH) return undefined;
    const header = this.read(file, position, CQ_EXT_MIN_UNIT_SIZE);
    const size = header.readInt16BE(SIZE_OFFSET);
    const bitmapSize = header.readInt16BE(BITMAP_SIZE_OFFSET);
    if (size < CQ_EXT_MIN_UNIT_SIZE || bitmapSize !== size - CQ_EXT_MIN_UNIT_SIZE || position + size > this.fileSize - CQ_EXT_END_BLANK_LENGTH) {
      return undefined;
    }
    const tagsCode = header.readBigInt64BE(TAGS_CODE_OFFSET);
    const storeTimestamp = Number(header.readBigInt64BE(STORE_TIME_OFFSET));
    if (bitmapSize === 0) return { tagsCode, storeTimestamp };
    return { tagsCode, storeTimestamp, bitmap: new Uint8Array(this.read(file, position + BITMAP_OFFSET, bitmapSize)) };
  }

  /**
   * The unit at extension offset `offset` (its address minus Long.MIN_VALUE) as the pull path
   * reads it, without bigint work: the tag code and store time as numbers (exact for the int tag
   * hashes and millisecond times the dispatcher stores), the bitmap as a view of a buffer that is
   * never written again. Undefined where get() is.
   */
  view(offset: number): ConsumeQueueExtUnitView | undefined {
    this.ensureOpen();
    if (!Number.isSafeInteger(offset) || offset < 0) return undefined;
    const file = this.readOnly ? this.fileForReading(offset) : this.fileFor(offset);
    if (file === undefined) return undefined;
    const position = offset - file.base;
    const limit = this.fileSize - CQ_EXT_END_BLANK_LENGTH;
    if (position + CQ_EXT_MIN_UNIT_SIZE > limit) return undefined;
    let block = this.cover(file, position, CQ_EXT_MIN_UNIT_SIZE);
    const size = block.data.getInt16(position - block.start + SIZE_OFFSET);
    const bitmapSize = block.data.getInt16(position - block.start + BITMAP_SIZE_OFFSET);
    if (size < CQ_EXT_MIN_UNIT_SIZE || bitmapSize !== size - CQ_EXT_MIN_UNIT_SIZE || position + size > limit) return undefined;
    if (position + size > block.end) block = this.cover(file, position, size);
    const at = position - block.start;
    const data = block.data;
    return {
      tagsCode: data.getInt32(at + TAGS_CODE_OFFSET) * TWO_POW_32 + data.getUint32(at + TAGS_CODE_OFFSET + 4),
      msgStoreTime: data.getInt32(at + STORE_TIME_OFFSET) * TWO_POW_32 + data.getUint32(at + STORE_TIME_OFFSET + 4),
      filterBitMap: bitmapSize === 0 ? undefined : new Uint8Array(data.buffer, data.byteOffset + at + BITMAP_OFFSET, bitmapSize),
    };
  }

  /**
   * Keeps the unit at `address` and everything before it, drops everything after (RocketMQ's
   * truncateByMaxAddress). Throws ERR_OFFSET_INVALID when no unit is at `address`.
   */
  truncateAfter(address: bigint): void {
    this.ensureWritable();
    const unit = this.get(address);
    if (unit === undefined) throw new PetrelError('ERR_OFFSET_INVALID', `no consume queue extension unit at address ${address}`);
    this.truncateAt(decodeExtAddress(address) + CQ_EXT_MIN_UNIT_SIZE + (unit.bitmap?.length ?? 0));
  }

  /**
   * Moves the write position past the unit at `address`, which a ConsumeQueue unit still points to
   * although the unit itself was lost (an OS crash kept the ConsumeQueue's pages and not these): no
   * later unit may take that address, or that ConsumeQueue unit would read another message's tag
   * and bits. The next unit starts the file after the one holding `address`; the files in between
   * get the blank marker at their write position, so the folder stays without gaps.
   */
  skipPast(address: bigint): void {
    this.ensureWritable();
    if (!isExtAddress(address)) return;
    const offset = decodeExtAddress(address);
    if (offset < this.writeOffset) return;
    const target = offset - (offset % this.fileSize) + this.fileSize;
    while (this.writeOffset < target) {
      const position = this.writeOffset % this.fileSize;
      this.dirty.add(writeBlankMarker(this.fileForWrite(this.writeOffset), position));
      this.writeOffset += this.fileSize - position;
    }
  }

  /** Drops every unit and file (when no ConsumeQueue unit points into the extension any more). */
  truncateAll(): void {
    this.ensureWritable();
    for (const file of this.files) this.removeFile(file);
    this.files = [];
    this.writeOffset = 0;
  }

  /**
   * Deletes the files that end at or before `address` (RocketMQ's truncateByMinAddress), the
   * last file excepted. A read-only instance only closes its handles on them, so that it does not
   * keep a deleted file's space: call it on readers too.
   */
  deleteFilesBefore(address: bigint): void {
    this.ensureOpen();
    if (!isExtAddress(address)) return;
    const offset = decodeExtAddress(address);
    for (let first = this.files[0]; first !== undefined && this.files.length > 1 && first.base + this.fileSize <= offset; first = this.files[0]) {
      if (this.readOnly) closeSync(first.fd);
      else this.removeFile(first);
      this.files.shift();
    }
  }

  /** Makes every appended unit durable (fdatasync of the files written since the last flush). */
  flush(): void {
    this.ensureOpen();
    for (const file of this.dirty) {
      try {
        fdatasyncSync(file.fd);
      } catch (err) {
        throw ioError('fdatasync', file.path, err);
      }
    }
    this.dirty.clear();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.block = undefined;
    for (const file of this.files) closeSync(file.fd);
    this.files = [];
    this.dirty.clear();
  }

  /** Where the last well-formed unit ends; a bad unit ends the scan, as a torn write would. */
  private scanEnd(): number {
    const last = this.files[this.files.length - 1];
    return last === undefined ? 0 : last.base + scanUnitsEnd(last, this.fileSize);
  }

  /** Drops everything from `offset` on: later files go, the rest of its file is zeroed. */
  private truncateAt(offset: number): void {
    this.block = undefined;
    for (let last = this.files[this.files.length - 1]; last !== undefined && last.base >= offset; last = this.files[this.files.length - 1]) {
      this.removeFile(last);
      this.files.pop();
    }
    const file = this.files[this.files.length - 1];
    if (file !== undefined && offset < file.base + this.fileSize) {
      // shrinking then growing back zeroes the tail, blank marker included
      try {
        ftruncateSync(file.fd, offset - file.base);
        ftruncateSync(file.fd, this.fileSize);
      } catch (err) {
        throw ioError('truncate', file.path, err);
      }
      this.dirty.add(file);
    }
    this.writeOffset = offset;
  }

  /** The file holding `offset`, if open. */
  private fileFor(offset: number): ExtFile | undefined {
    const first = this.files[0];
    const index = first === undefined ? 0 : Math.floor((offset - first.base) / this.fileSize);
    return index >= 0 ? this.files[index] : undefined;
  }

  /** The file holding `offset`, created (sparse, full size) when offset starts the next one. */
  private fileForWrite(offset: number): ExtFile {
    const found = this.fileFor(offset);
    if (found !== undefined) return found;
    const base = offset - (offset % this.fileSize);
    const created = createExtFile(this.dir, base, this.fileSize);
    this.files.push(created);
    return created;
  }

  /**
   * A reader picks up the files the writer created since it last looked: on a miss past its
   * newest file it lists the folder again. A miss before its oldest file is a deleted file.
   */
  private fileForReading(offset: number): ExtFile | undefined {
    const known = this.fileFor(offset);
    const first = this.files[0];
    if (known !== undefined || (first !== undefined && offset < first.base)) return known;
    for (const file of this.files) closeSync(file.fd);
    this.files = [];
    try {
      this.load();
    } catch (err) {
      if (err instanceof PetrelError && err.code === 'ERR_STORE_CORRUPT') return undefined;
      throw err;
    }
    return this.fileFor(offset);
  }

  /** `length` bytes at `position` of `file`: from the read-ahead block on the writer instance. */
  private read(file: ExtFile, position: number, length: number): Buffer {
    const block = this.cover(file, position, length);
    return block.bytes.subarray(position - block.start, position - block.start + length);
  }

  /**
   * A block holding bytes [position, position + length) of `file`: the read-ahead block on the
   * writer instance (refilled from `position` when it does not hold them), a read of just those
   * bytes otherwise. Block buffers are never written after the read that fills them.
   */
  private cover(file: ExtFile, position: number, length: number): ReadBlock {
    const block = this.block;
    if (block !== undefined && block.file === file && position >= block.start && position + length <= block.end) return block;
    const written = this.readOnly ? 0 : Math.min(this.fileSize, this.writeOffset - file.base);
    const end = position + length > written ? position + length : Math.min(written, position + Math.max(READ_AHEAD_BYTES, length));
    const bytes = readAt(file, position, end - position);
    const read = { file, start: position, end, bytes, data: new DataView(bytes.buffer, bytes.byteOffset, bytes.length) };
    if (position + length <= written) this.block = read;
    return read;
  }

  private removeFile(file: ExtFile): void {
    if (this.block?.file === file) this.block = undefined;
    closeSync(file.fd);
    this.dirty.delete(file);
    rmSync(file.path, { force: true });
  }

  private ensureOpen(): void {
    if (this.closed) throw new PetrelError('ERR_STORE_CLOSED', `consume queue extension ${this.dir} is closed`);
  }

  private ensureWritable(): void {
    this.ensureOpen();
    if (this.readOnly) throw new PetrelError('ERR_INVALID_ARGUMENT', `consume queue extension ${this.dir} was opened read-only`);
  }
}
