/**
 * The public surface of the actor runtime: what actors/, client/ and embedders import. Internals
 * (the host, supervisors, incarnations, wire protocol, layouts) are not exported.
 */
export { defineActor, actorLocation, transferring, LATER } from './Actor.js';
export { checkCloneSize, clonedBytes, ownedCopy, DEFAULT_MAX_CLONE_BYTES } from './cloneGuard.js';
export type {
  ActorContext,
  ActorDefinition,
  ActorLocation,
  ActorMessage,
  ActorSpec,
  Deferred,
  Handlers,
  Later,
  MessageOf,
  Replies,
  StopReason,
} from './Actor.js';
export { ActorRef, reviveRef, refHandleTransfer } from './ActorRef.js';
export type { AskOptions, RefHandle } from './ActorRef.js';
export { ActorSystem } from './ActorSystem.js';
export type { ActorSystemOptions, SpawnOptions } from './ActorSystem.js';
export type { BackoffOptions, SupervisionOptions } from './supervision.js';
export { SharedRing } from './SharedRing.js';
export { RingWriter, RING_FULL } from './RingWriter.js';
export { RingReader } from './RingReader.js';
export type { RecordCallback, RingReaderOptions } from './RingReader.js';
export { PositionCells, PositionCell } from './PositionCells.js';
export type { PositionCellsHandle } from './PositionCells.js';
export { Pool } from './Pool.js';
export type { PoolOptions, RunOptions } from './Pool.js';
export { exposeObject, wrapObject, actorFacade } from './bridge.js';
export type { ActorFacade, BridgeClient, BridgeServer } from './bridge.js';
