/**
 * A Store that passes every call to a real store and injects failures at the Store interface, for
 * the export engine's unit tests on the local folder (which has no network to cut). The network
 * faults themselves are injected by test/helpers/fault-proxy.ts between the real SDKs and real
 * servers; this wrapper only lets the engine's tests say exactly which operation fails and how.
 */
import type { Readable } from 'node:stream';
import { StoreError, type ObjectStat, type Store, type StoredObject, type UnfinishedUpload, type Upload, type WriteOptions } from '../../lib/storage/types';

export type WriteFault =
	/** The object is stored, but the caller gets this error (a lost reply). */
	| { kind: 'lose-reply'; error?: StoreError }
	/** Nothing is stored and the caller gets this error. */
	| { kind: 'fail'; error: StoreError }
	/** The write waits this long before it goes on (a slow server). */
	| { kind: 'delay'; ms: number };

export interface Faults {
	/** Asked once per write, with the path: return a fault to inject, or nothing. */
	write?: (path: string) => WriteFault | undefined;
	read?: (path: string) => StoreError | undefined;
	delete?: (path: string) => StoreError | undefined;
}

export const timeoutError = (path = 'x') => new StoreError(`no answer within 1 s while writing ${path}`, 'timeout');

export class FaultyStore implements Store {
	readonly type: string;
	readonly location: string;
	/** What was injected, in order. */
	readonly injected: Array<{ op: string; path: string; kind: string }> = [];

	constructor(
		readonly inner: Store,
		public faults: Faults = {},
	) {
		this.type = inner.type;
		this.location = inner.location;
	}

	get stats() {
		return this.inner.stats;
	}

	check(): Promise<void> {
		return this.inner.check();
	}

	async openWrite(path: string, options?: WriteOptions): Promise<Upload> {
		const fault = this.faults.write?.(path);
		if (fault?.kind === 'delay') {
			this.injected.push({ op: 'write', path, kind: 'delay' });
			await new Promise((resolve) => setTimeout(resolve, fault.ms));
		}
		const upload = await this.inner.openWrite(path, options);
		if (!fault || fault.kind === 'delay') return upload;
		this.injected.push({ op: 'write', path, kind: fault.kind });
		if (fault.kind === 'fail') {
			// as a backend failing mid-upload does: the stream errors, and so does `done`
			upload.stream.destroy(fault.error);
			const done = upload.done.then(
				() => Promise.reject(fault.error),
				() => Promise.reject(fault.error),
			);
			done.catch(() => undefined);
			return { stream: upload.stream, done, abort: (reason) => upload.abort(reason) };
		}
		const done = upload.done.then((result) => {
			void result;
			throw fault.error ?? timeoutError(path);
		});
		done.catch(() => undefined);
		return { stream: upload.stream, done, abort: (reason) => upload.abort(reason) };
	}

	list(prefix: string): AsyncIterable<StoredObject> {
		return this.inner.list(prefix);
	}

	listUnfinished(prefix: string): AsyncIterable<UnfinishedUpload> {
		return this.inner.listUnfinished(prefix);
	}

	discardUnfinished(upload: UnfinishedUpload): Promise<void> {
		return this.inner.discardUnfinished(upload);
	}

	stat(path: string): Promise<ObjectStat | null> {
		return this.inner.stat(path);
	}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		const fault = this.faults.read?.(path);
		if (fault) {
			this.injected.push({ op: 'read', path, kind: fault.code });
			throw fault;
		}
		return this.inner.read(path, range);
	}

	async delete(path: string): Promise<void> {
		const fault = this.faults.delete?.(path);
		if (fault) {
			this.injected.push({ op: 'delete', path, kind: fault.code });
			throw fault;
		}
		return this.inner.delete(path);
	}

	close(): Promise<void> {
		return this.inner.close();
	}
}
