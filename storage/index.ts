/**
 * The storage layer's surface for the layers above it (actors, protocol, tools). Internals such
 * as the file backends, record access helpers and recovery steps are not listed here.
 */
export { MessageStore, type MessageStoreOptions, type QueryMessageResult } from './MessageStore.js';
export { parseStoreConfig, commitLogPath, type MessageStoreConfig, type MessageStoreConfigInput } from './StoreConfig.js';
export {
  PutMessageResult,
  PutMessageStatus,
  GetMessageStatus,
  type GetMessageRequest,
  type GetMessageResult,
  type GotMessage,
} from './StoreResults.js';
export { ACCEPT_ALL, type MessageFilter, type ConsumeQueueExtUnitView } from './MessageFilter.js';
export {
  emptyDispatchRequest,
  tagsCodeOf,
  type CommitLogDispatcher,
  type DispatchRequest,
} from './CommitLogDispatcher.js';
export { SCHEDULE_TOPIC, RETRY_PREFIX, DLQ_PREFIX } from './SystemTopics.js';
export { DEFAULT_DELAY_LEVELS, parseDelayLevels } from './DelayLevels.js';
export { MessageEncoder, patchRecord, patchPropertiesCrc, bodyCrc, type MessageToStore, type MessageEncoderOptions } from './MessageCodec.js';
export {
  decodeMessage,
  decodeDispatchRequest,
  decodeProperties,
  readStoreTimestamp,
  checkRecord,
  RecordCheck,
  type MessageExt,
  type RecordCheckOptions,
} from './MessageDecoder.js';
export {
  createOffsetMessageId,
  decodeOffsetMessageId,
  parseSocketAddress,
  formatSocketAddress,
  UniqKeyGenerator,
  type SocketAddress,
} from './MessageId.js';
export { MessageConst, RESERVED_PROPERTY_NAMES, parseProperties, formatProperties } from './MessageProperties.js';
export { SysFlag, MAGIC_V1, MAGIC_V2, BLANK_MAGIC, FIXED_OVERHEAD_V4, MAX_PROPERTIES_LENGTH } from './RecordLayout.js';
export { CommitLog, type CommitLogOptions } from './CommitLog.js';
export { CommitLogReader, type CommitLogReaderOptions } from './CommitLogReader.js';
export { CommitLogFlusher, type CommitLogFlusherOptions } from './CommitLogFlusher.js';
export { ConsumeQueue, CQ_STORE_UNIT_SIZE, type CqUnit } from './ConsumeQueue.js';
export { ConsumeQueueStore, type ConsumeQueueStoreOptions } from './ConsumeQueueStore.js';
export { IndexService, indexKeyHash, type IndexServiceOptions } from './IndexService.js';
export { QueueOffsetTable } from './QueueOffsetTable.js';
export { StoreCheckpoint } from './StoreCheckpoint.js';
export { getMessage, type CommitLogRead, type GetMessageContext } from './GetMessage.js';
export { recoverStore, redispatch, type RecoveryResult } from './StoreRecovery.js';
export { ConfigFile } from './ConfigFile.js';
export { validateTopic, validateQueueId } from './MessageValidator.js';
