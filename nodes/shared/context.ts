/** Turn node parameters and credentials into the library's source and store, and its errors into n8n's. */
import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	ILoadOptionsFunctions,
	INodeCredentialTestResult,
	INodeListSearchResult,
	INode,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { attemptAsync } from '../../lib/errors';
import { exportedDatasets } from '../../lib/export/manifest';
import { ExportError } from '../../lib/export/run';
import { DEFAULT_FOLDER_TEMPLATE } from '../../lib/export/template';
import { cleanPath } from '../../lib/storage/common';
import { fileAccessFromEnv, type FileAccessCheck } from '../../lib/host-path';
import { LakePathError, LocalLakeSource } from '../../lib/source/local-lake';
import { adapterOf, LocalFolderStore } from '../../lib/storage';
import { SourceError, type Source } from '../../lib/source/types';
import { openStore as openDestination, StoreError, type DestinationConfig, type NetworkPolicy, type Store } from '../../lib/storage';
import { DEFAULT_NETWORK_POLICY } from '../../lib/storage/types';
import { VerifyError } from '../../lib/verify/verify';

type ParamContext = Pick<IExecuteFunctions, 'getNodeParameter' | 'getNode'>;

/** The source named by the Source parameters. */
/**
 * Reads a node parameter while the node runs (for an item) or while the editor loads a list
 * (the parameters as currently set in the editor).
 */
function parameterGetter(context: ParamContext | ILoadOptionsFunctions, itemIndex: number) {
	return (name: string): unknown =>
		'getCurrentNodeParameter' in context && typeof context.getCurrentNodeParameter === 'function'
			? context.getCurrentNodeParameter(name)
			: (context as ParamContext).getNodeParameter(name, itemIndex, '');
}

/**
 * n8n's own file-access rule, as its Read/Write Files node applies it: n8n-core's
 * `helpers.isFilePathBlocked` (N8N_RESTRICT_FILE_ACCESS_TO, N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES,
 * N8N_BLOCK_FILE_PATTERNS) while a node runs; the same variables read from the environment where n8n
 * gives no file helpers (the editor's list searches, n8n versions without the helper).
 */
export function fileAccessCheck(context: unknown): FileAccessCheck {
	const helpers = (context as { helpers?: { isFilePathBlocked?: (path: string) => boolean } }).helpers;
	const blocked = helpers?.isFilePathBlocked;
	if (typeof blocked === 'function') return (path) => blocked.call(helpers, path);
	return fileAccessFromEnv();
}

export function sourceFrom(context: ParamContext | ILoadOptionsFunctions, itemIndex = 0): Source {
	const get = parameterGetter(context, itemIndex);
	const type = (get('source') as string) || 'localLake';
	if (type !== 'localLake') throw new NodeOperationError(context.getNode(), `Source "${type}" is not supported`);
	const raw = get('lakePath');
	const lakeError = (message: string, description: string) => {
		const error = new NodeOperationError(context.getNode(), message, { itemIndex, description });
		error.context.parameter = 'lakePath';
		return error;
	};
	if (raw !== undefined && raw !== null && typeof raw !== 'string') {
		throw lakeError(`Lake Path must be text (a folder path), not ${typeof raw === 'object' ? 'an object' : String(raw)}`, 'Check the parameter "Lake Path".');
	}
	const lakePath = String(raw ?? '').trim();
	if (!lakePath) throw lakeError('Lake Path is empty', 'Set Lake Path to the folder that holds the datasets (one sub-folder each).');
	if (lakePath.includes('\u0000')) throw lakeError('Lake Path must not contain a NUL character (\\0)', 'Check the parameter "Lake Path".');
	return new LocalLakeSource(lakePath, { isBlocked: fileAccessCheck(context) });
}

const CREDENTIAL_OF: Record<string, string> = {
	localFolder: 'datasetExportLocalFolderApi',
	amazonS3: 'datasetExportS3Api',
	googleCloudStorage: 'datasetExportGoogleCloudStorageApi',
	adlsGen2: 'datasetExportAdlsGen2Api',
	sftp: 'datasetExportSftpApi',
	azureBlob: 'datasetExportAzureBlobApi',
	dataLandingZone: 'datasetExportDataLandingZoneApi',
};

const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));

/** Node parameters a destination needs beside its credential (e.g. the Azure container). */
export interface DestinationFields {
	container?: string;
	bucket?: string;
}

