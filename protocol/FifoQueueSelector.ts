/**
 * FIFO messages: every message of one message group goes to the same write queue, so the pop
 * service can hand them out in order. The official Node client only ever sees queue 0 per broker
 * (ROCKETMQ-GRPC.md 5.1), so the choice is made here. The hash is RocketMQ's
 * SelectMessageQueueByHash over Java's String.hashCode: a Java client ordering by the same key
 * lands on the same queue, and the mapping is stable across restarts for a fixed queue count.
 */
import { javaHash } from '../common/javaHash.js';

export function queueForMessageGroup(messageGroup: string, writeQueueNums: number): number {
  if (!Number.isInteger(writeQueueNums) || writeQueueNums < 1) throw new RangeError(`writeQueueNums must be >= 1, got ${writeQueueNums}`);
  // Java's % keeps the sign of the dividend; RocketMQ then takes the absolute value.
  return Math.abs(javaHash(messageGroup) % writeQueueNums);
}
