/**
 * SFTP destination (ssh2-sftp-client for the connection, ssh2's SFTP channel for the operations).
 * Files stream into a hidden temporary name (`.incoming-<name>-<random>`, beside the final name)
 * and are renamed into place when complete. OpenSSH's sftp-server renames with link() + unlink(),
 * so a rename onto an existing name fails (SSH_FX_FAILURE), also when another writer took the name
 * a moment earlier: the loser gets `exists` and the existing file is untouched. Temporary files
 * left by a crash are listed by listUnfinished(), never by list().
 *
 * The TCP socket is opened with Nagle's algorithm off: SFTP writes many small packets and waits
 * for acknowledgements, and with Nagle on a 50 MB upload took 30 s instead of 0.2 s. A pinned
 * host-key fingerprint (`SHA256:…`, as `ssh-keygen -lf` prints it) refuses any other key.
 *
 * Nothing hangs: the handshake has a timeout (readyTimeout), SSH keepalives notice a dead peer
 * within about the idle timeout, and every operation has a watchdog. A stalled SFTP channel never
 * answers anything again, so a watchdog that fires (or a lost connection) tears the whole session
 * down, failing everything in flight on it at once (streams included: a cut connection used to
 * leave uploads waiting for ever), and the next operation connects again. A connection that
 * cannot be made is `unreachable`, one lost or silent afterwards `unavailable`/`timeout`: all
 * retryable (but an unknown host name); the resilient layer retries operations.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SFTPWrapper } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { attemptAsync } from '../errors';
import { baseName, cleanPath, hashedUpload, mapStreamErrors, objectsOf, parentOf, rootedKey, tempName, temporaryFileOf, unfinishedOf, walkTree, type FoundFile, type TreeEntry } from './common';
import { networkFailure, networkPolicy, watchReadable, type StoreOptions } from './network';
import { StoreError, type NetworkPolicy, type ObjectStat, type Store, type StoredObject, type StoreStats, type UnfinishedUpload, type Upload, type WriteOptions } from './types';

export interface SftpConfig extends StoreOptions {
	host: string;
	port?: number;
	username: string;
	password?: string;
	privateKey?: string;
	passphrase?: string;
	/** `SHA256:<base64>`: when set, any other host key is refused. */
	hostFingerprint?: string;
	/** Folder the store's paths are relative to (default: the login folder). */
	rootPath?: string;
	/** Milliseconds to wait for the connection and handshake (default 10 s, at most the idle timeout). */
	timeoutMs?: number;
}

/** SFTP status codes (draft-ietf-secsh-filexfer). */
const NO_SUCH_FILE = 2;

