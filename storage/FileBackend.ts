/**
 * How a MappedFile's bytes reach the file: through a shared mmap mapping (@riaskov/mmap-io), or
 * through plain positioned fs reads and writes when mmap is unavailable or not wanted. Both sit
 * behind one interface so every store structure works with either.
 *
 * mmap-io has no unmap: a mapping is released when its Buffer is garbage-collected. So a view
 * returned by `read` must not outlive the request that asked for it, and nothing here hands the
 * mapping out except to the MappedFile that owns it.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type mmapModule from '@riaskov/mmap-io';
import { PetrelError } from '../common/errors.js';
import { writeFaultError, writeFaultLimit } from './FileFaults.js';
import { getLong, setLong } from './Long.js';

export type MappedFileBackendKind = 'mmap' | 'fs';
/** How `sync` makes bytes durable: fdatasync on the file, or msync through the mapping. */
export type SyncMethod = 'fdatasync' | 'msync';

export const OS_PAGE_SIZE = 4096;

export interface FileBackend {
  readonly kind: MappedFileBackendKind;
  readonly path: string;
  readonly size: number;
  /** The mapping (mmap backend only): direct access for the owning MappedFile's hot paths. */
  readonly mapping: Uint8Array | undefined;
  /** A DataView over the mapping (mmap backend only). */
  readonly view: DataView | undefined;
  write(position: number, src: Uint8Array, srcOffset: number, length: number): void;
  /** Bytes [position, position + length): a view of the mapping or a fresh copy; one request only. */
  read(position: number, length: number): Uint8Array;
  /**
   * A fresh copy of bytes [position, position + length) read with read(2), never through the
   * mapping: a hole of a full tmpfs read through a mapping is a SIGBUS, read(2) gives zeros.
   */
  readCopy(position: number, length: number): Uint8Array;
  getInt32(position: number): number;
  setInt32(position: number, value: number): void;
  getLong(position: number): number;
  setLong(position: number, value: number): void;
  fill(value: number, from: number, to: number): void;
  /** Makes bytes [from, to) durable. */
  sync(from: number, to: number): void;
  /**
   * True when writes reach the file through a writable mapping, where a page the filesystem
   * cannot back is a SIGBUS at first touch rather than an error: such a file's blocks must be
   * reserved (`reserve`) before its pages are written.
   */
  readonly writesThroughMapping: boolean;
  /** True when every block of the file is allocated (fstat blocks), so nothing needs reserving. */
  fullyAllocated(): boolean;
  /**
   * Makes the filesystem allocate the blocks of [from, to) with positioned writes, which fail
   * with ENOSPC where a touch of the mapping would be a SIGBUS: zeros when the range is known
   * never written (`keep` false), else the range's own bytes read back and written again.
   */
  reserve(from: number, to: number, keep: boolean): void;
  close(): void;
}

/** Bytes one reservation write puts at most. */
const RESERVE_WRITE_BYTES = 1 << 20;
const ZEROS = Buffer.alloc(RESERVE_WRITE_BYTES);

/**
 * Writes all of src[srcOffset, srcOffset + length) at `position` of `fd`, or throws the
 * operating system's error; the bytes before the failure may have reached the file.
 */
function writeFully(fd: number, path: string, src: Uint8Array, srcOffset: number, length: number, position: number): void {
  const limit = writeFaultLimit(path, length);
  const end = limit ?? length;
  let done = 0;
  while (done < end) done += fs.writeSync(fd, src, srcOffset + done, end - done, position + done);
  if (limit !== undefined) throw writeFaultError(path);
}

function allocatedAll(fd: number, size: number): boolean {
  const st = fs.fstatSync(fd);
  return st.blocks * 512 >= size;
}

/** Reserves [from, to) of `fd` by positioned writes (see FileBackend.reserve); ERR_STORE_IO on failure. */
export function reserveRange(fd: number, path: string, from: number, to: number, keep: boolean): void {
  const scratch = keep ? Buffer.allocUnsafe(Math.min(RESERVE_WRITE_BYTES, Math.max(0, to - from))) : ZEROS;
  try {
    for (let at = from; at < to; at += RESERVE_WRITE_BYTES) {
      const n = Math.min(RESERVE_WRITE_BYTES, to - at);
      if (keep) {
        // A hole reads as zeros without being allocated (read(2) does not fill tmpfs holes).
        let got = 0;
        while (got < n) {
          const r = fs.readSync(fd, scratch, got, n - got, at + got);
          if (r === 0) break;
          got += r;
        }
        scratch.fill(0, got, n);
      }
      writeFully(fd, path, scratch, 0, n, at);
    }
  } catch (err) {
    throw ioError('reserve', path, err);
  }
}

