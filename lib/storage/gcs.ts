/**
 * Google Cloud Storage on its JSON API, signed in with a service-account JSON key
 * (`@google-cloud/storage`). Files stream as one single-request resumable upload: bytes flow
 * through in chunks as they are produced (bounded memory; no object size known in advance), and
 * the object appears only when the last byte is in. Nothing is overwritten: the upload carries
 * `ifGenerationMatch: 0`, which Google checks when the object is created (412 if the name exists,
 * also when another writer took it during the upload). Integrity: the SDK computes CRC32C while streaming and
 * compares it with the stored object's (deleting the object on a mismatch); this adapter also
 * compares its own MD5 and byte count with the object's `md5Hash` and `size`, and computes the
 * SHA-256 the manifest needs. An aborted or failed upload never finalises its session, so no
 * object appears; an upload that finished in a race with its abort is deleted (generation-matched).
 *
 * Network: the SDK's retries are off (the resilient layer retries everything but the streamed
 * upload, counted in `stats.retries`), so its retryableErrorFn never runs; API requests have the
 * idle timeout as their timeout. A streamed upload cannot be retried once its bytes are sent (the
 * emulator and this adapter use one streamed request, not chunks): it fails promptly with a
 * retryable StoreError, and the upload's watchdog (common.ts) fails one whose connection stops
 * taking bytes or whose final answer does not come, cutting its sockets.
 *
 * An `https://` API endpoint (Google, or a private endpoint such as Private Service Connect) gets
 * the service account's OAuth token; an `http://` endpoint (an emulator) gets no credentials, so
 * no token ever travels in clear text. Neither the key nor tokens appear in any message.
 */
import { createHash, createPrivateKey } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage, type Bucket, type File } from '@google-cloud/storage';
import { attempt, attemptAsync } from '../errors';
import { cleanPath, hashedUpload, rootedKey, rootedPrefix, unrooted, type HashingCounter, type UploadContext } from './common';
import { networkFailure, networkPolicy, transientStatus, type StoreOptions } from './network';
import { StoreError, type NetworkPolicy, type ObjectStat, type Store, type StoredObject, type StoreStats, type UnfinishedUpload, type Upload, type WriteOptions } from './types';

export interface GcsConfig extends StoreOptions {
	/** The service account's JSON key file (as text, or already parsed). */
	serviceAccountJson: string | Record<string, unknown>;
	/** JSON API endpoint; empty = https://storage.googleapis.com. */
	apiEndpoint?: string;
	bucket: string;
	/** Object-name prefix that store paths are relative to. */
	rootPath?: string;
	/** What the credential is called in messages. */
	label?: string;
}

const DEFAULT_ENDPOINT = 'https://storage.googleapis.com';
const PAGE_SIZE = 1000;
const KEY_FIELD = 'Service Account JSON';

interface ServiceAccountKey {
	client_email: string;
	private_key: string;
	project_id?: string;
	universe_domain?: string;
}

interface GoogleErrorLike {
	code?: number | string;
	status?: number;
	message?: string;
	response?: { status?: number; data?: unknown };
}

