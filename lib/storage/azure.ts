/**
 * Azure Blob Storage destination (also the Data Landing Zone, which hands out a container SAS
 * URI). A file that fits in one block (4 MiB: commit records, manifests) is one Put Blob with
 * `If-None-Match: *`; larger files stream as staged blocks (4 MiB, up to 4 in flight, each retried
 * while its bytes are held) committed by one Put Block List with `If-None-Match: *`. Both are an
 * atomic create-if-absent (409 BlobAlreadyExists when the name is taken, also under a race), so a
 * blob appears whole or not at all and an existing name is never overwritten. The SHA-256 is
 * computed while streaming; each block carries its Content-MD5 and the blob gets the whole MD5 as
 * its Content-MD5 (by which a retried create that meets "already exists" recognises its own
 * blob, when an earlier try landed with its answer lost). Secrets (keys, SAS signatures, client
 * secrets) never appear in messages.
 *
 * Network: the SDK's retries are off (this adapter retries blocks and the commit, the resilient
 * layer the rest: all counted in `stats.retries`); its per-try timeout only tells the server
 * how long to work, so every request gets an idle watchdog here: no bytes sent or received for
 * the idle timeout aborts it (a `timeout` StoreError).
 *
 * A service principal (tenant ID, client ID, client secret) signs in to Microsoft Entra ID through
 * @azure/identity's ClientSecretCredential; the Blob client sends its bearer tokens (scope
 * https://storage.azure.com/.default, renewed before they expire) to the account's Blob endpoint.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ClientSecretCredential } from '@azure/identity';
import { BlobServiceClient, ContainerClient, StorageSharedKeyCredential, type BlockBlobClient } from '@azure/storage-blob';
import { attempt, attemptAsync } from '../errors';
import { cleanPath, fixedParts, hashedUpload, mapStreamErrors, rootedKey, rootedPrefix, sendParts, unrooted, type HashingCounter, type UploadContext } from './common';
import { networkFailure, networkPolicy, retrying, transientStatus, type NetworkFailure, type StoreOptions } from './network';
import { StoreError, type NetworkPolicy, type ObjectStat, type Store, type StoredObject, type StoreStats, type UnfinishedUpload, type Upload, type WriteOptions } from './types';

export interface AzureBlobConfig extends StoreOptions {
	/** `connectionString`, `accountKey`, `sasUrl` or `servicePrincipal`. */
	authentication: 'connectionString' | 'accountKey' | 'sasUrl' | 'servicePrincipal';
	connectionString?: string;
	accountName?: string;
	accountKey?: string;
	/** Blob endpoint for account-key and service-principal access (default https://<account>.blob.core.windows.net). */
	endpoint?: string;
	/** Service principal: the directory (tenant) ID, the application (client) ID and a client secret of that application. */
	tenantId?: string;
	clientId?: string;
	clientSecret?: string;
	/** Microsoft Entra ID's sign-in host (default https://login.microsoftonline.com; another for sovereign clouds). */
	authorityHost?: string;
	/** A container SAS URL (Data Landing Zone), or an account SAS URL with `container`. */
	sasUrl?: string;
	container?: string;
	/** Path prefix inside the container that store paths are relative to. */
	rootPath?: string;
	/** What the credential is called in messages (e.g. "Azure Blob credential"). */
	label?: string;
}

const BLOCK_SIZE = 4 * 1024 * 1024;
/** One try per SDK call: retries happen above the SDK, counted and bounded by the policy. */
const CLIENT_OPTIONS = { retryOptions: { maxTries: 1 } };
const BLOCKS_IN_FLIGHT = 4;
const LIST_PAGE = 1000;
const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
/** The token scope of Azure Storage's data plane (what the Blob client asks for by default). */
const STORAGE_SCOPE = 'https://storage.azure.com/.default';

