/**
 * Local folder destination (a path on the n8n host, e.g. a mounted volume). Each file streams
 * into a hidden temporary file and is hard-linked to its final name when complete, so a reader
 * never sees half a file and an existing name is never overwritten.
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
import { baseName, cleanPath, hashedUpload, parentOf } from './common';
import { StoreError, type ObjectStat, type Store, type StoredObject, type Upload, type WriteOptions } from './types';

const TEMP_PREFIX = '.incoming-';

export class LocalFolderStore implements Store {
	readonly type = 'local-folder';
	readonly root: string;
	readonly location: string;

	constructor(root: string) {
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
		const temp = join(dir, `${TEMP_PREFIX}${baseName(clean)}-${randomUUID().slice(0, 8)}`);
		const file = createWriteStream(temp, { flags: 'wx', signal: options.signal });
		return hashedUpload(
			clean,
			async (counter, aborted) => {
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
			undefined,
			options.signal,
		);
	}

	async *list(prefix: string): AsyncGenerator<StoredObject> {
		const clean = cleanPath(prefix);
		const folderPrefix = prefix.endsWith('/') || clean === '';
		// list the folder that holds the prefix, keep names that start with it
		const base = folderPrefix ? clean : parentOf(clean);
		const start = this.abs(base);
		const walk = async function* (dir: string, rel: string): AsyncGenerator<StoredObject> {
			const opened = await attemptAsync(() => opendir(dir));
			if (!opened.ok) {
				if (errnoCode(opened.error) === 'ENOENT' || errnoCode(opened.error) === 'ENOTDIR') return;
				throw new StoreError(`cannot list ${dir}: ${opened.error.message}`, 'io');
			}
			const entries = [];
			for await (const entry of opened.value) entries.push(entry);
			entries.sort((a, b) => (a.name < b.name ? -1 : 1));
			for (const entry of entries) {
				if (entry.name.startsWith(TEMP_PREFIX)) continue;
				const path = rel ? `${rel}/${entry.name}` : entry.name;
				if (!folderPrefix && rel === base && !path.startsWith(clean)) continue;
				if (entry.isDirectory()) yield* walk(join(dir, entry.name), path);
				else if (entry.isFile()) yield { path, size: (await stat(join(dir, entry.name))).size };
			}
		};
		yield* walk(start, base);
	}

	async stat(path: string): Promise<ObjectStat | null> {
		const full = this.abs(path); // a bad path is a config error, not an I/O one
		const info = await attemptAsync(() => stat(full));
		if (info.ok) return info.value.isFile() ? { size: info.value.size } : null;
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
