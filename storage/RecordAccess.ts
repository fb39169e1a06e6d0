/**
 * Record-level access to a CommitLog MappedFile that works with both backends: straight on the
 * mapping with mmap, through small positioned reads with fs.
 */
import { BLANK_MAGIC, BLANK_RECORD_LENGTH, OFF_MAGIC, OFF_TOTAL_SIZE } from './RecordLayout.js';
import { checkRecord, RecordCheck, type RecordCheckOptions } from './MessageDecoder.js';
import type { MappedFile } from './MappedFile.js';

/** checkRecord for the record at `position` of `file`. */
export function checkRecordInFile(file: MappedFile, position: number, options: RecordCheckOptions): number {
  const remaining = file.fileSize - position;
  const mapping = file.mapping;
  if (mapping !== undefined) return checkRecord(mapping, position, remaining, options, file.view);
  if (remaining < BLANK_RECORD_LENGTH) return RecordCheck.INVALID;
  const size = file.getInt32(position + OFF_TOTAL_SIZE);
  if (file.getInt32(position + OFF_MAGIC) === BLANK_MAGIC) return size === remaining ? RecordCheck.END_OF_FILE : RecordCheck.INVALID;
  if (size < BLANK_RECORD_LENGTH || size > remaining - BLANK_RECORD_LENGTH) return RecordCheck.INVALID;
  return checkRecord(file.read(position, size), 0, remaining, options);
}

/** A record located for decoding: `bytes[offset]` is its first byte; valid for one request. */
export interface LocatedRecord {
  bytes: Uint8Array;
  offset: number;
  view: DataView | undefined;
}

/** Points `out` at `size` bytes from `position` of `file` (the mapping, or a fresh copy). */
export function locateRecord(file: MappedFile, position: number, size: number, out: LocatedRecord): LocatedRecord {
  const mapping = file.mapping;
  if (mapping !== undefined) {
    out.bytes = mapping;
    out.offset = position;
    out.view = file.view;
  } else {
    out.bytes = file.read(position, size);
    out.offset = 0;
    out.view = undefined;
  }
  return out;
}

export function emptyLocatedRecord(): LocatedRecord {
  return { bytes: new Uint8Array(0), offset: 0, view: undefined };
}

/** TOTALSIZE and magic of the record at `position`: size, or 0 for a blank record. */
export function recordSizeAt(file: MappedFile, position: number): number {
  if (file.getInt32(position + OFF_MAGIC) === BLANK_MAGIC) return 0;
  return file.getInt32(position + OFF_TOTAL_SIZE);
}
