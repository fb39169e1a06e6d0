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
  /**
   * Stage one: false skips the message without reading the CommitLog. `tagsCode` is undefined
   * when the unit's tag code lives in an extension unit that cannot be read (a filter then says
   * yes, and stage two or the consumer decides); `ext` is that unit when it was read.
   */
  matchesTagsCode(tagsCode: number | undefined, ext?: ConsumeQueueExtUnitView): boolean;
  /**
   * False when stage one never looks at its arguments (a SQL92 filter without bloom bits): the
   * pull then does not read extension units for it. Default true.
   */
  readonly readsConsumeQueue?: boolean;
  /** Stage two (SQL92): absent means every message passing stage one matches. */
  matchesRecord?(properties: Readonly<Record<string, string>>): boolean;
}

/** The default filter: every message matches. */
export const ACCEPT_ALL: MessageFilter = Object.freeze({
  matchesTagsCode: () => true,
});
