/**
 * Walking the CommitLog record by record past damage, for recovery and for rebuilding derived
 * files (ConsumeQueues, the index) from it.
 *
 * Every record stores its own physical offset (PHYSICALOFFSET, RecordLayout.ts), so after an
 * invalid record the walk can find the next valid one without trusting any length it read: it
 * looks for the first byte of a magic code (0xDA, shared by MAGIC_V1 and MAGIC_V2) with
 * Buffer.indexOf (memchr speed), compares the other three magic bytes, then the stored physical
 * offset against the candidate's position, and only then runs the full record check (lengths,
 * topic, CRCs). Bodies hold 0xDA about once every 256 bytes, so candidates cost a few byte
 * compares each; a wrong candidate passing the offset check as well is practically impossible.
 *
 * Records are not aligned, so the search goes byte by byte; its cost is reading the bytes, which
 * is why a caller that knows where the log ended at a clean stop passes it (`knownEnd`) and no
 * search runs from there: a 1 GiB file's sparse tail costs seconds to read cold.
 *
 * Plain functions over the writer's (or a reader's) MappedFileQueue; no state of their own.
 */
import type { MappedFile } from './MappedFile.js';
import type { MappedFileQueue } from './MappedFileQueue.js';
import { RecordCheck, type RecordCheckOptions } from './MessageDecoder.js';
import { checkRecordInFile } from './RecordAccess.js';
import { BLANK_MAGIC, MAGIC_V1, MAGIC_V2, OFF_MAGIC, OFF_PHYSICAL_OFFSET } from './RecordLayout.js';

/** A stretch of the CommitLog [from, to) holding no valid record, with valid records after it. */
export interface DamagedRange {
  readonly from: number;
  readonly to: number;
}

export interface WalkOptions {
  readonly check: RecordCheckOptions;
  /**
   * Where the log is known to have ended when it was last closed cleanly: an invalid record
   * there is the end, with no search after it. Undefined: search to the end of the last file.
   */
  readonly knownEnd?: number | undefined;
  /** Stop before the record that starts at or after this offset. Default: no limit. */
  readonly to?: number;
  /** Called for each valid record, in order. */
  readonly onRecord?: (file: MappedFile, position: number, size: number) => void;
  /**
   * Ranges already found damaged (by an earlier walk over the same bytes): the walk jumps over
   * them and trusts record sizes inside [trustedFrom, trustedTo) instead of checking again.
   */
  readonly trusted?: { readonly from: number; readonly to: number; readonly damaged: readonly DamagedRange[] } | undefined;
}

export interface WalkResult {
  /** After the last valid record (or at the end of a file closed by its blank record). */
  readonly end: number;
  /** Offset of the last valid record; -1 when none. */
  readonly lastRecord: number;
  readonly damaged: DamagedRange[];
}

const MAGIC_BYTE_0 = (MAGIC_V1 >>> 24) & 0xff;
const MAGIC_BYTE_1 = (MAGIC_V1 >>> 16) & 0xff;
const MAGIC_BYTE_2 = (MAGIC_V1 >>> 8) & 0xff;
const MAGIC_V1_BYTE_3 = MAGIC_V1 & 0xff;
const MAGIC_V2_BYTE_3 = MAGIC_V2 & 0xff;
/** Bytes read at a time while searching. */
const SEARCH_CHUNK = 1 << 20;

/** True when the record at `position` of `file` passes the check and stores its own offset. */
export function isValidRecordAt(file: MappedFile, position: number, check: RecordCheckOptions): number {
  const size = checkRecordInFile(file, position, check);
  if (size <= 0) return size;
  return file.getLong(position + OFF_PHYSICAL_OFFSET) === file.fileFromOffset + position ? size : RecordCheck.INVALID;
}

/**
 * True when the bytes at `position` claim to be a record start: a magic code, or the stored
 * physical offset of this position. A look-up at an offset that does not (a made-up offset, the
 * middle of a record) finds nothing; one that does but fails the record check hit damage.
 */
export function claimsRecordStart(file: MappedFile, position: number): boolean {
  if (position + OFF_PHYSICAL_OFFSET + 8 > file.fileSize) return false;
  const m = file.getInt32(position + OFF_MAGIC);
  return m === MAGIC_V1 || m === MAGIC_V2 || file.getLong(position + OFF_PHYSICAL_OFFSET) === file.fileFromOffset + position;
}

