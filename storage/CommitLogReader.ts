/**
 * A read-only view of a CommitLog folder for threads other than the writer (the dispatcher
 * actor, consumers reading by offset). It maps files lazily as they appear and never reads at or
 * past the position it is given: the writer publishes how far the log is complete, and bytes
 * beyond may be half-written.
 *
 * Owner: one thread each; every thread that reads opens its own. Views it returns are valid for one request.
 * After a crash of its thread it is simply reopened; it holds no state worth keeping.
 */
import { PetrelError } from '../common/errors.js';
import type { CommitLogDispatcher, DispatchRequest } from './CommitLogDispatcher.js';
import { emptyDispatchRequest } from './CommitLogDispatcher.js';
import type { MappedFileBackendKind } from './FileBackend.js';
import type { MappedFile } from './MappedFile.js';
import { MappedFileQueue } from './MappedFileQueue.js';
import { decodeDispatchRequest, decodeMessage, isServableRecord, readStoreTimestamp, type MessageExt } from './MessageDecoder.js';
import { emptyLocatedRecord, locateRecord, recordSizeAt } from './RecordAccess.js';
import { claimsRecordStart } from './RecordScan.js';

export interface CommitLogReaderOptions {
  readonly dir: string;
  /** mappedFileSizeCommitLog */
  readonly fileSize: number;
  readonly backend: MappedFileBackendKind;
  /** messageDelayLevel in ms per level, for SCHEDULE_TOPIC_XXXX tag codes. */
  readonly delayLevelsMs?: readonly number[];
}

export class CommitLogReader {
  readonly #queue: MappedFileQueue;
  readonly #delayLevels: readonly number[];
  readonly #request: DispatchRequest = emptyDispatchRequest();

  constructor(options: CommitLogReaderOptions) {
    this.#queue = new MappedFileQueue({ dir: options.dir, fileSize: options.fileSize, backend: options.backend, readOnly: true });
    this.#delayLevels = options.delayLevelsMs ?? [];
    this.#queue.refresh();
  }

  get fileSize(): number {
    return this.#queue.fileSize;
  }

