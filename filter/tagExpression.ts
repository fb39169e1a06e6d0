/**
 * RocketMQ tag subscriptions: "*" (or empty) takes every message, otherwise "TagA || TagB" takes
 * messages whose one tag is listed.
 *
 * Two checks, as RocketMQ splits them:
 * - matchesTagsCode: the broker's check on a ConsumeQueue unit, which only holds the Java hash of
 *   the message's tag. Two tags with the same hash ("Aa" and "BB" both hash to 2112) pass alike.
 * - matchesTag: the exact check on the tag string itself, which RocketMQ's client does after the
 *   pull to drop hash collisions. A message without a tag never matches a tag list.
 */
import { PetrelError } from '../common/errors.js';
import { javaHash } from '../common/javaHash.js';

/** The subscription string that takes every message (RocketMQ SubscriptionData.SUB_ALL). */
export const SUB_ALL = '*';

/** The separator RocketMQ splits a tag list on. */
const TAG_SEPARATOR = '||';

export interface TagExpression {
  /** The expression as given. */
  readonly expression: string;
  /** True for "*" and for an empty expression: every message matches, tagged or not. */
  readonly all: boolean;
  /** The listed tags, trimmed; empty when `all`. */
  readonly tags: ReadonlySet<string>;
  /** javaHash of each listed tag; empty when `all`. */
  readonly codes: ReadonlySet<number>;
  /**
   * The ConsumeQueue-level check. `tagsCode` is the value of the unit's tag slot (a Java int
   * stored sign-extended in a long; a bigint is narrowed to its low 32 bits as Java's `(int)` cast
   * does). An unknown code (undefined) passes: the exact check decides.
   */
  matchesTagsCode(tagsCode: number | bigint | undefined): boolean;
  /** The exact check on the message's TAGS property. */
  matchesTag(tag: string | undefined): boolean;
}

/**
 * Parses a tag subscription. Tokens are split on "||", trimmed, and empty tokens dropped, as
 * RocketMQ's FilterAPI does. An expression that names no tag at all (" || ") is refused with
 * ERR_FILTER_SYNTAX: RocketMQ would accept it and deliver nothing, which is never what was meant.
 */
export function parseTagExpression(expression: string | undefined): TagExpression {
  const text = expression ?? '';
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === SUB_ALL) return new AllTags(text);
  const tags = new Set<string>();
  for (const token of trimmed.split(TAG_SEPARATOR)) {
    const tag = token.trim();
    if (tag.length > 0) tags.add(tag);
  }
  if (tags.size === 0) {
    throw new PetrelError('ERR_FILTER_SYNTAX', `tag expression "${text}" names no tag; use "*" to take every message`);
  }
  return new TagList(text, tags);
}

/** The hash RocketMQ stores in the ConsumeQueue for a message's tag; 0 when it has none. */
export function tagsCodeOf(tag: string | undefined): number {
  return tag === undefined || tag === '' ? 0 : javaHash(tag);
}

class AllTags implements TagExpression {
  readonly all = true;
  readonly tags: ReadonlySet<string> = new Set();
  readonly codes: ReadonlySet<number> = new Set();

  constructor(readonly expression: string) {}

  matchesTagsCode(): boolean {
    return true;
  }

  matchesTag(): boolean {
    return true;
  }
}

class TagList implements TagExpression {
  readonly all = false;
  readonly codes: ReadonlySet<number>;

  constructor(
    readonly expression: string,
    readonly tags: ReadonlySet<string>,
  ) {
    this.codes = new Set([...tags].map((tag) => javaHash(tag)));
  }

  matchesTagsCode(tagsCode: number | bigint | undefined): boolean {
    if (tagsCode === undefined) return true;
    const code = typeof tagsCode === 'bigint' ? Number(BigInt.asIntN(32, tagsCode)) : tagsCode | 0;
    return this.codes.has(code);
  }

  matchesTag(tag: string | undefined): boolean {
    return tag !== undefined && this.tags.has(tag);
  }
}
