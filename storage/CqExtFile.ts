/**
 * The files of a ConsumeQueue extension at the level of bytes: positioned reads and writes on a
 * file descriptor, and the scan that finds where a file's well-formed units end. ConsumeQueueExt
 * keeps the list of files and the write position.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PetrelError } from '../common/errors.js';
import { BITMAP_SIZE_OFFSET, BLANK_MARKER, CQ_EXT_END_BLANK_LENGTH, CQ_EXT_MIN_UNIT_SIZE, SIZE_OFFSET } from './CqExtUnit.js';

/** One open extension file: the logical offset of its first byte, its path and descriptor. */
export interface ExtFile {
  readonly base: number;
  readonly path: string;
  readonly fd: number;
}

/** Bytes read at once when scanning or serving reads. */
export const READ_AHEAD_BYTES = 64 * 1024;

export function openExtFile(file: string, flags: 'r' | 'r+' | 'w+'): number {
  try {
    return openSync(file, flags);
  } catch (err) {
    throw ioError('open', file, err);
  }
}

/** A new file in `dir` named by its 20-digit `base`, sized (sparse) to `fileSize`. */
export function createExtFile(dir: string, base: number, fileSize: number): ExtFile {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, String(base).padStart(20, '0'));
  const fd = openExtFile(file, 'w+');
  try {
    ftruncateSync(fd, fileSize);
  } catch (err) {
    closeSync(fd);
    throw ioError('size', file, err);
  }
  return { base, path: file, fd };
}

/** Closes a file at `position` with the blank marker: the short -1, then two zero bytes. */
export function writeBlankMarker(file: ExtFile, position: number): ExtFile {
  const marker = Buffer.alloc(CQ_EXT_END_BLANK_LENGTH);
  marker.writeInt16BE(BLANK_MARKER, 0);
  writeFully(file, marker, position);
  return file;
}

export function writeFully(file: ExtFile, bytes: Buffer, position: number): void {
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(file.fd, bytes, done, bytes.length - done, position + done);
  } catch (err) {
    throw ioError('write', file.path, err);
  }
}

/** `length` bytes at `position`; zeros past the end of the file. */
export function readAt(file: ExtFile, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  try {
    while (done < length) {
      const n = readSync(file.fd, buf, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (err) {
    throw ioError('read', file.path, err);
  }
  return buf;
}

export function ioError(what: string, file: string, cause: unknown): PetrelError {
  return new PetrelError('ERR_STORE_IO', `${what} of consume queue extension ${file} failed: ${(cause as Error).message}`, { cause });
}

/**
 * Where the well-formed units of `file` end, relative to its start: `fileSize` when the file was
 * closed with the blank marker, else the end of the last unit before a bad or unwritten one.
 */
export function scanUnitsEnd(file: ExtFile, fileSize: number): number {
  let position = 0;
  const limit = fileSize - CQ_EXT_END_BLANK_LENGTH;
  // headers are read a block at a time: one read per unit would make a start-up take minutes
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = 0;
  while (position + CQ_EXT_MIN_UNIT_SIZE <= limit) {
    if (position + CQ_EXT_MIN_UNIT_SIZE > chunkStart + chunk.length) {
      chunkStart = position;
      chunk = readAt(file, position, Math.min(READ_AHEAD_BYTES, limit - position));
    }
    const at = position - chunkStart;
    const size = chunk.readInt16BE(at + SIZE_OFFSET);
    if (size === BLANK_MARKER) return fileSize;
    if (size < CQ_EXT_MIN_UNIT_SIZE || chunk.readInt16BE(at + BITMAP_SIZE_OFFSET) !== size - CQ_EXT_MIN_UNIT_SIZE || position + size > limit) break;
    position += size;
  }
  return position;
}
