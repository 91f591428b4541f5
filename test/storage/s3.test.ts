import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
	AbortMultipartUploadCommand,
	CompleteMultipartUploadCommand,
	CreateMultipartUploadCommand,
	GetObjectCommand,
	ListMultipartUploadsCommand,
	ListObjectsV2Command,
	PutObjectCommand,
	S3Client,
	UploadPartCommand,
} from '@aws-sdk/client-s3';
import { writeTo } from '../../lib/format/types';
import { readText, writeText } from '../../lib/storage/common';
import { networkPolicy } from '../../lib/storage/network';
import { resilient } from '../../lib/storage/resilient';
import { isAmazonEndpoint, S3Store, type S3Config } from '../../lib/storage/s3';
import { StoreError, type UnfinishedUpload } from '../../lib/storage/types';
import { FaultProxy, s3Error } from '../helpers/fault-proxy';
import { freshBucket, s3Server } from '../helpers/servers';
import { closedPort, storeContract, TEST_NETWORK, TEST_PAGE_SIZE } from './contract';
import { FAULT_NETWORK, faultSuite, lostReplySuite } from './faults';

const server = s3Server();
const config = (bucket: string): S3Config => ({
	accessKeyId: server.accessKeyId,
	secretAccessKey: server.secretAccessKey,
	region: server.region,
	endpoint: server.endpoint,
	bucket,
	network: TEST_NETWORK,
	pageSize: TEST_PAGE_SIZE,
});
const admin = new S3Client({ region: server.region, endpoint: server.endpoint, forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });

/** A crash in the middle of a multipart upload: started with the SDK, one part sent, never completed or aborted. */
const abandonIn = (bucket: string, root: string) => async (path: string) => {
	const Key = `${root}/${path}`;
	const { UploadId } = await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
	await admin.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 1, Body: randomBytes(64 * 1024) }));
	return async () => {
		await admin.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId })).catch(() => undefined);
	};
};

storeContract('S3 (Ceph RADOS Gateway)', async () => {
	const bucket = await freshBucket('contract');
	const port = await closedPort();
	return {
		store: new S3Store({ ...config(bucket), rootPath: 'exports' }),
		broken: new S3Store(config('no-such-bucket')),
		reopen: (pageSize) => new S3Store({ ...config(bucket), rootPath: 'exports', pageSize }),
		badCredentials: () => new S3Store({ ...config(bucket), rootPath: 'exports', secretAccessKey: 'wrong'.repeat(8) }),
		unreachable: () => new S3Store({ ...config(bucket), rootPath: 'exports', endpoint: `http://127.0.0.1:${port}` }),
		secrets: [server.secretAccessKey],
		showsUnfinished: true,
		abandon: abandonIn(bucket, 'exports'),
	};
});

// the same contract through a role assumed with STS on the same endpoint (Ceph's STS)
const viaRole = (bucket: string): S3Config => ({ ...config(bucket), roleArn: server.roleArn, roleSessionName: 'contract-tests' });
storeContract('S3 through an assumed role (Ceph STS AssumeRole)', async () => {
	const bucket = await freshBucket('contract-role');
	const port = await closedPort();
	return {
		store: new S3Store({ ...viaRole(bucket), rootPath: 'exports' }),
		broken: new S3Store({ ...viaRole('no-such-bucket'), roleArn: 'arn:aws:iam:::role/no-such-role' }),
		reopen: (pageSize) => new S3Store({ ...viaRole(bucket), rootPath: 'exports', pageSize }),
		// STS refuses the keys (AssumeRole is signed with them)
		badCredentials: () => new S3Store({ ...viaRole(bucket), rootPath: 'exports', secretAccessKey: 'wrong'.repeat(8) }),
		// STS is asked on the custom endpoint: the role cannot be assumed
		unreachable: () => new S3Store({ ...viaRole(bucket), rootPath: 'exports', endpoint: `http://127.0.0.1:${port}` }),
		secrets: [server.secretAccessKey],
		showsUnfinished: true,
		abandon: abandonIn(bucket, 'exports'),
	};
});

faultSuite('S3 (Ceph RADOS Gateway)', async () => {
	const bucket = await freshBucket('faults');
	const url = new URL(server.endpoint);
	return {
		server: { host: url.hostname, port: Number(url.port) },
		through: (proxy) => new S3Store({ ...config(bucket), endpoint: proxy.url, network: FAULT_NETWORK }),
		direct: new S3Store(config(bucket)),
		retriesParts: true,
		errorReply: (status) => s3Error(status, status === 503 ? 'SlowDown' : 'TooManyRequests'),
	};
});

