/**
 * Local folder destination (a path on the n8n host, e.g. a mounted volume). Each file streams
 * into a hidden temporary file (`.incoming-<name>-<random>`, beside the final name) and is
 * hard-linked to its final name when complete: link() fails when the name exists, also when
 * another writer took it a moment earlier, so a reader never sees half a file and an existing name
 * is never overwritten. Temporary files left by a crash are listed by listUnfinished(), never by
 * list(). No network: nothing to time out or retry.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { access, constants as fsConstants, link, mkdir, opendir, rm, stat, unlink } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join, sep } from 'node:path';
import { hostPath } from '../host-path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { attemptAsync, errnoCode } from '../errors';
import { baseName, cleanPath, finalNameOf, hashedUpload, parentOf, sortEntries, tempName, TEMP_PREFIX } from './common';
import { networkPolicy, type StoreOptions } from './network';
import { StoreError, type NetworkPolicy, type ObjectStat, type Store, type StoredObject, type StoreStats, type UnfinishedUpload, type Upload, type WriteOptions } from './types';

/** A file under the root as a walk finds it: its store path, or for a temporary file the path it stands for. */
interface Found {
	path: string;
	/** Store-relative path of the file itself (differs from `path` for temporary files). */
	file: string;
	size: number;
	modified: Date;
}

export class LocalFolderStore implements Store {
	readonly type = 'local-folder';
	readonly root: string;
	readonly location: string;
	readonly stats: StoreStats = { retries: 0 };
	private readonly policy: NetworkPolicy;

	constructor(root: string, options: StoreOptions = {}) {
		this.policy = networkPolicy(options.network);
		if (!root || !root.trim()) throw new StoreError('the local folder path is empty', 'config');
		this.root = hostPath(root);
		this.location = `local-folder:${this.root}`;
	}

	private abs(path: string): string {
		const clean = cleanPath(path);
		const full = join(this.root, ...clean.split('/'));
		if (full !== this.root && !full.startsWith(this.root + sep)) throw new StoreError(`path "${path}" leaves the destination folder`, 'config');
		return full;
	}

	async check(): Promise<void> {
		const info = await attemptAsync(() => stat(this.root));
		if (!info.ok) throw new StoreError(`the destination folder ${this.root} does not exist`, 'not_found');
		if (!info.value.isDirectory()) throw new StoreError(`the destination ${this.root} is not a folder`, 'config');
		const writable = await attemptAsync(() => access(this.root, fsConstants.W_OK));
		if (!writable.ok) throw new StoreError(`the destination folder ${this.root} is not writable`, 'auth');
	}

	async openWrite(path: string, options: WriteOptions = {}): Promise<Upload> {
		const clean = cleanPath(path);
		const final = this.abs(clean);
		const dir = join(this.root, ...parentOf(clean).split('/').filter(Boolean));
		const made = await attemptAsync(() => mkdir(dir, { recursive: true }));
		if (!made.ok) throw new StoreError(`cannot create folder ${dir}: ${made.error.message}`, 'io');
		const temp = join(dir, tempName(baseName(clean), randomUUID()));
		const file = createWriteStream(temp, { flags: 'wx', signal: options.signal });
		return hashedUpload(
			clean,
			async (counter, { aborted }) => {
				try {
					const piped = await attemptAsync(() => pipeline(counter, file));
					if (aborted()) return;
					if (!piped.ok) throw new StoreError(`cannot write ${final}: ${piped.error.message}`, 'io');
					// a hard link publishes the complete file atomically, and fails if the name is taken
					const linked = await attemptAsync(() => link(temp, final));
					if (!linked.ok && errnoCode(linked.error) === 'EEXIST') {
						throw new StoreError(`${clean} already exists: refusing to overwrite it`, 'exists');
					}
					if (!linked.ok) throw new StoreError(`cannot write ${final}: ${linked.error.message}`, 'io');
				} finally {
					// an abort can land while the temp file is still being opened: the open then completes
					// after an early unlink and leaves the file behind, so wait for the stream to close first
					if (!file.closed) {
						const closed = once(file, 'close').catch(() => undefined);
						file.destroy();
						await closed;
					}
					await unlink(temp).catch(() => undefined);
				}
			},
			{ signal: options.signal, idleTimeoutMs: this.policy.idleTimeoutMs },
		);
	}