function storeFromCredential(destination: string, credential: ICredentialDataDecryptedObject, fields: DestinationFields = {}, policy?: NetworkPolicy): Store {
	const openStore = (config: DestinationConfig) => openDestination(config, policy);
	if (destination === 'localFolder') return openStore({ type: 'localFolder', path: text(credential.rootPath) });
	if (destination === 'sftp') {
		return openStore({
			type: 'sftp',
			host: text(credential.host),
			port: Number(credential.port) || 22,
			username: text(credential.username),
			password: text(credential.password) || undefined,
			privateKey: text(credential.privateKey) || undefined,
			passphrase: text(credential.passphrase) || undefined,
			hostFingerprint: text(credential.hostFingerprint) || undefined,
			rootPath: text(credential.rootPath) || undefined,
		});
	}
	if (destination === 'azureBlob') {
		return openStore({
			type: 'azureBlob',
			authentication: (text(credential.authentication) || 'connectionString') as 'connectionString' | 'accountKey' | 'sasUrl',
			connectionString: text(credential.connectionString),
			accountName: text(credential.accountName),
			accountKey: text(credential.accountKey),
			endpoint: text(credential.endpoint) || undefined,
			sasUrl: text(credential.sasUrl),
			container: fields.container,
		});
	}
	if (destination === 'amazonS3') {
		return openStore({
			type: 'amazonS3',
			accessKeyId: text(credential.accessKeyId),
			secretAccessKey: text(credential.secretAccessKey),
			sessionToken: text(credential.sessionToken) || undefined,
			region: text(credential.region) || undefined,
			endpoint: text(credential.endpoint) || undefined,
			forcePathStyle: credential.forcePathStyle === true || undefined,
			roleArn: text(credential.roleArn) || undefined,
			externalId: text(credential.externalId) || undefined,
			roleSessionName: text(credential.roleSessionName) || undefined,
			bucket: fields.bucket ?? '',
		});
	}
	if (destination === 'googleCloudStorage') {
		if (text(credential.authentication) === 'serviceAccount') {
			const key = credential.serviceAccountJson;
			return openStore({
				type: 'googleCloudStorage',
				authentication: 'serviceAccount',
				serviceAccountJson: key && typeof key === 'object' ? (key as Record<string, unknown>) : text(key),
				apiEndpoint: text(credential.apiEndpoint) || undefined,
				bucket: fields.bucket ?? '',
			});
		}
		// HMAC keys; credentials saved before the Authentication choice existed have no value here
		return openStore({
			type: 'googleCloudStorage',
			accessKeyId: text(credential.accessKeyId),
			secretAccessKey: text(credential.secretAccessKey),
			endpoint: text(credential.endpoint) || undefined,
			bucket: fields.bucket ?? '',
		});
	}
	if (destination === 'adlsGen2') {
		const endpoint = text(credential.endpoint) || undefined;
		if (text(credential.authentication) === 'servicePrincipal') {
			return openStore({
				type: 'adlsGen2',
				authentication: 'servicePrincipal',
				url: text(credential.url),
				tenantId: text(credential.tenantId),
				clientId: text(credential.clientId),
				clientSecret: text(credential.clientSecret),
				authorityHost: text(credential.authorityHost) || undefined,
				endpoint,
			});
		}
		// the account key; credentials saved before the Authentication choice existed have no value there
		return openStore({ type: 'adlsGen2', url: text(credential.url), accountKey: text(credential.accountKey), endpoint });
	}
	if (destination === 'dataLandingZone') return openStore({ type: 'dataLandingZone', sasUrl: text(credential.sasUrl) });
	throw new StoreError(`Destination "${destination}" is not supported`, 'config');
}

/** Credential test shared by every destination: build the store, check it, close it. */
async function testDestination(
	destination: string,
	credential: ICredentialsDecrypted,
	ok: string,
	fields: DestinationFields = {},
	missingContainerIsFine = false,
): Promise<INodeCredentialTestResult> {
	let store: Store | undefined;
	try {
		store = storeFromCredential(destination, credential.data ?? {}, fields);
		const checked = await attemptAsync(() => (store as Store).check());
		// an account credential is fine if it authenticates, even where the probe container is absent
		if (!checked.ok && !(missingContainerIsFine && checked.error instanceof StoreError && checked.error.code === 'not_found')) {
			return { status: 'Error', message: checked.error.message };
		}
		return { status: 'OK', message: ok };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	} finally {
		await store?.close();
	}
}

