/**
 * Azure Blob Storage destination (also the Data Landing Zone, which hands out a container SAS
 * URI). Files stream as staged blocks (4 MiB, up to 4 in flight) and are committed by one block
 * list commit with `If-None-Match: *`, so a blob appears whole or not at all and an existing name
 * is never overwritten. Staged blocks carry no Content-MD5 (as on real Azure): the SHA-256 is
 * computed while streaming. Secrets (keys, SAS signatures) never appear in messages.
 */
import type { Readable } from 'node:stream';
import { BlobServiceClient, ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { attempt, attemptAsync } from '../errors';
import { cleanPath, hashedUpload } from './common';
import { StoreError, type ObjectStat, type Store, type StoredObject, type Upload, type WriteOptions } from './types';

export interface AzureBlobConfig {
	/** `connectionString`, `accountKey` or `sasUrl`. */
	authentication: 'connectionString' | 'accountKey' | 'sasUrl';
	connectionString?: string;
	accountName?: string;
	accountKey?: string;
	/** Blob endpoint for account-key access (default https://<account>.blob.core.windows.net). */
	endpoint?: string;
	/** A container SAS URL (Data Landing Zone), or an account SAS URL with `container`. */
	sasUrl?: string;
	container?: string;
	/** Path prefix inside the container that store paths are relative to. */
	rootPath?: string;
	/** What the credential is called in messages (e.g. "Azure Blob credential"). */
	label?: string;
}

const BLOCK_SIZE = 4 * 1024 * 1024;
/** Fail within seconds on a wrong endpoint instead of the SDK's default ~16 s of retries. */
const CLIENT_OPTIONS = { retryOptions: { maxTries: 3, retryDelayInMs: 300, maxRetryDelayInMs: 2000 } };
const BLOCKS_IN_FLIGHT = 4;

/** Hide SAS signatures and keys if an SDK message ever carries a URL. */
const scrub = (text: string) => text.replace(/([?&]sig=)[^&\s"']+/gi, '$1***').replace(/(AccountKey=)[^;\s"']+/gi, '$1***');

interface RestErrorLike {
	statusCode?: number;
	code?: string;
	message?: string;
}

export class AzureBlobStore implements Store {
	readonly type: string;
	readonly location: string;
	private readonly container: ContainerClient;
	private readonly root: string;
	private readonly label: string;

	constructor(config: AzureBlobConfig, type = 'azure-blob') {
		this.type = type;
		this.label = config.label ?? 'Azure credential';
		this.root = cleanPath(config.rootPath ?? '');
		const built = attempt(() => this.containerFrom(config));
		if (!built.ok) {
			if (built.error instanceof StoreError) throw built.error;
			throw new StoreError(`${this.label}: ${scrub(built.error.message)}`, 'config');
		}
		this.container = built.value;
		this.location = `${type}:${this.container.url.split('?')[0]}${this.root ? '/' + this.root : ''}`;
	}

	private containerFrom(config: AzureBlobConfig): ContainerClient {
		const need = (value: string | undefined, field: string) => {
			if (!value?.trim()) throw new StoreError(`${this.label}: ${field} is empty`, 'config');
			return value.trim();
		};
		{
			if (config.authentication === 'sasUrl') {
				const url = new URL(need(config.sasUrl, 'SAS URL'));
				if (!url.searchParams.get('sig')) throw new StoreError(`${this.label}: the SAS URL has no signature (sig=…)`, 'config');
				const pathParts = url.pathname.split('/').filter(Boolean);
				// Azurite and other emulators put the account in the path: http://host/account/container
				const isEmulator = /^\d+\.\d+\.\d+\.\d+$|^localhost$/.test(url.hostname);
				const containerInUrl = pathParts.length > (isEmulator ? 1 : 0);
				if (containerInUrl) return new ContainerClient(url.toString(), undefined, CLIENT_OPTIONS);
				return new BlobServiceClient(url.toString(), undefined, CLIENT_OPTIONS).getContainerClient(need(config.container, 'Container'));
			}
			const container = need(config.container, 'Container');
			if (config.authentication === 'connectionString') {
				return BlobServiceClient.fromConnectionString(need(config.connectionString, 'Connection String'), CLIENT_OPTIONS).getContainerClient(container);
			}
			const account = need(config.accountName, 'Account Name');
			const endpoint = config.endpoint?.trim() || `https://${account}.blob.core.windows.net`;
			const key = new StorageSharedKeyCredential(account, need(config.accountKey, 'Account Key'));
			return new BlobServiceClient(endpoint, key, CLIENT_OPTIONS).getContainerClient(container);
		}
	}

	private name(path: string): string {
		const clean = cleanPath(path);
		return this.root ? (clean ? `${this.root}/${clean}` : this.root) : clean;
	}

	private fail(error: unknown, what: string): StoreError {
		const e = error as RestErrorLike;
		const detail = scrub(e.code ?? e.message ?? String(error));
		if (e.statusCode === 403 || e.statusCode === 401) {
			return new StoreError(`${this.label}: access denied while ${what} (${detail}); check the key or SAS and its permissions`, 'auth');
		}
		if (e.statusCode === 404 && /ContainerNotFound/i.test(detail)) {
			return new StoreError(`${this.label}: container "${this.container.containerName}" does not exist`, 'not_found');
		}
		if (e.statusCode === 409 || e.statusCode === 412) return new StoreError(`${what}: the blob already exists; refusing to overwrite it`, 'exists');
		if (e.statusCode === undefined && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|getaddrinfo/i.test(e.message ?? '')) {
			return new StoreError(`${this.label}: cannot reach ${new URL(this.container.url).host} (${detail}); check the endpoint or account`, 'auth');
		}
		return new StoreError(`${this.label}: ${what} failed (${detail})`, 'io');
	}

	async check(): Promise<void> {
		const props = await attemptAsync(() => this.container.getProperties());
		if (props.ok) return;
		const e = props.error as RestErrorLike;
		// a container SAS may not allow reading container properties: listing proves access instead
		if (e.statusCode === 403 && /AuthorizationPermissionMismatch|AuthorizationFailure/i.test(e.code ?? '')) {
			const listed = await attemptAsync(() => this.container.listBlobsFlat({ prefix: this.root }).byPage({ maxPageSize: 1 }).next());
			if (listed.ok) return;
			throw this.fail(listed.error, 'listing the container');
		}
		throw this.fail(props.error, `opening container "${this.container.containerName}"`);
	}

	async openWrite(path: string, options: WriteOptions = {}): Promise<Upload> {
		const clean = cleanPath(path);
		const blob = this.container.getBlockBlobClient(this.name(clean));
		const controller = new AbortController();
		options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
		return hashedUpload(
			clean,
			async (counter) => {
				const sent = await attemptAsync(() =>
					blob.uploadStream(counter, BLOCK_SIZE, BLOCKS_IN_FLIGHT, {
						abortSignal: controller.signal,
						conditions: { ifNoneMatch: '*' },
						blobHTTPHeaders: options.contentType ? { blobContentType: options.contentType } : undefined,
					}),
				);
				// uncommitted staged blocks are discarded by the service: nothing to clean up
				if (!sent.ok && !controller.signal.aborted) throw this.fail(sent.error, `writing ${clean}`);
			},
			() => controller.abort(),
		);
	}

	async *list(prefix: string): AsyncGenerator<StoredObject> {
		const clean = cleanPath(prefix);
		const folder = prefix.endsWith('/') && clean ? `${clean}/` : clean;
		const full = this.root ? `${this.root}/${folder}` : folder;
		const strip = this.root ? this.root.length + 1 : 0;
		const pages = this.container.listBlobsFlat({ prefix: full }).byPage({ maxPageSize: 1000 });
		for (;;) {
			const page = await attemptAsync(() => pages.next());
			if (!page.ok) {
				if ((page.error as RestErrorLike).statusCode === 404) return;
				throw this.fail(page.error, `listing ${full || '/'}`);
			}
			if (page.value.done) return;
			for (const item of page.value.value.segment.blobItems) {
				yield { path: item.name.slice(strip), size: item.properties.contentLength ?? 0 };
			}
		}
	}

	async stat(path: string): Promise<ObjectStat | null> {
		const name = this.name(path);
		const props = await attemptAsync(() => this.container.getBlobClient(name).getProperties());
		if (props.ok) return { size: props.value.contentLength ?? 0 };
		if ((props.error as RestErrorLike).statusCode === 404) return null;
		throw this.fail(props.error, `reading the properties of ${cleanPath(path)}`);
	}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		const name = this.name(path);
		const start = range?.start ?? 0;
		const count = range?.end !== undefined ? range.end - start : undefined;
		const response = await attemptAsync(() => this.container.getBlobClient(name).download(start, count));
		if (!response.ok) {
			if ((response.error as RestErrorLike).statusCode === 404) throw new StoreError(`${cleanPath(path)} does not exist`, 'not_found');
			throw this.fail(response.error, `reading ${cleanPath(path)}`);
		}
		return response.value.readableStreamBody as unknown as Readable;
	}

	async delete(path: string): Promise<void> {
		const name = this.name(path);
		const deleted = await attemptAsync(() => this.container.getBlobClient(name).deleteIfExists());
		if (!deleted.ok) throw this.fail(deleted.error, `deleting ${cleanPath(path)}`);
	}

	async close(): Promise<void> {}
}
