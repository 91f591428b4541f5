import type { Readable, Writable } from 'node:stream';

/** An object in a store. Paths are `/`-separated and relative to the store's root. */
export interface StoredObject {
	path: string;
	size: number;
	/** When the backend last wrote it (the backend's clock), where the listing says. */
	modified?: Date;
}

/**
 * What a store says about an object without reading it. No stored checksum: none of the backends
 * keeps a SHA-256 of the whole object (Azure keeps an MD5 and CRC64s, GCS an MD5 and a CRC32C, Ceph
 * RGW 16 ignores S3's additional checksums, folders keep nothing), so the SHA-256 of a file is
 * computed while it streams (WriteResult) and checked by reading it back.
 */
export interface ObjectStat {
	size: number;
	modified?: Date;
}

export interface WriteResult {
	path: string;
	size: number;
	/** Hex SHA-256 of the bytes written, computed while they streamed. */
	sha256: string;
}

/** An upload in progress: write to `stream`, then await `done`; or `abort()` to leave nothing behind. */
export interface Upload {
	readonly stream: Writable;
	readonly done: Promise<WriteResult>;
	abort(reason?: unknown): Promise<void>;
}

export interface WriteOptions {
	contentType?: string;
	signal?: AbortSignal;
	/**
	 * The whole object is in memory anyway (a commit record, a manifest): send it in one request, so
	 * its create-if-absent is atomic also where a multipart completion's is not (Ceph).
	 */
	whole?: boolean;
}

/**
 * An upload that was started and never finished or aborted, as the backend keeps it: a temporary
 * file (local folder, SFTP) or an in-progress multipart upload (S3). Backends whose unfinished
 * uploads are invisible and expire on their own (Azure's uncommitted blocks, GCS resumable
 * sessions: both after 7 days) list none.
 */
export interface UnfinishedUpload {
	/** The path the upload would have been published at. */
	path: string;
	/** Where the backend keeps it (the temporary file's path, or the multipart upload's key and id), for reports. */
	detail: string;
	/** Opaque handle for discardUnfinished (e.g. the S3 upload id). */
	id: string;
	/** When it was started (the backend's clock), where known. */
	started?: Date;
	/** Bytes held so far, where known. */
	size?: number;
}

/**
 * How a store treats the network. Every operation is bounded by `idleTimeoutMs`: a connection that
 * makes no progress for that long fails (and is retried when the policy allows). Transient failures
 * (connection reset or refused, timeout, 429, 5xx, SFTP disconnect) are retried with exponential
 * backoff and full jitter, at most `maxAttempts` tries and `maxRetryMs` of waiting per operation.
 */
export interface NetworkPolicy {
	idleTimeoutMs: number;
	/** Tries per operation, the first included (1 = no retries). */
	maxAttempts: number;
	/** First backoff delay; each retry doubles it, up to `maxDelayMs`; the wait is random in [0, delay]. */
	baseDelayMs: number;
	maxDelayMs: number;
	/** Total time one operation may spend retrying (backoff plus failed tries) before it gives up. */
	maxRetryMs: number;
}

export const DEFAULT_NETWORK_POLICY: NetworkPolicy = {
	idleTimeoutMs: 60_000,
	maxAttempts: 5,
	baseDelayMs: 500,
	maxDelayMs: 15_000,
	maxRetryMs: 180_000,
};

/** What a store did beyond the happy path, for the run report. */
export interface StoreStats {
	/** Retried requests, parts and operations (by the adapter, its SDK, or the retry layer). */
	retries: number;
}

/** A destination: one adapter per backend, all behind this interface. */
export interface Store {
	/** Backend type, e.g. `local-folder` (the `%DESTINATION%` macro). */
	readonly type: string;
	/** A stable, secret-free identity of the location (e.g. `local-folder:/srv/exports`). */
	readonly location: string;
	readonly stats: StoreStats;
	/**
	 * Check that the destination exists and can be written, before anything is written: a wrong
	 * key, a missing bucket or an unreachable host fails here with a StoreError.
	 */
	check(): Promise<void>;
	/**
	 * Start a streamed write. The object appears whole, or not at all, when `done` resolves, and
	 * only if the name is free at that moment: an atomic create-if-absent on the server (S3
	 * `If-None-Match: *`, GCS `ifGenerationMatch=0`, Azure `If-None-Match: *`, an exclusive link or
	 * rename on SFTP and local folders). When the name is taken, also by a writer that raced this
	 * one, `done` rejects with code `exists` and the existing object is untouched.
	 */
	openWrite(path: string, options?: WriteOptions): Promise<Upload>;
	/** Every object under a prefix, recursively, sorted by path. A prefix ending in `/` is a folder. Temporary names are not listed. */
	list(prefix: string): AsyncIterable<StoredObject>;
	/** Unfinished uploads under a prefix (see UnfinishedUpload); none where the backend cannot show them. */
	listUnfinished(prefix: string): AsyncIterable<UnfinishedUpload>;
	/** Remove an unfinished upload (delete the temporary file, abort the multipart upload). Idempotent. */
	discardUnfinished(upload: UnfinishedUpload): Promise<void>;
	/** Size and time of an object, or null when it does not exist. */
	stat(path: string): Promise<ObjectStat | null>;
	/** The object's bytes; `end` is exclusive. */
	read(path: string, range?: { start: number; end?: number }): Promise<Readable>;
	/** Delete an object; deleting a missing one is not an error. */
	delete(path: string): Promise<void>;
	close(): Promise<void>;
}

/**
 * `config`: a setting is wrong; `auth`: credentials refused; `not_found`: bucket, container, folder
 * or object missing; `exists`: the name is taken; `unreachable`: no connection could be made
 * (nothing listening, no route, an unknown host, the connect timed out); `unavailable`: the server
 * failed transiently once connected (connection reset or closed, 429, 5xx); `timeout`: no progress
 * within the idle timeout; `io`: anything else. `unreachable`, `unavailable` and `timeout` are
 * retryable by default (an unknown host name is the exception: the adapters say so).
 */
export type StoreErrorCode = 'config' | 'auth' | 'not_found' | 'exists' | 'unreachable' | 'unavailable' | 'timeout' | 'io';

export class StoreError extends Error {
	/** Whether trying again may succeed (a transient network or server failure). */
	readonly retryable: boolean;

	constructor(
		message: string,
		readonly code: StoreErrorCode,
		retryable?: boolean,
	) {
		super(message);
		this.name = 'StoreError';
		this.retryable = retryable ?? (code === 'unreachable' || code === 'unavailable' || code === 'timeout');
	}
}
