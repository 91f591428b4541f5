/**
 * Amazon S3 and S3-compatible destinations (custom endpoint + path-style for Ceph, MinIO, R2, …;
 * Google Cloud Storage's XML API with HMAC keys rides this adapter too). Files stream as a
 * multipart upload (8 MiB parts, 4 in flight, via the SDK's lib-storage); a failed or cancelled
 * upload is aborted, so no part lingers and no object appears. The SHA-256 is computed while
 * streaming. An existing key is never overwritten (checked before the upload starts).
 *
 * With a Role ARN the keys only call STS AssumeRole (with the External ID when given) and the
 * role's temporary credentials sign every S3 request; the SDK assumes the role again five minutes
 * before they expire, so long exports keep going. STS is asked on the custom endpoint when there is
 * one (Ceph serves STS beside S3), otherwise on AWS's regional STS endpoint.
 */
import type { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { attemptAsync } from '../errors';
import { cleanPath, hashedUpload } from './common';
import { StoreError, type ObjectStat, type Store, type StoredObject, type Upload as StoreUpload, type WriteOptions } from './types';

export interface S3Config {
	accessKeyId: string;
	secretAccessKey: string;
	sessionToken?: string;
	region?: string;
	/** Custom endpoint for S3-compatible stores (http://host:port). */
	endpoint?: string;
	/** Path-style addressing (bucket in the path), which most S3-compatible stores need. */
	forcePathStyle?: boolean;
	/** Role to assume (STS AssumeRole) with the keys above; its temporary credentials sign every request. */
	roleArn?: string;
	/** External ID the role's trust policy may require (sent with AssumeRole). */
	externalId?: string;
	/** Session name of the assumed role (shows in the role's CloudTrail entries); default `n8n-dataset-export`. */
	roleSessionName?: string;
	bucket: string;
	/** Key prefix that store paths are relative to. */
	rootPath?: string;
	/** What the credential is called in messages. */
	label?: string;
	/** Store type in reports (e.g. `amazon-s3`, `google-cloud-storage`). */
	type?: string;
}

const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 2;

interface AwsErrorLike {
	name?: string;
	message?: string;
	code?: string;
	$metadata?: { httpStatusCode?: number };
}

const scrub = (text: string) => text.replace(/(X-Amz-Signature=|Signature=)[^&\s"']+/gi, '$1***');

/** arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME (the account is empty on Ceph). */
const ROLE_ARN = /^arn:[\w-]+:iam::[\w-]*:role\/[\w+=,.@/-]+$/;
const ROLE_SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const NETWORK_ERROR = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|getaddrinfo|socket hang up/i;

/**
 * The error's code. The SDK names an error "Unknown" when the answer has no code it can read (a
 * bare 403, or Ceph answering STS in S3's XML shape): fall back to the code or the HTTP status.
 */
function errorName(e: AwsErrorLike): string {
	const status = e.$metadata?.httpStatusCode;
	return e.name && e.name !== 'Unknown' ? e.name : (e.code ?? (status ? `HTTP ${status}` : 'Error'));
}

/** Whether a custom endpoint is one of Amazon's own (s3.REGION.amazonaws.com, a VPC endpoint, …). */
export function isAmazonEndpoint(endpoint: string): boolean {
	const host = /^[a-z]+:\/\/([^/:]+)/i.exec(endpoint.trim())?.[1] ?? '';
	return /(^|\.)amazonaws\.com(\.cn)?$/i.test(host);
}

/** Why AssumeRole failed, in words that name the credential fields to check. */
function assumeRoleError(label: string, roleArn: string, error: unknown): StoreError {
	const e = error as AwsErrorLike;
	const status = e.$metadata?.httpStatusCode;
	const name = errorName(e);
	const why = `${name}${e.message && e.message !== 'UnknownError' ? `: ${scrub(e.message)}` : ''}`;
	const role = `the role in Role ARN (${roleArn})`;
	if (NETWORK_ERROR.test(`${e.code ?? ''} ${e.message ?? ''}`)) {
		return new StoreError(`${label}: cannot reach the STS endpoint to assume ${role} (${why}); check the Endpoint and Region`, 'auth');
	}
	if (/InvalidClientTokenId|SignatureDoesNotMatch|IncompleteSignature|ExpiredToken|InvalidAccessKeyId/i.test(name)) {
		return new StoreError(`${label}: STS refused the keys while assuming ${role} (${why}); check the Access Key ID, Secret Access Key and Session Token`, 'auth');
	}
	if (status === 404 || /NoSuchEntity|NotFound/i.test(name)) {
		return new StoreError(`${label}: cannot assume ${role}: no such role (${why}); check the Role ARN`, 'auth');
	}
	if (status === 403 || /AccessDenied/i.test(name)) {
		return new StoreError(
			`${label}: access denied while assuming ${role} (${why}); check the Role ARN and External ID, that the role's trust policy lets these keys assume it, and the Access Key ID and Secret Access Key`,
			'auth',
		);
	}
	return new StoreError(`${label}: assuming ${role} failed (${why}); check the Role ARN, External ID and Role Session Name`, 'auth');
}

/** A StoreError already says what is wrong (e.g. AssumeRole failed): never read it as "not found". */
const isMissing = (error: unknown, pattern: RegExp) => {
	if (error instanceof StoreError) return false;
	const e = error as AwsErrorLike;
	return e.$metadata?.httpStatusCode === 404 || pattern.test(e.name ?? '');
};

export class S3Store implements Store {
	readonly type: string;
	readonly location: string;
	private readonly client: S3Client;
	private readonly bucket: string;
	private readonly root: string;
	private readonly label: string;
	private readonly viaRole: boolean;

	constructor(config: S3Config) {
		this.label = config.label ?? 'S3 credential';
		this.type = config.type ?? 'amazon-s3';
		const need = (value: string | undefined, field: string) => {
			if (!value?.trim()) throw new StoreError(`${this.label}: ${field} is empty`, 'config');
			return value.trim();
		};
		need(config.accessKeyId, 'Access Key ID');
		need(config.secretAccessKey, 'Secret Access Key');
		this.bucket = config.bucket?.trim() ?? '';
		if (!this.bucket) throw new StoreError('Bucket is empty', 'config');
		this.root = cleanPath(config.rootPath ?? '');
		const endpoint = config.endpoint?.trim() || undefined;
		if (endpoint && !/^https?:\/\//.test(endpoint)) throw new StoreError(`${this.label}: Endpoint must start with http:// or https://`, 'config');
		const region = config.region?.trim() || 'us-east-1';
		this.viaRole = Boolean(config.roleArn?.trim());
		const keys = { accessKeyId: config.accessKeyId.trim(), secretAccessKey: config.secretAccessKey.trim(), sessionToken: config.sessionToken?.trim() || undefined };
		this.client = new S3Client({
			region,
			endpoint,
			forcePathStyle: config.forcePathStyle ?? Boolean(endpoint),
			credentials: this.viaRole ? this.assumedRole(config, keys, region, endpoint) : keys,
			maxAttempts: 3,
			// S3-compatible stores differ in their support for the newer flexible checksums
			requestChecksumCalculation: 'WHEN_REQUIRED',
			responseChecksumValidation: 'WHEN_REQUIRED',
		});
		this.location = `${this.type}:${endpoint ?? 's3'}/${this.bucket}${this.root ? '/' + this.root : ''}`;
	}

	/**
	 * Credentials of the role in Role ARN, from STS AssumeRole signed with the keys. The SDK's
	 * provider memoises them and assumes the role again five minutes before they expire; a failure
	 * becomes a StoreError that names the Role ARN.
	 */
	private assumedRole(config: S3Config, keys: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, region: string, endpoint?: string) {
		const roleArn = (config.roleArn ?? '').trim();
		if (!ROLE_ARN.test(roleArn)) {
			throw new StoreError(`${this.label}: Role ARN must look like arn:aws:iam::123456789012:role/NAME, not "${roleArn}"`, 'config');
		}
		const sessionName = config.roleSessionName?.trim() || 'n8n-dataset-export';
		if (!ROLE_SESSION_NAME.test(sessionName)) {
			throw new StoreError(`${this.label}: Role Session Name must be 2 to 64 letters, digits or + = , . @ _ -`, 'config');
		}
		const assume = fromTemporaryCredentials({
			masterCredentials: keys,
			params: { RoleArn: roleArn, RoleSessionName: sessionName, ExternalId: config.externalId?.trim() || undefined },
			// S3-compatible stores serve STS on their own endpoint; Amazon's is regional (sts.REGION.amazonaws.com),
			// also when the S3 endpoint is an Amazon one (a VPC or FIPS endpoint serves S3, not STS)
			clientConfig: endpoint && !isAmazonEndpoint(endpoint) ? { region, endpoint, maxAttempts: 3 } : { region, maxAttempts: 3 },
		});
		return async (properties?: Parameters<typeof assume>[0]) => {
			const assumed = await attemptAsync(() => assume(properties));
			if (!assumed.ok) throw assumeRoleError(this.label, roleArn, assumed.error);
			return assumed.value;
		};
	}

	private key(path: string): string {
		const clean = cleanPath(path);
		return this.root ? (clean ? `${this.root}/${clean}` : this.root) : clean;
	}

	private fail(error: unknown, what: string): StoreError {
		if (error instanceof StoreError) return error;
		const e = error as AwsErrorLike;
		const status = e.$metadata?.httpStatusCode;
		const name = errorName(e);
		if (/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|InvalidToken|ExpiredToken|Forbidden/i.test(name) || status === 403 || status === 401) {
			const check = this.viaRole ? "the role's permission policy (Role ARN) and the bucket policy" : 'the Access Key ID, Secret Access Key and the bucket policy';
			return new StoreError(`${this.label}: access denied while ${what} (${name}); check ${check}`, 'auth');
		}
		if (/NoSuchBucket/i.test(name) || (status === 404 && /bucket/i.test(what))) {
			return new StoreError(`bucket "${this.bucket}" does not exist (or is not visible to this key)`, 'not_found');
		}
		if (NETWORK_ERROR.test(`${e.code ?? ''} ${e.message ?? ''}`)) {
			return new StoreError(`${this.label}: cannot reach the S3 endpoint (${scrub(e.message ?? name)}); check the Endpoint and Region`, 'auth');
		}
		return new StoreError(`${this.label}: ${what} failed (${name}: ${scrub(e.message ?? '')})`, 'io');
	}

	async check(): Promise<void> {
		const head = await attemptAsync(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
		if (!head.ok) throw this.fail(head.error, `opening bucket "${this.bucket}"`);
	}

	async openWrite(path: string, options: WriteOptions = {}): Promise<StoreUpload> {
		const clean = cleanPath(path);
		const key = this.key(clean);
		if (await this.stat(clean)) throw new StoreError(`${clean} already exists: refusing to overwrite it`, 'exists');
		let upload: Upload | undefined;
		const store = hashedUpload(
			clean,
			async (counter, aborted) => {
				upload = new Upload({
					client: this.client,
					params: { Bucket: this.bucket, Key: key, Body: counter, ContentType: options.contentType },
					partSize: PART_SIZE,
					queueSize: PARTS_IN_FLIGHT,
					leavePartsOnError: false,
				});
				const sent = await attemptAsync(() => (upload as Upload).done());
				if (!sent.ok && !aborted()) throw this.fail(sent.error, `writing ${clean}`);
			},
			() => upload?.abort(),
			options.signal,
		);
		return store;
	}

	async *list(prefix: string): AsyncGenerator<StoredObject> {
		const clean = cleanPath(prefix);
		const folder = prefix.endsWith('/') && clean ? `${clean}/` : clean;
		const full = this.root ? `${this.root}/${folder}` : folder;
		const strip = this.root ? this.root.length + 1 : 0;
		let token: string | undefined;
		do {
			const page = await attemptAsync(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ContinuationToken: token })));
			if (!page.ok) throw this.fail(page.error, `listing ${full || '/'}`);
			for (const item of page.value.Contents ?? []) yield { path: (item.Key ?? '').slice(strip), size: item.Size ?? 0 };
			token = page.value.IsTruncated ? page.value.NextContinuationToken : undefined;
		} while (token);
	}

	async stat(path: string): Promise<ObjectStat | null> {
		const key = this.key(path);
		const head = await attemptAsync(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
		if (head.ok) return { size: head.value.ContentLength ?? 0 };
		if (isMissing(head.error, /NotFound|NoSuchKey/i)) return null;
		throw this.fail(head.error, `reading the metadata of ${cleanPath(path)}`);
	}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		const key = this.key(path);
		const Range = range ? `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ''}` : undefined;
		const got = await attemptAsync(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range })));
		if (!got.ok) {
			if (isMissing(got.error, /NoSuchKey/i)) throw new StoreError(`${cleanPath(path)} does not exist`, 'not_found');
			throw this.fail(got.error, `reading ${cleanPath(path)}`);
		}
		return got.value.Body as Readable;
	}

	async delete(path: string): Promise<void> {
		const key = this.key(path);
		const deleted = await attemptAsync(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
		if (!deleted.ok) throw this.fail(deleted.error, `deleting ${cleanPath(path)}`);
	}

	async close(): Promise<void> {
		this.client.destroy();
	}
}
