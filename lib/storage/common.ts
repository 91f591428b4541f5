import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { attemptAsync } from '../errors';
import { endSink, writeTo } from '../format/types';
import { DEFAULT_NETWORK_POLICY, StoreError, type Store, type StoredObject, type UnfinishedUpload, type Upload, type WriteResult } from './types';

/** A pass-through that counts bytes and hashes them (SHA-256) on their way to a backend. */
export class HashingCounter extends Transform {
	/** Bytes seen so far. (Not `size`: upload helpers read a body's `size` as its total length.) */
	bytes = 0;
	/** Called when bytes come in or the writer ends (the upload's watchdog wakes up). */
	onActivity?: () => void;
	private readonly hash = createHash('sha256');

	_transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
		this.bytes += chunk.length;
		this.hash.update(chunk);
		this.onActivity?.();
		callback(null, chunk);
	}

	_flush(callback: TransformCallback) {
		this.onActivity?.();
		callback();
	}

	digest(): string {
		return this.hash.digest('hex');
	}

	/** Bytes the backend has taken out of this stream so far. */
	get delivered(): number {
		return this.bytes - this.readableLength;
	}
}

/** What an adapter's `send` gets besides the bytes. */
export interface UploadContext {
	/** Aborts when the upload is aborted or the watchdog gives up on it: pass it to every request. */
	readonly signal: AbortSignal;
	aborted(): boolean;
	/**
	 * Run backend work that bounds itself (a request with its own idle timeout, a retry loop of
	 * them): the upload's watchdog pauses meanwhile, so a slow but moving part upload is not cut.
	 */
	guard<T>(work: Promise<T>): Promise<T>;
}

export interface HashedUploadOptions {
	signal?: AbortSignal;
	/** No progress for this long while the backend holds bytes it does not take (or does not answer the final commit) fails the upload. */
	idleTimeoutMs?: number;
	/** The backend's own abort (besides the context's signal), e.g. to tear down a stalled connection; gets the reason. */
	abortBackend?: (reason: Error) => unknown;
}

/**
 * The Upload every adapter returns: the caller writes into a hashing counter; `send` moves the
 * counter's bytes to the backend and commits them; abort() marks the upload aborted, destroys the
 * stream, aborts the context's signal and waits (bounded) until `send` has settled, so nothing is
 * left behind.
 *
 * A watchdog fails the upload with a `timeout` StoreError when the backend stops taking bytes
 * while the writer has some waiting (the writer is blocked on back-pressure), or when the final
 * commit does not answer, for `idleTimeoutMs`. Time spent waiting for the writer (a slow encoder)
 * never counts: the clock runs only while the counter holds bytes the backend has not taken, or
 * after the writer ended it, and not while the adapter runs guarded work that bounds itself.
 */
