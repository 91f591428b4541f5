import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { readText, writeText } from '../../lib/storage/common';
import { isAmazonEndpoint, S3Store, type S3Config } from '../../lib/storage/s3';
import { StoreError } from '../../lib/storage/types';
import { freshBucket, s3Server } from '../helpers/servers';
import { storeContract } from './contract';

const server = s3Server();
const config = (bucket: string): S3Config => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, region: server.region, endpoint: server.endpoint, bucket });

storeContract('S3 (Ceph RADOS Gateway)', async () => ({
	store: new S3Store({ ...config(await freshBucket('contract')), rootPath: 'exports' }),
	broken: new S3Store(config('no-such-bucket')),
}));

// the same contract through a role assumed with STS on the same endpoint (Ceph's STS)
const viaRole = (bucket: string): S3Config => ({ ...config(bucket), roleArn: server.roleArn, roleSessionName: 'contract-tests' });
storeContract('S3 through an assumed role (Ceph STS AssumeRole)', async () => ({
	store: new S3Store({ ...viaRole(await freshBucket('contract-role')), rootPath: 'exports' }),
	broken: new S3Store({ ...viaRole('no-such-bucket'), roleArn: 'arn:aws:iam:::role/no-such-role' }),
}));

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

	it('an unreachable endpoint says it cannot reach it', async () => {
		await assert.rejects(new S3Store({ ...config('b'), endpoint: 'http://127.0.0.1:1' }).check(), refused(/cannot reach the S3 endpoint .*check the Endpoint/));
	});

	it('missing fields are refused before any request', () => {
		assert.throws(() => new S3Store({ ...config('b'), secretAccessKey: '' }), /Secret Access Key is empty/);
		assert.throws(() => new S3Store({ ...config(' ') }), /Bucket is empty/);
		assert.throws(() => new S3Store({ ...config('b'), endpoint: '127.0.0.1:9000' }), /must start with http/);
	});
});

describe('S3 assume role (Role ARN, External ID) on Ceph STS', () => {
	const admin = new S3Client({ region: server.region, endpoint: server.endpoint, forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
	const keys = async (bucket: string) => (await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key) ?? [];
	const refused = (pattern: RegExp) => (error: unknown) => {
		assert.ok(error instanceof StoreError, String(error));
		assert.equal(error.code, 'auth');
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
		await assert.rejects(store.check(), refused(/cannot reach the STS endpoint to assume the role in Role ARN .*check the Endpoint/));
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
		for (const amazon of ['https://s3.eu-west-1.amazonaws.com', 'https://bucket.vpce-0a1b2c3d-4e5f.s3.us-east-1.vpce.amazonaws.com', 'https://s3-fips.us-east-2.amazonaws.com/', 'https://s3.cn-north-1.amazonaws.com.cn']) {
			assert.equal(isAmazonEndpoint(amazon), true, amazon);
		}
		for (const other of ['http://127.0.0.1:8799', 'https://minio.example.com', 'https://ACCOUNT.r2.cloudflarestorage.com', 'https://amazonaws.com.evil.example']) {
			assert.equal(isAmazonEndpoint(other), false, other);
		}
	});
});
