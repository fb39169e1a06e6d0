/**
 * The exact filter check the pop service applies to every message it pulls, on top of the
 * broker's own pull filter: tag hashes in the ConsumeQueue can collide, so the tag itself is
 * compared, and SQL92 is evaluated over the message's properties with its TAGS.
 */
import type { FilterSpec, MessageExt } from '../api/BrokerApi.js';
import { createMessageFilter, TAGS_PROPERTY, type MessageFilter } from '../filter/index.js';
import { StatusError } from './status.js';
import { Code, FilterType } from './wire.js';
import { num, rec, str } from './parse.js';

export interface FilterMatcher {
  readonly spec: FilterSpec;
  /** spec type and expression, for noticing a changed subscription. */
  readonly key: string;
  matches(message: MessageExt): boolean;
}

/** A wire FilterExpression as the broker's FilterSpec; absent or blank means every message. */
export function filterSpecOf(raw: unknown): FilterSpec {
  const f = rec(raw, 'filter_expression');
  const type = num(f, 'type');
  const expression = str(f, 'expression');
  if (type === FilterType.SQL) {
    if (expression.trim() === '') throw new StatusError(Code.ILLEGAL_FILTER_EXPRESSION, 'SQL92 filter expression is blank');
    return { type: 'SQL92', expression };
  }
  if (type !== FilterType.TAG && type !== FilterType.UNSPECIFIED) throw new StatusError(Code.ILLEGAL_FILTER_EXPRESSION, `unknown filter type ${type}`);
  return { type: 'TAG', expression: expression.trim() === '' ? '*' : expression };
}

/** Compiles a filter; a bad expression is ILLEGAL_FILTER_EXPRESSION. */
export function compileFilter(spec: FilterSpec): FilterMatcher {
  let filter: MessageFilter;
  try {
    filter = createMessageFilter(spec, { enablePropertyFilter: true });
  } catch (err) {
    throw new StatusError(Code.ILLEGAL_FILTER_EXPRESSION, err instanceof Error ? err.message : 'bad filter expression', { cause: err });
  }
  return {
    spec,
    key: `${spec.type}:${spec.expression}`,
    matches(message: MessageExt): boolean {
      const props = message.tags === undefined ? message.properties : { ...message.properties, [TAGS_PROPERTY]: message.tags };
      return filter.matchesProperties(props);
    },
  };
}
