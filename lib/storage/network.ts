/**
 * How every store treats the network: the policy (idle timeout, retries), one retry loop
 * (exponential backoff with full jitter, bounded in tries and in total time), deadlines, an idle
 * watchdog for read streams, and the one classification of network failures (unreachable, timeout,
 * unavailable: networkFailure) that all adapters and the retry layer share.
 *
 * Each failure is retried by exactly one layer: the SDKs' own retries are turned off, adapters
 * retry the requests that carry upload bytes they still hold (S3 parts, Azure blocks, the final
 * commit), and the resilient layer (resilient.ts) retries everything else. So tries never multiply
 * across layers, and `stats.retries` counts every retry there is.
 */
import { PassThrough, type Readable } from 'node:stream';
import { DEFAULT_NETWORK_POLICY, StoreError, type NetworkPolicy, type StoreStats } from './types';

/** Settings every adapter accepts beside its own. */
export interface StoreOptions {
	/** Timeouts and retries; missing fields come from DEFAULT_NETWORK_POLICY. */
	network?: Partial<NetworkPolicy>;
	/** Objects per listing request (the backend's default page when unset; tests use small pages to cover paging). */
	pageSize?: number;
}

export function networkPolicy(partial: Partial<NetworkPolicy> = {}): NetworkPolicy {
	const policy = { ...DEFAULT_NETWORK_POLICY, ...Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) };
	for (const [name, value] of Object.entries(policy)) {
		if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new StoreError(`network policy: ${name} must be a number ≥ 0, not ${String(value)}`, 'config');
	}
	if (policy.idleTimeoutMs < 1) throw new StoreError('network policy: idleTimeoutMs must be at least 1 ms', 'config');
	policy.maxAttempts = Math.max(1, Math.floor(policy.maxAttempts));
	return policy;
}

/** The wait before retry number `retry` (1 = the first retry): random in [0, min(maxDelay, base·2^(retry-1))] ("full jitter"). */
export function backoffDelay(policy: NetworkPolicy, retry: number): number {
	return Math.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve, reject) => {
		if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
		const onAbort = () => {
			clearTimeout(timer);
			reject(signal?.reason ?? new Error('aborted'));
		};
		const timer = setTimeout(() => {
			signal?.removeEventListener('abort', onAbort);
			resolve();
		}, ms);
		signal?.addEventListener('abort', onAbort, { once: true });
	});
}

export const isRetryable = (error: unknown): boolean => error instanceof StoreError && error.retryable;

/**
 * Run `attempt` until it succeeds, retrying failures that are retryable StoreErrors, at most
 * `maxAttempts` tries and `maxRetryMs` in all; each retry is counted in `stats.retries`. The last
 * error is thrown, its message saying how many tries were made.
 */
export async function retrying<T>(
	policy: NetworkPolicy,
	stats: StoreStats,
	attempt: (n: number) => Promise<T>,
	options: { signal?: AbortSignal; retryable?: (error: unknown) => boolean } = {},
): Promise<T> {
	const retryable = options.retryable ?? isRetryable;
	const started = Date.now();
	for (let n = 1; ; n++) {
		// the failure as it came (not wrapped: callers read SDK errors' fields)
		const outcome = await attempt(n).then(
			(value) => ({ ok: true as const, value }),
			(error: unknown) => ({ ok: false as const, error }),
		);
		if (outcome.ok) return outcome.value;
		const error = outcome.error;
		if (options.signal?.aborted || !retryable(error)) throw error;
		const delay = backoffDelay(policy, n);
		if (n >= policy.maxAttempts || Date.now() - started + delay > policy.maxRetryMs) throw gaveUp(error, n, Date.now() - started);
		stats.retries++;
		await sleep(delay, options.signal);
	}
}

function gaveUp(error: unknown, tries: number, ms: number): unknown {
	if (!(error instanceof StoreError) || tries < 2) return error;
	return new StoreError(`${error.message} (gave up after ${tries} tries in ${(ms / 1000).toFixed(1)} s)`, error.code, error.retryable);
}

/** `work`, or a rejection with `onTimeout()` when it has not settled within `ms`. */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const deadline = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(onTimeout()), ms);
	});
	return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * `source` behind an idle watchdog: when the consumer wants bytes and none arrive for `idleMs`,
 * the source is destroyed and the returned stream fails with `onIdle()`. Time the consumer spends
 * not reading never counts (a slow reader is not a stalled server).
 */
