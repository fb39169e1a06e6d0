/**
 * One fixed-size store file (a CommitLog segment, a ConsumeQueue file, an IndexFile) with its
 * write and flushed positions, like RocketMQ's DefaultMappedFile.
 *
 * Owner: the thread that writes the file (the writer actor for CommitLog files, the dispatcher
 * actor for ConsumeQueue and index files); other threads open their own read-only MappedFile on
 * the same path. Positions live only in memory: after a crash they are rebuilt by recovery from
 * the bytes, which a process crash does not lose (they are in the page cache) and an OS crash
 * loses back to the last flush.
 *
 * There is no transient store pool, so the committed position is the write position.
 *
 * Block reservation. A file written through a writable mapping (mmap backend) starts sparse;
 * the first touch of a page the filesystem cannot back (a full disk) would be a SIGBUS that kills
 * the process. So every write through the mapping passes one guard, `reserve`, which first makes
 * the filesystem allocate the RESERVE_CHUNK-sized chunks the write touches with positioned writes
 * (zeros in a file this object created; the chunk's own bytes, read back, in a file it reopened).
 * A full disk then fails that write with ERR_STORE_IO and nothing is touched. Only chunks that are
 * written get reserved, so a 1 GiB CommitLog file written with positioned writes (the fs backend,
 * commitLogWriteMode 'write') stays sparse. A file whose blocks fstat shows all allocated needs no
 * reservation. Writers that must write through `view` themselves take it from `writableView`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ioError, openBackend, OS_PAGE_SIZE, reserveRange, type FileBackend, type MappedFileBackendKind, type SyncMethod } from './FileBackend.js';

export interface MappedFileOptions {
  /** 'mmap' (default) or 'fs'; 'mmap' falls back to 'fs' when mmap-io cannot load. */
  readonly backend: MappedFileBackendKind;
  readonly readOnly?: boolean;
  readonly syncMethod?: SyncMethod;
}

/** Bytes reserved at once ahead of a write through the mapping. */
export const RESERVE_CHUNK = 1 << 20;

export class MappedFile {
  readonly path: string;
  readonly fileName: string;
  readonly fileFromOffset: number;
  readonly fileSize: number;
  /** Bytes written (or known valid after recovery) from the start of this file. */
  wrotePosition = 0;
  /** Bytes known durable from the start of this file. */
  flushedPosition = 0;
  readonly #backend: FileBackend;
  #closed = false;
  /** Per RESERVE_CHUNK of the file, 1 once its blocks are reserved; undefined when nothing needs it. */
  #reserved: Uint8Array | undefined;
  /** Created by this object: chunks not yet reserved hold nothing, so zeros reserve them. */
  readonly #fresh: boolean;

  private constructor(filePath: string, fileFromOffset: number, backend: FileBackend, fresh: boolean) {
    this.path = filePath;
    this.fileName = path.basename(filePath);
    this.fileFromOffset = fileFromOffset;
    this.fileSize = backend.size;
    this.#backend = backend;
    this.#fresh = fresh;
    if (backend.writesThroughMapping && (fresh || !backend.fullyAllocated())) {
      this.#reserved = new Uint8Array(Math.ceil(backend.size / RESERVE_CHUNK));
    }
  }

  /**
   * Creates the file at its full size (sparse) and opens it. Fails if it exists. With
   * `reserveBytes`, the blocks of the chunks holding its first `reserveBytes` bytes are reserved
   * before the file is mapped: a disk without room for them fails the creation with ERR_STORE_IO
   * and leaves no file behind, and the blocks the attempt took are free again at once (a mapping
   * would hold them until it is garbage collected, since a mapping cannot be unmapped here).
   */
  static create(filePath: string, fileSize: number, fileFromOffset: number, options: MappedFileOptions, reserveBytes = 0): MappedFile {
    let fd: number;
    try {
      fd = fs.openSync(filePath, 'wx');
    } catch (err) {
      throw ioError('create', filePath, err);
    }
    const reserveTo = Math.min(fileSize, Math.ceil(reserveBytes / RESERVE_CHUNK) * RESERVE_CHUNK);
    try {
      try {
        fs.ftruncateSync(fd, fileSize);
      } catch (err) {
        throw ioError('create', filePath, err);
      }
      if (reserveTo > 0) reserveRange(fd, filePath, 0, reserveTo, false);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(filePath, { force: true });
      throw err;
    }
    fs.closeSync(fd);
    const file = MappedFile.#openWith(filePath, fileSize, fileFromOffset, options, true);
    file.#reserved?.fill(1, 0, Math.ceil(reserveTo / RESERVE_CHUNK));
    return file;
  }

