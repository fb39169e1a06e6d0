/**
 * What protocol/ offers the rest of petrelmq: the gRPC endpoint (in-thread, or on a worker thread
 * of its own), petrelmq's own gRPC client, and the pieces other layers may need (access-key
 * signing, receipt handles, status mapping).
 * Handlers, the pop service internals and wire parsing stay behind this list.
 */
export { GrpcEndpoint } from './GrpcEndpoint.js';
export type { GrpcEndpointOptions, GroupOptions, TlsOptions } from './GrpcEndpoint.js';
export { startGrpcEndpointActor } from './EndpointThread.js';
export type { EndpointActorOptions, EndpointThread, EndpointThreadOptions } from './EndpointThread.js';
export { GrpcBrokerClient } from './GrpcBrokerClient.js';
export type { GrpcBrokerClientOptions, ReceiveOptions, SendReceipt } from './GrpcBrokerClient.js';
export type { OutgoingMessage, ReceivedMessage } from './ClientMessages.js';
export { AccessControl, authorizationHeader, parseAclConfig, signDateTime } from './AccessControl.js';
export type { AclAccount, AclConfig, TopicPerm } from './AccessControl.js';
export { ReceiptHandleCodec } from './ReceiptHandle.js';
export { Code } from './wire.js';
export { errorOfStatus, statusOfError } from './status.js';
