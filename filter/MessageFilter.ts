/**
 * The filter of one subscription, as the broker's pull path uses it (RocketMQ's
 * ExpressionMessageFilter), in two stages:
 *
 * 1. matchesConsumeQueue: from what the ConsumeQueue (and its extension) holds, without reading
 *    the CommitLog. Tags: the tag hash is in the subscription's code set. SQL92: the group's bloom
 *    bits are all set in the message's bitmap. "No" is certain; "yes" may be a false positive.
 *    Missing information (no bitmap, a bitmap of another size, a message stored before the
 *    group's bits were computed) is "yes".
 * 2. matchesProperties: the exact answer from the message's properties. For tags, the TAGS
 *    property is one of the listed tags (this drops hash collisions); for SQL92, the expression
 *    evaluates to TRUE.
 *
 * A message is delivered when both say yes. Filters are immutable and safe to share.
 */
import { PetrelError } from '../common/errors.js';
import { type BloomFilter, bloomKey } from './bloom/BloomFilter.js';
import { type PropertySource, getProperty } from './PropertySource.js';
import { type CompiledSqlFilter, compileSqlFilter } from './sql/SqlFilter.js';
import { type TagExpression, parseTagExpression } from './tagExpression.js';

/** A subscription's filter as it travels (the same shape as the broker API's FilterSpec). */
export type FilterExpression =
  | { readonly type: 'TAG'; readonly expression: string }
  | { readonly type: 'SQL92'; readonly expression: string };

/** The property RocketMQ keeps a message's tag in. */
export const TAGS_PROPERTY = 'TAGS';

export interface MessageFilterOptions {
  /** The broker's enablePropertyFilter; when false a SQL92 filter is refused (ERR_FILTER_NOT_SUPPORTED). Default true. */
  readonly enablePropertyFilter?: boolean;
  /** For the bloom stage of a SQL92 filter: the broker's bloom filter and the group and topic it keys. */
  readonly bloom?: { readonly filter: BloomFilter; readonly group: string; readonly topic: string };
  /**
   * Store time (ms) from which messages carry this group's bits: the time the group's expression
   * was registered with the dispatcher. Earlier messages are "maybe" at the bloom stage. Without
   * it, every bitmap is trusted.
   */
  readonly bitsValidSince?: number;
}

export interface MessageFilter {
  readonly type: 'TAG' | 'SQL92';
  readonly expression: string;
  /** For a SQL92 filter with bloom options: the group's k positions; undefined otherwise. */
  readonly bitPositions: readonly number[] | undefined;
  /**
   * The ConsumeQueue stage. `tagsCode` is the unit's tag hash (or the extension unit's), `bitmap`
   * and `storeTimestamp` come from the extension unit when there is one.
   */
  matchesConsumeQueue(tagsCode: number | bigint | undefined, bitmap?: Uint8Array, storeTimestamp?: number): boolean;
  /** The exact stage, from the message's properties. */
  matchesProperties(props: PropertySource): boolean;
}

/**
 * Builds the filter of a subscription. Throws ERR_FILTER_SYNTAX or ERR_FILTER_TOO_COMPLEX for a
 * bad expression, ERR_FILTER_NOT_SUPPORTED for SQL92 when enablePropertyFilter is false.
 */
export function createMessageFilter(subscription: FilterExpression, options: MessageFilterOptions = {}): MessageFilter {
  if (subscription.type === 'TAG') return new TagMessageFilter(parseTagExpression(subscription.expression));
  if (options.enablePropertyFilter === false) {
    throw new PetrelError('ERR_FILTER_NOT_SUPPORTED', 'this broker does not support SQL92 filtering; set enablePropertyFilter=true in its configuration');
  }
  return new SqlMessageFilter(compileSqlFilter(subscription.expression), options);
}

class TagMessageFilter implements MessageFilter {
  readonly type = 'TAG';
  readonly bitPositions = undefined;

  constructor(private readonly tags: TagExpression) {}

  get expression(): string {
    return this.tags.expression;
  }

  matchesConsumeQueue(tagsCode: number | bigint | undefined): boolean {
    return this.tags.matchesTagsCode(tagsCode);
  }

  matchesProperties(props: PropertySource): boolean {
    return this.tags.matchesTag(getProperty(props, TAGS_PROPERTY));
  }
}

class SqlMessageFilter implements MessageFilter {
  readonly type = 'SQL92';
  readonly bitPositions: readonly number[] | undefined;
  private readonly bloom: BloomFilter | undefined;
  private readonly bitsValidSince: number | undefined;

  constructor(
    private readonly sql: CompiledSqlFilter,
    options: MessageFilterOptions,
  ) {
    this.bloom = options.bloom?.filter;
    this.bitPositions = options.bloom === undefined ? undefined : Object.freeze(options.bloom.filter.bitPositions(bloomKey(options.bloom.group, options.bloom.topic)));
    this.bitsValidSince = options.bitsValidSince;
  }

  get expression(): string {
    return this.sql.expression;
  }

  matchesConsumeQueue(_tagsCode: number | bigint | undefined, bitmap?: Uint8Array, storeTimestamp?: number): boolean {
    if (this.bloom === undefined || this.bitPositions === undefined || bitmap === undefined) return true;
    if (!this.bloom.isValidBitmap(bitmap)) return true;
    if (this.bitsValidSince !== undefined && (storeTimestamp === undefined || storeTimestamp < this.bitsValidSince)) return true;
    return this.bloom.isHit(bitmap, this.bitPositions);
  }

  matchesProperties(props: PropertySource): boolean {
    return this.sql.evaluate(props);
  }
}