/** Never let key material, tokens or signed URLs into a message. */
const scrub = (text: string) =>
	text
		.replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[private key]')
		.replace(/\bya29\.[\w.-]+/g, '***')
		.replace(/(access_token|assertion|X-Goog-Signature|Signature)=[^&\s"']+/gi, '$1=***')
		.replace(/(Bearer\s+)[\w.-]+/gi, '$1***');

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

/**
 * An HTTP agent for one upload that can cut its connections. Destroying the SDK's write stream
 * does not end its request (the SDK destroys its upload stream without an error, and only an
 * error aborts the request), so an aborted upload would keep its socket open, waiting for body
 * bytes, until the server times out. Cutting the sockets with a non-retryable error ends it, and
 * any later connection of this upload (a retry) is cut at once.
 */
function severableAgent(https: boolean) {
	const agent = https ? new HttpsAgent({ keepAlive: false }) : new HttpAgent({ keepAlive: false });
	const sockets = new Set<Socket>();
	let cut: Error | undefined;
	const connect = agent.createConnection.bind(agent) as (...args: unknown[]) => Socket;
	agent.createConnection = ((...args: unknown[]) => {
		const socket = connect(...args);
		if (cut) {
			const error = cut;
			process.nextTick(() => socket.destroy(error));
		} else {
			sockets.add(socket);
			socket.once('close', () => sockets.delete(socket));
		}
		return socket;
	}) as typeof agent.createConnection;
	return {
		agent,
		sever() {
			cut = Object.assign(new Error('upload aborted'), { code: 'UPLOAD_ABORTED' });
			for (const socket of sockets) socket.destroy(cut);
		},
	};
}

/** Parse and check a service-account key locally, naming the field at fault (never its value). */
export function parseServiceAccountKey(input: unknown, label: string): ServiceAccountKey {
	const bad = (what: string) => new StoreError(`${label}: ${what}`, 'config');
	let key: unknown = input;
	if (typeof input === 'string') {
		const text = input.trim();
		if (!text) throw bad(`${KEY_FIELD} is empty`);
		const parsed = attempt(() => JSON.parse(text) as unknown);
		if (!parsed.ok) {
			// JSON.parse's message may quote the input (the key): keep only where it broke
			const at = /position (\d+)/.exec(parsed.error.message)?.[1];
			throw bad(`${KEY_FIELD} is not valid JSON${at ? ` (at character ${at})` : ''}; paste the whole key file (IAM › Service accounts › Keys › Add key › JSON)`);
		}
		key = parsed.value;
	}
	if (!key || typeof key !== 'object' || Array.isArray(key)) throw bad(`${KEY_FIELD} must be a JSON object (the key file)`);
	const fields = key as Record<string, unknown>;
	if (fields.type !== undefined && fields.type !== 'service_account') {
		throw bad(`${KEY_FIELD} › type is "${String(fields.type).slice(0, 40)}", but only service-account keys ("service_account") are supported`);
	}
	const need = (name: string) => {
		const value = fields[name];
		if (typeof value !== 'string' || !value.trim()) throw bad(`${KEY_FIELD} › ${name} is missing`);
		return value.trim();
	};
	const clientEmail = need('client_email');
	// keys pasted through environment variables often carry "\n" as two characters
	const privateKey = need('private_key').replace(/\\n/g, '\n');
	if (!privateKey.includes('PRIVATE KEY-----') || !attempt(() => createPrivateKey(privateKey)).ok) {
		throw bad(`${KEY_FIELD} › private_key is not a PEM private key`);
	}
	const projectId = typeof fields.project_id === 'string' && fields.project_id.trim() ? fields.project_id.trim() : undefined;
	const universe = typeof fields.universe_domain === 'string' && fields.universe_domain.trim() ? fields.universe_domain.trim() : undefined;
	return { client_email: clientEmail, private_key: privateKey, project_id: projectId, universe_domain: universe };
}

export class GcsStore implements Store {
	readonly type = 'google-cloud-storage';
	readonly location: string;
	readonly stats: StoreStats = { retries: 0 };
	private readonly policy: NetworkPolicy;
	private readonly pageSize: number;
	private readonly bucket: Bucket;
	private readonly bucketName: string;
	private readonly root: string;
	private readonly label: string;
	private readonly host: string;
	private readonly https: boolean;

	constructor(config: GcsConfig) {
		this.label = config.label ?? 'Google Cloud Storage credential';
		const key = parseServiceAccountKey(config.serviceAccountJson, this.label);
		this.bucketName = config.bucket?.trim() ?? '';
		if (!this.bucketName) throw new StoreError('Bucket is empty', 'config');
		this.root = cleanPath(config.rootPath ?? '');
		this.policy = networkPolicy(config.network);
		this.pageSize = config.pageSize ?? PAGE_SIZE;
		const endpoint = (config.apiEndpoint?.trim() || DEFAULT_ENDPOINT).replace(/\/+$/, '');
		const url = attempt(() => new URL(endpoint));
		if (!/^https?:\/\//.test(endpoint) || !url.ok) throw new StoreError(`${this.label}: API Endpoint must start with http:// or https://`, 'config');
		this.host = url.value.host;
		this.https = url.value.protocol === 'https:';
		const storage = new Storage({
			projectId: key.project_id,
			credentials: key,
			universeDomain: key.universe_domain,
			apiEndpoint: endpoint,
			// https: send the service account's token (Google, private endpoints); http: an emulator
			useAuthWithCustomEndpoint: url.value.protocol === 'https:',
			// retries happen above the SDK, counted and bounded by the policy (see the file comment)
			retryOptions: { autoRetry: false, maxRetries: 0 },
			timeout: this.policy.idleTimeoutMs,
		});
		this.bucket = storage.bucket(this.bucketName);
		// the same identity as the HMAC (XML API) store for the same bucket: switching the
		// credential's authentication keeps the destination's incremental state
		this.location = `${this.type}:${endpoint}/${this.bucketName}${this.root ? '/' + this.root : ''}`;
	}

	private name(path: string): string {
		return rootedKey(this.root, path);
	}

	private status(error: unknown): number | undefined {
		const e = error as GoogleErrorLike;
		if (typeof e.code === 'number') return e.code;
		return e.response?.status ?? e.status;
	}

	private fail(error: unknown, what: string): StoreError {
		const e = error as GoogleErrorLike;
		const status = this.status(error);
		// a failed resumable upload says only "Request failed with status code N": Google's words are in the answer's body
		const said = apiMessage(e.response?.data);
		const message = String(e.message ?? error);
		const full = scrub(said && !message.includes(said) ? `${said} (${message})` : message);
		const detail = full.split('\n')[0].slice(0, 300);
		// the token exchange: Google refused the key itself (deleted or disabled key, wrong private_key)
		if (/invalid_grant|invalid_client|unauthorized_client|Invalid JWT|account not found/i.test(detail)) {
			return new StoreError(
				`${this.label}: Google refused the service account key (${detail}); check ${KEY_FIELD} (a deleted or disabled key, or a private_key that does not belong to client_email)`,
				'auth',
			);
		}
		if (status === 401 || status === 403) {
			return new StoreError(
				`${this.label}: access denied while ${what} (${detail}); check ${KEY_FIELD} and the service account's role on bucket "${this.bucketName}" (it needs to create, list, read and delete objects, e.g. Storage Object Admin)`,
				'auth',
			);
		}
		if (status === 404 && /bucket/i.test(`${what} ${detail}`)) {
			return new StoreError(`bucket "${this.bucketName}" does not exist (or is not visible to this service account)`, 'not_found');
		}
		if (status === 412) return new StoreError(`${what}: the object already exists; refusing to overwrite it`, 'exists');
		// classified on the whole message: the SDK puts the socket's error after a long URL
		const network = status === undefined ? networkFailure({ code: e.code, message: full }) : undefined;
		if (network) return new StoreError(`${this.label}: cannot reach ${this.host} while ${what} (${detail}); check the API Endpoint`, network.code, network.retryable);
		if (transientStatus(status)) return new StoreError(`${this.label}: ${what} failed (HTTP ${status}: ${detail})`, 'unavailable');
		return new StoreError(`${this.label}: ${what} failed (${status ? `HTTP ${status}: ` : ''}${detail})`, 'io');
	}

	async check(): Promise<void> {
		const listed = await attemptAsync(() => this.bucket.getFiles({ maxResults: 1, autoPaginate: false, prefix: this.root || undefined }));
		if (!listed.ok) throw this.fail(listed.error, `opening bucket "${this.bucketName}"`);
	}

	async openWrite(path: string, options: WriteOptions = {}): Promise<Upload> {
		const clean = cleanPath(path);
		const file = this.bucket.file(this.name(clean));
		// the SDK's proxy support (HTTPS_PROXY, …) needs its own agent: behind a proxy, an aborted
		// upload's request ends when the proxy or the server gives up on it
		const severable = PROXY_VARIABLES.some((name) => process.env[name]) ? undefined : severableAgent(this.https);
		if (severable) {
			file.interceptors.push({ request: (request) => Object.assign(request, { agent: severable.agent }) as unknown as ReturnType<File['interceptors'][number]['request']> });
		}
		return hashedUpload(clean, (counter, context) => this.send(file, clean, options, counter, context), {
			signal: options.signal,
			idleTimeoutMs: this.policy.idleTimeoutMs,
			abortBackend: () => severable?.sever(),
		});
	}

	/** Stream the counter's bytes into one resumable session, then check what was stored. */
	private async send(file: File, clean: string, options: WriteOptions, counter: HashingCounter, context: UploadContext): Promise<void> {
		const aborted = () => context.aborted();
		const md5 = createHash('md5');
		const tap = new Transform({
			transform(chunk: Buffer, _encoding, callback) {
				md5.update(chunk);
				callback(null, chunk);
			},
		});
		const sink = file.createWriteStream({
			resumable: true, // one request, streamed (no chunkSize, so nothing is buffered per chunk)
			validation: 'crc32c',
			preconditionOpts: { ifGenerationMatch: 0 },
			metadata: { contentType: options.contentType ?? 'application/octet-stream' },
		});
		// not attemptAsync: the SDK fails an upload with the service's error object as it came (e.g. {code: 412, …}), which must stay readable
		const failure = await pipeline(counter, tap, sink).then(
			() => undefined,
			(error: unknown) => ({ error }),
		);
		if (failure) {
			if (aborted()) return;
			const e = failure.error as GoogleErrorLike;
			if (e.code === 'FILE_NO_UPLOAD' || e.code === 'FILE_NO_UPLOAD_DELETE') {
				throw new StoreError(`${this.label}: writing ${clean} failed: the stored object's CRC32C did not match the bytes sent (${scrub(e.message ?? '')})`, 'io');
			}
			throw this.fail(failure.error, `writing ${clean}`);
		}
		const stored = file.metadata;
		let problem: string | undefined;
		if (Number(stored.size) !== counter.bytes) problem = `the stored object has ${String(stored.size)} bytes, ${counter.bytes} were sent`;
		else if (stored.md5Hash && stored.md5Hash !== md5.digest('base64')) problem = "the stored object's MD5 does not match the bytes sent";
		if (!aborted() && !problem) return;
		// finished despite an abort, or damaged: remove exactly the generation this upload made
		// (a fresh File: this upload's agent may be severed)
		const again = this.bucket.file(this.name(clean));
		await attemptAsync(() => again.delete({ ignoreNotFound: true, ifGenerationMatch: stored.generation }));
		if (problem) throw new StoreError(`${this.label}: writing ${clean} failed: ${problem}; it was deleted`, 'io');
	}

	async *list(prefix: string): AsyncGenerator<StoredObject> {
		const full = rootedPrefix(this.root, prefix);
		let pageToken: string | undefined;
		do {
			const page = await attemptAsync(() => this.bucket.getFiles({ prefix: full || undefined, autoPaginate: false, maxResults: this.pageSize, pageToken }));
			if (!page.ok) throw this.fail(page.error, `listing ${full || '/'}`);
			const [files, next] = page.value;
			for (const item of files) yield { path: unrooted(this.root, item.name), size: Number(item.metadata.size ?? 0), modified: dateOf(item.metadata.updated) };
			pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
		} while (pageToken);
	}

	private async metadataOf(path: string) {
		const got = await attemptAsync(() => this.bucket.file(this.name(path)).getMetadata());
		if (got.ok) return got.value[0];
		if (this.status(got.error) === 404) return null;
		throw this.fail(got.error, `reading the metadata of ${cleanPath(path)}`);
	}

	async stat(path: string): Promise<ObjectStat | null> {
		const metadata = await this.metadataOf(path);
		return metadata ? { size: Number(metadata.size ?? 0), modified: dateOf(metadata.updated) } : null;
	}

	/**
	 * None: an unfinished upload is a resumable session, whose bytes no listing or reader can see
	 * and which the service discards after 7 days.
	 */
	async *listUnfinished(): AsyncGenerator<UnfinishedUpload> {}

	async discardUnfinished(): Promise<void> {}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		const clean = cleanPath(path);
		const metadata = await this.metadataOf(clean);
		if (!metadata) throw new StoreError(`${clean} does not exist`, 'not_found');
		const size = Number(metadata.size ?? 0);
		const start = range?.start ?? 0;
		const end = Math.min(range?.end ?? size, size); // exclusive
		if (end <= start) return Readable.from([]);
		// the generation just seen: a consistent read; whole reads are CRC32C-checked by the SDK
		const file: File = this.bucket.file(this.name(clean), { generation: metadata.generation });
		const source = file.createReadStream({
			decompress: false,
			...(range ? { start, end: end - 1, validation: false } : { validation: 'crc32c' }),
		});
		const out = new PassThrough();
		source.on('error', (error) => out.destroy(this.status(error) === 404 ? new StoreError(`${clean} does not exist`, 'not_found') : this.fail(error, `reading ${clean}`)));
		// a reader that stops early (a footer, the first records) ends the download too
		out.once('close', () => source.destroy());
		return source.pipe(out);
	}

	async delete(path: string): Promise<void> {
		const clean = cleanPath(path);
		const deleted = await attemptAsync(() => this.bucket.file(this.name(clean)).delete({ ignoreNotFound: true }));
		if (!deleted.ok) throw this.fail(deleted.error, `deleting ${clean}`);
	}

	async close(): Promise<void> {}
}

/** The message of a JSON API error answer (`{"error": {"message": …}}`), as an object or as text. */
function apiMessage(data: unknown): string | undefined {
	const parsed = typeof data === 'string' ? attempt(() => JSON.parse(data) as unknown) : { ok: true as const, value: data };
	const message = parsed.ok ? (parsed.value as { error?: { message?: unknown } } | undefined)?.error?.message : undefined;
	return typeof message === 'string' && message ? message : undefined;
}

const dateOf = (value: unknown) => (typeof value === 'string' && value ? new Date(value) : undefined);