export function hashedUpload(path: string, send: (counter: HashingCounter, context: UploadContext) => Promise<void>, options: HashedUploadOptions = {}): Upload {
	const { signal, abortBackend } = options;
	const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_NETWORK_POLICY.idleTimeoutMs;
	const counter = new HashingCounter();
	const controller = new AbortController();
	let failure: StoreError | undefined;
	let settled = false;
	let guards = 0;
	let failWatchdog: (error: StoreError) => void = () => undefined;
	const watchdogFired = new Promise<never>((_, reject) => {
		failWatchdog = reject;
	});
	watchdogFired.catch(() => undefined);

	const context: UploadContext = {
		signal: controller.signal,
		aborted: () => failure !== undefined,
		async guard<T>(work: Promise<T>): Promise<T> {
			guards++;
			try {
				return await work;
			} finally {
				guards--;
				lastActive = Date.now();
			}
		},
	};

	/** Stop everything: the writer's stream, every request (signal), the backend's own abort. */
	const stop = (error: StoreError) => {
		if (failure) return;
		failure = error;
		// the watchdog's work is done (and a backend that never settles must not keep it, or the process, alive)
		clearInterval(tick);
		counter.destroy(error);
		controller.abort(error);
		void attemptAsync(async () => abortBackend?.(error));
	};

	// the watchdog
	let lastActive = Date.now();
	let lastDelivered = 0;
	const tick = setInterval(
		() => {
			const now = Date.now();
			const delivered = counter.delivered;
			const waiting = guards === 0 && (counter.writableLength > 0 || counter.readableLength > 0 || counter.writableEnded);
			// keep the process alive only while the backend owes us something (an abandoned upload must not)
			if (waiting) tick.ref();
			else tick.unref();
			if (!waiting || delivered !== lastDelivered) lastActive = now;
			lastDelivered = delivered;
			if (now - lastActive < idleTimeoutMs) return;
			const phase = counter.writableEnded && counter.readableLength === 0 ? 'did not confirm the upload' : 'took no bytes';
			const error = new StoreError(`upload of ${path} stalled: the destination ${phase} for ${(idleTimeoutMs / 1000).toFixed(1)} s`, 'timeout');
			stop(error);
			failWatchdog(error);
		},
		Math.min(1000, Math.max(20, idleTimeoutMs / 10)),
	);
	tick.unref();
	counter.onActivity = () => tick.ref();

	const sent = (async () => {
		try {
			await send(counter, context);
		} finally {
			settled = true;
			clearInterval(tick);
		}
	})();
	sent.catch(() => undefined);

	const done = (async (): Promise<WriteResult> => {
		// the watchdog does not wait for `send`: a backend that ignores the abort must not hang the caller
		const outcome = await attemptAsync(() => Promise.race([sent, watchdogFired]));
		if (failure) throw failure;
		if (!outcome.ok) throw outcome.error;
		return { path, size: counter.bytes, sha256: counter.digest() };
	})();
	done.catch(() => undefined);

	const abort = async (reason?: unknown) => {
		if (!settled) stop(new StoreError(`upload of ${path} was aborted${reason instanceof Error ? ` (${reason.message})` : ''}`, 'io'));
		// wait for the backend to clean up, but not for ever
		await Promise.race([sent.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, idleTimeoutMs).unref())]);
		await done.catch(() => undefined);
	};
	if (signal) {
		// the execution's cancel signal lives as long as the execution: let go once this upload settles
		const onAbort = () => void abort(new Error('aborted'));
		if (signal.aborted) onAbort();
		else signal.addEventListener('abort', onAbort, { once: true });
		void done.then(
			() => signal.removeEventListener('abort', onAbort),
			() => signal.removeEventListener('abort', onAbort),
		);
	}
	return { stream: counter, done, abort };
}

/**
 * Exactly `size`-byte buffers from a stream (the last one shorter; an empty stream gives one empty
 * buffer), read only as the caller asks: a caller that stops asking back-pressures the writer.
 */
