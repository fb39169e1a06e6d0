/**
 * The producer's latency fault tolerance (RocketMQ's MQFaultStrategy / LatencyFaultToleranceImpl):
 * every send to a broker group records its latency, and a slow or failed send keeps that group out
 * of queue selection for a while, so that sends go on to the other groups while one is down.
 *
 * RocketMQ 5's table: a latency of at least {50, 100, 550, 1800, 3000, 5000, 15000} ms isolates the
 * group for {0, 0, 2, 5, 6, 10, 30} s; a failed send (no answer, connection refused) counts as
 * `failureIsolationMs` (RocketMQ: 10,000 ms of latency, so 10 s).
 *
 * Owned by one ClusterClient; used on its thread only.
 */
import type { MessageQueue } from '../api/BrokerApi.js';
import { systemClock, type Clock } from '../common/clock.js';

const LATENCY_MAX_MS = [50, 100, 550, 1800, 3000, 5000, 15000] as const;
const NOT_AVAILABLE_MS = [0, 0, 2000, 5000, 6000, 10000, 30000] as const;

export interface LatencyFaultToleranceOptions {
  /** Isolation after a failed send, ms. Default 10000. */
  readonly failureIsolationMs?: number;
  /** false: only the broker of the previous attempt is avoided (RocketMQ sendLatencyFaultEnable=false). Default true. */
  readonly enabled?: boolean;
  readonly clock?: Clock;
}

export class LatencyFaultTolerance {
  readonly #until = new Map<string, number>();
  readonly #failureMs: number;
  readonly #enabled: boolean;
  readonly #clock: Clock;
  #index = Math.floor(Math.random() * 1024);

  constructor(options: LatencyFaultToleranceOptions = {}) {
    this.#failureMs = options.failureIsolationMs ?? 10_000;
    this.#enabled = options.enabled ?? true;
    this.#clock = options.clock ?? systemClock;
  }

  /** Records a send's outcome: its latency, or a failure. */
  update(brokerName: string, latencyMs: number, failed: boolean): void {
    const isolation = failed ? this.#failureMs : isolationFor(latencyMs);
    if (isolation <= 0) {
      this.#until.delete(brokerName);
      return;
    }
    this.#until.set(brokerName, this.#clock.monotonic() + isolation);
  }

  isAvailable(brokerName: string): boolean {
    const until = this.#until.get(brokerName);
    return until === undefined || this.#clock.monotonic() >= until;
  }

  /**
   * Round-robin over `queues`: the first queue of an available group other than `avoid`; else of
   * any group other than `avoid`; else any queue (every group is down: try anyway).
   */
  select(queues: readonly MessageQueue[], avoid?: string): MessageQueue | undefined {
    const n = queues.length;
    if (n === 0) return undefined;
    const start = this.#index++;
    if (this.#enabled) {
      for (let i = 0; i < n; i++) {
        const q = queues[(start + i) % n];
        if (q !== undefined && q.brokerName !== avoid && this.isAvailable(q.brokerName)) return q;
      }
    }
    for (let i = 0; i < n; i++) {
      const q = queues[(start + i) % n];
      if (q !== undefined && q.brokerName !== avoid) return q;
    }
    return queues[start % n];
  }
}

function isolationFor(latencyMs: number): number {
  for (let i = LATENCY_MAX_MS.length - 1; i >= 0; i--) {
    if (latencyMs >= (LATENCY_MAX_MS[i] ?? Infinity)) return NOT_AVAILABLE_MS[i] ?? 0;
  }
  return 0;
}
