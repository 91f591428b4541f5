import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Store, type S3Config } from '../../lib/storage/s3';
import { StoreError } from '../../lib/storage/types';
import { freshBucket, s3Server } from '../helpers/servers';
import { storeContract } from './contract';

const server = s3Server();
const config = (bucket: string): S3Config => ({ accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, region: server.region, endpoint: server.endpoint, bucket });

storeContract('S3 (Ceph RADOS Gateway)', async () => ({
	store: new S3Store({ ...config(await freshBucket('contract')), rootPath: 'exports' }),
	broken: new S3Store(config('no-such-bucket')),
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