/** Cheap test of a candidate whose magic starts at `magicAt`: the other magic bytes and the stored offset. */
function candidateAt(file: MappedFile, magicAt: number): boolean {
  const start = magicAt - OFF_MAGIC;
  if (start < 0 || start + OFF_PHYSICAL_OFFSET + 8 > file.fileSize) return false;
  const m = file.getInt32(magicAt);
  if (m !== MAGIC_V1 && m !== MAGIC_V2) return false;
  return file.getLong(start + OFF_PHYSICAL_OFFSET) === file.fileFromOffset + start;
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The first valid record of `file` starting at or after `from`, or -1. */
function searchFile(file: MappedFile, from: number, check: RecordCheckOptions): number {
  // read(2) in chunks, not the mapping: the search runs over the file's unwritten tail, whose
  // holes a tmpfs mapping would allocate page by page (a SIGBUS when it is full).
  let at = from + OFF_MAGIC;
  while (at < file.fileSize) {
    const length = Math.min(SEARCH_CHUNK, file.fileSize - at);
    const chunk = bufferOf(file.readCopy(at, length));
    let i = 0;
    for (;;) {
      const m = chunk.indexOf(MAGIC_BYTE_0, i);
      if (m < 0) break;
      i = m + 1;
      const b3 = chunk[m + 3];
      if (m + 3 < chunk.length && (chunk[m + 1] !== MAGIC_BYTE_1 || chunk[m + 2] !== MAGIC_BYTE_2 || (b3 !== MAGIC_V1_BYTE_3 && b3 !== MAGIC_V2_BYTE_3))) continue;
      if (candidateAt(file, at + m) && isValidRecordAt(file, at + m - OFF_MAGIC, check) > 0) return at + m - OFF_MAGIC;
    }
    at += length;
  }
  return -1;
}

/** The next valid record at or after global `from`, searching file after file; -1 when none. */
export function findNextRecord(queue: MappedFileQueue, from: number, check: RecordCheckOptions): number {
  const files = queue.files;
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    if (file === undefined || file.fileFromOffset + file.fileSize <= from) continue;
    const pos = searchFile(file, Math.max(0, from - file.fileFromOffset), check);
    if (pos >= 0) return file.fileFromOffset + pos;
  }
  return -1;
}

function damagedAt(trusted: WalkOptions['trusted'], offset: number): DamagedRange | undefined {
  return trusted?.damaged.find((d) => d.from <= offset && offset < d.to);
}

/**
 * Walks the valid records from `from` (a record start), across files, past damaged stretches,
 * to the true end of the log: the first invalid position after which no valid record exists (or
 * `knownEnd`), or a file end with no file after it. Files wholly walked get their positions set
 * to full; the caller cuts the last one at `end`.
 */
export function walkRecords(queue: MappedFileQueue, from: number, options: WalkOptions): WalkResult {
  const damaged: DamagedRange[] = [];
  const files = queue.files;
  const to = options.to ?? Number.POSITIVE_INFINITY;
  const trusted = options.trusted;
  let lastRecord = -1;
  let index = files.findIndex((f) => from < f.fileFromOffset + f.fileSize);
  if (index < 0) return { end: from, lastRecord, damaged };
  let file = files[index] as MappedFile;
  let pos = Math.max(0, from - file.fileFromOffset);
  for (;;) {
    const offset = file.fileFromOffset + pos;
    if (offset >= to) return { end: offset, lastRecord, damaged };
    const known = damagedAt(trusted, offset);
    let size: number;
    if (known !== undefined) size = RecordCheck.INVALID;
    else if (trusted !== undefined && offset >= trusted.from && offset < trusted.to) size = trustedSize(file, pos);
    else size = isValidRecordAt(file, pos, options.check);
    if (size > 0) {
      options.onRecord?.(file, pos, size);
      lastRecord = offset;
      pos += size;
      continue;
    }
    if (size === RecordCheck.END_OF_FILE) {
      file.wrotePosition = file.flushedPosition = file.fileSize;
      const next = files[index + 1];
      if (next === undefined) return { end: file.fileFromOffset + file.fileSize, lastRecord, damaged };
      index++;
      file = next;
      pos = 0;
      continue;
    }
    // An invalid record: the end of the log, or a damaged stretch with valid records after it.
    if (known === undefined && options.knownEnd === offset) return { end: offset, lastRecord, damaged };
    const resume = known !== undefined ? known.to : findNextRecord(queue, offset + 1, options.check);
    if (resume < 0 || resume >= to) return { end: offset, lastRecord, damaged };
    if (known === undefined) damaged.push({ from: offset, to: resume });
    while (file.fileFromOffset + file.fileSize <= resume) {
      file.wrotePosition = file.flushedPosition = file.fileSize;
      index++;
      file = files[index] as MappedFile;
    }
    pos = resume - file.fileFromOffset;
  }
}

/** A record's size where an earlier walk checked it: TOTALSIZE, or END_OF_FILE for a blank. */
function trustedSize(file: MappedFile, pos: number): number {
  if (pos + 8 > file.fileSize) return RecordCheck.INVALID;
  const magic = file.getInt32(pos + OFF_MAGIC);
  if (magic !== MAGIC_V1 && magic !== MAGIC_V2) return magic === BLANK_MAGIC ? RecordCheck.END_OF_FILE : RecordCheck.INVALID;
  const size = file.getInt32(pos);
  return size > 0 && pos + size <= file.fileSize ? size : RecordCheck.INVALID;
}

/** Bytes in a list of ranges. */
export function damagedBytes(ranges: readonly DamagedRange[]): number {
  let n = 0;
  for (const r of ranges) n += r.to - r.from;
  return n;
}