lostReplySuite('S3 (Ceph RADOS Gateway)', async () => {
	const bucket = await freshBucket('lost');
	const url = new URL(server.endpoint);
	return {
		server: { host: url.hostname, port: Number(url.port) },
		through: (proxy) => new S3Store({ ...config(bucket), endpoint: proxy.url, network: FAULT_NETWORK }),
		direct: new S3Store(config(bucket)),
		retriesParts: true,
		// CompleteMultipartUpload: POST ?uploadId=…
		bigCommit: { method: 'POST', target: /[?&]uploadId=/ },
		busy: s3Error(503, 'SlowDown'),
	};
});

/**
 * What Ceph RGW 16.2.15 does with conditional creates, pinned: If-None-Match: * is honoured on
 * PutObject (412; of 8 racing PUTs exactly one wins) but ignored on CompleteMultipartUpload (the
 * object is overwritten). If a newer Ceph honours it, the second test says so.
 */
describe('S3 conditional creates on Ceph RGW', () => {
	const get = async (bucket: string, Key: string) => (await (await admin.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body?.transformToString()) ?? '';
	async function multipart(bucket: string, Key: string, fill: string) {
		const { UploadId } = await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key }));
		const p1 = await admin.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024, fill) }));
		const p2 = await admin.send(new UploadPartCommand({ Bucket: bucket, Key, UploadId, PartNumber: 2, Body: Buffer.from(fill) }));
		return () =>
			admin.send(
				new CompleteMultipartUploadCommand({
					Bucket: bucket,
					Key,
					UploadId,
					IfNoneMatch: '*',
					MultipartUpload: {
						Parts: [
							{ PartNumber: 1, ETag: p1.ETag },
							{ PartNumber: 2, ETag: p2.ETag },
						],
					},
				}),
			);
	}

	it('PutObject with If-None-Match: * is a create-if-absent: 412 on a taken name, one winner of 8 racers', async () => {
		const bucket = await freshBucket('inm-put');
		await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'first', IfNoneMatch: '*' }));
		await assert.rejects(
			admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'second', IfNoneMatch: '*' })),
			(e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === 412,
		);
		assert.equal(await get(bucket, 'k'), 'first');
		const racers = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'race', Body: `w${i}`, IfNoneMatch: '*' }))));
		const won = racers.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
		assert.equal(won.length, 1);
		assert.equal(await get(bucket, 'race'), `w${won[0]}`);
	});

	it('a commit record larger than a part (writeText: whole) goes as one PutObject: of 4 racing 9 MiB writers exactly one wins on Ceph', async () => {
		const bucket = await freshBucket('inm-whole');
		const store = resilient(new S3Store(config(bucket)), networkPolicy(TEST_NETWORK));
		const texts = [0, 1, 2, 3].map((i) => String(i).repeat(9 * 1024 * 1024));
		const racers = await Promise.allSettled(texts.map((t) => writeText(store, 'commits/00000000000000000001.json', t)));
		const won = racers.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
		assert.equal(won.length, 1, racers.map((r) => r.status).join(', '));
		for (const r of racers) if (r.status === 'rejected') assert.equal((r.reason as StoreError).code, 'exists');
		assert.equal((await get(bucket, 'commits/00000000000000000001.json')).slice(0, 1), String(won[0]));
		await store.close();
	});

	it('CompleteMultipartUpload with If-None-Match: * is ignored by Ceph 16 (it overwrites); the adapter looks before completing', async () => {
		const bucket = await freshBucket('inm-mpu');
		await (
			await multipart(bucket, 'm', 'a')
		)();
		const again = await attemptSettled((await multipart(bucket, 'm', 'b'))());
		if (again.ok) assert.equal((await get(bucket, 'm')).slice(0, 1), 'b', 'Ceph 16: the completion overwrote the object');
		else assert.equal((await get(bucket, 'm')).slice(0, 1), 'a', 'this Ceph honours it');
		// the adapter: a name taken while a large upload is under way is refused at completion, and nothing lingers
		const store = resilient(new S3Store(config(bucket)), networkPolicy(TEST_NETWORK));
		const up = await store.openWrite('taken.bin');
		await writeTo(up.stream, randomBytes(9 * 1024 * 1024)); // a multipart upload has started
		await admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'taken.bin', Body: 'someone else' }));
		up.stream.end(randomBytes(1024));
		await assert.rejects(up.done, (error: StoreError) => error.code === 'exists');
		assert.equal(await get(bucket, 'taken.bin'), 'someone else');
		const left = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'taken.bin' }));
		assert.deepEqual(left.Uploads ?? [], [], 'the refused multipart upload was aborted');
		await store.close();
	});

	it('unfinished multipart uploads are listed across pages (ListMultipartUploads paging) and discarded', async () => {
		const bucket = await freshBucket('mpu-pages');
		const store = resilient(new S3Store({ ...config(bucket), rootPath: 'r' }), networkPolicy(TEST_NETWORK));
		const abandon = abandonIn(bucket, 'r');
		for (const name of ['a/1.bin', 'a/2.bin', 'a/2.bin', 'a/3.bin', 'b/4.bin', 'a/5.bin']) await abandon(name);
		const found: UnfinishedUpload[] = [];
		for await (const u of store.listUnfinished('a/')) found.push(u);
		assert.deepEqual(
			found.map((u) => u.path),
			['a/1.bin', 'a/2.bin', 'a/2.bin', 'a/3.bin', 'a/5.bin'],
		);
		for (const u of found) await store.discardUnfinished(u);
		const rest = [];
		for await (const u of store.listUnfinished('')) rest.push(u.path);
		assert.deepEqual(rest, ['b/4.bin']);
		await store.close();
	});
});

