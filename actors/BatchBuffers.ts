/**
 * Reusable shared memory for the send path's batches. A batch is encoded into a SharedArrayBuffer
 * that both the main thread and the writer see, so the ask that hands it over carries a view, not
 * a transferred (detached and re-created) ArrayBuffer: on this project's machine a transfer of a
 * fresh 64 KiB buffer costs about 15 us per postMessage, a shared one about 2 us, and the writer's
 * thread no longer collects a buffer per batch.
 *
 * Ownership: a lease belongs to the sender from take() until the writer's reply; the writer only
 * reads (and patches) the records while it handles the ask, and answers after its last write. A
 * lease whose ask failed is dropped rather than given back, since the writer may still hold it.
 */

export interface BatchLease {
  /** `bytes` bytes for the records, back to back. */
  readonly bytes: Uint8Array;
  /** `records * fields` Int32 metadata cells. */
  readonly meta: Int32Array;
  readonly slot: BufferSlot;
}

interface BufferSlot {
  readonly records: SharedArrayBuffer;
  readonly meta: SharedArrayBuffer;
}

const MIN_BYTES = 64 * 1024;
const MIN_META_CELLS = 1024;

function capacity(need: number, min: number): number {
  let c = min;
  while (c < need) c *= 2;
  return c;
}

export class BatchBuffers {
  readonly #free: BufferSlot[] = [];
  readonly #keep: number;
  readonly #maxKeptBytes: number;

  /** Keeps at most `keep` idle slots, none larger than `maxKeptBytes`. */
  constructor(keep: number, maxKeptBytes: number) {
    this.#keep = keep;
    this.#maxKeptBytes = maxKeptBytes;
  }

  /** Views of `bytes` record bytes and `cells` metadata cells, from an idle slot when one fits. */
  take(bytes: number, cells: number): BatchLease {
    let slot: BufferSlot | undefined;
    for (let i = this.#free.length - 1; i >= 0; i--) {
      const s = this.#free[i] as BufferSlot;
      if (s.records.byteLength >= bytes && s.meta.byteLength >= cells * 4) {
        slot = s;
        this.#free.splice(i, 1);
        break;
      }
    }
    slot ??= {
      records: new SharedArrayBuffer(capacity(bytes, MIN_BYTES)),
      meta: new SharedArrayBuffer(capacity(cells, MIN_META_CELLS) * 4),
    };
    return { bytes: new Uint8Array(slot.records, 0, bytes), meta: new Int32Array(slot.meta, 0, cells), slot };
  }

  /** Gives a lease back once the writer has answered for it. */
  give(lease: BatchLease): void {
    if (this.#free.length >= this.#keep || lease.slot.records.byteLength > this.#maxKeptBytes) return;
    this.#free.push(lease.slot);
  }

  /** Idle slots kept (for tests). */
  get idle(): number {
    return this.#free.length;
  }
}
