/**
 * Azure Blob Storage destination (also the Data Landing Zone, which hands out a container SAS
 * URI). Files stream as staged blocks (4 MiB, up to 4 in flight) and are committed by one block
 * list commit with `If-None-Match: *`, so a blob appears whole or not at all and an existing name
 * is never overwritten. Staged blocks carry no Content-MD5 (as on real Azure): the SHA-256 is
 * computed while streaming. Secrets (keys, SAS signatures, client secrets) never appear in messages.
 *
 * A service principal (tenant ID, client ID, client secret) signs in to Microsoft Entra ID through
 * @azure/identity's ClientSecretCredential; the Blob client sends its bearer tokens (scope
 * https://storage.azure.com/.default, renewed before they expire) to the account's Blob endpoint.
 */
import type { Readable } from 'node:stream';
import { ClientSecretCredential } from '@azure/identity';
import { BlobServiceClient, ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { attempt, attemptAsync } from '../errors';
import { cleanPath, hashedUpload } from './common';
import { StoreError, type ObjectStat, type Store, type StoredObject, type Upload, type WriteOptions } from './types';

export interface AzureBlobConfig {
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
/** Fail within seconds on a wrong endpoint instead of the SDK's default ~16 s of retries. */
const CLIENT_OPTIONS = { retryOptions: { maxTries: 3, retryDelayInMs: 300, maxRetryDelayInMs: 2000 } };
const BLOCKS_IN_FLIGHT = 4;
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
				if (containerInUrl) return new ContainerClient(url.toString(), undefined, CLIENT_OPTIONS);
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
					// an unreachable authority fails within seconds, not after the default four tries
					retryOptions: { maxRetries: 1, retryDelayInMs: 300 },
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
		const clean = cleanPath(path);
		return this.root ? (clean ? `${this.root}/${clean}` : this.root) : clean;
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
		const got = await attemptAsync(() => fetch(url, { signal: AbortSignal.timeout(10_000) }));
		if (!got.ok) {
			const cause = (got.error as Error & { cause?: { code?: string; message?: string } }).cause;
			const why = this.scrub(cause?.code ?? cause?.message ?? got.error.message);
			return new StoreError(`${this.label}: cannot reach the Authority Host ${sp.authorityHost} (${why}); check Authority Host (and the network, proxy or certificate trust)`, 'auth');
		}
		const body = await attemptAsync(async () => (await got.value.json()) as { error_description?: unknown });
		const description = body.ok ? String(body.value?.error_description ?? '') : '';
		const refusal = /AADSTS\d+/.test(description) ? this.explainSignIn(new Error(description)) : undefined;
		if (refusal) return refusal;
		if (got.value.ok) return fallback;
		return new StoreError(`${this.label}: ${url} answered HTTP ${got.value.status}, not an OpenID configuration; check Tenant ID and Authority Host`, 'auth');
	}

	private fail(error: unknown, what: string): StoreError {
		if (error instanceof StoreError) return error;
		const signIn = this.explainSignIn(error);
		if (signIn) return signIn;
		const e = error as RestErrorLike;
		const detail = this.scrub(e.code ?? e.message ?? String(error));
		if (e.statusCode === 403 || e.statusCode === 401) {
			const check = this.servicePrincipal
				? 'check that the service principal has a data role such as Storage Blob Data Contributor on the account or container, and that Tenant ID is the account\'s tenant'
				: 'check the key or SAS and its permissions';
			return new StoreError(`${this.label}: access denied while ${what} (${detail}); ${check}`, 'auth');
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
		if (this.servicePrincipal) {
			// sign in first, so that a refused sign-in is told apart from a refused storage request
			const token = await attemptAsync(() => (this.servicePrincipal as ServicePrincipal).credential.getToken(STORAGE_SCOPE));
			if (!token.ok) throw this.fail(token.error, 'signing in');
		}
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
			options.signal,
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
