/**
 * The filter a pull hands to MessageStore.getMessage, as narrow as RocketMQ's MessageFilter so
 * that filter/ (tag expressions, SQL92, bloom bitmaps) can implement it without storage knowing
 * any of it. Stage one sees only the ConsumeQueue unit; stage two, when present, the record's
 * properties (ROCKETMQ.md 2.5, 8).
 */

/** A ConsumeQueueExt unit as a filter sees it (only when the ConsumeQueue extension is on). */
export interface ConsumeQueueExtUnitView {
  readonly tagsCode: number;
  readonly msgStoreTime: number;
  readonly filterBitMap: Uint8Array | undefined;
}

export interface MessageFilter {
  /** Stage one: false skips the message without reading the CommitLog. */
  matchesTagsCode(tagsCode: number, ext?: ConsumeQueueExtUnitView): boolean;
  /** Stage two (SQL92): absent means every message passing stage one matches. */
  matchesRecord?(properties: Readonly<Record<string, string>>): boolean;
}

/** The default filter: every message matches. */
export const ACCEPT_ALL: MessageFilter = Object.freeze({
  matchesTagsCode: () => true,
});
