/**
 * What filter/ offers the rest of petrelmq: tag expressions, SQL92 selectors, RocketMQ's bloom
 * filter, the per-subscription MessageFilter the pull path uses and the bitmap the dispatcher
 * computes. Internals (tokenizer, checks, evaluator closures) stay behind this list.
 */
export { SUB_ALL, parseTagExpression, tagsCodeOf } from './tagExpression.js';
export type { TagExpression } from './tagExpression.js';
export { getProperty } from './PropertySource.js';
export type { PropertySource } from './PropertySource.js';

export type * from './sql/ast.js';
export { parseSql, DEFAULT_SQL_LIMITS } from './sql/parser.js';
export type { SqlLimits } from './sql/parser.js';
export { printSql } from './sql/printer.js';
export { compileSqlFilter, buildSqlFilter, SqlFilterCache, SQL_CACHE_SIZE } from './sql/SqlFilter.js';
export type { CompiledSqlFilter } from './sql/SqlFilter.js';
export type { SqlOutcome } from './sql/evaluator.js';
export { FilterSyntaxError, FilterTooComplexError } from './sql/errors.js';
export type { SourcePosition, ComplexityLimit } from './sql/errors.js';

export { murmur3x64_128, murmur3x64_128String, murmur3Bytes } from './bloom/murmur3.js';
export type { Murmur3Hash128 } from './bloom/murmur3.js';
export { BloomFilter, bloomKey, DEFAULT_BLOOM_ERROR_RATE, DEFAULT_BLOOM_EXPECTED_COUNT } from './bloom/BloomFilter.js';
export type { BloomFilterOptions } from './bloom/BloomFilter.js';

export { createMessageFilter, TAGS_PROPERTY } from './MessageFilter.js';
export type { FilterExpression, MessageFilter, MessageFilterOptions } from './MessageFilter.js';
export { computeFilterBitmap } from './filterBitmap.js';
export type { BitmapSubscription } from './filterBitmap.js';