/** The store named by the Destination parameter and its credential. */
export async function storeFrom(context: IExecuteFunctions | ILoadOptionsFunctions, itemIndex: number): Promise<Store> {
	const get = parameterGetter(context, itemIndex);
	const destination = get('destination') as string;
	const credentialType = CREDENTIAL_OF[destination];
	if (!credentialType) throw new NodeOperationError(context.getNode(), `Destination "${destination}" is not supported`, { itemIndex });
	const credential = await context.getCredentials(credentialType, itemIndex);
	const parameter = (name: string) => String(get(name) ?? '').trim();
	const fields: DestinationFields = destination === 'azureBlob' ? { container: parameter('container') } : ['amazonS3', 'googleCloudStorage'].includes(destination) ? { bucket: parameter('bucket') } : {};
	try {
		const store = storeFromCredential(destination, credential, fields, networkPolicy((get('options') ?? {}) as NetworkOptions));
		// a Local Folder follows n8n's file-access settings, as Read/Write Files does
		const adapter = adapterOf(store);
		if (adapter instanceof LocalFolderStore) adapter.accessCheck = fileAccessCheck(context);
		return store;
	} catch (error) {
		throw toNodeError(context.getNode(), error, itemIndex);
	}
}

/** The Options › Network settings of Export Dataset and Verify Export. */
export interface NetworkOptions {
	timeoutSeconds?: number;
	retries?: number;
	maxRetrySeconds?: number;
}

/** The store's network policy from the node's options; a value that cannot work is an error naming the option. */
export function networkPolicy(options: NetworkOptions): NetworkPolicy {
	const policy = { ...DEFAULT_NETWORK_POLICY };
	const bad = (parameter: string, message: string) => new ExportError(message, parameter);
	const given = (value: unknown) => (typeof value === 'string' ? `the text ${JSON.stringify(value)}` : String(value));
	if (options.timeoutSeconds !== undefined) {
		if (!(typeof options.timeoutSeconds === 'number' && options.timeoutSeconds > 0 && options.timeoutSeconds <= 86_400)) {
			throw bad('timeoutSeconds', `Network Timeout must be a number of seconds above 0 and at most 86,400 (a day), not ${given(options.timeoutSeconds)}`);
		}
		policy.idleTimeoutMs = Math.round(options.timeoutSeconds * 1000);
	}
	if (options.retries !== undefined) {
		if (!(Number.isInteger(options.retries) && options.retries >= 0 && options.retries <= 20)) throw bad('retries', `Retries must be a whole number from 0 to 20, not ${given(options.retries)}`);
		policy.maxAttempts = options.retries + 1;
	}
	if (options.maxRetrySeconds !== undefined) {
		if (!(typeof options.maxRetrySeconds === 'number' && options.maxRetrySeconds >= 0 && options.maxRetrySeconds <= 86_400)) {
			throw bad('maxRetrySeconds', `Max Retry Time must be a number of seconds from 0 to 86,400 (a day), not ${given(options.maxRetrySeconds)}`);
		}
		policy.maxRetryMs = Math.round(options.maxRetrySeconds * 1000);
	}
	return policy;
}

/** Display names of the parameters errors can point at. */
const PARAMETER_LABELS: Record<string, string> = {
	datasetId: 'Dataset',
	mode: 'Mode',
	fileType: 'File Type',
	compression: 'Compression',
	includeManifest: 'Include Manifest',
	folderPath: 'Folder Path',
	folderTemplate: 'Options › Folder Template',
	maxRecordsPerFile: 'Options › Max Records per File',
	maxFileSizeMb: 'Options › Max File Size (MB)',
	lookbackDays: 'Options › Lookback Days',
	startDate: 'Options › Start Date',
	endDate: 'Options › End Date',
	exportTime: 'Export Time',
	fileNamePrefix: 'Options › File Name Prefix',
	timeoutSeconds: 'Options › Network Timeout (Seconds)',
	retries: 'Options › Retries',
	maxRetrySeconds: 'Options › Max Retry Time (Seconds)',
	cleanupAfterHours: 'Options › Remove Leftovers After (Hours)',
	manifestPath: 'Manifest Path',
	lakePath: 'Lake Path',
	rowGroupRows: 'Options › Parquet Row Group Size',
	schemaMismatch: 'Options › On Schema Mismatch',
	jsonCompression: 'Compression',
	parquetCompression: 'Compression',
	destinationName: 'Options › Destination Name',
	sandboxName: 'Options › Sandbox Name',
	organizationName: 'Options › Organization Name',
};

/**
 * A library error as an n8n error that names the parameter or credential at fault. Never carries
 * secrets. n8n replaces an error item's JSON with `{error: message}`, so structured detail goes on
 * the error itself: `description` for people, `context` for the nodes after the error output.
 */