/** Hide SAS signatures, keys and client secrets if an SDK message ever carries them. */
const scrub = (text: string) =>
	text
		.replace(/([?&]sig=)[^&\s"']+/gi, '$1***')
		.replace(/(AccountKey=)[^;\s"']+/gi, '$1***')
		.replace(/(client_secret=)[^&\s"']+/gi, '$1***');

interface RestErrorLike {
	statusCode?: number;
	code?: string;
	message?: string;
	name?: string;
}

/** A service principal's sign-in, as the store needs it for messages and the credential check. */
interface ServicePrincipal {
	/** The ClientSecretCredential, whose refusals become StoreErrors naming the field at fault. */
	credential: Pick<ClientSecretCredential, 'getToken'>;
	tenantId: string;
	clientId: string;
	authorityHost: string;
}

/** Errors @azure/identity raises when a token cannot be had (they carry Entra's AADSTS code, if any). */
const IDENTITY_ERRORS = /^(AuthenticationError|AuthenticationRequiredError|CredentialUnavailableError|AggregateAuthenticationError)$/;

export class AzureBlobStore implements Store {
	readonly type: string;
	readonly location: string;
	readonly stats: StoreStats = { retries: 0 };
	private readonly policy: NetworkPolicy;
	private readonly pageSize: number;
	private readonly container: ContainerClient;
	private readonly root: string;
	private readonly label: string;
	private readonly secrets: string[];
	private servicePrincipal?: ServicePrincipal;

	constructor(config: AzureBlobConfig, type = 'azure-blob') {
		this.type = type;
		this.label = config.label ?? 'Azure credential';
		this.secrets = [config.accountKey, config.clientSecret, config.connectionString].map((s) => s?.trim() ?? '').filter((s) => s.length >= 4);
		this.root = cleanPath(config.rootPath ?? '');
		this.policy = networkPolicy(config.network);
		this.pageSize = config.pageSize ?? LIST_PAGE;
		const built = attempt(() => this.containerFrom(config));
		if (!built.ok) {
			if (built.error instanceof StoreError) throw built.error;
			throw new StoreError(`${this.label}: ${this.scrub(built.error.message)}`, 'config');
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
				if (containerInUrl) {
					// a Container typed beside a container SAS must be that container: never another than the one named
					const named = decodeURIComponent(pathParts[isEmulator ? 1 : 0]);
					if (config.container?.trim() && config.container.trim() !== named) {
						throw new StoreError(`${this.label}: the SAS URL is for the container "${named}", not "${config.container.trim()}"`, 'config');
					}
					return new ContainerClient(url.toString(), undefined, CLIENT_OPTIONS);
				}
				return new BlobServiceClient(url.toString(), undefined, CLIENT_OPTIONS).getContainerClient(need(config.container, 'Container'));
			}
			const container = need(config.container, 'Container');
			if (config.authentication === 'connectionString') {
				return BlobServiceClient.fromConnectionString(need(config.connectionString, 'Connection String'), CLIENT_OPTIONS).getContainerClient(container);
			}
			const account = need(config.accountName, 'Account Name');
			const endpoint = config.endpoint?.trim() || `https://${account}.blob.core.windows.net`;
			if (config.authentication === 'servicePrincipal') {
				const tenantId = need(config.tenantId, 'Tenant ID');
				const clientId = need(config.clientId, 'Client ID');
				const clientSecret = need(config.clientSecret, 'Client Secret');
				// what Entra accepts in the authority's path: a GUID or a domain name
				if (!/^[0-9a-zA-Z.-]+$/.test(tenantId)) {
					throw new StoreError(`${this.label}: Tenant ID must be the directory (tenant) ID, a GUID, or its domain name (e.g. contoso.onmicrosoft.com)`, 'config');
				}
				const authorityHost = (config.authorityHost?.trim() || DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '');
				const authority = attempt(() => new URL(authorityHost));
				if (!authority.ok || authority.value.protocol !== 'https:' || authority.value.pathname !== '/') {
					throw new StoreError(`${this.label}: Authority Host must be an https:// address with no path, like ${DEFAULT_AUTHORITY_HOST}, not "${authorityHost}"`, 'config');
				}
				if (!/^https:\/\//i.test(endpoint)) {
					throw new StoreError(`${this.label}: Blob Endpoint must be https:// with a service principal (its tokens are only sent over TLS), not "${endpoint}"`, 'config');
				}
				const credential = new ClientSecretCredential(tenantId, clientId, clientSecret, {
					authorityHost,
					// MSAL validates an authority it does not know against login.microsoftonline.com's
					// instance discovery; a host set here on purpose (Azure Stack, a test issuer) is trusted
					disableInstanceDiscovery: authorityHost.toLowerCase() !== DEFAULT_AUTHORITY_HOST,
					// no retries of its own: a transient sign-in failure fails the operation, which is retried
					retryOptions: { maxRetries: 0 },
				});
				// every token request goes through here (the first, and renewals during a long export):
				// a refusal reaches the store's callers as a StoreError naming the credential field
				const explained: ServicePrincipal['credential'] = {
					getToken: async (scopes, options) => {
						const got = await attemptAsync(() => credential.getToken(scopes, options));
						if (got.ok) return got.value;
						throw await this.signInFailure(got.error);
					},
				};
				this.servicePrincipal = { credential: explained, tenantId, clientId, authorityHost };
				return new BlobServiceClient(endpoint, explained, CLIENT_OPTIONS).getContainerClient(container);
			}
			const key = new StorageSharedKeyCredential(account, need(config.accountKey, 'Account Key'));
			return new BlobServiceClient(endpoint, key, CLIENT_OPTIONS).getContainerClient(container);
		}
	}

	private name(path: string): string {
		return rootedKey(this.root, path);
	}

	/** Removes known secrets and secret-looking parameters from text meant for a message. */
	private scrub(text: string): string {
		return this.secrets.reduce((out, secret) => out.split(secret).join('***'), scrub(text));
	}

	/**
	 * A failed service-principal sign-in as a message naming the credential field at fault, from
	 * Entra ID's AADSTS code (which @azure/identity keeps in its error message).
	 */
	private explainSignIn(error: unknown): StoreError | undefined {
		const sp = this.servicePrincipal;
		const e = error as RestErrorLike;
		const message = this.scrub(String(e?.message ?? error));
		const code = /AADSTS(\d+)/.exec(message)?.[1];
		if (!sp || (!code && !IDENTITY_ERRORS.test(e?.name ?? ''))) return undefined;
		// the first sentence of Entra's description (not the trace/correlation ids and timestamps)
		const said = code ? (/AADSTS\d+: (.*?\.)(?=\s|$)/.exec(message)?.[1] ?? '') : '';
		const aadsts = `AADSTS${code}${said ? `: ${said}` : ''}`;
		const refused = (text: string) => new StoreError(`${this.label}: ${text}`, 'auth');
		// Entra ID could not be reached (not a refusal): worth another try
		const network = code ? undefined : networkFailure(message);
		if (network)
			return new StoreError(`${this.label}: cannot reach ${sp.authorityHost} to sign in the service principal (${message.split('\n')[0]}); check Authority Host`, network.code, network.retryable);
		switch (code) {
			case '7000215':
				return refused(`Client Secret was refused by Microsoft Entra ID (${aadsts}); use the secret's Value, not its Secret ID`);
			case '7000222':
				return refused(`Client Secret has expired (${aadsts}); create a new secret for the application`);
			case '7000216':
				return refused(`Client Secret is missing (${aadsts})`);
			case '90002':
			case '900023':
			case '90072':
				return refused(`Tenant ID "${sp.tenantId}" was not found by ${sp.authorityHost} (${aadsts}); check Tenant ID (the directory ID) and Authority Host`);
			case '700016':
				return refused(`Client ID "${sp.clientId}" is not an application in tenant "${sp.tenantId}" (${aadsts}); check Client ID (the application ID) and Tenant ID`);
			case '7000112':
				return refused(`the application of Client ID "${sp.clientId}" is disabled (${aadsts})`);
			case undefined:
				break;
			default:
				return refused(`Microsoft Entra ID refused to sign in the service principal (${aadsts}); check Tenant ID, Client ID and Client Secret`);
		}
		if (/endpoints_resolution_error|openid_config_error/.test(message)) {
			return refused(`cannot get Tenant ID "${sp.tenantId}"'s OpenID configuration from ${sp.authorityHost}; check Tenant ID and Authority Host`);
		}
		return refused(`signing in the service principal failed (${message.split('\n')[0]})`);
	}

	/**
	 * With a custom Authority Host, MSAL reads the tenant's OpenID configuration first and reports
	 * any failure as "endpoints_resolution_error" alone; read it once more to say what went wrong
	 * (an unknown tenant, an unreachable host, an untrusted certificate).
	 */
	private async signInFailure(error: unknown): Promise<StoreError> {
		const sp = this.servicePrincipal as ServicePrincipal;
		const fallback = this.explainSignIn(error) ?? new StoreError(`${this.label}: signing in the service principal failed (${this.scrub(String((error as Error)?.message ?? error))})`, 'auth');
		if (!/OpenID configuration/.test(fallback.message)) return fallback;
		const url = `${sp.authorityHost}/${encodeURIComponent(sp.tenantId)}/v2.0/.well-known/openid-configuration`;
		const got = await attemptAsync(() => fetch(url, { signal: AbortSignal.timeout(this.policy.idleTimeoutMs) }));
		if (!got.ok) {
			const cause = (got.error as Error & { cause?: { code?: string; message?: string } }).cause;
			const why = this.scrub(cause?.code ?? cause?.message ?? got.error.message);
			// refused, unreachable, timed out: worth another try; an untrusted certificate or an unknown host: not
			const network: NetworkFailure | undefined = networkFailure(cause ?? got.error) ?? (got.error.name === 'TimeoutError' ? { code: 'timeout', retryable: true } : undefined);
			return new StoreError(
				`${this.label}: cannot reach the Authority Host ${sp.authorityHost} (${why}); check Authority Host (and the network, proxy or certificate trust)`,
				network?.code ?? 'auth',
				network?.retryable ?? false,
			);
		}
		const body = await attemptAsync(async () => (await got.value.json()) as { error_description?: unknown });
		const description = body.ok ? String(body.value?.error_description ?? '') : '';
		const refusal = /AADSTS\d+/.test(description) ? this.explainSignIn(new Error(description)) : undefined;
		if (refusal) return refusal;
		if (got.value.ok) return fallback;
		return new StoreError(`${this.label}: ${url} answered HTTP ${got.value.status}, not an OpenID configuration; check Tenant ID and Authority Host`, 'auth');
	}

	/** The failure as a StoreError that keeps the SDK's error as its `cause` (callers look at its status). */
	private fail(error: unknown, what: string): StoreError {
		const failure = this.explain(error, what);
		if (failure !== error && failure.cause === undefined) Object.defineProperty(failure, 'cause', { value: error });
		return failure;
	}

	private explain(error: unknown, what: string): StoreError {
		if (error instanceof StoreError) return error;
		const signIn = this.explainSignIn(error);
		if (signIn) return signIn;
		const e = error as RestErrorLike;
		const detail = this.scrub(e.code ?? e.message ?? String(error));
		if (e.statusCode === 403 || e.statusCode === 401) {
			const check = this.servicePrincipal
				? "check that the service principal has a data role such as Storage Blob Data Contributor on the account or container, and that Tenant ID is the account's tenant"
				: 'check the key or SAS and its permissions';
			return new StoreError(`${this.label}: access denied while ${what} (${detail}); ${check}`, 'auth');
		}
		if (e.statusCode === 404 && /ContainerNotFound/i.test(detail)) {
			return new StoreError(`${this.label}: container "${this.container.containerName}" does not exist`, 'not_found');
		}
		if (e.statusCode === 409 || e.statusCode === 412) return new StoreError(`${what}: the blob already exists; refusing to overwrite it`, 'exists');
		const network = e.statusCode === undefined ? networkFailure(e) : undefined;
		if (network) return new StoreError(`${this.label}: cannot reach ${this.host} while ${what} (${detail}); check the endpoint or account`, network.code, network.retryable);
		if (transientStatus(e.statusCode)) return new StoreError(`${this.label}: ${what} failed (HTTP ${e.statusCode}: ${detail})`, 'unavailable');
		return new StoreError(`${this.label}: ${what} failed (${detail})`, 'io');
	}

	private get host(): string {
		return new URL(this.container.url).host;
	}

	/**
	 * One SDK call with an idle watchdog: no progress (the SDK's progress callbacks, where the call
	 * has them) for the idle timeout aborts it with a `timeout` StoreError. A streamed download is
	 * watched only until its answer starts; its body gets the read watchdog of the resilient layer.
	 */
	private async call<T>(what: string, op: (abortSignal: AbortSignal, onProgress: () => void) => Promise<T>, parent?: AbortSignal): Promise<T> {
		const controller = new AbortController();
		const idle = this.policy.idleTimeoutMs;
		let timedOut = false;
		let timer: NodeJS.Timeout | undefined;
		const arm = () => {
			clearTimeout(timer);
			timer = setTimeout(() => {
				timedOut = true;
				controller.abort();
			}, idle);
		};
		const onParent = () => controller.abort(parent?.reason);
		if (parent?.aborted) onParent();
		parent?.addEventListener('abort', onParent, { once: true });
		arm();
		const done = await attemptAsync(() => op(controller.signal, arm));
		clearTimeout(timer);
		parent?.removeEventListener('abort', onParent);
		if (done.ok) return done.value;
		if (timedOut) throw new StoreError(`${this.label}: no answer from ${this.host} for ${(idle / 1000).toFixed(1)} s while ${what}; check the endpoint and the network`, 'timeout');
		throw this.fail(done.error, what);
	}

	async check(): Promise<void> {
		if (this.servicePrincipal) {
			// sign in first, so that a refused sign-in is told apart from a refused storage request
			const token = await attemptAsync(() => (this.servicePrincipal as ServicePrincipal).credential.getToken(STORAGE_SCOPE));
			if (!token.ok) throw this.fail(token.error, 'signing in');
		}
		const opening = `opening container "${this.container.containerName}"`;
		const props = await attemptAsync(() => this.call(opening, (abortSignal) => this.container.getProperties({ abortSignal })));
		if (props.ok) return;
		const e = ((props.error as { cause?: unknown }).cause ?? props.error) as RestErrorLike;
		// a container SAS may not allow reading container properties: listing proves access instead
		if (e.statusCode === 403 && /AuthorizationPermissionMismatch|AuthorizationFailure/i.test(e.code ?? '')) {
			const listed = await attemptAsync(() => this.call('listing the container', (abortSignal) => this.container.listBlobsFlat({ prefix: this.root, abortSignal }).byPage({ maxPageSize: 1 }).next()));
			if (listed.ok) return;
			throw listed.error;
		}
		throw props.error;
	}

	async openWrite(path: string, options: WriteOptions = {}): Promise<Upload> {
		const clean = cleanPath(path);
		const blob = this.container.getBlockBlobClient(this.name(clean));
		return hashedUpload(clean, (counter, context) => this.send(counter, blob, clean, options.contentType, context), {
			signal: options.signal,
			idleTimeoutMs: this.policy.idleTimeoutMs,
		});
	}

	/** One call that holds its bytes, with the policy's retries; the upload's watchdog waits meanwhile (the call bounds itself). */
	private request<T>(what: string, context: UploadContext, op: (abortSignal: AbortSignal, onProgress: () => void) => Promise<T>): Promise<T> {
		return context.guard(retrying(this.policy, this.stats, () => this.call(what, op, context.signal), { signal: context.signal }));
	}

	private async send(counter: HashingCounter, blob: BlockBlobClient, clean: string, contentType: string | undefined, context: UploadContext): Promise<void> {
		const blocks = fixedParts(counter, BLOCK_SIZE)[Symbol.asyncIterator]();
		const first = await blocks.next();
		const head = first.done ? Buffer.alloc(0) : first.value;
		const second = await blocks.next();
		if (second.done) {
			// one Put Blob
			const md5 = createHash('md5').update(head).digest();
			return this.create(clean, blob, md5, context, (abortSignal, onProgress) =>
				blob.upload(head, head.length, { abortSignal, onProgress, conditions: { ifNoneMatch: '*' }, blobHTTPHeaders: { blobContentType: contentType, blobContentMD5: md5 } }),
			);
		}
		// staged blocks, then one Put Block List; block ids have one length per blob (Azure requires it)
		const prefix = randomUUID();
		const ids: string[] = [];
		const whole = createHash('md5');
		// at most BLOCKS_IN_FLIGHT blocks held and sending, the writer waiting meanwhile (back-pressure);
		// uncommitted blocks are invisible and discarded by the service: nothing to clean up on failure
		await sendParts([head, second.value], blocks, BLOCKS_IN_FLIGHT, (body, number) => {
			// called in block order: the whole blob's MD5 grows block by block
			whole.update(body);
			const id = Buffer.from(`${prefix}-${String(number - 1).padStart(6, '0')}`).toString('base64');
			ids[number - 1] = id;
			const blockMd5 = createHash('md5').update(body).digest();
			return this.request(`writing block ${number} of ${clean}`, context, (abortSignal, onProgress) =>
				blob.stageBlock(id, body, body.length, { abortSignal, onProgress, transactionalContentMD5: blockMd5 }),
			);
		});
		const md5 = whole.digest();
		await this.create(clean, blob, md5, context, (abortSignal) =>
			blob.commitBlockList(ids, { abortSignal, conditions: { ifNoneMatch: '*' }, blobHTTPHeaders: { blobContentType: contentType, blobContentMD5: md5 } }),
		);
	}

	/**
	 * The call that makes the blob appear, if absent. "Already exists" after an earlier failed try
	 * is a success when the blob has our MD5 (that try landed, its answer lost). A block list whose
	 * blocks are gone because another writer committed the name first is "already exists" too.
	 */
	private async create(clean: string, blob: BlockBlobClient, md5: Buffer, context: UploadContext, op: (abortSignal: AbortSignal, onProgress: () => void) => Promise<unknown>): Promise<void> {
		let triedBefore = false;
		await this.request(`writing ${clean}`, context, async (abortSignal, onProgress) => {
			const made = await attemptAsync(() => op(abortSignal, onProgress));
			if (made.ok) return;
			const e = made.error as RestErrorLike;
			const conflict = e.statusCode === 409 || e.statusCode === 412 || (e.statusCode === 400 && /InvalidBlockList/i.test(e.code ?? ''));
			if (conflict) {
				const props = await attemptAsync(() => blob.getProperties({ abortSignal }));
				if (props.ok && triedBefore && props.value.contentMD5 && Buffer.from(props.value.contentMD5).equals(md5)) return;
				if (props.ok || e.statusCode !== 400) throw new StoreError(`${clean} already exists: refusing to overwrite it`, 'exists');
			}
			triedBefore = true;
			throw made.error;
		});
	}

	async *list(prefix: string): AsyncGenerator<StoredObject> {
		const full = rootedPrefix(this.root, prefix);
		const listing = `listing ${full || '/'}`;
		let continuationToken: string | undefined;
		do {
			// one page per call, each under its own watchdog
			const page = await attemptAsync(() =>
				this.call(listing, (abortSignal) => this.container.listBlobsFlat({ prefix: full, abortSignal }).byPage({ maxPageSize: this.pageSize, continuationToken }).next()),
			);
			if (!page.ok) {
				if (missing(page.error)) return;
				throw page.error;
			}
			if (page.value.done) return;
			for (const item of page.value.value.segment.blobItems) {
				yield { path: unrooted(this.root, item.name), size: item.properties.contentLength ?? 0, modified: item.properties.lastModified };
			}
			continuationToken = page.value.value.continuationToken || undefined;
		} while (continuationToken);
	}

	/**
	 * None: an unfinished upload is a set of uncommitted blocks, which listings do not show as
	 * objects, no reader can see, and the service discards after 7 days.
	 */
	async *listUnfinished(): AsyncGenerator<UnfinishedUpload> {}

	async discardUnfinished(): Promise<void> {}

	async stat(path: string): Promise<ObjectStat | null> {
		const clean = cleanPath(path);
		const blob = this.container.getBlobClient(this.name(clean));
		const props = await attemptAsync(() => this.call(`reading the properties of ${clean}`, (abortSignal) => blob.getProperties({ abortSignal })));
		if (props.ok) return { size: props.value.contentLength ?? 0, modified: props.value.lastModified };
		if (missing(props.error)) return null;
		throw props.error;
	}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		const clean = cleanPath(path);
		const blob = this.container.getBlobClient(this.name(clean));
		const start = range?.start ?? 0;
		const count = range?.end !== undefined ? range.end - start : undefined;
		const reading = `reading ${clean}`;
		// no resuming inside the SDK (maxRetryRequests 0): the resilient layer resumes, counted
		const response = await attemptAsync(() => this.call(reading, (abortSignal) => blob.download(start, count, { abortSignal, maxRetryRequests: 0 })));
		if (!response.ok) {
			if (missing(response.error)) throw new StoreError(`${clean} does not exist`, 'not_found');
			throw response.error;
		}
		return mapStreamErrors(response.value.readableStreamBody as unknown as Readable, (error) => {
			// the SDK reports a connection that broke mid-body as an "abort" (or, with no retries left, as "less data than required")
			const e = error as Error;
			if (e?.name === 'AbortError' || /received less data than required/i.test(e?.message ?? '')) {
				return new StoreError(`${this.label}: the connection to ${this.host} broke while ${reading} (${e.message})`, 'unavailable');
			}
			return this.fail(error, reading);
		});
	}

	async delete(path: string): Promise<void> {
		const clean = cleanPath(path);
		const blob = this.container.getBlobClient(this.name(clean));
		await this.call(`deleting ${clean}`, (abortSignal) => blob.deleteIfExists({ abortSignal }));
	}

	async close(): Promise<void> {}
}

/** A 404 from the service (this.fail keeps the SDK's error as the cause). */
function missing(error: unknown): boolean {
	const e = error as { statusCode?: number; cause?: { statusCode?: number } };
	return e?.statusCode === 404 || e?.cause?.statusCode === 404;
}
