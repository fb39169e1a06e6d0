/** What a ClusterClient is configured with (RocketMQ's client settings where they have a name). */
import type { Clock } from '../common/clock.js';
import { PetrelError } from '../common/errors.js';

export interface ClusterClientOptions {
  /** Name servers, "host:port;host:port". */
  readonly namesrvAddr: string;
  /** Route refresh period (RocketMQ pollNameServerInterval), ms. Default 30000. */
  readonly pollNameServerInterval?: number;
  /** Consumer registrations are renewed with every group this often (heartbeatBrokerInterval), ms. Default 30000. */
  readonly heartbeatBrokerInterval?: number;
  /** Deadline of one request (mqClientApiTimeout), ms. Default 3000. */
  readonly requestTimeoutMs?: number;
  /** Avoid groups whose sends failed or were slow (sendLatencyFaultEnable). Default true. */
  readonly sendLatencyFaultEnable?: boolean;
  /** How long a group whose send failed is avoided, ms. Default 10000. */
  readonly failureIsolationMs?: number;
  /** While a master cannot be reached, reads go to its slaves and retry it after this long, ms. Default 5000. */
  readonly masterProbeIntervalMs?: number;
  /** Longest long poll held by a slave, ms. Default 5000. */
  readonly slaveLongPollMs?: number;
  /** Queues per group assumed for a topic no name server knows yet (RocketMQ defaultTopicQueueNums). Default 4. */
  readonly defaultTopicQueueNums?: number;
  readonly clock?: Clock;
}

/** A positive option value, or ERR_CONFIG_INVALID naming it. */
export function positive(v: number, name: string): number {
  if (!Number.isFinite(v) || v <= 0) throw new PetrelError('ERR_CONFIG_INVALID', `${name} must be a positive number, got ${String(v)}`);
  return v;
}
