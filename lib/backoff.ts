// How long a VU waits before retrying a 40001 / 40P01 / 503: exponential from 50 ms, with jitter so
// that VUs that collided once do not collide again in lock-step, never more than 1 s (the Liventix Advanced Load Testing Guide's cap),
// and never less than what the server asked for in Retry-After (still capped). Pure module.

const BACKOFF_BASE_MS = 50;
export const BACKOFF_CAP_MS = 1000;

/**
 * Delay before retry number `attempt` (0 for the first retry).
 * `random` returns [0, 1); jitter keeps the delay within [half, full] of the exponential step.
 */
export function backoffDelayMs(attempt: number, random: () => number = Math.random, retryAfterSeconds?: number): number {
  const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt));
  const jittered = step * (0.5 + random() / 2);
  const asked = retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) ? retryAfterSeconds * 1000 : 0;
  return Math.min(BACKOFF_CAP_MS, Math.max(jittered, asked));
}

/** Retry-After in seconds from a header value; undefined when absent or an HTTP date (not worth parsing here). */
export function parseRetryAfter(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+(?:\.\d+)?$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
