/**
 * Supervision strategies: what a supervisor does when one of its actors fails (a handler or hook
 * throws something other than a PetrelError, or the actor's worker thread exits), and the restart
 * budget that keeps a failing actor from restarting forever. Time comes from an injected Clock,
 * so a restart storm can be driven in a test without sleeping.
 */
import type { Clock } from '../common/clock.js';
import { PetrelError } from '../common/errors.js';

/** Backoff between restarts: initialMs * factor^(restarts in the window), capped at maxMs. */
export interface BackoffOptions {
  /** Delay before the first restart in a window. Default 100 ms. */
  readonly initialMs?: number;
  /** Longest delay. Default 10 000 ms. */
  readonly maxMs?: number;
  /** Growth per restart. Default 2. */
  readonly factor?: number;
  /** Random spread, 0..1, as a fraction of the delay (0 = deterministic). Default 0. */
  readonly jitter?: number;
}

export interface SupervisionOptions {
  /**
   * On failure: 'restart' the actor (in place after a handler crash, on a new thread after its
   * worker exited), 'stop' it, or 'escalate': stop it and hand the error to the system's
   * onEscalate (which by default shuts the whole system down). Default 'restart'.
   */
  readonly strategy?: 'restart' | 'stop' | 'escalate';
  /** Restarts allowed within `withinMs`; the failure after that applies `onExhausted`. Default 5. */
  readonly maxRestarts?: number;
  /** The sliding window for maxRestarts. Default 60 000 ms. */
  readonly withinMs?: number;
  readonly backoff?: BackoffOptions;
  /** What a restart storm ends in once the budget is spent. Default 'stop'. */
  readonly onExhausted?: 'stop' | 'escalate';
}

export interface ResolvedSupervision {
  readonly strategy: 'restart' | 'stop' | 'escalate';
  readonly maxRestarts: number;
  readonly withinMs: number;
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly onExhausted: 'stop' | 'escalate';
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new PetrelError('ERR_CONFIG_INVALID', `supervision ${name} must be a finite number >= 0, got ${value}`);
  }
  return value;
}

export function resolveSupervision(options: SupervisionOptions = {}): ResolvedSupervision {
  const b = options.backoff ?? {};
  const resolved: ResolvedSupervision = {
    strategy: options.strategy ?? 'restart',
    maxRestarts: nonNegative('maxRestarts', options.maxRestarts ?? 5),
    withinMs: nonNegative('withinMs', options.withinMs ?? 60_000),
    initialMs: nonNegative('backoff.initialMs', b.initialMs ?? 100),
    maxMs: nonNegative('backoff.maxMs', b.maxMs ?? 10_000),
    factor: nonNegative('backoff.factor', b.factor ?? 2),
    jitter: nonNegative('backoff.jitter', b.jitter ?? 0),
    onExhausted: options.onExhausted ?? 'stop',
  };
  if (resolved.jitter > 1) throw new PetrelError('ERR_CONFIG_INVALID', 'supervision backoff.jitter must be <= 1');
  return resolved;
}

/** The delay before a restart, given how many restarts already happened in the window. */
export function backoffDelay(s: ResolvedSupervision, restartsInWindow: number, random: () => number = Math.random): number {
  const base = Math.min(s.maxMs, s.initialMs * s.factor ** restartsInWindow);
  if (s.jitter === 0) return base;
  return Math.max(0, base * (1 - s.jitter + 2 * s.jitter * random()));
}

export type RestartDecision =
  | { readonly action: 'restart'; readonly delayMs: number; readonly restarts: number }
  | { readonly action: 'stop' | 'escalate'; readonly exhausted: boolean };

/**
 * Decides, failure by failure, what the strategy says. Keeps the times of recent restarts to
 * enforce maxRestarts within the window. Owned by one supervisor, on the supervisor's thread.
 */
export class RestartBudget {
  readonly #s: ResolvedSupervision;
  readonly #clock: Clock;
  #times: number[] = [];
  #total = 0;

  constructor(s: ResolvedSupervision, clock: Clock) {
    this.#s = s;
    this.#clock = clock;
  }

  /** Restarts granted so far over the actor's life. */
  get total(): number {
    return this.#total;
  }

  onFailure(): RestartDecision {
    if (this.#s.strategy !== 'restart') return { action: this.#s.strategy, exhausted: false };
    const now = this.#clock.monotonic();
    this.#times = this.#times.filter((t) => now - t < this.#s.withinMs);
    if (this.#times.length >= this.#s.maxRestarts) return { action: this.#s.onExhausted, exhausted: true };
    const delayMs = backoffDelay(this.#s, this.#times.length);
    this.#times.push(now);
    this.#total++;
    return { action: 'restart', delayMs, restarts: this.#total };
  }
}