	async *list(prefix: string): AsyncGenerator<StoredObject> {
		for await (const found of this.walk(prefix, false)) yield { path: found.path, size: found.size, modified: found.modified };
	}

	/** Temporary files (`.incoming-<name>-<random>`) left by uploads that never finished. */
	async *listUnfinished(prefix: string): AsyncGenerator<UnfinishedUpload> {
		for await (const found of this.walk(prefix, true)) {
			yield { path: found.path, detail: this.abs(found.file), id: found.file, started: found.modified, size: found.size };
		}
	}

	async discardUnfinished(upload: UnfinishedUpload): Promise<void> {
		// only ever one of our temporary files
		if (!finalNameOf(baseName(upload.id))) throw new StoreError(`"${upload.id}" is not an unfinished upload`, 'config');
		await rm(this.abs(upload.id), { force: true });
	}

	/**
	 * Files under a prefix, sorted by path (a folder sorts as "name/", as keys do in a bucket):
	 * the objects, or (`temps`) the temporary files, each under the path it stands for.
	 */
	private async *walk(prefix: string, temps: boolean): AsyncGenerator<Found> {
		const clean = cleanPath(prefix);
		const folderPrefix = prefix.endsWith('/') || clean === '';
		// list the folder that holds the prefix, keep names that start with it
		const base = folderPrefix ? clean : parentOf(clean);
		const start = this.abs(base);
		const walk = async function* (dir: string, rel: string): AsyncGenerator<Found> {
			const opened = await attemptAsync(() => opendir(dir));
			if (!opened.ok) {
				if (errnoCode(opened.error) === 'ENOENT' || errnoCode(opened.error) === 'ENOTDIR') return;
				throw new StoreError(`cannot list ${dir}: ${opened.error.message}`, 'io');
			}
			const entries = [];
			for await (const entry of opened.value) entries.push(entry);
			for (const entry of sortEntries(entries, (e) => e.isDirectory())) {
				const file = rel ? `${rel}/${entry.name}` : entry.name;
				const stands = entry.isFile() && entry.name.startsWith(TEMP_PREFIX) ? finalNameOf(entry.name) : undefined;
				if (entry.isFile() && entry.name.startsWith(TEMP_PREFIX) !== temps) continue;
				if (temps && entry.isFile() && !stands) continue;
				const path = stands ? (rel ? `${rel}/${stands}` : stands) : file;
				if (!folderPrefix && rel === base && !path.startsWith(clean)) continue;
				if (entry.isDirectory()) yield* walk(join(dir, entry.name), file);
				else if (entry.isFile()) {
					const info = await attemptAsync(() => stat(join(dir, entry.name)));
					// gone since the folder was read (an upload finished or was aborted meanwhile)
					if (info.ok) yield { path, file, size: info.value.size, modified: info.value.mtime };
				}
			}
		};
		yield* walk(start, base);
	}

	async stat(path: string): Promise<ObjectStat | null> {
		const full = this.abs(path); // a bad path is a config error, not an I/O one
		const info = await attemptAsync(() => stat(full));
		if (info.ok) return info.value.isFile() ? { size: info.value.size, modified: info.value.mtime } : null;
		if (errnoCode(info.error) === 'ENOENT') return null;
		throw new StoreError(`cannot stat ${path}: ${info.error.message}`, 'io');
	}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		const full = this.abs(path);
		if (!(await this.stat(path))) throw new StoreError(`${cleanPath(path)} does not exist`, 'not_found');
		return createReadStream(full, {
			start: range?.start,
			end: range?.end !== undefined ? range.end - 1 : undefined,
			highWaterMark: 1 << 20,
		});
	}

	async delete(path: string): Promise<void> {
		await rm(this.abs(path), { force: true });
	}

	async close(): Promise<void> {}
}