/** `SHA256:` + unpadded base64 of the key's SHA-256, as OpenSSH prints fingerprints. */
export function sshFingerprint(key: Buffer): string {
	return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

const normaliseFingerprint = (f: string) => {
	const trimmed = f.trim().replace(/=+$/, '');
	return trimmed.startsWith('SHA256:') ? trimmed : `SHA256:${trimmed}`;
};

const isMissing = (error: unknown) => (error as { code?: unknown })?.code === NO_SUCH_FILE || /No such file/i.test((error as Error)?.message ?? '');
/** A failed operation (a StoreError from op(), the SFTP error as its cause) that found nothing at the path. */
const notThere = (error: Error) => isMissing((error as StoreError).cause ?? error) || /No such file/i.test(error.message);
const FOLDER = 0o040000;
const FILE = 0o100000;
const kindOf = (mode: number) => mode & 0o170000;

/** One SSH connection and its SFTP channel; once dead, it stays dead (the next operation opens another). */
interface Session {
	client: SftpClient;
	sftp: SFTPWrapper;
	sock: Socket;
	dead?: StoreError;
	/** Rejecters of the operations waiting for an answer. */
	pending: Set<(error: StoreError) => void>;
	/** Remote file streams not closed yet. */
	streams: Set<Readable | Writable>;
}

export class SftpStore implements Store {
	readonly type = 'sftp';
	readonly location: string;
	readonly stats: StoreStats = { retries: 0 };
	private session: Session | undefined;
	private connecting: Promise<Session> | undefined;
	private readonly root: string;
	private readonly where: string;
	private readonly madeDirs = new Set<string>();
	/** Folders whose real path was checked to be below the root's. */
	private readonly insideDirs = new Set<string>();
	/** The root's real path as the server resolves it (null: the server cannot say). */
	private rootReal: Promise<string | null> | undefined;
	private readonly policy: NetworkPolicy;

	constructor(private readonly config: SftpConfig) {
		if (!config.host?.trim()) throw new StoreError('SFTP credential: Host is empty', 'config');
		if (!config.username?.trim()) throw new StoreError('SFTP credential: Username is empty', 'config');
		if (!config.password && !config.privateKey) throw new StoreError('SFTP credential: give a Password or a Private Key', 'config');
		this.policy = networkPolicy(config.network);
		this.root = (config.rootPath ?? '').trim().replace(/\/+$/, '');
		this.where = `${config.host}:${config.port ?? 22}`;
		this.location = `sftp://${config.username}@${config.host}:${config.port ?? 22}${this.root.startsWith('/') ? '' : '/~/'}${this.root}`;
	}

	/** The server's path of a store path (`.`, the login folder, for the root when Root Path is empty). */
	private remote(path: string): string {
		return rootedKey(this.root, path) || '.';
	}

	private async connect(): Promise<Session> {
		if (this.session && !this.session.dead) return this.session;
		this.connecting ??= this.open().finally(() => {
			this.connecting = undefined;
		});
		return this.connecting;
	}

	private async open(): Promise<Session> {
		const { host, port = 22 } = this.config;
		const where = this.where;
		const timeoutMs = Math.min(this.config.timeoutMs ?? 10_000, this.policy.idleTimeoutMs);
		const sock = new Socket();
		sock.setNoDelay(true);
		const connected = await attemptAsync(
			() =>
				new Promise<void>((resolve, reject) => {
					const timer = setTimeout(() => {
						sock.destroy();
						reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT', syscall: 'connect' }));
					}, timeoutMs);
					sock.once('error', (error) => {
						clearTimeout(timer);
						reject(error);
					});
					sock.connect(port, host, () => {
						clearTimeout(timer);
						resolve();
					});
				}),
		);
		if (!connected.ok) {
			// no connection: unreachable, whatever the socket said (worth another try unless the host name does not resolve)
			throw new StoreError(`SFTP credential: cannot reach ${where} (${connected.error.message}); check Host and Port`, 'unreachable', networkFailure(connected.error)?.retryable ?? true);
		}
		let seen: string | undefined;
		const pinned = this.config.hostFingerprint ? normaliseFingerprint(this.config.hostFingerprint) : undefined;
		// the session once it exists (the listeners below are set up before it does)
		const opened: { session?: Session } = {};
		const lost = (error?: unknown) => {
			const why = (error as Error | undefined)?.message;
			// ssh2's "Keepalive timeout": the peer stopped answering
			const kind = networkFailure(error)?.code === 'timeout' ? 'timeout' : 'unavailable';
			if (opened.session) this.kill(opened.session, new StoreError(`the SFTP connection to ${where} was lost${why ? ` (${why})` : ''}`, kind));
		};
		// quiet global listeners (the library's defaults log to the console): a dropped connection ends the session
		const client = new SftpClient('n8n-dataset-export', { error: lost, end: () => lost(), close: () => lost() });
		const keepaliveInterval = Math.max(250, Math.floor(this.policy.idleTimeoutMs / 3));
		const channel = await attemptAsync(() =>
			client.connect({
				sock,
				host,
				port,
				username: this.config.username,
				password: this.config.password || undefined,
				privateKey: this.config.privateKey || undefined,
				passphrase: this.config.passphrase || undefined,
				readyTimeout: timeoutMs,
				// a peer that stops answering is noticed after about three missed keepalives (the idle timeout)
				keepaliveInterval,
				keepaliveCountMax: 2,
				hostVerifier: (key: Buffer) => {
					seen = sshFingerprint(key);
					return !pinned || seen === pinned;
				},
			} as SftpClient.ConnectOptions),
		);
		if (!channel.ok) {
			sock.destroy();
			throw this.sessionError(channel.error, pinned, seen);
		}
		const session: Session = { client, sftp: channel.value, sock, pending: new Set(), streams: new Set() };
		opened.session = session;
		sock.once('close', () => lost());
		channel.value.once('close', () => lost());
		this.session = session;
		return session;
	}

	private sessionError(error: Error, pinned: string | undefined, seen: string | undefined): StoreError {
		const where = this.where;
		if (pinned && seen && seen !== pinned) {
			return new StoreError(`SFTP credential: the server's host key is ${seen}, but Host Key Fingerprint pins ${pinned}: refusing to connect`, 'auth');
		}
		const message = error.message.replace(/^connect: /, '');
		if (/authentication|auth methods|All configured/i.test(message)) {
			return new StoreError(`SFTP credential: ${this.config.username}@${where} refused the login (${message}); check Username, Password or Private Key`, 'auth');
		}
		if (/passphrase|private key|encrypted/i.test(message)) {
			return new StoreError(`SFTP credential: the Private Key cannot be used (${message}); check the key and its Passphrase`, 'auth');
		}
		// a handshake that timed out or a connection dropped before it: worth another try
		const failure = networkFailure(error);
		return new StoreError(`SFTP credential: cannot open an SFTP session with ${where} (${message})`, failure?.code ?? 'auth', failure?.retryable ?? false);
	}

	/** End a session for good: everything waiting on it fails with `reason`, the next operation connects again. */
	private kill(session: Session, reason: StoreError): void {
		if (session.dead) return;
		session.dead = reason;
		if (this.session === session) this.session = undefined;
		for (const reject of session.pending) reject(reason);
		session.pending.clear();
		for (const stream of session.streams) stream.destroy(reason);
		session.streams.clear();
		session.sock.destroy();
		void attemptAsync(() => session.client.end());
	}

	/**
	 * One SFTP request with a watchdog: no answer within the idle timeout tears the session down
	 * (a stalled channel never answers again). SFTP status errors are mapped by `fail`.
	 */
	private async op<T>(what: string, run: (sftp: SFTPWrapper, done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
		const session = await this.connect();
		const idle = this.policy.idleTimeoutMs;
		return new Promise<T>((resolve, reject) => {
			let settled = false;
			const finish = (error: unknown, value?: T) => {
				if (settled) return;
				settled = true;
				clearTimeout(timer);
				session.pending.delete(onKill);
				if (error) reject(this.fail(error, what));
				else resolve(value as T);
			};
			const onKill = (error: StoreError) => finish(error);
			const timer = setTimeout(() => {
				const error = new StoreError(`SFTP: no answer from ${this.where} for ${(idle / 1000).toFixed(1)} s while ${what}; the connection was closed`, 'timeout');
				this.kill(session, error);
				finish(error);
			}, idle);
			if (session.dead) return finish(session.dead);
			session.pending.add(onKill);
			try {
				run(session.sftp, (error, value) => finish(error, value));
			} catch (error) {
				finish(error);
			}
		});
	}

	/** An SFTP failure as a StoreError, keeping the original as its `cause` (callers look at its status code). */
	private fail(error: unknown, what: string): StoreError {
		if (error instanceof StoreError) return error;
		const e = error as { code?: unknown; message?: string };
		// SFTP status codes are numbers (the server answered); anything else is the connection
		const network = typeof e.code === 'number' ? undefined : networkFailure(e);
		// SSH_FX_NO_SPACE_ON_FILESYSTEM (14) and SSH_FX_QUOTA_EXCEEDED (15), from servers that say (OpenSSH only says "Failure")
		const full = e.code === 14 || e.code === 15 || /no space left|quota exceeded/i.test(e.message ?? '');
		const failure = network
			? new StoreError(`SFTP: ${what} failed: the connection to ${this.where} failed (${e.message ?? String(error)})`, network.code, network.retryable)
			: full
				? new StoreError(`SFTP: the destination is full: ${what} failed: ${e.message ?? String(error)}`, 'io')
				: new StoreError(`SFTP: ${what} failed: ${e.message ?? String(error)}`, 'io');
		Object.defineProperty(failure, 'cause', { value: error });
		return failure;
	}

	/** A remote stream that dies with its session, and whose late errors (a close answer after the end) go nowhere. */
	private track<T extends Readable | Writable>(session: Session, stream: T): T {
		session.streams.add(stream);
		stream.once('close', () => session.streams.delete(stream));
		stream.on('error', () => undefined);
		return stream;
	}

	async check(): Promise<void> {
		const root = this.remote('');
		const info = await attemptAsync(() => this.op<{ mode: number }>(`opening the folder ${root}`, (sftp, done) => sftp.stat(root, done)));
		if (!info.ok) {
			if (notThere(info.error)) throw new StoreError(`the SFTP folder "${root}" does not exist`, 'not_found');
			throw info.error;
		}
		if (kindOf(info.value.mode) !== FOLDER) throw new StoreError(`the SFTP path "${root}" is not a folder`, 'config');
	}

	/** mkdir -p: each level in turn (one that exists fails, which is fine), then make sure it is a folder. */
	private async ensureDir(dir: string): Promise<void> {
		if (!dir || dir === '.' || this.madeDirs.has(dir)) return;
		const parts = dir.split('/');
		const root = this.remote('');
		for (let i = 1; i <= parts.length; i++) {
			const level = parts.slice(0, i).join('/');
			if (!level || this.madeDirs.has(level)) continue;
			// the folder above, when it is below the root, is checked before anything is made in it:
			// a symbolic link on the way must not get folders made outside the root
			const above = parts.slice(0, i - 1).join('/');
			if (above && (root === '.' || above === root || above.startsWith(`${root}/`))) await this.assertInside(above);
			const made = await attemptAsync(() => this.op<void>(`creating the folder ${level}`, (sftp, done) => sftp.mkdir(level, done)));
			if (!made.ok && (made.error as StoreError).code !== 'io') throw made.error;
		}
		const info = await this.op<{ mode: number }>(`creating the folder ${dir}`, (sftp, done) => sftp.stat(dir, done));
		if (kindOf(info.mode) !== FOLDER) throw new StoreError(`cannot create the SFTP folder ${dir}: a file has that name`, 'io');
		this.madeDirs.add(dir);
	}

	/** The server's real path of a remote path, or null when it cannot resolve it. */
	private async realpathOf(path: string): Promise<string | null> {
		const resolved = await attemptAsync(() => this.op<string>(`resolving ${path}`, (sftp, done) => sftp.realpath(path, done)));
		return resolved.ok && typeof resolved.value === 'string' ? resolved.value : null;
	}

	/**
	 * Refuse a folder that a symbolic link leads out of the root (Root Path, else the login folder),
	 * where the server resolves real paths (OpenSSH does: SSH_FXP_REALPATH follows links).
	 */
	private async assertInside(dir: string): Promise<void> {
		if (this.insideDirs.has(dir)) return;
		this.rootReal ??= this.realpathOf(this.remote(''));
		const root = await this.rootReal;
		const real = root === null ? null : await this.realpathOf(dir || '.');
		if (root !== null && real !== null && real !== root && !real.startsWith(root.endsWith('/') ? root : `${root}/`)) {
			throw new StoreError(`SFTP: the folder ${dir} leads outside the credential's root folder through a symbolic link: refusing to use it`, 'config');
		}
		if (real !== null) this.insideDirs.add(dir);
	}

	async openWrite(path: string, options: WriteOptions = {}): Promise<Upload> {
		const clean = cleanPath(path);
		const final = this.remote(clean);
		const dir = parentOf(final);
		await this.ensureDir(dir);
		await this.assertInside(dir);
		const session = await this.connect();
		const temp = `${dir ? dir + '/' : ''}${tempName(baseName(clean), randomUUID())}`;
		const remoteStream = this.track(session, session.sftp.createWriteStream(temp, { flags: 'wx' }) as unknown as Writable);
		return hashedUpload(
			clean,
			async (counter, { aborted }) => {
				const sent = await attemptAsync(() => pipeline(counter, remoteStream));
				if (aborted()) throw await this.removing(temp, new StoreError(`upload of ${clean} was aborted`, 'io'));
				if (!sent.ok) {
					// when the session died, its reason says more than the stream's own error ("No response from server")
					const dead = session.dead;
					const error = dead
						? new StoreError(`SFTP: writing ${final} failed: ${dead.message}`, dead.code, dead.retryable)
						: sent.error instanceof StoreError
							? sent.error
							: this.fail(sent.error, `writing ${final}`);
					throw await this.removing(temp, error);
				}
				// the rename fails if the name exists (OpenSSH: link + unlink), also when another writer took it just now
				const moved = await attemptAsync(() => this.op<void>(`moving ${temp} to ${final}`, (sftp, done) => sftp.rename(temp, final, done)));
				if (moved.ok) return;
				const taken = await attemptAsync(() => this.stat(clean));
				const error = taken.ok && taken.value ? new StoreError(`${clean} already exists: refusing to overwrite it`, 'exists') : this.fail(moved.error, `moving ${temp} to ${final}`);
				throw await this.removing(temp, error);
			},
			{
				signal: options.signal,
				idleTimeoutMs: this.policy.idleTimeoutMs,
				abortBackend: (reason) => {
					// a stalled channel never answers again (not even the close of the file): end the session
					if (reason instanceof StoreError && reason.code === 'timeout') this.kill(session, reason);
					else remoteStream.destroy();
				},
			},
		);
	}

	/** Remove a temporary file (best effort, on a new connection if need be), then give back `error`. */
	private async removing(temp: string, error: StoreError): Promise<StoreError> {
		await attemptAsync(() => this.op<void>(`removing ${temp}`, (sftp, done) => sftp.unlink(temp, done)));
		return error;
	}

	list(prefix: string): AsyncGenerator<StoredObject> {
		return objectsOf(this.walk(prefix, false));
	}

	/** Temporary files (`.incoming-<name>-<random>`) left by uploads that never finished. */
	listUnfinished(prefix: string): AsyncGenerator<UnfinishedUpload> {
		return unfinishedOf(this.walk(prefix, true), (file) => `sftp://${this.where}/${this.remote(file)}`);
	}

	async discardUnfinished(upload: UnfinishedUpload): Promise<void> {
		const full = this.remote(temporaryFileOf(upload));
		const removed = await attemptAsync(() => this.op<void>(`removing ${full}`, (sftp, done) => sftp.unlink(full, done)));
		if (!removed.ok && !notThere(removed.error)) throw removed.error;
	}

	/** Files under a prefix (walkTree); a folder is named by its store path. */
	private walk(prefix: string, temps: boolean): AsyncGenerator<FoundFile> {
		return walkTree<string>(prefix, temps, {
			open: async (path) => path,
			entries: async (rel) => {
				const folder = this.remote(rel);
				const listed = await attemptAsync(() =>
					this.op<Array<{ filename: string; attrs: { mode: number; size: number; mtime: number } }>>(`listing ${folder}`, (sftp, done) => sftp.readdir(folder, done)),
				);
				if (!listed.ok) {
					if (notThere(listed.error)) return undefined;
					throw listed.error;
				}
				return listed.value.map(({ filename, attrs }): TreeEntry => {
					const kind = kindOf(attrs.mode);
					return { name: filename, kind: kind === FOLDER ? 'folder' : kind === FILE ? 'file' : 'other', size: attrs.size, modified: new Date(attrs.mtime * 1000) };
				});
			},
			child: (_folder, _name, path) => path,
		});
	}

	async stat(path: string): Promise<ObjectStat | null> {
		const full = this.remote(path);
		const info = await attemptAsync(() => this.op<{ mode: number; size: number; mtime: number }>(`reading the metadata of ${full}`, (sftp, done) => sftp.stat(full, done)));
		if (info.ok) return kindOf(info.value.mode) === FILE ? { size: info.value.size, modified: new Date(info.value.mtime * 1000) } : null;
		if (notThere(info.error)) return null;
		throw info.error;
	}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		const clean = cleanPath(path);
		if (!(await this.stat(clean))) throw new StoreError(`${clean} does not exist`, 'not_found');
		await this.assertInside(parentOf(this.remote(clean)));
		const real = await this.realpathOf(this.remote(clean));
		const root = (await this.rootReal) ?? null;
		if (real !== null && root !== null && !real.startsWith(root.endsWith('/') ? root : `${root}/`)) {
			throw new StoreError(`SFTP: ${clean} is a symbolic link that leads outside the credential's root folder: refusing to read it`, 'config');
		}
		const session = await this.connect();
		const stream = this.track(
			session,
			session.sftp.createReadStream(this.remote(clean), {
				start: range?.start,
				end: range?.end !== undefined ? range.end - 1 : undefined,
			}) as unknown as Readable,
		);
		const idle = this.policy.idleTimeoutMs;
		// a read that gets no bytes for the idle timeout means a stalled channel: end the session
		return watchReadable(
			mapStreamErrors(stream, (error) => this.fail(error, `reading ${clean}`)),
			idle,
			() => {
				const error = new StoreError(`SFTP: no bytes from ${this.where} for ${(idle / 1000).toFixed(1)} s while reading ${clean}; the connection was closed`, 'timeout');
				this.kill(session, error);
				return error;
			},
		);
	}

	async delete(path: string): Promise<void> {
		const full = this.remote(path);
		await this.assertInside(parentOf(full));
		const removed = await attemptAsync(() => this.op<void>(`deleting ${full}`, (sftp, done) => sftp.unlink(full, done)));
		if (!removed.ok && !notThere(removed.error)) throw removed.error;
	}

	async close(): Promise<void> {
		const session = this.session;
		this.session = undefined;
		if (!session || session.dead) return;
		// let remote file handles close first (bounded: a stuck handle must not hang the node)
		const closing = [...session.streams].map((stream) => new Promise((resolve) => stream.once('close', resolve)));
		await Promise.race([Promise.all(closing), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
		session.dead = new StoreError('the SFTP store was closed', 'io');
		for (const reject of session.pending) reject(session.dead);
		await Promise.race([attemptAsync(() => session.client.end()), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
		session.sock.destroy();
	}
}
