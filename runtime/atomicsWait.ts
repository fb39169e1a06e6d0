/**
 * Atomics.waitAsync for threads that must keep their event loop turning. Node 20 has it (V8
 * 11.3) but the ES2023 lib typings do not, so it is typed here once. A pending waitAsync does
 * not keep a Node event loop alive by itself; the wait holds a timer for as long as it is
 * pending, as a pending socket read would.
 */
export type WaitOutcome = 'ok' | 'not-equal' | 'timed-out';

type WaitAsyncResult =
  | { readonly async: false; readonly value: 'not-equal' | 'timed-out' }
  | { readonly async: true; readonly value: Promise<'ok' | 'timed-out'> };

type WaitAsyncFn = {
  (typedArray: Int32Array, index: number, value: number, timeout?: number): WaitAsyncResult;
  (typedArray: BigInt64Array, index: number, value: bigint, timeout?: number): WaitAsyncResult;
};

const waitAsyncFn = (Atomics as unknown as { waitAsync?: WaitAsyncFn }).waitAsync;

/** Longest timer Node accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function keepAlive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, MAX_TIMER_MS);
  return promise.finally(() => clearInterval(timer));
}

/** Waits without blocking while `typedArray[index] === value`, at most `timeoutMs`. */
export function waitAsync(typedArray: Int32Array, index: number, value: number, timeoutMs: number): Promise<WaitOutcome>;
export function waitAsync(typedArray: BigInt64Array, index: number, value: bigint, timeoutMs: number): Promise<WaitOutcome>;
export function waitAsync(
  typedArray: Int32Array | BigInt64Array,
  index: number,
  value: number | bigint,
  timeoutMs: number,
): Promise<WaitOutcome> {
  if (waitAsyncFn === undefined) throw new Error('Atomics.waitAsync is not available in this Node.js');
  const result =
    typedArray instanceof Int32Array
      ? waitAsyncFn(typedArray, index, Number(value), timeoutMs)
      : waitAsyncFn(typedArray, index, BigInt(value), timeoutMs);
  return result.async ? keepAlive(result.value) : Promise.resolve(result.value);
}

/** Milliseconds left before `deadline` (performance.now() based), Infinity-safe. */
export function remainingMs(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
}

/** A deadline `timeoutMs` from now on performance.now()'s clock. */
export function deadlineAfter(timeoutMs: number): number {
  return timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
}