export function toNodeError(node: INode, error: unknown, itemIndex: number, context: IDataObject = {}): NodeOperationError {
	const nodeError = describeError(node, error, itemIndex);
	Object.assign(nodeError.context, context);
	return nodeError;
}

function describeError(node: INode, error: unknown, itemIndex: number): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	const parameter = error instanceof ExportError || error instanceof VerifyError ? error.parameter : undefined;
	if (parameter) {
		const described = new NodeOperationError(node, ownWords((error as Error).message), {
			itemIndex,
			description: `Check the parameter "${PARAMETER_LABELS[parameter] ?? parameter}".`,
		});
		described.context.parameter = parameter;
		return described;
	}
	if (isDiskFull(error)) {
		const message = (error as Error).message;
		const described = new NodeOperationError(node, ownWords(/destination is full/.test(message) ? `Destination: ${message.replace(/^Destination: /, '')}` : `Destination is full: ${message}`), {
			itemIndex,
			description: 'The destination has no space left: free space there (or choose another destination) and run again. Nothing was committed; the next run removes what this one left.',
		});
		described.context.destinationFull = true;
		return described;
	}
	if (error instanceof StoreError) {
		return new NodeOperationError(node, ownWords(`Destination: ${error.message}`), {
			itemIndex,
			description: 'Check the destination credential (and the folder it points at).',
		});
	}
	if (error instanceof LakePathError) {
		const described = new NodeOperationError(node, ownWords(error.message), { itemIndex, description: 'Check the parameter "Lake Path".' });
		described.context.parameter = 'lakePath';
		return described;
	}
	if (error instanceof SourceError) {
		return new NodeOperationError(node, ownWords(`Source: ${error.message}`), { itemIndex, description: 'Check the Lake Path parameter.' });
	}
	return new NodeOperationError(node, ownWords((error as Error)?.message ?? String(error)), { itemIndex });
}

/** A full disk or used-up quota, wherever it surfaced (a store, a stream, the engine). */
function isDiskFull(error: unknown): boolean {
	const e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
	if (!e) return false;
	if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
	const message = typeof e.message === 'string' ? e.message : '';
	if (/\bENOSPC\b|no space left on (the )?device|\bEDQUOT\b|disk quota exceeded|the destination is full/i.test(message)) return true;
	return e.cause !== undefined && e.cause !== error && isDiskFull(e.cause);
}

/** System error codes, in the words n8n's error messages use instead. */
const CODE_WORDS: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection reset',
	ENOTFOUND: 'host not found',
	ETIMEDOUT: 'timed out',
	ERRADDRINUSE: 'address in use',
	EADDRNOTAVAIL: 'address not available',
	ECONNABORTED: 'connection aborted',
	EHOSTUNREACH: 'host unreachable',
	EAI_AGAIN: 'name lookup failed',
	ENOENT: 'not found',
	EISDIR: 'is a folder',
	ENOTDIR: 'not a folder',
	EACCES: 'permission denied',
	EEXIST: 'already exists',
	EPERM: 'not permitted',
	ENOSPC: 'no space left on the device',
	EDQUOT: 'disk quota exceeded',
	ENAMETOOLONG: 'name too long',
	ELOOP: 'too many symbolic links',
	GETADDRINFO: 'name lookup',
};

/**
 * A message n8n will show as written. NodeOperationError replaces any message that contains a
 * system error code (anywhere, any case: "ECONNREFUSED", "enoent", "getaddrinfo") with a generic
 * sentence, losing which endpoint, file or credential failed. Codes become words; "ENOENT: no such
 * file…"-style prefixes go (the text after them says it); a code hidden inside an ordinary word
 * ("preexisting") gets an invisible joiner.
 */
export function ownWords(message: string): string {
	let text = message;
	for (const [code, words] of Object.entries(CODE_WORDS)) {
		text = text.replace(new RegExp(`\\b${code}: `, 'g'), '').replace(new RegExp(`\\b(?:connect |getaddrinfo |read |write )?${code}\\b`, 'gi'), words);
	}
	// a code inside an ordinary word: a zero-width joiner after its first letter (matched on the
	// text itself, since upper-casing can change a string's length: "ß" becomes "SS")
	for (const code of Object.keys(CODE_WORDS)) text = text.replace(new RegExp(code, 'gi'), (m) => `${m[0]}\u200d${m.slice(1)}`);
	return text;
}

