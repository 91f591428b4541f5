/**
 * The retry layer openStore() puts around every adapter. It retries the operations that carry no
 * upload bytes (check, stat, delete, list, the opening of a read or an upload, unfinished-upload
 * housekeeping) when they fail transiently, with exponential backoff and full jitter, bounded by
 * the policy; gives each try a deadline (a backstop: the adapters' own idle timeouts normally fail
 * a stalled request first); restarts a listing that fails part-way and skips what it already
 * yielded (listings come sorted by path); and resumes a read stream that fails or stalls part-way
 * with a ranged read from where it stopped.
 *
 * Streamed uploads are not retried here: their bytes are gone once sent. The adapters retry the
 * parts they still hold, and fail the rest promptly with a retryable StoreError so the export
 * engine can write the whole file again.
 */
import { Readable } from 'node:stream';
import { cleanPath, comparePaths } from './common';
import { backoffDelay, networkFailure, retrying, sleep, watchReadable, withDeadline } from './network';
import { StoreError, type NetworkPolicy, type ObjectStat, type Store, type StoredObject, type StoreStats, type UnfinishedUpload, type Upload, type WriteOptions } from './types';

/**
 * A failure worth another try: a retryable StoreError (an `unreachable` server among them: one
 * that restarts comes back within the policy's tries; the last try's error keeps its code), or a
 * raw network error an adapter let through.
 */
function retryable(error: unknown): boolean {
	if (error instanceof StoreError) return error.retryable;
	return networkFailure(error)?.retryable ?? false;
}

/** A raw error that escaped an adapter (e.g. from a read stream), as a StoreError. */
function asStoreError(error: unknown, what: string): StoreError {
	if (error instanceof StoreError) return error;
	const failure = networkFailure(error);
	return new StoreError(`${what} failed: ${(error as Error)?.message ?? String(error)}`, failure?.code ?? 'io', failure?.retryable ?? false);
}

export class ResilientStore implements Store {
	readonly type: string;
	readonly location: string;
	readonly stats: StoreStats;

	constructor(
		readonly inner: Store,
		readonly policy: NetworkPolicy,
	) {
		this.type = inner.type;
		this.location = inner.location;
		this.stats = inner.stats;
	}

	/** Each try's deadline: twice the idle timeout, so that the adapters' own timeouts answer first. */
	private get deadlineMs() {
		return 2 * this.policy.idleTimeoutMs;
	}

	private once<T>(what: string, op: () => Promise<T>): Promise<T> {
		const seconds = (this.deadlineMs / 1000).toFixed(1);
		return withDeadline(op(), this.deadlineMs, () => new StoreError(`${what}: no answer from the destination within ${seconds} s`, 'timeout'));
	}

	private run<T>(what: string, op: () => Promise<T>): Promise<T> {
		return retrying(this.policy, this.stats, () => this.once(what, op), {
			retryable,
		});
	}

	check(): Promise<void> {
		return this.run('checking the destination', () => this.inner.check());
	}

	openWrite(path: string, options?: WriteOptions): Promise<Upload> {
		return this.run(`opening ${path} for writing`, () => this.inner.openWrite(path, options));
	}

	stat(path: string): Promise<ObjectStat | null> {
		return this.run(`reading the metadata of ${path}`, () => this.inner.stat(path));
	}

	delete(path: string): Promise<void> {
		return this.run(`deleting ${path}`, () => this.inner.delete(path));
	}

	discardUnfinished(upload: UnfinishedUpload): Promise<void> {
		return this.run(`discarding the unfinished upload ${upload.detail}`, () => this.inner.discardUnfinished(upload));
	}

	list(prefix: string): AsyncIterable<StoredObject> {
		return this.restartable(`listing ${prefix || '/'}`, () => this.inner.list(prefix), resumeAfterLast);
	}

	listUnfinished(prefix: string): AsyncIterable<UnfinishedUpload> {
		// several unfinished uploads can share a path (S3): skip by id (they are few)
		return this.restartable(
			`listing unfinished uploads under ${prefix || '/'}`,
			() => this.inner.listUnfinished(prefix),
			() => {
				const seen = new Set<string>();
				return {
					fresh: (item) => !seen.has(item.id),
					yielded: (item) => void seen.add(item.id),
				};
			},
		);
	}

