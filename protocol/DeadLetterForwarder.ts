/**
 * Moves a message a consumer group gave up on to the group's dead-letter topic, %DLQ%<group>,
 * as RocketMQ does: one queue, readable and writable so it can be inspected and replayed. The
 * copy keeps the body, tag, keys and user properties, and records the topic and message id it
 * came from.
 */
import type { BrokerApi, Message, MessageExt } from '../actors/BrokerApi.js';
import { PROP, isReservedPropertyName } from './propertyNames.js';
import { messageIdOf } from './MessageConversion.js';

export const DLQ_PREFIX = '%DLQ%';

export function deadLetterTopic(group: string): string {
  return `${DLQ_PREFIX}${group}`;
}

export class DeadLetterForwarder {
  readonly #broker: BrokerApi;
  readonly #known = new Set<string>();

  constructor(broker: BrokerApi) {
    this.#broker = broker;
  }

  async forward(group: string, message: MessageExt): Promise<void> {
    const topic = deadLetterTopic(group);
    if (!this.#known.has(topic)) {
      const existing = await this.#broker.getTopic(topic);
      if (existing === undefined) await this.#broker.createTopic({ topic, readQueueNums: 1, writeQueueNums: 1, perm: 6 });
      this.#known.add(topic);
    }
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.properties)) {
      // The broker refuses RocketMQ's names; the endpoint's own PMQ_ names are kept.
      if (!isReservedPropertyName(k) || k.startsWith('PMQ_')) properties[k] = v;
    }
    properties[PROP.messageId] = messageIdOf(message);
    properties[PROP.dlqOriginTopic] = message.topic;
    properties[PROP.dlqOriginMessageId] = messageIdOf(message);
    const copy: Message = {
      topic,
      body: message.body,
      ...(message.tags === undefined || message.tags === '' ? {} : { tags: message.tags }),
      ...(message.keys.length === 0 ? {} : { keys: message.keys }),
      properties,
    };
    await this.#broker.send([copy]);
  }
}