describe('Google Cloud Storage with HMAC keys (the XML API through this adapter)', () => {
	it("a PutObject carries Google's create-if-absent (x-goog-if-generation-match: 0) beside If-None-Match: *", async () => {
		const bucket = await freshBucket('goog-hmac');
		const url = new URL(server.endpoint);
		const proxy = await FaultProxy.start({ host: url.hostname, port: Number(url.port) });
		const store = new S3Store({ ...config(bucket), endpoint: proxy.url, type: 'google-cloud-storage', label: 'Google Cloud Storage credential' });
		await writeText(store, 'c/1.json', '{}');
		const put = proxy.requests.find((r) => r.method === 'PUT');
		assert.equal(put?.headers['x-goog-if-generation-match'], '0');
		assert.equal(put?.headers['if-none-match'], '*');
		await store.close();
		await proxy.stop();
	});
});

async function attemptSettled<T>(work: Promise<T>) {
	return work.then(
		(value) => ({ ok: true as const, value }),
		(error: unknown) => ({ ok: false as const, error }),
	);
}

describe('S3 credentials', () => {
	const refused = (pattern: RegExp) => (error: unknown) => {
		assert.ok(error instanceof StoreError, String(error));
		assert.match(error.message, pattern);
		assert.ok(!error.message.includes(server.secretAccessKey), 'the secret never appears in errors');
		return true;
	};

	it('a wrong secret (bad signature) and an unknown access key are refused', async () => {
		const bucket = await freshBucket('auth');
		await assert.rejects(new S3Store({ ...config(bucket), secretAccessKey: 'wrong'.repeat(8) }).check(), refused(/access denied .*check the Access Key ID, Secret Access Key/));
		await assert.rejects(new S3Store({ ...config(bucket), accessKeyId: 'NOSUCHKEY'.padEnd(20, '0') }).check(), refused(/access denied/));
	});

	it('a missing bucket is named', async () => {
		await assert.rejects(new S3Store(config('missing-bucket-x')).check(), refused(/bucket "missing-bucket-x" does not exist/));
	});

	it('an unreachable endpoint says it cannot reach it (unreachable, retryable)', async () => {
		await assert.rejects(new S3Store({ ...config('b'), endpoint: 'http://127.0.0.1:1' }).check(), (error: unknown) => {
			refused(/cannot reach the S3 endpoint .*check the Endpoint/)(error);
			assert.equal((error as StoreError).code, 'unreachable');
			assert.equal((error as StoreError).retryable, true);
			return true;
		});
	});

	it('missing fields are refused before any request', () => {
		assert.throws(() => new S3Store({ ...config('b'), secretAccessKey: '' }), /Secret Access Key is empty/);
		assert.throws(() => new S3Store({ ...config(' ') }), /Bucket is empty/);
		assert.throws(() => new S3Store({ ...config('b'), endpoint: '127.0.0.1:9000' }), /must start with http/);
	});
});

