/**
 * The checks RocketMQ applies before a message is stored (ROCKETMQ.md 1.7). Each failure is a
 * typed PetrelError raised before a byte is written anywhere.
 */
import { PetrelError } from '../common/errors.js';
import { NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR, RESERVED_PROPERTY_NAMES } from './MessageProperties.js';

/** RocketMQ's TopicValidator: characters and lengths. */
const TOPIC_PATTERN = /^[%|a-zA-Z0-9_-]+$/;
export const TOPIC_MAX_LENGTH = 127;
/** Retry and dead-letter topics embed a group name and may be longer (ROCKETMQ.md 0). */
export const SYSTEM_TOPIC_MAX_LENGTH = 255;

export function validateTopic(topic: string): void {
  if (typeof topic !== 'string' || topic.length === 0) {
    throw new PetrelError('ERR_TOPIC_INVALID', 'the topic is empty');
  }
  const max = topic.startsWith('%RETRY%') || topic.startsWith('%DLQ%') ? SYSTEM_TOPIC_MAX_LENGTH : TOPIC_MAX_LENGTH;
  if (topic.length > max) {
    throw new PetrelError('ERR_TOPIC_INVALID', `the topic "${topic.slice(0, 40)}..." is ${topic.length} characters; at most ${max} are allowed`);
  }
  if (!TOPIC_PATTERN.test(topic)) {
    throw new PetrelError('ERR_TOPIC_INVALID', `the topic "${topic}" may only hold the characters %|a-zA-Z0-9_-`);
  }
}

/** True when a stored topic's bytes are ones validateTopic accepts (used by recovery). */
export function isTopicByte(b: number): boolean {
  return (
    (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2d || b === 0x25 || b === 0x7c
  );
}

export function validateQueueId(queueId: number, queueNums: number): void {
  if (!Number.isInteger(queueId) || queueId < 0 || queueId >= queueNums) {
    throw new PetrelError('ERR_QUEUE_ID_INVALID', `queue id ${queueId} is not an integer in [0, ${queueNums})`);
  }
}

function hasSeparator(s: string): boolean {
  return s.includes(NAME_VALUE_SEPARATOR) || s.includes(PROPERTY_SEPARATOR);
}

/** A system-set value (tags, keys, unique key): it may not hold the property separators. */
export function validatePropertyValue(name: string, value: string): void {
  if (hasSeparator(value)) {
    throw new PetrelError('ERR_MESSAGE_ILLEGAL', `the ${name} value holds U+0001 or U+0002, which separate stored properties`);
  }
}

/** A user property: a non-blank name RocketMQ does not reserve, a non-blank value, no separators. */
export function validateUserProperty(name: string, value: unknown, reservedAllowed: boolean): void {
  if (typeof value !== 'string') {
    throw new PetrelError('ERR_MESSAGE_ILLEGAL', `the property "${name}" must be a string`);
  }
  if (name.trim() === '' || value.trim() === '') {
    throw new PetrelError('ERR_MESSAGE_ILLEGAL', `the property "${name}" has a blank name or value`);
  }
  if (!reservedAllowed && RESERVED_PROPERTY_NAMES.has(name)) {
    throw new PetrelError('ERR_PROPERTY_NAME_RESERVED', `the property name "${name}" is reserved by RocketMQ`);
  }
  if (hasSeparator(name) || hasSeparator(value)) {
    throw new PetrelError('ERR_MESSAGE_ILLEGAL', `the property "${name}" holds U+0001 or U+0002, which separate stored properties`);
  }
}
