/** Where a piece of broker state (topics, consumer offsets) is persisted as JSON. */
export interface JsonState {
  /** The last saved value, or undefined when nothing was saved yet. */
  load(): unknown;
  /** Replaces the saved value durably (write, fsync, rename). */
  save(value: unknown): void;
}