describe('S3 assume role (Role ARN, External ID) on Ceph STS', () => {
	const keys = async (bucket: string) => (await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key) ?? [];
	const refused =
		(pattern: RegExp, code = 'auth') =>
		(error: unknown) => {
			assert.ok(error instanceof StoreError, String(error));
			assert.equal(error.code, code);
			assert.match(error.message, pattern);
			assert.ok(!error.message.includes(server.secretAccessKey), 'the secret never appears in errors');
			assert.doesNotMatch(error.message, /Security-Token|SessionToken|Signature=/i);
			return true;
		};

	it('requests run as the role: the role policy that denies writes to some buckets applies, though the keys alone may write there', async () => {
		const bucket = await freshBucket(server.roleDeniedBucketPrefix.replace(/-$/, ''));
		const role = new S3Store(viaRole(bucket));
		await role.check();
		await assert.rejects(writeText(role, 'as-role.json', '{}'), refused(/access denied while writing as-role\.json .*role's permission policy \(Role ARN\)/));
		assert.deepEqual(await keys(bucket), [], 'nothing is written by the refused role');
		const user = new S3Store(config(bucket));
		await writeText(user, 'as-user.json', '{"ok":true}');
		assert.deepEqual(await keys(bucket), ['as-user.json']);
		assert.equal(await readText(role, 'as-user.json'), '{"ok":true}', 'the role may still read');
		await Promise.all([role.close(), user.close()]);
	});

	it('a wrong Role ARN is refused naming the Role ARN, before anything is written', async () => {
		const bucket = await freshBucket('role-missing');
		const store = new S3Store({ ...viaRole(bucket), roleArn: 'arn:aws:iam:::role/no-such-role' });
		const noRole = refused(/S3 credential: cannot assume the role in Role ARN \(arn:aws:iam:::role\/no-such-role\): no such role .*check the Role ARN/);
		await assert.rejects(store.check(), noRole);
		// stat() must not read the failed AssumeRole as "object not found" and go on to upload
		await assert.rejects(writeText(store, 'x.json', '{}'), noRole);
		await assert.rejects(store.stat('x.json'), noRole);
		assert.deepEqual(await keys(bucket), []);
		await store.close();
	});

	it('wrong keys are refused by STS, naming the Role ARN and the keys', async () => {
		const store = new S3Store({ ...viaRole(await freshBucket('role-keys')), secretAccessKey: 'wrong'.repeat(8) });
		await assert.rejects(store.check(), refused(/access denied while assuming the role in Role ARN .*Secret Access Key/));
		await store.close();
	});

	it('an unreachable STS endpoint says so', async () => {
		const store = new S3Store({ ...viaRole('b-unreachable'), endpoint: 'http://127.0.0.1:1' });
		// not a refusal: the network failed (retryable, so the retry layer tries again)
		await assert.rejects(store.check(), refused(/cannot reach the STS endpoint to assume the role in Role ARN .*check the Endpoint/, 'unreachable'));
		await store.close();
	});

	it('a malformed Role ARN or Role Session Name is refused before any request', () => {
		assert.throws(() => new S3Store({ ...viaRole('b'), roleArn: 'dsx-export' }), /S3 credential: Role ARN must look like arn:aws:iam::123456789012:role\/NAME, not "dsx-export"/);
		assert.throws(() => new S3Store({ ...viaRole('b'), roleSessionName: 'has spaces' }), /Role Session Name must be 2 to 64/);
	});

	it('the External ID is sent with AssumeRole (a role that does not ask for one accepts it)', async () => {
		const store = new S3Store({ ...viaRole(await freshBucket('role-extid')), externalId: server.externalId });
		await writeText(store, 'a.json', '[]');
		assert.equal(await readText(store, 'a.json'), '[]');
		await store.close();
	});

	it('a role whose trust policy requires an External ID refuses a wrong one, naming the External ID', async () => {
		const store = new S3Store({ ...viaRole(await freshBucket('role-extid-bad')), roleArn: server.externalIdRoleArn, externalId: 'not-the-external-id' });
		await assert.rejects(store.check(), refused(/access denied while assuming the role in Role ARN .*External ID/));
		await store.close();
	});

	// Ceph 16 (pacific) reads the ExternalId parameter but never puts sts:ExternalId into the policy
	// environment, so a trust-policy condition on it denies every caller; AWS accepts the right ID.
	// The Ceph that apt installs decides which: either the right ID works end to end, or it is
	// refused in exactly Ceph 16's way (nothing else passes).
	it('the right External ID: the role works (AWS, newer Ceph) or is refused as Ceph 16 refuses every caller', async () => {
		const store = new S3Store({ ...viaRole(await freshBucket('role-extid-ok')), roleArn: server.externalIdRoleArn, externalId: server.externalId });
		const checked = await store.check().then(
			() => undefined,
			(error: unknown) => error,
		);
		if (checked === undefined) {
			await writeText(store, 'with-external-id.json', '[]');
			assert.equal(await readText(store, 'with-external-id.json'), '[]');
		} else {
			assert.ok(refused(/access denied while assuming the role in Role ARN/)(checked as StoreError), String(checked));
		}
		await store.close();
	});
});

describe('S3 endpoints', () => {
	it("a role is assumed on Amazon's STS when the custom endpoint is one of Amazon's (VPC, FIPS, regional), on the store's own otherwise", () => {
		for (const amazon of [
			'https://s3.eu-west-1.amazonaws.com',
			'https://bucket.vpce-0a1b2c3d-4e5f.s3.us-east-1.vpce.amazonaws.com',
			'https://s3-fips.us-east-2.amazonaws.com/',
			'https://s3.cn-north-1.amazonaws.com.cn',
		]) {
			assert.equal(isAmazonEndpoint(amazon), true, amazon);
		}
		for (const other of ['http://127.0.0.1:8799', 'https://minio.example.com', 'https://ACCOUNT.r2.cloudflarestorage.com', 'https://amazonaws.com.evil.example']) {
			assert.equal(isAmazonEndpoint(other), false, other);
		}
	});
});