  static open(filePath: string, fileSize: number, fileFromOffset: number, options: MappedFileOptions): MappedFile {
    return MappedFile.#openWith(filePath, fileSize, fileFromOffset, options, false);
  }

  static #openWith(filePath: string, fileSize: number, fileFromOffset: number, options: MappedFileOptions, fresh: boolean): MappedFile {
    const backend = openBackend(filePath, fileSize, {
      kind: options.backend,
      readOnly: options.readOnly ?? false,
      ...(options.syncMethod === undefined ? {} : { syncMethod: options.syncMethod }),
    });
    try {
      return new MappedFile(filePath, fileFromOffset, backend, fresh);
    } catch (err) {
      backend.close();
      throw err;
    }
  }

  /**
   * The guard every write through the mapping passes: reserves the blocks of the chunks that
   * [from, to) touches, or throws ERR_STORE_IO (a full disk) with nothing written. A no-op when
   * writes are positioned writes or the file is fully allocated.
   */
  reserve(from: number, to: number): void {
    const reserved = this.#reserved;
    if (reserved === undefined || to <= from) return;
    const last = Math.floor((Math.min(to, this.fileSize) - 1) / RESERVE_CHUNK);
    for (let c = Math.floor(from / RESERVE_CHUNK); c <= last; c++) {
      if (reserved[c] === 1) continue;
      const start = c * RESERVE_CHUNK;
      this.#backend.reserve(start, Math.min(start + RESERVE_CHUNK, this.fileSize), !this.#fresh);
      reserved[c] = 1;
    }
  }

  /** True when a write to [from, to) needs no reservation first. */
  isReserved(from: number, to: number): boolean {
    const reserved = this.#reserved;
    if (reserved === undefined || to <= from) return true;
    const last = Math.floor((Math.min(to, this.fileSize) - 1) / RESERVE_CHUNK);
    for (let c = Math.floor(from / RESERVE_CHUNK); c <= last; c++) if (reserved[c] !== 1) return false;
    return true;
  }

  /**
   * The DataView over the mapping for writing [from, to) directly (mmap backend only), its
   * blocks reserved first; undefined on the fs backend. Valid for one request.
   */
  writableView(from: number, to: number): DataView | undefined {
    const view = this.#backend.view;
    if (view !== undefined) this.reserve(from, to);
    return view;
  }

  get backendKind(): MappedFileBackendKind {
    return this.#backend.kind;
  }

  /**
   * The mapping, for the owner's hot read paths (mmap backend only). Never keep it past a
   * request, and never write through it: writes go through this class (or writableView), whose
   * guard reserves the blocks first.
   */
  get mapping(): Uint8Array | undefined {
    return this.#backend.mapping;
  }

  /** A DataView over the mapping, for reads (see `mapping`; writableView for writes). */
  get view(): DataView | undefined {
    return this.#backend.view;
  }

  get committedPosition(): number {
    return this.wrotePosition;
  }

  get closed(): boolean {
    return this.#closed;
  }

  isFull(): boolean {
    return this.wrotePosition >= this.fileSize;
  }

  /** Copies `length` bytes to the write position; returns that position, or -1 without room. */
  append(src: Uint8Array, srcOffset: number, length: number): number {
    const at = this.wrotePosition;
    if (at + length > this.fileSize) return -1;
    this.reserve(at, at + length);
    this.#backend.write(at, src, srcOffset, length);
    this.wrotePosition = at + length;
    return at;
  }

  write(position: number, src: Uint8Array, srcOffset: number, length: number): void {
    this.reserve(position, position + length);
    this.#backend.write(position, src, srcOffset, length);
  }

  /**
   * A fresh copy of bytes [position, position + length) read with read(2), never through the
   * mapping: for scans that may cross holes (a hole read through a tmpfs mapping allocates a page).
   */
  readCopy(position: number, length: number): Uint8Array {
    return this.#backend.readCopy(position, length);
  }

  /** Bytes [position, position + length) of this file: a view or a copy, valid for one request. */
  read(position: number, length: number): Uint8Array {
    return this.#backend.read(position, length);
  }

  getInt32(position: number): number {
    return this.#backend.getInt32(position);
  }

  setInt32(position: number, value: number): void {
    this.reserve(position, position + 4);
    this.#backend.setInt32(position, value);
  }

  getLong(position: number): number {
    return this.#backend.getLong(position);
  }

  setLong(position: number, value: number): void {
    this.reserve(position, position + 8);
    this.#backend.setLong(position, value);
  }

  fill(value: number, from: number, to: number): void {
    this.reserve(from, to);
    this.#backend.fill(value, from, to);
  }

  /**
   * RocketMQ's isAbleToFlush (ROCKETMQ.md 5.1) for a write position `upTo`: a full file always;
   * else at least `leastPages` new 4 KiB pages, or any new byte when leastPages is 0.
   */
  isAbleToFlush(leastPages: number, upTo: number = this.wrotePosition): boolean {
    if (upTo <= this.flushedPosition) return false;
    if (upTo >= this.fileSize) return true;
    if (leastPages > 0) return Math.floor(upTo / OS_PAGE_SIZE) - Math.floor(this.flushedPosition / OS_PAGE_SIZE) >= leastPages;
    return true;
  }

  /** Makes the file durable up to `upTo` (default: the write position) when isAbleToFlush. */
  flush(leastPages: number, upTo: number = this.wrotePosition): number {
    if (this.isAbleToFlush(leastPages, upTo)) {
      this.#backend.sync(this.flushedPosition, upTo);
      this.flushedPosition = upTo;
    }
    return this.flushedPosition;
  }

  /** Makes the whole file durable whatever the positions say (index files, checkpoints). */
  forceSync(): void {
    this.#backend.sync(0, this.fileSize);
    this.flushedPosition = Math.max(this.flushedPosition, this.wrotePosition);
  }

  /**
   * Pre-faults pages [from, to) by writing one zero byte per page through the mapping, so later
   * appends hit resident pages (PERF.md A1). Only whole pages at or past `from` are touched, so
   * bytes already written are never changed. A no-op on the fs backend. The range is reserved
   * first, so warming a file the disk has no room for fails with ERR_STORE_IO.
   */
  warm(from: number, to: number = this.fileSize): void {
    const bytes = this.#backend.mapping;
    if (bytes === undefined) return;
    const end = Math.min(to, this.fileSize);
    this.reserve(from, end);
    for (let p = Math.ceil(from / OS_PAGE_SIZE) * OS_PAGE_SIZE; p < end; p += OS_PAGE_SIZE) bytes[p] = 0;
  }

  /**
   * Zeroes every non-zero byte from `from` to the end of the file, so that a later scan cannot
   * mistake old bytes past a truncation point for valid data. Scans backwards from the end to
   * find where the non-zero bytes stop, and writes only up to there.
   */
  zeroTail(from: number): void {
    const last = this.lastNonZero(from, this.fileSize);
    if (last >= from) this.fill(0, from, last + 1);
  }

  /**
   * Position of the last non-zero byte in [from, to), or -1. Reads backwards with read(2), never
   * through the mapping: the range may be holes, and on a tmpfs a hole read through a mapping
   * allocates a page (a SIGBUS when the filesystem is full), where read(2) gives zeros for free.
   */
  lastNonZero(from: number, to: number): number {
    const chunk = 1 << 16;
    for (let end = Math.min(to, this.fileSize); end > from; end -= chunk) {
      const start = Math.max(from, end - chunk);
      const bytes = this.#backend.readCopy(start, end - start);
      for (let i = bytes.length - 1; i >= 0; i--) if (bytes[i] !== 0) return start + i;
    }
    return -1;
  }

  /** Time of the last modification of the file, for expiry (fileReservedTime). */
  lastModified(): number {
    try {
      return fs.statSync(this.path).mtimeMs;
    } catch (err) {
      throw ioError('stat', this.path, err);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#backend.close();
  }

  /** Closes and deletes the file. */
  destroy(): void {
    this.close();
    try {
      fs.rmSync(this.path, { force: true });
    } catch (err) {
      throw ioError('delete', this.path, err);
    }
  }
}