export async function* fixedParts(source: Readable, size: number): AsyncGenerator<Buffer> {
	let held: Buffer[] = [];
	let length = 0;
	let any = false;
	for await (const chunk of source) {
		let data = chunk as Buffer;
		while (data.length > 0) {
			const take = Math.min(size - length, data.length);
			held.push(data.subarray(0, take));
			length += take;
			data = data.subarray(take);
			if (length === size) {
				any = true;
				yield Buffer.concat(held, length);
				held = [];
				length = 0;
			}
		}
	}
	if (length > 0 || !any) yield Buffer.concat(held, length);
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

/**
 * The order listings come in: by the paths' UTF-8 bytes, as S3, Azure and GCS list keys. (Plain
 * `<` compares UTF-16 units, which differs for characters beyond U+FFFF.)
 */
export function comparePaths(a: string, b: string): number {
	return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Folder entries in the order of the full paths they lead to: a folder `a` sorts as `a/`, so that
 * `a-b.txt` comes before `a/x.txt`, as in a bucket listing.
 */
export function sortEntries<T extends { name: string }>(entries: T[], isFolder: (entry: T) => boolean): T[] {
	const key = (entry: T) => (isFolder(entry) ? `${entry.name}/` : entry.name);
	return entries.sort((a, b) => comparePaths(key(a), key(b)));
}

/**
 * The key of a store path below a root (an S3 key, a GCS object name, an Azure blob name, an SFTP
 * path): `root/path`, the root itself for an empty path. `root` is used as given (cleaned by the
 * caller); `path` is cleaned (and refused when it climbs out with `..`).
 */
export function rootedKey(root: string, path: string): string {
	const clean = cleanPath(path);
	return root ? (clean ? `${root}/${clean}` : root) : clean;
}

/**
 * The key prefix a listing of `prefix` asks the backend for: a prefix ending in `/` is a folder
 * (its slash kept, so `a/` does not match `ab`), any other a name prefix.
 */
export function rootedPrefix(root: string, prefix: string): string {
	const clean = cleanPath(prefix);
	const folder = prefix.endsWith('/') && clean ? `${clean}/` : clean;
	return root ? `${root}/${folder}` : folder;
}

/** The store path of a key listed below the root (the inverse of rootedKey). */
export function unrooted(root: string, key: string): string {
	return root ? key.slice(root.length + 1) : key;
}

/** A folder entry as a tree walk (local folder, SFTP) sees it. */
export interface TreeEntry {
	name: string;
	/** `other`: a symbolic link, a device, …: never followed, never listed. */
	kind: 'folder' | 'file' | 'other';
	/** Where the listing carries them (SFTP); else asked of the tree's `details`. */
	size?: number;
	modified?: Date;
}

/** A file a tree walk found: its store path, or for a temporary file the path it stands for. */
export interface FoundFile {
	path: string;
	/** Store path of the file itself (differs from `path` for temporary files). */
	file: string;
	size: number;
	modified: Date;
}

/** How a tree walk reads one backend's folders; `F` is a folder as the backend names it. */
export interface FolderTree<F> {
	/** The folder at a store path ('' for the root), undefined when it does not exist (checked as the backend needs). */
	open(path: string): Promise<F | undefined>;
	/** A folder's entries, undefined when it is gone. */
	entries(folder: F): Promise<TreeEntry[] | undefined>;
	/** The folder `name` inside `folder`, whose store path is `path`. */
	child(folder: F, name: string, path: string): F;
	/** A file's size and time, for entries without them; undefined when it is gone meanwhile. */
	details?(folder: F, name: string): Promise<{ size: number; modified: Date } | undefined>;
}

/**
 * The files of a folder tree under a store prefix (local folder, SFTP), sorted by path as a bucket
 * lists keys (a folder sorts as "name/"): the objects, or (`temps`) the temporary files left by
 * uploads, each under the final path it stands for. A temporary file is one named as these stores
 * name them (tempName); any other name is a file, listed.
 */
export async function* walkTree<F>(prefix: string, temps: boolean, tree: FolderTree<F>): AsyncGenerator<FoundFile> {
	const clean = cleanPath(prefix);
	const folderPrefix = prefix.endsWith('/') || clean === '';
	// list the folder that holds the prefix, keep names that start with it
	const base = folderPrefix ? clean : parentOf(clean);
	const start = await tree.open(base);
	if (start === undefined) return;
	const walk = async function* (folder: F, rel: string): AsyncGenerator<FoundFile> {
		const entries = await tree.entries(folder);
		if (!entries) return;
		for (const entry of sortEntries(entries, (e) => e.kind === 'folder')) {
			const isFile = entry.kind === 'file';
			const file = rel ? `${rel}/${entry.name}` : entry.name;
			const stands = isFile && entry.name.startsWith(TEMP_PREFIX) ? finalNameOf(entry.name) : undefined;
			if (isFile && !!stands !== temps) continue;
			const path = stands ? (rel ? `${rel}/${stands}` : stands) : file;
			if (!folderPrefix && rel === base && !path.startsWith(clean)) continue;
			if (entry.kind === 'folder') yield* walk(tree.child(folder, entry.name, file), file);
			else if (isFile) {
				const known = entry.size !== undefined && entry.modified !== undefined ? { size: entry.size, modified: entry.modified } : await tree.details?.(folder, entry.name);
				// gone since the folder was read (an upload finished or was aborted meanwhile)
				if (known) yield { path, file, size: known.size, modified: known.modified };
			}
		}
	};
	yield* walk(start, base);
}

/** The objects a tree walk found, as list() yields them. */
export async function* objectsOf(found: AsyncIterable<FoundFile>): AsyncGenerator<StoredObject> {
	for await (const file of found) yield { path: file.path, size: file.size, modified: file.modified };
}

/** The temporary files a tree walk found, as listUnfinished() yields them; `detail` names a file (by its store path) for reports. */
export async function* unfinishedOf(found: AsyncIterable<FoundFile>, detail: (file: string) => string): AsyncGenerator<UnfinishedUpload> {
	for await (const file of found) yield { path: file.path, detail: detail(file.file), id: file.file, started: file.modified, size: file.size };
}

/** The temporary file (store path) an unfinished upload of a folder store stands for; refused when it is not one of ours. */
export function temporaryFileOf(upload: UnfinishedUpload): string {
	if (!finalNameOf(baseName(upload.id))) throw new StoreError(`"${upload.id}" is not an unfinished upload`, 'config');
	return upload.id;
}

/**
 * Send an upload's parts (S3 parts, Azure blocks) with at most `limit` requests at a time, numbered
 * from 1 in order: `first` at once, then each of `rest` when a request has finished, so the writer
 * waits meanwhile (back-pressure) and at most `limit` parts are held. The first failure stops
 * new sends and is thrown once the parts in flight have settled. Returns how many were sent.
 */
export async function sendParts(first: Buffer[], rest: AsyncIterator<Buffer>, limit: number, send: (body: Buffer, number: number) => Promise<unknown>): Promise<number> {
	const inFlight = new Set<Promise<void>>();
	let failure: { error: unknown } | undefined;
	let count = 0;
	const start = (body: Buffer) => {
		const tracked: Promise<void> = send(body, ++count)
			.then(
				() => undefined,
				(error: unknown) => {
					failure ??= { error };
				},
			)
			.finally(() => inFlight.delete(tracked));
		inFlight.add(tracked);
	};
	for (const body of first) start(body);
	for (;;) {
		while (inFlight.size >= limit && !failure) await Promise.race(inFlight);
		if (failure) break;
		const next = await rest.next();
		if (next.done) break;
		start(next.value);
	}
	await Promise.all(inFlight);
	if (failure) throw failure.error;
	return count;
}

/** Temporary files (local folder, SFTP) are named `.incoming-<final name>-<8 hex>`, beside the final name. */
export const TEMP_PREFIX = '.incoming-';
const TEMP_NAME = /^\.incoming-(.+)-[0-9a-f]{8}$/;

export function tempName(finalName: string, random: string): string {
	return `${TEMP_PREFIX}${finalName}-${random.slice(0, 8)}`;
}

/** The final name a temporary name stands for, or undefined when it is not one of ours. */
export function finalNameOf(tempFileName: string): string | undefined {
	return TEMP_NAME.exec(tempFileName)?.[1];
}

/** Write a small text object (a manifest) in one go. */
export async function writeText(store: Store, path: string, text: string, contentType = 'application/json'): Promise<WriteResult> {
	const upload = await store.openWrite(path, { contentType, whole: true });
	const sent = await attemptAsync(async () => {
		await writeTo(upload.stream, Buffer.from(text, 'utf8'));
		await endSink(upload.stream);
	});
	if (!sent.ok) {
		await upload.abort(sent.error);
		// the upload's own error (e.g. a timeout) says more than the closed stream's
		const outcome = await attemptAsync(() => upload.done);
		throw outcome.ok ? sent.error : outcome.error;
	}
	return upload.done;
}

/** Every byte of a stream; more than `limit` bytes is an error (the stream is destroyed). */
export async function readAll(stream: Readable, limit = Infinity): Promise<Buffer> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of stream) {
		size += (chunk as Buffer).length;
		if (size > limit) {
			stream.destroy();
			throw new Error(`larger than ${limit} bytes`);
		}
		chunks.push(chunk as Buffer);
	}
	return Buffer.concat(chunks);
}

export async function readText(store: Store, path: string): Promise<string> {
	return (await readAll(await store.read(path))).toString('utf8');
}

/** `source` with its errors replaced by `map(error)` (e.g. an SDK's network error as a StoreError); destroying the result destroys the source. */
export function mapStreamErrors(source: Readable, map: (error: unknown) => Error): Readable {
	const out = new PassThrough({ highWaterMark: source.readableHighWaterMark });
	source.on('error', (error) => out.destroy(map(error)));
	// a reader that stops early (a footer, the first records) ends the download too
	out.once('close', () => source.destroy());
	return source.pipe(out);
}
