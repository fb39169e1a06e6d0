/**
 * Makes the CommitLog durable up to a position from a thread other than the writer's (the flush
 * actor). It opens the files itself: with fdatasync it needs no mapping; with msync it maps them
 * read-only and syncs through that mapping (the page cache is shared, so this covers the
 * writer's bytes).
 *
 * Owner: the flush actor. It keeps only the flushed position; after a crash it restarts from the
 * position recovery found (everything recovery keeps is re-flushed on the first call).
 */
import type { SyncMethod } from './FileBackend.js';
import { MappedFileQueue } from './MappedFileQueue.js';

export interface CommitLogFlusherOptions {
  readonly dir: string;
  /** mappedFileSizeCommitLog */
  readonly fileSize: number;
  readonly syncMethod: SyncMethod;
  /** Offset already known durable (0 after a crash: flushing again is harmless). */
  readonly flushedFrom?: number;
}

export class CommitLogFlusher {
  readonly #queue: MappedFileQueue;
  #flushed: number;

  constructor(options: CommitLogFlusherOptions) {
    this.#queue = new MappedFileQueue({
      dir: options.dir,
      fileSize: options.fileSize,
      backend: options.syncMethod === 'msync' ? 'mmap' : 'fs',
      syncMethod: options.syncMethod,
      readOnly: true,
    });
    this.#queue.refresh();
    this.#flushed = options.flushedFrom ?? 0;
  }

  get flushedPosition(): number {
    return this.#flushed;
  }

  /**
   * Flushes towards `upTo` (the published write position): files before the last are full and
   * always flushed; the last one only when RocketMQ's isAbleToFlush(leastPages) holds.
   * Returns the new flushed position.
   */
  flush(upTo: number, leastPages: number): number {
    while (this.#flushed < upTo) {
      let file = this.#queue.findByOffset(this.#flushed);
      if (file === undefined) {
        this.#queue.refresh();
        file = this.#queue.findByOffset(this.#flushed);
        if (file === undefined) break;
      }
      const inFile = this.#flushed - file.fileFromOffset;
      file.flushedPosition = inFile;
      const target = Math.min(upTo - file.fileFromOffset, file.fileSize);
      const after = file.flush(leastPages, target);
      if (after <= inFile) break;
      this.#flushed = file.fileFromOffset + after;
      if (after < file.fileSize) break;
    }
    this.#queue.closeFilesBefore(this.#flushed);
    return this.#flushed;
  }

  /**
   * The log was cut at `offset` (a slave dropping a diverged tail): nothing past it counts as
   * flushed, and the files are opened again, since those after the cut were deleted and may be
   * made anew under the same names.
   */
  rewind(offset: number): void {
    this.#flushed = Math.min(this.#flushed, offset);
    this.#queue.close();
    this.#queue.refresh();
  }

  close(): void {
    this.#queue.close();
  }
}
