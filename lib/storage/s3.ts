/**
 * Amazon S3 and S3-compatible destinations (custom endpoint + path-style for Ceph, MinIO, R2, …;
 * Google Cloud Storage's XML API with HMAC keys rides this adapter too). The SHA-256 is computed
 * while streaming; every request carries Content-MD5.
 *
 * Writes: a file that fits in one part (8 MiB: every commit record and manifest) is one PutObject
 * with `If-None-Match: *`, an atomic create-if-absent on Amazon S3 and on Ceph RGW (412 when the
 * key exists, also under a race). Larger files stream as a multipart upload (8 MiB parts, 2 in
 * flight, each retried while its bytes are held) completed with `If-None-Match: *`, which Amazon
 * S3 honours (since 2024-08) but Ceph 16 ignores (it overwrites): the key is looked up just
 * before completing, so a name taken earlier is still refused there, but two multipart uploads of
 * one key that complete at the same moment can both succeed on such a server (the last wins). A
 * failed or cancelled multipart upload is aborted, so no part lingers and no object appears; one
 * that could not be aborted (the endpoint gone) shows in listUnfinished().
 *
 * Network: every request has a connection timeout and a socket idle timeout (the policy's idle
 * timeout); the SDK's own retries are off (maxAttempts 1): this adapter retries the requests that
 * carry upload bytes, the resilient layer retries the rest, and both count in `stats.retries`.
 * Google Cloud Storage's XML API (HMAC keys) honours If-None-Match only on reads: its PutObject
 * gets `x-goog-if-generation-match: 0` too (Google's documented create-if-absent there); its
 * multipart completion relies on the look before completing (not testable here: no GCS XML server).
 * A retried conditional write that meets "already exists" checks whether the object holds its
 * own bytes (the ETag: the MD5, or the multipart MD5-of-MD5s): an earlier try may have landed with
 * its answer lost, and then the write succeeded.
 *
 * With a Role ARN the keys only call STS AssumeRole (with the External ID when given) and the
 * role's temporary credentials sign every S3 request; the SDK assumes the role again five minutes
 * before they expire, so long exports keep going. STS is asked on the custom endpoint when there is
 * one (Ceph serves STS beside S3), otherwise on AWS's regional STS endpoint.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
	AbortMultipartUploadCommand,
	CompleteMultipartUploadCommand,
	CreateMultipartUploadCommand,
	DeleteObjectCommand,
	GetObjectCommand,
	HeadBucketCommand,
	HeadObjectCommand,
	ListMultipartUploadsCommand,
	ListObjectsV2Command,
	PutObjectCommand,
	S3Client,
	UploadPartCommand,
	type CompletedPart,
} from '@aws-sdk/client-s3';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { attemptAsync } from '../errors';
import { cleanPath, fixedParts, hashedUpload, mapStreamErrors, rootedKey, rootedPrefix, sendParts, unrooted, type HashingCounter, type UploadContext } from './common';
import { networkFailure, networkPolicy, retrying, transientStatus, type StoreOptions } from './network';
import { StoreError, type NetworkPolicy, type ObjectStat, type Store, type StoredObject, type StoreStats, type UnfinishedUpload, type Upload as StoreUpload, type WriteOptions } from './types';

export interface S3Config extends StoreOptions {
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
/** S3 error codes of transient server trouble (beside 408, 429 and 5xx). */
const TRANSIENT_CODE = /^(SlowDown|RequestTimeout|InternalError|ServiceUnavailable|ConditionalRequestConflict|OperationAborted)$/;

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
	const network = networkFailure(e);
	if (network || transientStatus(status)) {
		return new StoreError(`${label}: cannot reach the STS endpoint to assume ${role} (${why}); check the Endpoint and Region`, network?.code ?? 'unavailable', network?.retryable ?? true);
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
	readonly stats: StoreStats = { retries: 0 };
	private readonly client: S3Client;
	private readonly bucket: string;
	private readonly root: string;
	private readonly label: string;
	private readonly viaRole: boolean;
	private readonly policy: NetworkPolicy;
	private readonly pageSize?: number;

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
		this.policy = networkPolicy(config.network);
		this.pageSize = config.pageSize;
		// `http://host:9000/` and `http://host:9000` are the same endpoint (a trailing slash made every path-style request miss the bucket)
		const endpoint = config.endpoint?.trim().replace(/\/+$/, '') || undefined;
		if (endpoint && !/^https?:\/\//.test(endpoint)) throw new StoreError(`${this.label}: Endpoint must start with http:// or https://`, 'config');
		const region = config.region?.trim() || 'us-east-1';
		this.viaRole = Boolean(config.roleArn?.trim());
		const keys = { accessKeyId: config.accessKeyId.trim(), secretAccessKey: config.secretAccessKey.trim(), sessionToken: config.sessionToken?.trim() || undefined };
		this.client = new S3Client({
			region,
			endpoint,
			forcePathStyle: config.forcePathStyle ?? Boolean(endpoint),
			credentials: this.viaRole ? this.assumedRole(config, keys, region, endpoint) : keys,
			// retries happen above the SDK (see the file comment), so that they are counted and never multiply
			maxAttempts: 1,
			requestHandler: this.timeouts(),
			// S3-compatible stores differ in their support for the newer flexible checksums
			requestChecksumCalculation: 'WHEN_REQUIRED',
			responseChecksumValidation: 'WHEN_REQUIRED',
		});
		this.location = `${this.type}:${endpoint ?? 's3'}/${this.bucket}${this.root ? '/' + this.root : ''}`;
		// Google's XML API honours If-None-Match only on reads; its create-if-absent is x-goog-if-generation-match: 0
		if (this.type === 'google-cloud-storage') {
			this.client.middlewareStack.add(
				(next, context) => async (args) => {
					const request = args.request as { headers?: Record<string, string> };
					if (context.commandName === 'PutObjectCommand' && request.headers && (args.input as { IfNoneMatch?: string }).IfNoneMatch === '*') {
						request.headers['x-goog-if-generation-match'] = '0';
					}
					return next(args);
				},
				{ step: 'build', name: 'googleGenerationMatch' },
			);
		}
	}

	/** A connection that does not open, or a socket with no traffic, for the idle timeout fails the request (TimeoutError). */
	private timeouts() {
		return { connectionTimeout: this.policy.idleTimeoutMs, socketTimeout: this.policy.idleTimeoutMs };
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
		// no SDK retries here either: a transient STS failure fails the S3 request it was for, which is retried
		const sts = { region, maxAttempts: 1, requestHandler: this.timeouts() };
		const assume = fromTemporaryCredentials({
			masterCredentials: keys,
			params: { RoleArn: roleArn, RoleSessionName: sessionName, ExternalId: config.externalId?.trim() || undefined },
			// S3-compatible stores serve STS on their own endpoint; Amazon's is regional (sts.REGION.amazonaws.com),
			// also when the S3 endpoint is an Amazon one (a VPC or FIPS endpoint serves S3, not STS)
			clientConfig: endpoint && !isAmazonEndpoint(endpoint) ? { ...sts, endpoint } : sts,
		});
		return async (properties?: Parameters<typeof assume>[0]) => {
			const assumed = await attemptAsync(() => assume(properties));
			if (!assumed.ok) throw assumeRoleError(this.label, roleArn, assumed.error);
			return assumed.value;
		};
	}

	private key(path: string): string {
		return rootedKey(this.root, path);
	}

	private fail(error: unknown, what: string): StoreError {
		if (error instanceof StoreError) return error;
		const e = error as AwsErrorLike;
		const status = e.$metadata?.httpStatusCode;
		const name = errorName(e);
		// the SDK has corrected its clock offset from this answer: another try is signed right
		if (/RequestTimeTooSkewed/i.test(name)) return new StoreError(`${this.label}: ${what} failed: this machine's clock is far from the server's (${name})`, 'unavailable');
		if (/InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|InvalidToken|ExpiredToken|Forbidden/i.test(name) || status === 403 || status === 401) {
			const check = this.viaRole ? "the role's permission policy (Role ARN) and the bucket policy" : 'the Access Key ID, Secret Access Key and the bucket policy';
			return new StoreError(`${this.label}: access denied while ${what} (${name}); check ${check}`, 'auth');
		}
		if (/NoSuchBucket/i.test(name) || (status === 404 && /bucket/i.test(what))) {
			return new StoreError(`bucket "${this.bucket}" does not exist (or is not visible to this key)`, 'not_found');
		}
		// no HTTP answer at all: the connection failed or went silent
		const network = status === undefined ? networkFailure(e) : undefined;
		if (network?.code === 'timeout') {
			return new StoreError(`${this.label}: no answer from the S3 endpoint for ${(this.policy.idleTimeoutMs / 1000).toFixed(1)} s while ${what}; check the Endpoint and the network`, 'timeout');
		}
		if (network) {
			return new StoreError(`${this.label}: cannot reach the S3 endpoint while ${what} (${scrub(e.message ?? name)}); check the Endpoint and Region`, network.code, network.retryable);
		}
		if (transientStatus(status) || TRANSIENT_CODE.test(name)) {
			return new StoreError(`${this.label}: ${what} failed (${status ? `HTTP ${status} ` : ''}${name}: ${scrub(e.message ?? '')})`, 'unavailable');
		}
		return new StoreError(`${this.label}: ${what} failed (${name}: ${scrub(e.message ?? '')})`, 'io');
	}

	async check(): Promise<void> {
		const head = await attemptAsync(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
		if (head.ok) return;
		// a refused HEAD has no body, so no error code: a listing of one key says which (the secret's
		// signature, an unknown key id, a policy), which is what the message needs to name the field
		if ((head.error as AwsErrorLike).$metadata?.httpStatusCode === 403) {
			const listed = await attemptAsync(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1 })));
			if (!listed.ok) throw this.fail(listed.error, `opening bucket "${this.bucket}"`);
		}
		throw this.fail(head.error, `opening bucket "${this.bucket}"`);
	}

	async openWrite(path: string, options: WriteOptions = {}): Promise<StoreUpload> {
		const clean = cleanPath(path);
		const key = this.key(clean);
		return hashedUpload(clean, (counter, context) => this.send(counter, key, clean, options.contentType, context, options.whole), {
			signal: options.signal,
			idleTimeoutMs: this.policy.idleTimeoutMs,
		});
	}

	/** One request that holds its bytes, with the policy's retries; the upload's watchdog waits meanwhile (the request bounds itself). */
	private request<T>(what: string, context: UploadContext, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
		const attempt = async () => {
			try {
				return await send(context.signal);
			} catch (error) {
				throw this.fail(error, what);
			}
		};
		return context.guard(retrying(this.policy, this.stats, attempt, { signal: context.signal }));
	}

	private async send(counter: HashingCounter, key: string, clean: string, contentType: string | undefined, context: UploadContext, whole = false): Promise<void> {
		if (whole) {
			// one PutObject whatever the size (up to S3's 5 GiB): a commit record of a long history stays atomic
			const all: Buffer[] = [];
			for await (const part of fixedParts(counter, PART_SIZE)) all.push(part);
			return this.putWhole(Buffer.concat(all), key, clean, contentType, context);
		}
		const parts = fixedParts(counter, PART_SIZE)[Symbol.asyncIterator]();
		const first = await parts.next();
		const second = await parts.next();
		const head = first.done ? Buffer.alloc(0) : first.value;
		if (second.done) return this.putWhole(head, key, clean, contentType, context);
		return this.putParts([head, second.value], parts, key, clean, contentType, context);
	}

	/** A small object: one PutObject with If-None-Match: *, the create-if-absent every S3 server here honours. */
	private async putWhole(body: Buffer, key: string, clean: string, contentType: string | undefined, context: UploadContext): Promise<void> {
		const md5 = createHash('md5').update(body).digest();
		let triedBefore = false;
		await this.request(`writing ${clean}`, context, async (abortSignal) => {
			const put = new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ContentMD5: md5.toString('base64'), IfNoneMatch: '*' });
			const sent = await attemptAsync(() => this.client.send(put, { abortSignal }));
			if (sent.ok) return;
			if (isPreconditionFailed(sent.error)) {
				// an earlier try may have landed with its answer lost: then the object holds our bytes
				if (triedBefore && (await this.holds(key, `"${md5.toString('hex')}"`, abortSignal))) return;
				throw taken(clean);
			}
			triedBefore = true;
			throw sent.error;
		});
	}

	/** A larger object: a multipart upload, completed with If-None-Match: * after a last look (for servers that ignore it). */
	private async putParts(firstParts: Buffer[], rest: AsyncIterator<Buffer>, key: string, clean: string, contentType: string | undefined, context: UploadContext): Promise<void> {
		const created = await this.request(`starting the upload of ${clean}`, context, (abortSignal) =>
			this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }), { abortSignal }),
		);
		const uploadId = created.UploadId as string;
		let completed = false;
		try {
			const done: CompletedPart[] = [];
			const md5s: Buffer[] = [];
			// at most PARTS_IN_FLIGHT parts held and sending; the writer waits meanwhile (back-pressure)
			const count = await sendParts(firstParts, rest, PARTS_IN_FLIGHT, async (body, number) => {
				const md5 = createHash('md5').update(body).digest();
				md5s[number - 1] = md5;
				const answer = await this.request(`writing part ${number} of ${clean}`, context, (abortSignal) =>
					this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: number, Body: body, ContentMD5: md5.toString('base64') }), { abortSignal }),
				);
				done[number - 1] = { PartNumber: number, ETag: answer.ETag };
			});
			// Ceph RGW 16 ignores If-None-Match on CompleteMultipartUpload and would overwrite: look first
			if (await this.request(`checking whether ${clean} exists`, context, (abortSignal) => this.headKey(key, abortSignal))) throw taken(clean);
			const expected = `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-${count}"`;
			let triedBefore = false;
			await this.request(`completing ${clean}`, context, async (abortSignal) => {
				const complete = new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, IfNoneMatch: '*', MultipartUpload: { Parts: done } });
				const sent = await attemptAsync(() => this.client.send(complete, { abortSignal }));
				if (sent.ok) return;
				const gone = /NoSuchUpload/.test(errorName(sent.error as AwsErrorLike));
				if (isPreconditionFailed(sent.error) || (triedBefore && gone)) {
					// an earlier try may have completed with its answer lost: then the object is ours
					if (triedBefore && (await this.holds(key, expected, abortSignal))) return;
					if (!gone) throw taken(clean);
				}
				triedBefore = true;
				throw sent.error;
			});
			completed = true;
		} finally {
			if (!completed) await this.abortMultipart(key, uploadId);
		}
	}

	/** Best effort, bounded: an upload that cannot be aborted now shows in listUnfinished() for the next run to discard. */
	private async abortMultipart(key: string, uploadId: string): Promise<void> {
		const quick = { ...this.policy, maxAttempts: Math.min(this.policy.maxAttempts, 3), maxRetryMs: Math.min(this.policy.maxRetryMs, 4 * this.policy.idleTimeoutMs) };
		await attemptAsync(() => retrying(quick, this.stats, () => this.discard(key, uploadId)));
	}

	private async discard(key: string, uploadId: string): Promise<void> {
		const aborted = await attemptAsync(() => this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })));
		if (!aborted.ok && !/NoSuchUpload/.test(errorName(aborted.error as AwsErrorLike)) && (aborted.error as AwsErrorLike).$metadata?.httpStatusCode !== 404) {
			throw this.fail(aborted.error, `aborting the multipart upload ${uploadId} of ${key}`);
		}
	}

	/** The key's ETag, or undefined when it does not exist. */
	private async headKey(key: string, abortSignal?: AbortSignal): Promise<{ etag?: string } | undefined> {
		const head = await attemptAsync(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal }));
		if (head.ok) return { etag: head.value.ETag };
		if (isMissing(head.error, /NotFound|NoSuchKey/i)) return undefined;
		throw this.fail(head.error, `reading the metadata of ${key}`);
	}

	private async holds(key: string, etag: string, abortSignal?: AbortSignal): Promise<boolean> {
		return (await this.headKey(key, abortSignal))?.etag === etag;
	}

	async *list(prefix: string): AsyncGenerator<StoredObject> {
		const full = rootedPrefix(this.root, prefix);
		let token: string | undefined;
		do {
			const page = await attemptAsync(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ContinuationToken: token, MaxKeys: this.pageSize })));
			if (!page.ok) throw this.fail(page.error, `listing ${full || '/'}`);
			for (const item of page.value.Contents ?? []) yield { path: unrooted(this.root, item.Key ?? ''), size: item.Size ?? 0, modified: item.LastModified };
			token = page.value.IsTruncated ? page.value.NextContinuationToken : undefined;
		} while (token);
	}

	/** In-progress multipart uploads (ListMultipartUploads, sorted by key, then by when they started). */
	async *listUnfinished(prefix: string): AsyncGenerator<UnfinishedUpload> {
		const full = rootedPrefix(this.root, prefix);
		let keyMarker: string | undefined;
		let uploadIdMarker: string | undefined;
		for (;;) {
			const page = await attemptAsync(() =>
				this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: full, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker, MaxUploads: this.pageSize })),
			);
			if (!page.ok) throw this.fail(page.error, `listing the unfinished uploads under ${full || '/'}`);
			for (const upload of page.value.Uploads ?? []) {
				const key = upload.Key ?? '';
				yield { path: unrooted(this.root, key), detail: `multipart upload ${upload.UploadId} of s3://${this.bucket}/${key}`, id: upload.UploadId ?? '', started: upload.Initiated };
			}
			if (!page.value.IsTruncated) return;
			keyMarker = page.value.NextKeyMarker;
			uploadIdMarker = page.value.NextUploadIdMarker;
		}
	}

	async discardUnfinished(upload: UnfinishedUpload): Promise<void> {
		await this.discard(this.key(upload.path), upload.id);
	}

	async stat(path: string): Promise<ObjectStat | null> {
		const key = this.key(path);
		const head = await attemptAsync(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
		if (head.ok) return { size: head.value.ContentLength ?? 0, modified: head.value.LastModified };
		if (isMissing(head.error, /NotFound|NoSuchKey/i)) return null;
		throw this.fail(head.error, `reading the metadata of ${cleanPath(path)}`);
	}

	async read(path: string, range?: { start: number; end?: number }): Promise<Readable> {
		const clean = cleanPath(path);
		const key = this.key(clean);
		const Range = range ? `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ''}` : undefined;
		const got = await attemptAsync(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range })));
		if (!got.ok) {
			if (isMissing(got.error, /NoSuchKey/i)) throw new StoreError(`${clean} does not exist`, 'not_found');
			throw this.fail(got.error, `reading ${clean}`);
		}
		return mapStreamErrors(got.value.Body as Readable, (error) => this.fail(error, `reading ${clean}`));
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

const taken = (clean: string) => new StoreError(`${clean} already exists: refusing to overwrite it`, 'exists');

/** 412: the key exists (If-None-Match: *). */
function isPreconditionFailed(error: unknown): boolean {
	const e = error as AwsErrorLike;
	return e?.$metadata?.httpStatusCode === 412 || /PreconditionFailed/.test(e?.name ?? '');
}
