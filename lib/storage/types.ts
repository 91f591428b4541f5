import type { Readable, Writable } from 'node:stream';

/** An object in a store. Paths are `/`-separated and relative to the store's root. */
export interface StoredObject {
	path: string;
	size: number;
}

export interface ObjectStat {
	size: number;
	/** Hex SHA-256 when the backend stores one (checked without reading the object). */
	sha256?: string;
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
}

/** A destination: one adapter per backend, all behind this interface. */
export interface Store {
	/** Backend type, e.g. `local-folder` (the `%DESTINATION%` macro). */
	readonly type: string;
	/** A stable, secret-free identity of the location (e.g. `local-folder:/srv/exports`). */
	readonly location: string;
	/**
	 * Check that the destination exists and can be written, before anything is written: a wrong
	 * key, a missing bucket or an unreachable host fails here with a StoreError.
	 */
	check(): Promise<void>;
	/** Start a streamed write. Never overwrites: writing to an existing path fails. */
	openWrite(path: string, options?: WriteOptions): Promise<Upload>;
	/** Every object under a prefix, recursively. A prefix ending in `/` is a folder. */
	list(prefix: string): AsyncIterable<StoredObject>;
	/** Size (and stored checksum) of an object, or null when it does not exist. */
	stat(path: string): Promise<ObjectStat | null>;
	/** The object's bytes; `end` is exclusive. */
	read(path: string, range?: { start: number; end?: number }): Promise<Readable>;
	delete(path: string): Promise<void>;
	close(): Promise<void>;
}

export type StoreErrorCode = 'config' | 'auth' | 'not_found' | 'exists' | 'io';

export class StoreError extends Error {
	constructor(
		message: string,
		readonly code: StoreErrorCode,
	) {
		super(message);
		this.name = 'StoreError';
	}
}
