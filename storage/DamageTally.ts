/**
 * Counts of store damage found, for the petrelmq_store_corrupt_* metrics and admin: what
 * recovery found at open, and what reads (pulls, look-ups) found afterwards.
 *
 * Reads count each damaged record once, by CommitLog offset, however many pulls or look-ups hit
 * it: a record that four consumer groups step over is one damaged record, not four. The set of
 * offsets seen is bounded (`maxTracked`); past it, it starts again, so a store with more damage
 * than that may count a record twice, never zero times.
 *
 * Owner: the thread that serves reads (the dispatcher actor); plain numbers cross threads.
 */

/** Damage found so far, by where it was found. */
export interface StoreDamage {
  /** Damaged CommitLog stretches found by recovery at open (skipped and kept, or a cut tail). */
  readonly recoveryRanges: number;
  readonly recoveryBytes: number;
  /** Damaged records found by reads since the broker started, each counted once. */
  readonly readRecords: number;
  readonly readBytes: number;
  /** ConsumeQueue ranges rebuilt, and IndexFiles written for stretches no file covered, at open. */
  readonly rebuiltQueues: number;
  readonly rebuiltIndexFiles: number;
}

export const NO_DAMAGE: StoreDamage = { recoveryRanges: 0, recoveryBytes: 0, readRecords: 0, readBytes: 0, rebuiltQueues: 0, rebuiltIndexFiles: 0 };

export class ReadDamageTally {
  readonly #seen = new Set<number>();
  readonly #maxTracked: number;
  #records = 0;
  #bytes = 0;

  constructor(maxTracked = 100_000) {
    this.#maxTracked = maxTracked;
  }

  /** Notes a damaged record at `offset` (`size` bytes, 0 when unknown); true when it is new. */
  note(offset: number, size: number): boolean {
    if (this.#seen.has(offset)) return false;
    if (this.#seen.size >= this.#maxTracked) this.#seen.clear();
    this.#seen.add(offset);
    this.#records++;
    this.#bytes += Math.max(0, size);
    return true;
  }

  /** True when a read found the record at `offset` damaged (and it is still tracked). */
  has(offset: number): boolean {
    return this.#seen.has(offset);
  }

  get records(): number {
    return this.#records;
  }

  get bytes(): number {
    return this.#bytes;
  }
}