  #fileFor(offset: number): MappedFile | undefined {
    let file = this.#queue.findByOffset(offset);
    if (file === undefined) {
      this.#queue.refresh();
      file = this.#queue.findByOffset(offset);
    }
    return file;
  }

  /** Bytes [offset, offset + size) if they lie below `readLimit`: a view for one request. */
  read(offset: number, size: number, readLimit: number): Uint8Array | undefined {
    if (offset < 0 || size <= 0 || offset + size > readLimit) return undefined;
    const file = this.#fileFor(offset);
    if (file === undefined || offset - file.fileFromOffset + size > file.fileSize) return undefined;
    return file.read(offset - file.fileFromOffset, size);
  }

  /**
   * The message at `offset` if it lies wholly below `readLimit`, decoded (body copied); undefined
   * when nothing is stored there (past the end, before the first file, a file's blank tail).
   * when the bytes there do not claim to start a record (claimsRecordStart). Throws
   * ERR_STORE_CORRUPT when they do but are not a sound record of this offset: a damaged body is
   * never served.
   */
  lookMessage(offset: number, readLimit: number, knownStart = false): MessageExt | undefined {
    const bytes = this.lookRecord(offset, readLimit, knownStart);
    return bytes === undefined ? undefined : decodeMessage(bytes, 0);
  }

  /**
   * The record at `offset` as lookMessage finds it: a view for one request, checked.
   * `knownStart`: a record is known to have started there (an index entry says so), so bytes
   * that do not claim a record start are damage too, not "nothing stored".
   */
  lookRecord(offset: number, readLimit: number, knownStart = false): Uint8Array | undefined {
    const file = offset + 8 <= readLimit ? this.#fileFor(offset) : undefined;
    if (file === undefined) return undefined;
    const pos = offset - file.fileFromOffset;
    const size = recordSizeAt(file, pos);
    if (!knownStart && (size === 0 || !claimsRecordStart(file, pos))) return undefined;
    const bytes = size > 0 ? this.read(offset, size, readLimit) : undefined;
    if (bytes === undefined || !isServableRecord(bytes, 0, size, offset)) throw corruptAt(offset);
    return bytes;
  }

  /** The TOTALSIZE stored at `offset` when it is a plausible record size there; 0 otherwise (for reporting damage). */
  claimedSizeAt(offset: number): number {
    const file = this.#fileFor(offset);
    if (file === undefined) return 0;
    const pos = offset - file.fileFromOffset;
    const size = pos + 8 <= file.fileSize ? recordSizeAt(file, pos) : 0;
    return size > 0 && pos + size <= file.fileSize ? size : 0;
  }

  /** STORETIMESTAMP of the record at `offset`, or undefined when it is not a readable record. */
  storeTimestampAt(offset: number, readLimit: number): number | undefined {
    try {
      const bytes = this.lookRecord(offset, readLimit);
      return bytes === undefined ? undefined : readStoreTimestamp(bytes, 0);
    } catch {
      return undefined;
    }
  }

  /**
   * Dispatches the records in [from, readLimit) in order, at most `maxRecords`, and returns the
   * offset to continue from (the dispatcher actor's reputFromOffset). The request object handed
   * to the dispatchers is reused for every record.
   */
  dispatch(from: number, readLimit: number, dispatchers: readonly CommitLogDispatcher[], maxRecords = Number.MAX_SAFE_INTEGER): number {
    const located = emptyLocatedRecord();
    let offset = from;
    let count = 0;
    while (offset < readLimit && count < maxRecords) {
      const file = this.#fileFor(offset);
      if (file === undefined) {
        throw new PetrelError('ERR_STORE_CORRUPT', `no CommitLog file holds offset ${offset}, below the published ${readLimit}`);
      }
      const pos = offset - file.fileFromOffset;
      const size = recordSizeAt(file, pos);
      if (size <= 0) {
        offset = file.fileFromOffset + file.fileSize;
        continue;
      }
      if (offset + size > readLimit) break;
      locateRecord(file, pos, size, located);
      decodeDispatchRequest(located.bytes, located.offset, this.#delayLevels, this.#request, located.view);
      for (const d of dispatchers) d.dispatch(this.#request);
      offset += size;
      count++;
    }
    return offset;
  }

  /** Offset of the first byte stored (0 when there is no file). */
  minOffset(): number {
    if (this.#queue.first() === undefined) this.#queue.refresh();
    return this.#queue.minOffset();
  }

  /**
   * The start of the record that holds `offset` (or `offset` itself when a record starts
   * there), found by walking the record sizes from the start of its file, below `readLimit`.
   * A blank record or a size that makes no sense ends the walk where it stands. Offsets outside
   * the stored files are returned as they are.
   */
  recordStartAtOrBefore(offset: number, readLimit: number): number {
    const file = this.#fileFor(offset);
    if (file === undefined) return offset;
    const inFile = offset - file.fileFromOffset;
    let pos = 0;
    while (pos < inFile && file.fileFromOffset + pos + 8 <= readLimit && pos + 8 <= file.fileSize) {
      const size = recordSizeAt(file, pos);
      if (size < 8 || pos + size > file.fileSize || pos + size > inFile) break;
      pos += size;
    }
    return file.fileFromOffset + pos;
  }

  /** Lets go of files that start after `offset` (the writer is cutting the log there). */
  forgetAfter(offset: number): void {
    this.#queue.closeFilesAfter(offset);
  }

  /** Lets go of files wholly below `offset` (the writer deletes expired files). */
  releaseBefore(offset: number): void {
    this.#queue.closeFilesBefore(offset);
  }

  close(): void {
    this.#queue.close();
  }
}

/** What a read that hits damage throws; the broker keeps running and the caller can go on. */
export function corruptAt(offset: number): PetrelError {
  return new PetrelError('ERR_STORE_CORRUPT', `the CommitLog holds no sound record at offset ${offset} (damaged, or not the start of a record)`);
}