/** Searchable dataset list for resource locators. */
export async function searchDatasets(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
	const datasets = await sourceFrom(this).listDatasets();
	const needle = (filter ?? '').toLowerCase();
	return {
		results: datasets
			.filter((d) => !needle || d.id.toLowerCase().includes(needle) || d.name.toLowerCase().includes(needle))
			.map((d) => ({ name: `${d.name} (${d.kind}, ${d.tier})`, value: d.id, description: d.description })),
	};
}

/**
 * Searchable list for Verify Export's dataset: the datasets with committed exports below the
 * node's Folder Path at its destination (the lake is not needed to verify).
 */
export async function searchExportedDatasets(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
	const store = await storeFrom(this, 0);
	const options = (this.getCurrentNodeParameter('options') ?? {}) as { folderTemplate?: string };
	const folderPath = cleanPath(String(this.getCurrentNodeParameter('folderPath') ?? ''));
	const datasets = await exportedDatasets(store, folderPath, options.folderTemplate || DEFAULT_FOLDER_TEMPLATE).finally(() => store.close());
	const needle = (filter ?? '').toLowerCase();
	return {
		results: datasets
			.filter((d) => !needle || d.datasetId.toLowerCase().includes(needle) || d.datasetName.toLowerCase().includes(needle))
			.map((d) => ({ name: d.datasetName ? `${d.datasetName} (${d.datasetId})` : d.datasetId, value: d.datasetId, description: `Last ${d.mode} export ${d.exportTime}` })),
	};
}

/** Credential test: the folder exists and can be written. */
export async function localFolderConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	return testDestination('localFolder', credential, 'The folder exists and is writable');
}

/** Credential test: log in (checking the pinned host key) and find the root folder. */
export async function sftpConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	return testDestination('sftp', credential, 'Logged in and found the root folder');
}

/**
 * Credential test: authenticate and reach the account. The container is a node parameter, so
 * the test lists containers with an account credential, or opens the SAS URL's container.
 */
export async function azureBlobConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const isSas = text(credential.data?.authentication) === 'sasUrl';
	// an account credential is probed on the $logs container: authenticated is enough, even if it is absent
	return testDestination('azureBlob', credential, 'Authenticated with the storage account', { container: isSas ? undefined : '$logs' }, !isSas);
}

/**
 * Credential test: the bucket is a node parameter, so the keys are checked against a bucket name
 * that does not exist: a wrong key or signature is refused (403) before existence is (404). With a
 * Role ARN the role is assumed first (a refusal names the Role ARN) and its credentials probe.
 */
export async function s3ConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const probe = `n8n-dataset-export-probe-${Math.random().toString(36).slice(2, 10)}`;
	const ok = text(credential.data?.roleArn).trim() ? 'The keys are accepted and the role was assumed' : 'The keys are accepted';
	return testDestination('amazonS3', credential, ok, { bucket: probe }, true);
}

/**
 * Credential test, probed like S3 on a bucket name that does not exist: HMAC keys must be accepted
 * by the XML API; a service-account key must parse (every field checked locally) and obtain a token
 * that the JSON API accepts (a bad key is refused before the bucket's absence is reported).
 */
export async function googleCloudStorageConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const probe = `n8n-dataset-export-probe-${Math.random().toString(36).slice(2, 10)}`;
	const serviceAccount = text(credential.data?.authentication) === 'serviceAccount';
	const emulator = /^http:\/\//i.test(text(credential.data?.apiEndpoint).trim());
	const ok = !serviceAccount ? 'The HMAC keys are accepted' : emulator ? 'The key is well-formed and the endpoint answers (an http:// endpoint gets no credentials)' : 'The service account key is accepted';
	return testDestination('googleCloudStorage', credential, ok, { bucket: probe }, true);
}

/**
 * Credential test: the key opens the file system named by the URL; or the service principal signs
 * in to Microsoft Entra ID (a refusal names Tenant ID, Client ID or Client Secret) and its token
 * opens the file system.
 */
export async function adlsGen2ConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const servicePrincipal = text(credential.data?.authentication) === 'servicePrincipal';
	return testDestination('adlsGen2', credential, servicePrincipal ? 'The service principal signed in and opens the file system' : 'The key opens the file system');
}

/** Credential test: the SAS URI opens its container. */
export async function dataLandingZoneConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	return testDestination('dataLandingZone', credential, 'The SAS URI opens its container');
}

export const credentialTest = {
	localFolderConnectionTest,
	s3ConnectionTest,
	googleCloudStorageConnectionTest,
	sftpConnectionTest,
	azureBlobConnectionTest,
	adlsGen2ConnectionTest,
	dataLandingZoneConnectionTest,
};
