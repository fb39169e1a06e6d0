/**
 * The dispatcher's side of the bloom path (RocketMQ's CommitLogDispatcherCalcBitMap): for each
 * newly dispatched message, evaluate every SQL92 subscription registered on its topic and set
 * the bits of each group that wants it. The bitmap goes into the message's ConsumeQueue
 * extension unit, next to its tag hash and store time.
 */
import type { BloomFilter } from './bloom/BloomFilter.js';
import type { PropertySource } from './PropertySource.js';

/** What the dispatcher needs of a registered subscription: a MessageFilter built with bloom options fits. */
export interface BitmapSubscription {
  readonly bitPositions: readonly number[] | undefined;
  matchesProperties(props: PropertySource): boolean;
}

/**
 * The bitmap to store for a message, or undefined when no subscription of the topic has bit
 * positions (then nothing is stored and every pull evaluates exactly). A message no group wants
 * gets an all-zero bitmap, which lets every group skip it.
 */
export function computeFilterBitmap(bloom: BloomFilter, subscriptions: Iterable<BitmapSubscription>, props: PropertySource): Uint8Array | undefined {
  let bitmap: Uint8Array | undefined;
  for (const subscription of subscriptions) {
    if (subscription.bitPositions === undefined) continue;
    bitmap ??= bloom.createBitmap();
    if (subscription.matchesProperties(props)) bloom.setBits(bitmap, subscription.bitPositions);
  }
  return bitmap;
}
