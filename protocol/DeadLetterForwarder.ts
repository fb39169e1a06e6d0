/**
 * Moves a message a consumer group gave up on to the group's dead-letter topic, %DLQ%<group>,
 * through the broker's own sendBack with a negative delay level (RocketMQ's "straight to the
 * DLQ"): the broker creates the DLQ topic, keeps the message's unique key and properties, and
 * records RETRY_TOPIC and ORIGIN_MESSAGE_ID as RocketMQ does. The endpoint's PMQ_ properties
 * travel along, so a DLQ message read over gRPC still shows the client's message id.
 */
import type { BrokerApi, MessageExt } from '../api/BrokerApi.js';

export const DLQ_PREFIX = '%DLQ%';

export function deadLetterTopic(group: string): string {
  return `${DLQ_PREFIX}${group}`;
}

export class DeadLetterForwarder {
  readonly #broker: BrokerApi;

  constructor(broker: BrokerApi) {
    this.#broker = broker;
  }

  async forward(group: string, message: MessageExt): Promise<void> {
    await this.#broker.sendBack(group, message, -1, 0);
  }
}