	/**
	 * Items from `open()`; a transient failure (or a page that does not come within the deadline)
	 * opens the listing again, and the tracker skips what was yielded. The retry budget starts over
	 * whenever a restarted listing gets further than the last one.
	 */
	private async *restartable<T>(what: string, open: () => AsyncIterable<T>, track: () => Tracker<T>): AsyncGenerator<T> {
		let failures = 0;
		let since = Date.now();
		const tracker = track();
		for (let pass = 0; ; pass++) {
			const items = open()[Symbol.asyncIterator]();
			let finished = false;
			tracker.restart?.();
			try {
				for (;;) {
					const next = await this.once(what, () => items.next());
					if (next.done) {
						finished = true;
						tracker.finish?.();
						return;
					}
					if (pass > 0 && !tracker.fresh(next.value)) continue;
					tracker.yielded(next.value);
					failures = 0;
					since = Date.now();
					yield next.value;
				}
			} catch (error) {
				failures++;
				const delay = backoffDelay(this.policy, failures);
				if (!retryable(error) || failures >= this.policy.maxAttempts || Date.now() - since + delay > this.policy.maxRetryMs) throw asStoreError(error, what);
				this.stats.retries++;
				await sleep(delay);
			} finally {
				// a consumer that stops early, or a failed listing: let go of the adapter's (not awaited: it may be stuck)
				if (!finished) void Promise.resolve(items.return?.()).catch(() => undefined);
			}
		}
	}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		const clean = cleanPath(path);
		const what = `reading ${clean}`;
		const first = await this.run(what, () => this.inner.read(path, range));
		const idle = this.policy.idleTimeoutMs;
		const watch = (stream: Readable) => watchReadable(stream, idle, () => new StoreError(`${what}: no bytes for ${(idle / 1000).toFixed(1)} s`, 'timeout'));
		return Readable.from(this.resumed(path, what, watch(first), watch, range), {
			objectMode: false,
			highWaterMark: 1 << 20,
		});
	}

	/** The bytes of a read; a stream that fails part-way goes on with a ranged read from where it stopped. */
	private async *resumed(path: string, what: string, first: Readable, watch: (stream: Readable) => Readable, range?: { start: number; end?: number }): AsyncGenerator<Buffer> {
		const end = range?.end;
		let offset = range?.start ?? 0;
		let source = first;
		let failures = 0;
		let since = Date.now();
		// a consumer that stops early ends the download too (finally)
		try {
			for (;;) {
				const chunks = source[Symbol.asyncIterator]();
				for (;;) {
					const next = await chunks.next().then(
						(value) => ({ value }),
						(error: unknown) => ({ error }),
					);
					if ('error' in next) {
						failures++;
						if (failures === 1) since = Date.now();
						const delay = backoffDelay(this.policy, failures);
						if (!retryable(next.error) || failures >= this.policy.maxAttempts || Date.now() - since + delay > this.policy.maxRetryMs) throw asStoreError(next.error, what);
						this.stats.retries++;
						source.destroy();
						await sleep(delay);
						if (end !== undefined && offset >= end) return;
						source = watch(await this.run(what, () => this.inner.read(path, { start: offset, end })));
						break;
					}
					if (next.value.done) return;
					const chunk = next.value.value as Buffer;
					offset += chunk.length;
					failures = 0;
					yield chunk;
				}
			}
		} finally {
			source.destroy();
		}
	}

	close(): Promise<void> {
		return this.inner.close();
	}
}

/** What a restartable listing remembers to skip, after a restart, what it already yielded. */
interface Tracker<T> {
	/** After a restart: whether an item is new. */
	fresh(item: T): boolean;
	yielded(item: T): void;
	restart?(): void;
	finish?(): void;
}

/**
 * Listings come sorted by path, but not every backend sorts alike: S3 and GCS by UTF-8 bytes, the
 * folder adapters too, Azurite by UTF-16 units (characters beyond U+FFFF sort apart). So the order
 * is learnt from what was yielded: after a restart, items up to the last one yielded are skipped
 * by the order the listing has kept so far; a listing that kept neither order is skipped up to the
 * last path itself (and fails if that path is gone, rather than drop or repeat items).
 */
function resumeAfterLast(): Tracker<StoredObject> {
	let last: string | undefined;
	let bytewise = true;
	let utf16 = true;
	let skipping = false;
	const compare = (a: string, b: string) => (bytewise ? comparePaths(a, b) : a < b ? -1 : a > b ? 1 : 0);
	return {
		yielded(item) {
			if (last !== undefined) {
				bytewise &&= comparePaths(last, item.path) < 0;
				utf16 &&= last < item.path;
			}
			last = item.path;
		},
		restart() {
			skipping = last !== undefined;
		},
		fresh(item) {
			if (!skipping || last === undefined) return true;
			if (bytewise || utf16) {
				if (compare(item.path, last) <= 0) return false;
				skipping = false;
				return true;
			}
			// no order kept: skip up to the last path itself
			if (item.path === last) skipping = false;
			return false;
		},
		finish() {
			if (skipping && !(bytewise || utf16))
				throw new StoreError(`a listing restarted after a failure no longer holds ${String(last)}: it cannot go on without dropping or repeating objects`, 'unavailable');
		},
	};
}

/** The store as openStore() hands it out: the adapter behind the retry layer. */
export function resilient(store: Store, policy: NetworkPolicy): ResilientStore {
	return store instanceof ResilientStore ? store : new ResilientStore(store, policy);
}

/** The adapter behind a store (itself when it is not wrapped). */
export function adapterOf(store: Store): Store {
	return store instanceof ResilientStore ? store.inner : store;
}
