/** The broker's own topics, as the contract names them (defined in storage/SystemTopics.ts). */
export {
  SCHEDULE_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC, RETRY_PREFIX, DLQ_PREFIX, isRetryTopic, isDlqTopic, isGroupTopic, refuseBrokerOnlyTopic,
} from '../storage/SystemTopics.js';