/** Under NodeNext the CommonJS module's default import is its exports object; the API is its `default`. */
type Mmap = typeof mmapModule.default;
let loadedMmap: Mmap | null | undefined;
let mmapLoadError: unknown;

/** mmap-io, or null when the native module cannot be loaded here (the fs backend then serves). */
export function loadMmap(): Mmap | null {
  if (loadedMmap === undefined) {
    try {
      const required = createRequire(import.meta.url)('@riaskov/mmap-io') as { default?: Mmap } & Mmap;
      loadedMmap = required.default ?? required;
    } catch (err) {
      mmapLoadError = err;
      loadedMmap = null;
    }
  }
  return loadedMmap;
}

export function mmapUnavailableReason(): unknown {
  return mmapLoadError;
}

export function ioError(op: string, path: string, cause: unknown): PetrelError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new PetrelError('ERR_STORE_IO', `${op} ${path}: ${msg}`, { cause });
}

export interface OpenBackendOptions {
  readonly kind: MappedFileBackendKind;
  readonly readOnly: boolean;
  readonly syncMethod?: SyncMethod;
}

/** Opens an existing file of `size` bytes with the backend asked for (fs if mmap cannot load). */
export function openBackend(path: string, size: number, options: OpenBackendOptions): FileBackend {
  let fd: number;
  try {
    fd = fs.openSync(path, options.readOnly ? 'r' : 'r+');
  } catch (err) {
    throw ioError('open', path, err);
  }
  const mmap = options.kind === 'mmap' ? loadMmap() : null;
  try {
    if (mmap !== null) return new MmapBackend(mmap, fd, path, size, options.readOnly, options.syncMethod ?? 'fdatasync');
    return new FsBackend(fd, path, size);
  } catch (err) {
    fs.closeSync(fd);
    throw err instanceof PetrelError ? err : ioError('map', path, err);
  }
}

/** A shared mapping of the whole file; owned by the MappedFile that opened it, in its thread. */
class MmapBackend implements FileBackend {
  readonly kind = 'mmap' as const;
  readonly path: string;
  readonly size: number;
  mapping: Uint8Array | undefined;
  view: DataView | undefined;
  readonly #mmap: Mmap;
  readonly #syncMethod: SyncMethod;
  readonly writesThroughMapping: boolean;
  #fd: number;

  constructor(mmap: Mmap, fd: number, path: string, size: number, readOnly: boolean, syncMethod: SyncMethod) {
    this.writesThroughMapping = !readOnly;
    const prot = readOnly ? mmap.PROT_READ : (3 as const); // PROT_READ | PROT_WRITE
    const buf = mmap.map(size, prot, mmap.MAP_SHARED, fd, 0);
    this.#mmap = mmap;
    this.#fd = fd;
    this.#syncMethod = syncMethod;
    this.path = path;
    this.size = size;
    this.mapping = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  #bytes(): Uint8Array {
    if (this.mapping === undefined) throw new PetrelError('ERR_STORE_CLOSED', `${this.path} is closed`);
    return this.mapping;
  }

