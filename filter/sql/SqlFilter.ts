/**
 * Compiled SQL92 filters: parse once, evaluate per message.
 *
 * compileSqlFilter keeps the last 100 compiled expressions (RocketMQ's parse cache holds 100),
 * keyed by the exact expression text, so a broker that sees the same subscription in every
 * heartbeat and pull compiles it once. A compiled filter is immutable and shared freely.
 */
import { LruCache } from '../LruCache.js';
import type { PropertySource } from '../PropertySource.js';
import type { Expr } from './ast.js';
import { type SqlOutcome, compileExpression } from './evaluator.js';
import { type SqlLimits, DEFAULT_SQL_LIMITS, parseSql } from './parser.js';
import { printSql } from './printer.js';

/** How many compiled expressions the shared cache keeps (RocketMQ's SelectorParser cache size). */
export const SQL_CACHE_SIZE = 100;

export interface CompiledSqlFilter {
  /** The expression as given. */
  readonly expression: string;
  /** Its tree. */
  readonly ast: Expr;
  /** The canonical text of the tree (printSql). */
  readonly canonical: string;
  /** True only when the expression is TRUE for these properties. Never throws. */
  evaluate(props: PropertySource): boolean;
  /** TRUE, FALSE, null, or 'error' when a property could not be read as the number it meets. */
  outcome(props: PropertySource): SqlOutcome;
}

/** A cache of compiled filters with its own capacity and limits. */
export class SqlFilterCache {
  private readonly cache: LruCache<string, CompiledSqlFilter>;

  constructor(
    capacity = SQL_CACHE_SIZE,
    private readonly limits: SqlLimits = DEFAULT_SQL_LIMITS,
  ) {
    this.cache = new LruCache(capacity);
  }

  /** Throws FilterSyntaxError (ERR_FILTER_SYNTAX) or FilterTooComplexError (ERR_FILTER_TOO_COMPLEX). */
  compile(expression: string): CompiledSqlFilter {
    const cached = this.cache.get(expression);
    if (cached !== undefined) return cached;
    const compiled = buildSqlFilter(expression, parseSql(expression, this.limits));
    this.cache.set(expression, compiled);
    return compiled;
  }

  get size(): number {
    return this.cache.size;
  }
}

const shared = new SqlFilterCache();

/** Compiles through the shared cache of SQL_CACHE_SIZE entries, with the default limits. */
export function compileSqlFilter(expression: string): CompiledSqlFilter {
  return shared.compile(expression);
}

/** Wraps an already parsed tree (no cache). */
export function buildSqlFilter(expression: string, ast: Expr): CompiledSqlFilter {
  const run = compileExpression(ast);
  return Object.freeze({
    expression,
    ast,
    canonical: printSql(ast),
    evaluate: (props: PropertySource) => run(props) === true,
    outcome: run,
  });
}
