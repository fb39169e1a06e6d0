/**
 * SIGINT and SIGTERM for long-running commands (`start`, `namesrv`). Listening starts before the
 * server does, so a signal that arrives during startup is kept and honoured once it is up; the
 * first signal asks for a clean stop, a second one while stopping exits at once (the next start
 * recovers the store, as after a crash).
 */
import { log } from '../common/diagnostics.js';

export class StopSignals {
  #received: NodeJS.Signals | undefined;
  #resolve: ((signal: NodeJS.Signals) => void) | undefined;
  readonly #handler = (signal: NodeJS.Signals): void => {
    if (this.#received !== undefined) {
      log('warn', `second ${signal} while stopping: exiting at once`);
      process.exit(130);
    }
    this.#received = signal;
    log('info', `${signal} received: stopping`);
    this.#resolve?.(signal);
  };

  constructor() {
    process.on('SIGINT', this.#handler);
    process.on('SIGTERM', this.#handler);
  }

  /** Resolves with the first signal (at once if one already came). */
  wait(): Promise<NodeJS.Signals> {
    const got = this.#received;
    if (got !== undefined) return Promise.resolve(got);
    return new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  dispose(): void {
    process.off('SIGINT', this.#handler);
    process.off('SIGTERM', this.#handler);
  }
}
