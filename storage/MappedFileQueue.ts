/**
 * A folder of equal-sized MappedFiles named by the 20-digit offset of their first byte (RocketMQ's
 * MappedFileQueue): the CommitLog and every ConsumeQueue are one each.
 *
 * Owner: the thread that writes the folder; a read-only queue (readOnly: true) may be opened by
 * any other thread, and `refresh` picks up files the owner created since. After a crash the
 * folder is reloaded and recovery sets the positions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PetrelError } from '../common/errors.js';
import { ioError } from './FileBackend.js';
import { MappedFile, type MappedFileOptions } from './MappedFile.js';
import { fileNameToOffset, offsetToFileName } from './StorePaths.js';

export interface MappedFileQueueOptions extends MappedFileOptions {
  readonly dir: string;
  readonly fileSize: number;
}

export class MappedFileQueue {
  readonly dir: string;
  readonly fileSize: number;
  readonly #options: MappedFileOptions;
  #files: MappedFile[] = [];
  /** Global offset known durable. */
  flushedWhere = 0;

  constructor(options: MappedFileQueueOptions) {
    this.dir = options.dir;
    this.fileSize = options.fileSize;
    this.#options = options;
  }

  get files(): readonly MappedFile[] {
    return this.#files;
  }

  get readOnly(): boolean {
    return this.#options.readOnly ?? false;
  }

  /**
   * Opens every file of the folder in offset order. Each must be exactly fileSize bytes; a
   * zero-length last file (a creation cut short) is deleted; anything else is ERR_STORE_CORRUPT.
   */
  load(): void {
    const names = this.#listNames();
    for (let i = 0; i < names.length; i++) {
      const name = names[i] ?? '';
      const file = path.join(this.dir, name);
      const size = fs.statSync(file).size;
      if (size !== this.fileSize) {
        if (size === 0 && i === names.length - 1 && !this.readOnly) {
          fs.rmSync(file, { force: true });
          continue;
        }
        throw new PetrelError('ERR_STORE_CORRUPT', `${file} is ${size} bytes; every file of ${this.dir} must be ${this.fileSize}`);
      }
      this.#files.push(this.#open(name));
    }
  }

  /** Opens files that appeared since the last look (read-only views of a folder written elsewhere). */
  refresh(): void {
    const last = this.#files[this.#files.length - 1];
    for (const name of this.#listNames()) {
      const offset = fileNameToOffset(name) ?? -1;
      if (last !== undefined && offset <= last.fileFromOffset) continue;
      if (fs.statSync(path.join(this.dir, name)).size !== this.fileSize) break;
      this.#files.push(this.#open(name));
    }
  }

  #listNames(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw ioError('list', this.dir, err);
    }
    return names.filter((n) => fileNameToOffset(n) !== undefined).sort();
  }

  #open(name: string): MappedFile {
    const offset = fileNameToOffset(name) ?? 0;
    return MappedFile.open(path.join(this.dir, name), this.fileSize, offset, this.#options);
  }

  first(): MappedFile | undefined {
    return this.#files[0];
  }

  last(): MappedFile | undefined {
    return this.#files[this.#files.length - 1];
  }

  /** The file to write into: the last one, or a new one after it when it is full or absent. */
  lastWritable(startOffset = 0): MappedFile {
    const last = this.last();
    if (last !== undefined && !last.isFull()) return last;
    const from = last === undefined ? startOffset - (startOffset % this.fileSize) : last.fileFromOffset + this.fileSize;
    return this.createFile(from);
  }

  /** Creates the file starting at `from` (which must follow the last one). */
  createFile(from: number): MappedFile {
    const file = this.createDetached(from);
    this.adopt(file);
    return file;
  }

  /** Creates the file starting at `from` without adding it to the queue yet (see adopt). */
  createDetached(from: number): MappedFile {
    fs.mkdirSync(this.dir, { recursive: true });
    return MappedFile.create(path.join(this.dir, offsetToFileName(from)), this.fileSize, from, this.#options);
  }

  /** Appends a file made by createDetached; it must follow the last file. */
  adopt(file: MappedFile): void {
    const last = this.last();
    if (last !== undefined && file.fileFromOffset !== last.fileFromOffset + this.fileSize) {
      throw new PetrelError('ERR_STORE_CORRUPT', `${file.path} does not follow ${last.path}`);
    }
    this.#files.push(file);
  }

  /** Takes the last file out of the queue, still open and on disk (the writer undoing a roll). */
  detachLast(): MappedFile | undefined {
    return this.#files.pop();
  }

  /** The file holding global `offset`, if it is loaded. */
  findByOffset(offset: number): MappedFile | undefined {
    const first = this.#files[0];
    if (first === undefined || offset < first.fileFromOffset) return undefined;
    const index = Math.floor((offset - first.fileFromOffset) / this.fileSize);
    const file = this.#files[index];
    // Expired files leave no gaps in the middle, so the index is exact; check anyway.
    if (file !== undefined && offset >= file.fileFromOffset && offset < file.fileFromOffset + this.fileSize) return file;
    return this.#files.find((f) => offset >= f.fileFromOffset && offset < f.fileFromOffset + this.fileSize);
  }

  /** Offset of the first byte still stored, or 0 when empty. */
  minOffset(): number {
    return this.#files[0]?.fileFromOffset ?? 0;
  }

  /** Offset just past the last byte written. */
  maxOffset(): number {
    const last = this.last();
    return last === undefined ? 0 : last.fileFromOffset + last.wrotePosition;
  }

  /**
   * Flushes from flushedWhere towards the write position, file by file; earlier files are full
   * and always flushed, the last one only when isAbleToFlush(leastPages). Returns flushedWhere.
   */
  flush(leastPages: number): number {
    for (;;) {
      const file = this.findByOffset(this.flushedWhere) ?? this.first();
      if (file === undefined) return this.flushedWhere;
      if (this.flushedWhere < file.fileFromOffset) this.flushedWhere = file.fileFromOffset;
      const before = this.flushedWhere;
      const flushed = file.fileFromOffset + file.flush(leastPages);
      this.flushedWhere = Math.max(this.flushedWhere, flushed);
      if (this.flushedWhere === before || !file.isFull() || file === this.last()) return this.flushedWhere;
    }
  }

  /**
   * Cuts the queue at global `offset`: later files are deleted, and the file holding it gets
   * its positions set there. With `zero`, bytes past the cut are zeroed (abnormal recovery).
   */
  truncateDirtyFiles(offset: number, zero: boolean): void {
    const keep: MappedFile[] = [];
    for (const file of this.#files) {
      const end = file.fileFromOffset + this.fileSize;
      if (end <= offset) {
        keep.push(file);
      } else if (file.fileFromOffset <= offset) {
        const pos = offset - file.fileFromOffset;
        if (zero) file.zeroTail(pos);
        file.wrotePosition = pos;
        file.flushedPosition = Math.min(file.flushedPosition, pos);
        keep.push(file);
      } else {
        file.destroy();
      }
    }
    this.#files = keep;
    this.flushedWhere = Math.min(this.flushedWhere, offset);
  }

  /**
   * Deletes up to `max` files from the oldest on, while `expired(file)` holds; the last file is
   * never deleted. Returns how many went.
   */
  deleteFirstFiles(max: number, expired: (file: MappedFile) => boolean): number {
    let n = 0;
    while (n < max && this.#files.length > 1) {
      const file = this.#files[0];
      if (file === undefined || !expired(file)) break;
      file.destroy();
      this.#files.shift();
      n++;
    }
    return n;
  }

  /** Closes (without deleting) the files wholly below `offset`: a reader letting go of old data. */
  closeFilesBefore(offset: number): void {
    while (this.#files.length > 1) {
      const file = this.#files[0];
      if (file === undefined || file.fileFromOffset + this.fileSize > offset) break;
      file.close();
      this.#files.shift();
    }
  }

  /**
   * Closes (without deleting) the files that start after `offset`: a reader letting go of files
   * the writer is about to cut away, so that a file made later under the same name is opened
   * afresh instead of read through a stale mapping.
   */
  closeFilesAfter(offset: number): void {
    while (this.#files.length > 0) {
      const file = this.#files[this.#files.length - 1];
      if (file === undefined || file.fileFromOffset <= offset) break;
      file.close();
      this.#files.pop();
    }
  }

  /** Deletes every file (a ConsumeQueue of a deleted topic, tests). */
  destroy(): void {
    for (const file of this.#files) file.destroy();
    this.#files = [];
    this.flushedWhere = 0;
  }

  close(): void {
    for (const file of this.#files) file.close();
    this.#files = [];
  }
}