export function watchReadable(source: Readable, idleMs: number, onIdle: () => Error): Readable {
	const out = new PassThrough({ highWaterMark: source.readableHighWaterMark });
	// waiting = `out` has room (the consumer keeps up) and the source sends nothing; checked on each tick
	let waitingSince: number | undefined;
	const tick = setInterval(
		() => {
			const room = !out.destroyed && !out.writableEnded && out.readableLength < out.readableHighWaterMark && out.writableLength < out.writableHighWaterMark;
			if (!room) {
				// the consumer is not asking: not our wait, and no reason to keep the process alive
				waitingSince = undefined;
				tick.unref();
				return;
			}
			const now = Date.now();
			waitingSince ??= now;
			if (now - waitingSince < idleMs) return;
			const error = onIdle();
			source.destroy(error);
			out.destroy(error);
		},
		Math.min(1000, Math.max(20, idleMs / 10)),
	);
	tick.unref();
	const stop = () => clearInterval(tick);
	// a consumer asking for bytes keeps the watchdog (and so the process) alive until they come or it fires
	const read = out._read.bind(out);
	out._read = (size: number) => {
		tick.ref();
		read(size);
	};
	source.on('data', (chunk: Buffer) => {
		waitingSince = undefined;
		if (!out.write(chunk)) source.pause();
	});
	out.on('drain', () => source.resume());
	source.once('end', () => {
		stop();
		out.end();
	});
	source.once('error', (error) => {
		stop();
		out.destroy(error);
	});
	source.once('close', () => {
		// closed without an end or error (destroyed from outside): say so rather than end cleanly
		if (!source.readableEnded && !source.errored && !out.destroyed) out.destroy(new StoreError('the read stream was closed before its end', 'unavailable'));
		stop();
	});
	out.once('close', () => {
		stop();
		if (!source.destroyed) source.destroy();
	});
	return out;
}

const TIMEOUT_PATTERN = /\bTimeoutError\b|ETIMEDOUT|ESOCKETTIMEDOUT|timed? ?out\b|Timed out/i;
const UNAVAILABLE_PATTERN =
	/ECONNRESET|ECONNABORTED|EPIPE|socket hang up|network socket disconnected|other side closed|premature close|Connection lost|No response from server|not connected|connection (was )?(closed|reset|lost)|ERR_STREAM_PREMATURE_CLOSE|UND_ERR_SOCKET|Unexpected (end|close) event/i;
/** No connection was made: nothing listening, no route, a name that does not resolve, a connect that timed out. */
const UNREACHABLE_PATTERN =
	/ECONNREFUSED|EHOSTUNREACH|EHOSTDOWN|ENETUNREACH|ENETDOWN|ENOTFOUND|EAI_AGAIN|EAI_NONAME|EAI_NODATA|getaddrinfo|UND_ERR_CONNECT_TIMEOUT|ConnectTimeoutError|did not establish a connection|without establishing a connection/i;
/** A host name that does not resolve for good: a setting to fix, not worth another try (EAI_AGAIN, a DNS server that failed for now, is). */
const HOST_NOT_FOUND_PATTERN = /ENOTFOUND|EAI_NONAME|EAI_NODATA|getaddrinfo (?!EAI_AGAIN)/i;

/** Whether an HTTP status is a transient server failure (retry it): 408, 429 and 5xx. */
export const transientStatus = (status: number | undefined) => status === 408 || status === 429 || (status !== undefined && status >= 500 && status <= 599);

/**
 * What a failed network call means, from the error's code, name, message and system call (any
 * SDK's, and their causes):
 * - `unreachable`: no connection was made (refused, no route, unknown host, the connect timed
 *   out). Retried a bounded number of times (a server restarting), except a host name that does
 *   not resolve (ENOTFOUND): a setting to fix.
 * - `timeout`: connected, but no answer came in time. Retried.
 * - `unavailable`: the connection failed after it was made (reset, closed, broken pipe). Retried.
 * Undefined when the error is not a network failure (an answer from the server, a bug).
 *
 * The one classification every adapter and the retry layer share, so that "cannot reach" is the
 * same code whatever the backend.
 */
export function networkFailure(error: unknown): NetworkFailure | undefined {
	const e = error as { code?: unknown; name?: unknown; message?: unknown; syscall?: unknown; cause?: unknown } | string | undefined;
	if (!e) return undefined;
	if (typeof e === 'string') return classify(e, undefined);
	const text = `${String(e.code ?? '')} ${String(e.name ?? '')} ${String(e.message ?? '')}`;
	const found = classify(text, e.syscall);
	if (found) return found;
	if (e.cause && e.cause !== error) return networkFailure(e.cause);
	return undefined;
}

export interface NetworkFailure {
	code: 'unreachable' | 'unavailable' | 'timeout';
	/** Whether another try may succeed (all but a host name that does not resolve). */
	retryable: boolean;
}

function classify(text: string, syscall: unknown): NetworkFailure | undefined {
	// a connect that timed out (Node's own, or ours with syscall 'connect'): nothing answered at that address
	if (UNREACHABLE_PATTERN.test(text) || (syscall === 'connect' && /ETIMEDOUT/.test(text))) return { code: 'unreachable', retryable: !HOST_NOT_FOUND_PATTERN.test(text) };
	if (TIMEOUT_PATTERN.test(text)) return { code: 'timeout', retryable: true };
	if (UNAVAILABLE_PATTERN.test(text)) return { code: 'unavailable', retryable: true };
	return undefined;
}