  #dv(): DataView {
    if (this.view === undefined) throw new PetrelError('ERR_STORE_CLOSED', `${this.path} is closed`);
    return this.view;
  }

  write(position: number, src: Uint8Array, srcOffset: number, length: number): void {
    this.#bytes().set(srcOffset === 0 && length === src.length ? src : src.subarray(srcOffset, srcOffset + length), position);
  }

  read(position: number, length: number): Uint8Array {
    return this.#bytes().subarray(position, position + length);
  }

  readCopy(position: number, length: number): Uint8Array {
    if (this.#fd < 0) throw new PetrelError('ERR_STORE_CLOSED', `${this.path} is closed`);
    const out = Buffer.alloc(length);
    try {
      let done = 0;
      while (done < length) {
        const n = fs.readSync(this.#fd, out, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } catch (err) {
      throw ioError('read', this.path, err);
    }
    return out;
  }

  getInt32(position: number): number {
    return this.#dv().getInt32(position);
  }

  setInt32(position: number, value: number): void {
    this.#dv().setInt32(position, value);
  }

  getLong(position: number): number {
    return getLong(this.#dv(), position);
  }

  setLong(position: number, value: number): void {
    setLong(this.#dv(), position, value);
  }

  fill(value: number, from: number, to: number): void {
    this.#bytes().fill(value, from, to);
  }

  sync(from: number, to: number): void {
    if (to <= from) return;
    try {
      if (this.#syncMethod === 'msync') {
        const start = from - (from % OS_PAGE_SIZE);
        this.#mmap.sync(this.#bytes() as Buffer, start, to - start, true, false);
      } else {
        fs.fdatasyncSync(this.#fd);
      }
    } catch (err) {
      throw ioError(this.#syncMethod, this.path, err);
    }
  }

  fullyAllocated(): boolean {
    try {
      return allocatedAll(this.#fd, this.size);
    } catch (err) {
      throw ioError('stat', this.path, err);
    }
  }

  reserve(from: number, to: number, keep: boolean): void {
    if (this.#fd < 0) throw new PetrelError('ERR_STORE_CLOSED', `${this.path} is closed`);
    reserveRange(this.#fd, this.path, from, Math.min(to, this.size), keep);
  }

  close(): void {
    // The mapping itself goes when the last reference to it is collected.
    this.mapping = undefined;
    this.view = undefined;
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** Positioned reads and writes on an fd; owned by the MappedFile that opened it, in its thread. */
class FsBackend implements FileBackend {
  readonly kind = 'fs' as const;
  readonly mapping = undefined;
  readonly view = undefined;
  readonly path: string;
  readonly size: number;
  /** A failed positioned write is an error, never a signal: nothing to reserve. */
  readonly writesThroughMapping = false;
  readonly #scratch = new Uint8Array(8);
  readonly #scratchView = new DataView(this.#scratch.buffer);
  #fd: number;

  constructor(fd: number, path: string, size: number) {
    this.#fd = fd;
    this.path = path;
    this.size = size;
  }

  #checkOpen(): number {
    if (this.#fd < 0) throw new PetrelError('ERR_STORE_CLOSED', `${this.path} is closed`);
    return this.#fd;
  }

  write(position: number, src: Uint8Array, srcOffset: number, length: number): void {
    const fd = this.#checkOpen();
    try {
      writeFully(fd, this.path, src, srcOffset, length, position);
    } catch (err) {
      throw ioError('write', this.path, err);
    }
  }

  fullyAllocated(): boolean {
    return true;
  }

  reserve(): void {
    // positioned writes report ENOSPC themselves
  }

  read(position: number, length: number): Uint8Array {
    const out = Buffer.alloc(length);
    this.#readInto(out, length, position);
    return out;
  }

  readCopy(position: number, length: number): Uint8Array {
    return this.read(position, length);
  }

  #readInto(target: Uint8Array, length: number, position: number): void {
    const fd = this.#checkOpen();
    try {
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, target, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } catch (err) {
      throw ioError('read', this.path, err);
    }
  }

  getInt32(position: number): number {
    this.#readInto(this.#scratch, 4, position);
    return this.#scratchView.getInt32(0);
  }

  setInt32(position: number, value: number): void {
    this.#scratchView.setInt32(0, value);
    this.write(position, this.#scratch, 0, 4);
  }

  getLong(position: number): number {
    this.#readInto(this.#scratch, 8, position);
    return getLong(this.#scratchView, 0);
  }

  setLong(position: number, value: number): void {
    setLong(this.#scratchView, 0, value);
    this.write(position, this.#scratch, 0, 8);
  }

  fill(value: number, from: number, to: number): void {
    const chunk = Buffer.alloc(Math.min(1 << 20, Math.max(0, to - from)), value);
    for (let at = from; at < to; at += chunk.length) this.write(at, chunk, 0, Math.min(chunk.length, to - at));
  }

  sync(from: number, to: number): void {
    if (to <= from) return;
    try {
      fs.fdatasyncSync(this.#checkOpen());
    } catch (err) {
      throw ioError('fdatasync', this.path, err);
    }
  }

  close(): void {
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}
