/**
 * How a send on a SYNC_MASTER waits for its slave: RocketMQ 4's rule (ROCKETMQ.md 6.4, 7).
 *
 * - No slave connected, or the best connected slave is behind the send's end by
 *   haMaxGapNotInSync bytes or more: SLAVE_NOT_AVAILABLE at once, without waiting.
 * - Else wait until a slave has acknowledged the send's end (SLAVE_ACKED >= end): SEND_OK; not
 *   within slaveTimeout ms: FLUSH_SLAVE_TIMEOUT.
 *
 * The message is stored on the master in every case; only the status differs. The figures come
 * from the positions ReplicationActor publishes; one PositionWaiters loop serves every waiting
 * send, woken by the ack itself, its slaveTimeout decided on the Clock. Main thread only.
 */
import { systemClock, type Clock } from '../common/clock.js';
import type { SendStatus } from '../api/BrokerApi.js';
import { type BrokerPositions, Position } from './BrokerPositions.js';
import { PositionWaiters } from './PositionWaiters.js';

export interface ReplicaWaitConfig {
  readonly haMaxGapNotInSync: number;
  readonly slaveTimeout: number;
}

export function syncMasterReplicaWait(positions: BrokerPositions, config: ReplicaWaitConfig, clock: Clock = systemClock): (end: number) => Promise<SendStatus> {
  const acked = new PositionWaiters(positions, Position.SLAVE_ACKED, clock);
  return async (end) => {
    if (positions.get(Position.SLAVE_CONNECTED) === 0) return 'SLAVE_NOT_AVAILABLE';
    if (end - positions.get(Position.SLAVE_LIVE_ACK) >= config.haMaxGapNotInSync) return 'SLAVE_NOT_AVAILABLE';
    return (await acked.wait(end, config.slaveTimeout)) ? 'SEND_OK' : 'FLUSH_SLAVE_TIMEOUT';
  };
}
