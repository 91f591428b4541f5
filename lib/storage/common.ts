import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { attemptAsync } from '../errors';
import { endSink, writeTo } from '../format/types';
import { StoreError, type Store, type Upload, type WriteResult } from './types';

/** A pass-through that counts bytes and hashes them (SHA-256) on their way to a backend. */
export class HashingCounter extends Transform {
	/** Bytes seen so far. (Not `size`: upload helpers read a body's `size` as its total length.) */
	bytes = 0;
	private readonly hash = createHash('sha256');

	_transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
		this.bytes += chunk.length;
		this.hash.update(chunk);
		callback(null, chunk);
	}

	digest(): string {
		return this.hash.digest('hex');
	}
}

/**
 * The Upload every adapter returns: the caller writes into a hashing counter; `send` moves the
 * counter's bytes to the backend and commits them; abort() marks the upload aborted, destroys the
 * stream, runs the backend's own abort and waits until `send` has settled (nothing left behind).
 */
export function hashedUpload(
	path: string,
	send: (counter: HashingCounter, aborted: () => boolean) => Promise<void>,
	abortBackend: () => unknown = () => undefined,
	signal?: AbortSignal,
): Upload {
	const counter = new HashingCounter();
	let aborted = false;
	const done = (async (): Promise<WriteResult> => {
		await send(counter, () => aborted);
		if (aborted) throw new StoreError(`upload of ${path} was aborted`, 'io');
		return { path, size: counter.bytes, sha256: counter.digest() };
	})();
	done.catch(() => undefined);
	const abort = async (reason?: unknown) => {
		aborted = true;
		counter.destroy(reason instanceof Error ? reason : new Error('aborted'));
		await attemptAsync(async () => abortBackend());
		await done.catch(() => undefined);
	};
	if (signal) {
		// the execution's cancel signal lives as long as the execution: let go once this upload settles
		const onAbort = () => void abort(new Error('aborted'));
		signal.addEventListener('abort', onAbort, { once: true });
		void done.then(
			() => signal.removeEventListener('abort', onAbort),
			() => signal.removeEventListener('abort', onAbort),
		);
	}
	return { stream: counter, done, abort };
}

/** Normalise a store path: `/`-separated, no leading `/`, no `.` or `..` segments. */
export function cleanPath(path: string): string {
	const parts = path.split('/').filter((p) => p !== '' && p !== '.');
	if (parts.some((p) => p === '..')) throw new StoreError(`path "${path}" must not contain ".."`, 'config');
	return parts.join('/');
}

export function joinPath(...parts: string[]): string {
	return cleanPath(parts.filter(Boolean).join('/'));
}

export function parentOf(path: string): string {
	const i = path.lastIndexOf('/');
	return i < 0 ? '' : path.slice(0, i);
}

export function baseName(path: string): string {
	return path.slice(path.lastIndexOf('/') + 1);
}

/** Write a small text object (a manifest) in one go. */
export async function writeText(store: Store, path: string, text: string, contentType = 'application/json'): Promise<WriteResult> {
	const upload = await store.openWrite(path, { contentType });
	const sent = await attemptAsync(async () => {
		await writeTo(upload.stream, Buffer.from(text, 'utf8'));
		await endSink(upload.stream);
	});
	if (!sent.ok) {
		await upload.abort(sent.error);
		throw sent.error;
	}
	return upload.done;
}

export async function readAll(stream: Readable): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of stream) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

export async function readText(store: Store, path: string): Promise<string> {
	return (await readAll(await store.read(path))).toString('utf8');
}


