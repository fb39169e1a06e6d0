/**
 * The public surface of petrelmq: everything users import comes from here, and nothing else is
 * exported by accident.
 */
export { PetrelError, ERROR_CODES, isPetrelError } from './common/errors.js';
export type { ErrorCode, PetrelErrorData } from './common/errors.js';
export { Broker, type BrokerStartOptions } from './actors/Broker.js';
export { remotingNetwork } from './protocol/remoting/brokerNetwork.js';
export type { BrokerNetwork } from './api/network.js';
export { brokerHandle, connectBroker, type BrokerHandle } from './protocol/BrokerLink.js';
export { parseBrokerConfig, readBrokerConf, type BrokerConfig, type BrokerConfigInput } from './actors/BrokerConfig.js';
export {
  SendStatus, MessageModel, GetMessageStatus, Perm,
  type BrokerApi, type Message, type MessageExt, type SendResult, type MessageQueue, type TopicConfig, type TopicRoute,
  type PullRequest, type PullResult, type FilterSpec, type QueueLag, type ConsumerProgress,
} from './api/BrokerApi.js';
export { Producer, type ProducerOptions, type ProducerNamesrvOptions, type MessageQueueSelector, type SendCallback } from './client/Producer.js';
export { PushConsumer } from './client/PushConsumer.js';
export { PullConsumer, type PullConsumerOptions, type QueueIteratorOptions } from './client/PullConsumer.js';
export {
  ConsumeStatus, ConsumeOrderlyStatus,
  type PushConsumerOptions, type PushConsumerNamesrvOptions, type MessageListener, type ConsumeContext, type ConsumeFromWhere,
} from './client/consumeTypes.js';
export { ClusterClient, type ClusterClientOptions } from './client/ClusterClient.js';
export { NameServer, type NameServerOptions } from './namesrv/NameServer.js';
export { serveBrokerApi, type ServeBrokerApiOptions } from './protocol/remoting/BrokerApiServer.js';
export { connectBrokerApi, RemoteBrokerApi, type RemoteBrokerApiOptions } from './protocol/remoting/RemoteBrokerApi.js';
export type { RpcServer } from './protocol/remoting/RpcServer.js';
export {
  GrpcEndpoint, startGrpcEndpointActor, GrpcBrokerClient,
  type GrpcEndpointOptions, type GroupOptions, type TlsOptions, type EndpointActorOptions, type EndpointThread, type EndpointThreadOptions,
  type GrpcBrokerClientOptions, type ReceiveOptions, type SendReceipt, type OutgoingMessage, type ReceivedMessage,
} from './protocol/index.js';

import { Broker, type BrokerStartOptions } from './actors/Broker.js';
import type { BrokerConfigInput } from './actors/BrokerConfig.js';
import { remotingNetwork } from './protocol/remoting/brokerNetwork.js';

/**
 * Starts an embedded broker that can take part in a cluster: Broker.start with the remoting
 * transport as its network (name-server registration, a slave copying its master's tables).
 */
export function startBroker(config?: BrokerConfigInput | string, options: BrokerStartOptions = {}): Promise<Broker> {
  return Broker.start(config, { network: remotingNetwork, ...options });
}
