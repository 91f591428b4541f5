/**
 * Bounded retries: exponential backoff with full jitter (AWS's "full jitter": wait a random time
 * in [0, min(cap, base × 2^n)]), limited both in tries and in total time.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface RetryPolicy {
	/** Tries in all, the first included (1 = no retries). */
	maxAttempts: number;
	baseDelayMs: number;
	maxDelayMs: number;
	/** Time one operation may spend retrying, from its first failure. */
	maxRetryMs: number;
}

/** The wait before retry number `retry` (1 for the first retry). */
export function backoffDelay(policy: RetryPolicy, retry: number, random = Math.random): number {
	const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
	return Math.floor(random() * ceiling);
}

/** Sleep, rejecting at once if the signal aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	if (ms <= 0) return signal?.throwIfAborted();
	await delay(ms, undefined, { signal });
}

/**
 * Whether another try fits the policy after `retries` retries so far, the first failure at
 * `firstFailureAt` (ms since epoch), and what to wait before it (undefined: give up).
 */
export function nextRetry(policy: RetryPolicy, retries: number, firstFailureAt: number, now = Date.now()): number | undefined {
	if (retries + 1 >= policy.maxAttempts) return undefined;
	const wait = backoffDelay(policy, retries + 1);
	if (now + wait - firstFailureAt > policy.maxRetryMs) return undefined;
	return wait;
}
