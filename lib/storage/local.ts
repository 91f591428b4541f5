/**
 * Local folder destination (a path on the n8n host, e.g. a mounted volume). Each file streams
 * into a hidden temporary file (`.incoming-<name>-<random>`, beside the final name) and is
 * hard-linked to its final name when complete: link() fails when the name exists, also when
 * another writer took it a moment earlier, so a reader never sees half a file and an existing name
 * is never overwritten. Temporary files left by a crash are listed by listUnfinished(), never by
 * list(). No network: nothing to time out or retry.
 *
 * Nothing is read or written outside the root: every folder below it on the way to a file is
 * checked with lstat (created one level at a time when writing), and a symbolic link anywhere
 * below the root is refused, never followed. The root itself may be a link (a mounted volume);
 * its real path must pass n8n's file-access settings when the node passes them (`accessCheck`).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { access, constants as fsConstants, link, lstat, mkdir, opendir, realpath, rm, stat, unlink } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join, sep } from 'node:path';
import { accessRefused, hostPath, type FileAccessCheck } from '../host-path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { attemptAsync, errnoCode } from '../errors';
import { baseName, cleanPath, hashedUpload, objectsOf, tempName, temporaryFileOf, unfinishedOf, walkTree, type FoundFile, type TreeEntry } from './common';
import { networkPolicy, type StoreOptions } from './network';
import { StoreError, type NetworkPolicy, type ObjectStat, type Store, type StoredObject, type StoreStats, type UnfinishedUpload, type Upload, type WriteOptions } from './types';

export class LocalFolderStore implements Store {
	readonly type = 'local-folder';
	readonly root: string;
	readonly location: string;
	readonly stats: StoreStats = { retries: 0 };
	private readonly policy: NetworkPolicy;
	/** n8n's file-access rule (helpers.isFilePathBlocked), set by the node: true refuses a real path. */
	accessCheck: FileAccessCheck | undefined;
	private realRootPromise: Promise<string> | undefined;

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
		if (!info.ok) {
			if (errnoCode(info.error) === 'EACCES') throw new StoreError(`permission denied: the user n8n runs as may not open the destination folder ${this.root}`, 'auth');
			throw new StoreError(`the destination folder ${this.root} does not exist`, 'not_found');
		}
		if (!info.value.isDirectory()) throw new StoreError(`the destination ${this.root} is not a folder`, 'config');
		const writable = await attemptAsync(() => access(this.root, fsConstants.W_OK));
		if (!writable.ok) throw new StoreError(`the destination folder ${this.root} is not writable`, 'auth');
		await this.realRoot();
	}

	/** The root's real path, refused when n8n's file-access settings refuse it. */
	private realRoot(): Promise<string> {
		this.realRootPromise ??= (async () => {
			const real = await attemptAsync(() => realpath(this.root));
			if (!real.ok) {
				if (errnoCode(real.error) === 'ENOENT') throw new StoreError(`the destination folder ${this.root} does not exist`, 'not_found');
				throw new StoreError(`cannot open the destination folder ${this.root}: ${real.error.message}`, 'io');
			}
			if (this.accessCheck?.(real.value)) throw new StoreError(`Local Folder credential: ${accessRefused(`the folder ${this.root}`)}`, 'auth');
			return real.value;
		})().catch((error: unknown) => {
			this.realRootPromise = undefined;
			throw error;
		});
		return this.realRootPromise;
	}

	/**
	 * The absolute path of a store path below the real root, each folder on the way checked not to
	 * be a symbolic link (`create`: made one level at a time); the last component too when it
	 * exists. Undefined when a folder on the way does not exist (nothing there).
	 */
	private async safe(path: string, create = false): Promise<string | undefined> {
		const clean = cleanPath(path);
		this.abs(clean);
		let current = await this.realRoot();
		const parts = clean ? clean.split('/') : [];
		for (let i = 0; i < parts.length; i++) {
			current = join(current, parts[i]);
			const last = i === parts.length - 1;
			if (create && !last) {
				const made = await attemptAsync(() => mkdir(current));
				if (!made.ok && errnoCode(made.error) !== 'EEXIST') throw this.ioError(`cannot create folder ${current}`, made.error);
			}
			const info = await attemptAsync(() => lstat(current));
			if (!info.ok) {
				const code = errnoCode(info.error);
				if (code === 'ENOENT' || code === 'ENOTDIR') return last ? current : undefined;
				throw this.ioError(`cannot open ${current}`, info.error);
			}
			if (info.value.isSymbolicLink()) {
				throw new StoreError(`${parts.slice(0, i + 1).join('/')} in the destination folder is a symbolic link: refusing to follow it (nothing is written outside ${this.root})`, 'config');
			}
			if (!last && !info.value.isDirectory()) {
				if (create) throw new StoreError(`cannot create folder ${current}: a file has that name`, 'io');
				return undefined;
			}
		}
		return current;
	}

	/** A file-system failure, with a full disk named as such. */
	private ioError(what: string, error: Error): StoreError {
		const code = errnoCode(error) ?? (/\bENOSPC\b/.test(error.message) ? 'ENOSPC' : /\bEDQUOT\b/.test(error.message) ? 'EDQUOT' : undefined);
		if (code === 'ENOSPC') return new StoreError(`the destination is full: no space left on the device that holds ${this.root} (${what})`, 'io');
		if (code === 'EDQUOT') return new StoreError(`the destination is full: the disk quota of the user n8n runs as is used up on ${this.root} (${what})`, 'io');
		if (code === 'EACCES' || code === 'EPERM') return new StoreError(`${what}: permission denied for the user n8n runs as`, 'auth');
		return new StoreError(`${what}: ${error.message}`, 'io');
	}

	async openWrite(path: string, options: WriteOptions = {}): Promise<Upload> {
		const clean = cleanPath(path);
		this.abs(clean);
		// every folder on the way made one level at a time and checked not to be a symbolic link
		const final = (await this.safe(clean, true)) as string;
		const dir = join(final, '..');
		const temp = join(dir, tempName(baseName(clean), randomUUID()));
		// flushed to disk before it is linked: after a power loss a published name never holds a
		// short or empty file (a commit record most of all)
		const file = createWriteStream(temp, { flags: 'wx', flush: true, signal: options.signal });
		return hashedUpload(
			clean,
			async (counter, { aborted }) => {
				try {
					const piped = await attemptAsync(() => pipeline(counter, file));
					if (aborted()) return;
					if (!piped.ok) throw this.ioError(`cannot write ${final}`, piped.error);
					// a hard link publishes the complete file atomically, and fails if the name is taken
					const linked = await attemptAsync(() => link(temp, final));
					if (!linked.ok && errnoCode(linked.error) === 'EEXIST') {
						throw new StoreError(`${clean} already exists: refusing to overwrite it`, 'exists');
					}
					if (!linked.ok) throw this.ioError(`cannot write ${final}`, linked.error);
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

	list(prefix: string): AsyncGenerator<StoredObject> {
		return objectsOf(this.walk(prefix, false));
	}

	/** Temporary files (`.incoming-<name>-<random>`) left by uploads that never finished. */
	listUnfinished(prefix: string): AsyncGenerator<UnfinishedUpload> {
		return unfinishedOf(this.walk(prefix, true), (file) => this.abs(file));
	}

	async discardUnfinished(upload: UnfinishedUpload): Promise<void> {
		const full = await this.safe(temporaryFileOf(upload));
		if (full) await rm(full, { force: true });
	}

	/** Files under a prefix (walkTree): the folder that holds the prefix is reached through safe(); links below it are never followed. */
	private walk(prefix: string, temps: boolean): AsyncGenerator<FoundFile> {
		return walkTree<string>(prefix, temps, {
			open: (path) => this.safe(path),
			entries: async (dir) => {
				const opened = await attemptAsync(() => opendir(dir));
				if (!opened.ok) {
					if (errnoCode(opened.error) === 'ENOENT' || errnoCode(opened.error) === 'ENOTDIR') return undefined;
					throw new StoreError(`cannot list ${dir}: ${opened.error.message}`, 'io');
				}
				const entries: TreeEntry[] = [];
				for await (const entry of opened.value) entries.push({ name: entry.name, kind: entry.isDirectory() ? 'folder' : entry.isFile() ? 'file' : 'other' });
				return entries;
			},
			child: (dir, name) => join(dir, name),
			details: async (dir, name) => {
				const info = await attemptAsync(() => stat(join(dir, name)));
				return info.ok ? { size: info.value.size, modified: info.value.mtime } : undefined;
			},
		});
	}

	async stat(path: string): Promise<ObjectStat | null> {
		this.abs(path); // a bad path is a config error, not an I/O one
		const full = await this.safe(path);
		if (!full) return null;
		const info = await attemptAsync(() => stat(full));
		if (info.ok) return info.value.isFile() ? { size: info.value.size, modified: info.value.mtime } : null;
		if (errnoCode(info.error) === 'ENOENT') return null;
		throw new StoreError(`cannot stat ${path}: ${info.error.message}`, 'io');
	}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		if (!(await this.stat(path))) throw new StoreError(`${cleanPath(path)} does not exist`, 'not_found');
		const full = (await this.safe(path)) as string;
		return createReadStream(full, {
			start: range?.start,
			end: range?.end !== undefined ? range.end - 1 : undefined,
			highWaterMark: 1 << 20,
		});
	}

	async delete(path: string): Promise<void> {
		this.abs(path);
		const full = await this.safe(path);
		if (full) await rm(full, { force: true });
	}

	async close(): Promise<void> {}
}
