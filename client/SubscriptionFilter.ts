/**
 * A consumer's view of one subscription: the spec sent to the broker, and the consumer-side
 * re-check. For tags the broker compared only hash codes, so the consumer compares the tag
 * strings and drops collisions ("Aa" and "BB" share a hash). SQL92 is evaluated exactly on the
 * broker, so nothing is re-checked here.
 */
import type { FilterSpec, MessageExt } from '../api/BrokerApi.js';
import { parseTagExpression, type TagExpression } from '../filter/tagExpression.js';

export class SubscriptionFilter {
  readonly spec: FilterSpec;
  readonly #tags: TagExpression | undefined;

  constructor(spec: FilterSpec) {
    this.spec = spec;
    this.#tags = spec.type === 'TAG' ? parseTagExpression(spec.expression) : undefined;
  }

  recheck(message: MessageExt): boolean {
    return this.#tags === undefined || this.#tags.matchesTag(message.tags);
  }
}
