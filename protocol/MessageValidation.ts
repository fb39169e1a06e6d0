/**
 * The checks the RocketMQ proxy makes on what a client sends, with the same status codes, so a
 * client sees the same refusal from petrelmq as from Apache RocketMQ. Each throws StatusError.
 */
import { StatusError } from './status.js';
import { Code } from './wire.js';
import { isReservedPropertyName } from './propertyNames.js';

/** Limits on one message; defaults mirror the proxy's. */
export interface MessageLimits {
  /** Largest body in bytes. Default 4 MiB. */
  readonly maxBodySize: number;
  /** Most user properties on one message. Default 128. */
  readonly maxUserProperties: number;
  /** Largest total of user property names and values, UTF-8 bytes. Default 16 KiB. */
  readonly maxUserPropertiesSize: number;
  /** Longest FIFO message group, characters. Default 64. */
  readonly maxMessageGroupLength: number;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = {
  maxBodySize: 4 * 1024 * 1024,
  maxUserProperties: 128,
  maxUserPropertiesSize: 16 * 1024,
  maxMessageGroupLength: 64,
};

const TOPIC_CHARS = /^[%|a-zA-Z0-9_-]+$/;
const MAX_TOPIC_LENGTH = 127;
const MAX_GROUP_LENGTH = 255;
const MAX_MESSAGE_ID_LENGTH = 128;

const CONTROL = /[\u0000-\u001f\u007f]/;

function blank(s: string): boolean {
  return s.trim() === '';
}

export function validateTopicName(topic: string): void {
  if (blank(topic)) throw new StatusError(Code.ILLEGAL_TOPIC, 'topic name is blank');
  if (topic.length > MAX_TOPIC_LENGTH) throw new StatusError(Code.ILLEGAL_TOPIC, `topic name is longer than ${MAX_TOPIC_LENGTH} characters`);
  if (!TOPIC_CHARS.test(topic)) throw new StatusError(Code.ILLEGAL_TOPIC, `topic "${topic}" holds characters other than [%|a-zA-Z0-9_-]`);
}

export function validateGroupName(group: string): void {
  if (blank(group)) throw new StatusError(Code.ILLEGAL_CONSUMER_GROUP, 'consumer group name is blank');
  if (group.length > MAX_GROUP_LENGTH) throw new StatusError(Code.ILLEGAL_CONSUMER_GROUP, `consumer group name is longer than ${MAX_GROUP_LENGTH} characters`);
  if (!TOPIC_CHARS.test(group)) throw new StatusError(Code.ILLEGAL_CONSUMER_GROUP, `consumer group "${group}" holds characters other than [%|a-zA-Z0-9_-]`);
}

export function validateMessageId(id: string): void {
  if (blank(id)) throw new StatusError(Code.ILLEGAL_MESSAGE_ID, 'message id is blank');
  if (id.length > MAX_MESSAGE_ID_LENGTH || CONTROL.test(id)) {
    throw new StatusError(Code.ILLEGAL_MESSAGE_ID, 'message id is too long or holds control characters');
  }
}

export function validateTag(tag: string): void {
  if (blank(tag)) throw new StatusError(Code.ILLEGAL_MESSAGE_TAG, 'tag is blank');
  if (tag.includes('|')) throw new StatusError(Code.ILLEGAL_MESSAGE_TAG, 'tag holds "|"');
  if (CONTROL.test(tag)) throw new StatusError(Code.ILLEGAL_MESSAGE_TAG, 'tag holds control characters');
}

export function validateKey(key: string): void {
  if (blank(key)) throw new StatusError(Code.ILLEGAL_MESSAGE_KEY, 'message key is blank');
  if (CONTROL.test(key)) throw new StatusError(Code.ILLEGAL_MESSAGE_KEY, 'message key holds control characters');
}

export function validateMessageGroup(group: string, limits: MessageLimits): void {
  if (blank(group)) throw new StatusError(Code.ILLEGAL_MESSAGE_GROUP, 'message group is blank');
  if (group.length > limits.maxMessageGroupLength) {
    throw new StatusError(Code.ILLEGAL_MESSAGE_GROUP, `message group is longer than ${limits.maxMessageGroupLength} characters`);
  }
  if (CONTROL.test(group)) throw new StatusError(Code.ILLEGAL_MESSAGE_GROUP, 'message group holds control characters');
}

export function validateUserProperties(props: Readonly<Record<string, string>>, limits: MessageLimits): void {
  const names = Object.keys(props);
  if (names.length > limits.maxUserProperties) {
    throw new StatusError(Code.MESSAGE_PROPERTIES_TOO_LARGE, `more than ${limits.maxUserProperties} user properties`);
  }
  let size = 0;
  for (const name of names) {
    const value = props[name] ?? '';
    if (blank(name) || CONTROL.test(name)) throw new StatusError(Code.ILLEGAL_MESSAGE_PROPERTY_KEY, `property name "${name}" is blank or holds control characters`);
    if (isReservedPropertyName(name)) throw new StatusError(Code.ILLEGAL_MESSAGE_PROPERTY_KEY, `property name "${name}" is reserved by RocketMQ`);
    if (CONTROL.test(value)) throw new StatusError(Code.ILLEGAL_MESSAGE_PROPERTY_KEY, `property "${name}" holds control characters in its value`);
    size += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (size > limits.maxUserPropertiesSize) {
    throw new StatusError(Code.MESSAGE_PROPERTIES_TOO_LARGE, `user properties take ${size} bytes, more than ${limits.maxUserPropertiesSize}`);
  }
}

export function validateBodySize(size: number, limits: MessageLimits): void {
  if (size === 0) throw new StatusError(Code.MESSAGE_BODY_EMPTY, 'message body is empty');
  if (size > limits.maxBodySize) throw new StatusError(Code.MESSAGE_BODY_TOO_LARGE, `message body is ${size} bytes, more than ${limits.maxBodySize}`);
}
