import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { endSink, writeTo } from '../../lib/format/types';
import { adapterOf, openStore, S3Store } from '../../lib/storage';
import { readAll, writeText } from '../../lib/storage/common';
import { GcsStore, type GcsConfig } from '../../lib/storage/gcs';
import { StoreError } from '../../lib/storage/types';
import { jsonError } from '../helpers/fault-proxy';
import { freshBucketName, gcsServer, serviceAccountKey } from '../helpers/gcs';
import { closedPort, storeContract, TEST_NETWORK, TEST_PAGE_SIZE } from './contract';
import { FAULT_NETWORK, faultSuite } from './faults';
import { preconditionProxy } from './gcs-preconditions';

const server = gcsServer();
const key = serviceAccountKey(server.projectId);
const config = (bucket: string, overrides: Partial<GcsConfig> = {}): GcsConfig => ({
	serviceAccountJson: JSON.stringify(key, null, 2),
	apiEndpoint: server.endpoint,
	bucket,
	network: TEST_NETWORK,
	pageSize: TEST_PAGE_SIZE,
	...overrides,
});
/** The emulator's own view, through Google's SDK (no credentials: it checks none). */
const direct = new Storage({ apiEndpoint: server.endpoint, projectId: server.projectId });

// through a proxy that enforces ifGenerationMatch=0 as Google does (the emulator ignores it: see below)
storeContract("Google Cloud Storage (firebase-tools Storage emulator, JSON API, Google's preconditions played by a proxy), service-account JSON", async () => {
	const google = await preconditionProxy(server.endpoint);
	// the emulator checks no credentials: this proxy answers as Google does when it refuses the key
	const refusing = await tamperingProxy('badKey');
	const bucket = freshBucketName('contract');
	const port = await closedPort();
	return {
		store: new GcsStore(config(bucket, { rootPath: 'exports', apiEndpoint: google.endpoint })),
		// the emulator creates any bucket it is asked about, so the broken location is an unreachable endpoint
		broken: new GcsStore(config('contract', { apiEndpoint: 'http://127.0.0.1:1' })),
		reopen: (pageSize) => new GcsStore(config(bucket, { rootPath: 'exports', apiEndpoint: google.endpoint, pageSize })),
		badCredentials: () => new GcsStore(config(bucket, { rootPath: 'exports', apiEndpoint: refusing.endpoint })),
		unreachable: () => new GcsStore(config(bucket, { rootPath: 'exports', apiEndpoint: `http://127.0.0.1:${port}` })),
		secrets: [key.private_key, key.private_key.split('\n')[1], key.private_key_id].filter((secret): secret is string => typeof secret === 'string' && secret.length > 8),
		showsUnfinished: false,
		cleanup: async () => {
			await google.close();
			await refusing.close();
		},
	};
});

faultSuite('Google Cloud Storage (firebase-tools Storage emulator)', async () => {
	const bucket = freshBucketName('faults');
	const url = new URL(server.endpoint);
	return {
		server: { host: url.hostname, port: Number(url.port) },
		through: (proxy) => new GcsStore(config(bucket, { apiEndpoint: proxy.url, network: FAULT_NETWORK })),
		direct: new GcsStore(config(bucket)),
		// one streamed request per upload: a cut fails it (retryable), the export engine writes the file again
		retriesParts: false,
		errorReply: (status) => jsonError(status, status === 503 ? 'Backend Error' : 'The rate of change requests to the object is too high.', status === 503 ? 'backendError' : 'rateLimitExceeded'),
	};
});

describe('Google Cloud Storage conditional creates', () => {
	it('the emulator ignores ifGenerationMatch=0 (a second upload overwrites; of 8 racers all succeed), so the contract plays Google through a proxy', async () => {
		const bucket = direct.bucket(freshBucketName('inm'));
		const save = (name: string, text: string) => bucket.file(name).save(text, { resumable: true, preconditionOpts: { ifGenerationMatch: 0 } });
		await save('k', 'first');
		await save('k', 'second');
		assert.equal((await bucket.file('k').download())[0].toString(), 'second', 'if this fails, the emulator now enforces preconditions: test against it directly');
		const racers = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => save('race', `w${i}`)));
		assert.equal(racers.filter((r) => r.status === 'fulfilled').length, 8);
	});

	it('through the proxy that plays Google, the adapter maps 412 to "exists" and one of 8 racers wins', async () => {
		const google = await preconditionProxy(server.endpoint);
		const store = new GcsStore(config(freshBucketName('inm-proxy'), { apiEndpoint: google.endpoint }));
		const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => writeText(store, '_commits/1.json', `{"writer":${i}}`)));
		assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
		for (const o of outcomes) if (o.status === 'rejected') assert.equal((o.reason as StoreError).code, 'exists');
		assert.equal(google.refused, 7);
		await google.close();
	});
});

/**
 * A recording HTTP proxy in front of the emulator, to see what the adapter sends and to play the
 * parts the emulator does not: a byte damaged in transit, a precondition that fails (412).
 */
async function tamperingProxy(mode: 'record' | 'corrupt' | 'precondition' | 'refuse' | 'badKey') {
	const seen: string[] = [];
	/** Requests whose body is still arriving, by method. */
	const receiving = new Map<string, number>();
	const upstream = new URL(server.endpoint);
	const proxy: Server = createServer((req: IncomingMessage, res) => {
		const method = req.method ?? '?';
		receiving.set(method, (receiving.get(method) ?? 0) + 1);
		let counted = true;
		const done = () => {
			if (counted) receiving.set(method, (receiving.get(method) ?? 1) - 1);
			counted = false;
		};
		req.once('end', done);
		req.once('close', done);
		const chunks: Buffer[] = [];
		req.on('data', (chunk: Buffer) => chunks.push(chunk));
		req.on('end', () => {
			seen.push(`${req.method} ${req.url}`);
			let body = Buffer.concat(chunks);
			if (mode === 'precondition' && req.method === 'POST' && /uploadType=resumable/.test(req.url ?? '') && /ifGenerationMatch=0/.test(req.url ?? '')) {
				res.writeHead(412, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ error: { code: 412, message: 'At least one of the pre-conditions you specified did not hold.', errors: [{ reason: 'conditionNotMet' }] } }));
				return;
			}
			// what Google answers when it refuses: messages that can quote tokens and key material
			if (mode === 'refuse' || mode === 'badKey') {
				const message =
					mode === 'refuse'
						? 'dataset-export@p.iam.gserviceaccount.com does not have storage.objects.list access. Authorization: Bearer ya29.a0AfB_secret-token access_token=ya29.other-secret'
						: 'invalid_grant: Invalid JWT Signature. assertion=eyJhbGciOi.secret-assertion -----BEGIN PRIVATE KEY-----\nMIIEsecretkeymaterial\n-----END PRIVATE KEY-----';
				res.writeHead(mode === 'refuse' ? 403 : 400, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ error: { code: mode === 'refuse' ? 403 : 400, message, errors: [{ reason: 'forbidden', message }] } }));
				return;
			}
			if (mode === 'corrupt' && req.method === 'PUT' && body.length > 0) {
				body = Buffer.from(body);
				body[body.length >> 1] ^= 0xff;
			}
			const headers = { ...req.headers, 'content-length': String(body.length) };
			delete headers['transfer-encoding'];
			const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
				res.writeHead(answer.statusCode ?? 502, answer.headers);
				answer.pipe(res);
			});
			forward.on('error', () => res.destroy());
			forward.end(body);
		});
	});
	await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
	return {
		endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
		seen,
		receiving: (method: string) => receiving.get(method) ?? 0,
		close: () =>
			new Promise((resolve) => {
				proxy.closeAllConnections();
				proxy.close(resolve);
			}),
	};
}

async function until(condition: () => boolean, what: string, ms = 5000) {
	const deadline = Date.now() + ms;
	while (!condition()) {
		if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

describe('Google Cloud Storage (JSON API) specifics', () => {
	const proxies: Array<{ close: () => Promise<unknown> }> = [];
	after(async () => {
		for (const proxy of proxies) await proxy.close();
	});

	it('uploads are one streamed resumable session with ifGenerationMatch=0 (the emulator does not enforce it; Google does), with no lookup first', async () => {
		const proxy = await tamperingProxy('record');
		proxies.push(proxy);
		const store = new GcsStore(config(freshBucketName('pre'), { apiEndpoint: proxy.endpoint }));
		await writeText(store, 'p/x.json', '{"a":1}');
		const uploads = proxy.seen.filter((line) => line.includes('/upload/'));
		assert.equal(uploads.length, 2, uploads.join('\n'));
		assert.match(uploads[0], /^POST .*uploadType=resumable.*ifGenerationMatch=0/);
		assert.match(uploads[1], /^PUT .*upload_id=/);
		assert.deepEqual(proxy.seen.slice(0, 2), uploads, 'the upload is the first thing sent: no racy lookup before it');
	});

	it("Google's refusals are named and their tokens and key material never reach the message", async () => {
		for (const [mode, expected] of [
			['refuse', /Google Cloud Storage credential: access denied while opening bucket .* check Service Account JSON/],
			['badKey', /Google Cloud Storage credential: Google refused the service account key/],
		] as const) {
			const proxy = await tamperingProxy(mode);
			proxies.push(proxy);
			const store = new GcsStore(config(freshBucketName(mode.toLowerCase()), { apiEndpoint: proxy.endpoint }));
			const error = await store.check().then(
				() => undefined,
				(e: unknown) => e,
			);
			await store.close();
			assert.ok(error instanceof StoreError, String(error));
			assert.match(error.message, expected);
			for (const secret of ['secret-token', 'other-secret', 'secret-assertion', 'secretkeymaterial', 'BEGIN PRIVATE KEY']) {
				assert.ok(!error.message.includes(secret), `"${secret}" leaked: ${error.message}`);
			}
		}
	});

	it('a 412 from the service (the name was taken) is "already exists"', async () => {
		const proxy = await tamperingProxy('precondition');
		proxies.push(proxy);
		const store = new GcsStore(config(freshBucketName('race'), { apiEndpoint: proxy.endpoint }));
		await assert.rejects(writeText(store, 'r/x.json', '{}'), (error: StoreError) => {
			assert.equal(error.code, 'exists', error.message);
			assert.match(error.message, /already exists; refusing to overwrite it/);
			return true;
		});
	});

	it('bytes damaged on the way are caught by the CRC32C check, and the damaged object is removed', async () => {
		const proxy = await tamperingProxy('corrupt');
		proxies.push(proxy);
		const bucket = freshBucketName('crc');
		const store = new GcsStore(config(bucket, { apiEndpoint: proxy.endpoint }));
		await assert.rejects(writeText(store, 'c/x.bin', 'x'.repeat(100_000)), (error: StoreError) => {
			assert.equal(error.code, 'io', error.message);
			assert.match(error.message, /CRC32C did not match/);
			return true;
		});
		const [files] = await direct.bucket(bucket).getFiles();
		assert.deepEqual(
			files.map((f) => f.name),
			[],
		);
	});

	it('stored objects carry the md5Hash and crc32c the adapter checks, and they match what was sent', async () => {
		const bucket = freshBucketName('hash');
		const store = new GcsStore(config(bucket));
		const bytes = randomBytes(3 * 1024 * 1024 + 7);
		const upload = await store.openWrite('h/data.bin', { contentType: 'application/octet-stream' });
		for (let i = 0; i < bytes.length; i += 64 * 1024) await writeTo(upload.stream, bytes.subarray(i, i + 64 * 1024));
		await endSink(upload.stream);
		const result = await upload.done;
		assert.equal(result.sha256, createHash('sha256').update(bytes).digest('hex'));
		const [metadata] = await direct.bucket(bucket).file('h/data.bin').getMetadata();
		assert.equal(metadata.md5Hash, createHash('md5').update(bytes).digest('base64'));
		assert.ok(metadata.crc32c, 'crc32c is stored');
		assert.equal(metadata.contentType, 'application/octet-stream');
		assert.equal(Number(metadata.size), bytes.length);
	});

	it('an upload aborted while its bytes are in flight leaves no object', async () => {
		const bucket = freshBucketName('abort');
		const store = new GcsStore(config(bucket));
		const upload = await store.openWrite('a/big.bin');
		for (let i = 0; i < 24; i++) await writeTo(upload.stream, randomBytes(256 * 1024));
		await new Promise((resolve) => setTimeout(resolve, 200));
		await upload.abort(new Error('cancelled'));
		await assert.rejects(upload.done, /aborted/);
		assert.equal(await store.stat('a/big.bin'), null);
		const [files] = await direct.bucket(bucket).getFiles();
		assert.deepEqual(
			files.map((f) => f.name),
			[],
		);
	});

	it('an aborted upload ends its request at once (the SDK alone would leave it waiting for bytes)', async () => {
		const proxy = await tamperingProxy('record');
		proxies.push(proxy);
		const store = new GcsStore(config(freshBucketName('cut'), { apiEndpoint: proxy.endpoint }));
		const upload = await store.openWrite('c/x.bin');
		await writeTo(upload.stream, randomBytes(300 * 1024));
		await until(() => proxy.receiving('PUT') === 1, 'the upload request is sending its body');
		await upload.abort(new Error('cancelled'));
		await assert.rejects(upload.done, /aborted/);
		await until(() => proxy.receiving('PUT') === 0, 'the aborted request is closed', 2000);
		assert.equal(await store.stat('c/x.bin'), null);
	});

	it('an AbortSignal aborts the upload', async () => {
		const store = new GcsStore(config(freshBucketName('signal')));
		const controller = new AbortController();
		const upload = await store.openWrite('s/x.bin', { signal: controller.signal });
		await writeTo(upload.stream, randomBytes(512 * 1024));
		controller.abort();
		await assert.rejects(upload.done);
		assert.equal(await store.stat('s/x.bin'), null);
	});

	it('HMAC stays the default: a credential without Authentication rides the S3 (XML API) adapter', () => {
		const hmac = openStore({ type: 'googleCloudStorage', accessKeyId: 'GOOG1EXAMPLE', secretAccessKey: 'secret', bucket: 'b' });
		assert.ok(adapterOf(hmac) instanceof S3Store);
		const json = openStore({ type: 'googleCloudStorage', authentication: 'serviceAccount', serviceAccountJson: key, bucket: 'b' });
		assert.ok(adapterOf(json) instanceof GcsStore);
		// same bucket at Google, same destination identity: switching authentication keeps the incremental state
		assert.equal(json.location, hmac.location);
		assert.equal(json.type, hmac.type);
	});
});

describe('Google Cloud Storage service-account key checks', () => {
	const pem = key.private_key;
	const secretFree = (error: unknown) => {
		const text = `${(error as Error).message}`;
		assert.ok(!text.includes('PRIVATE KEY'), 'no key material in the message');
		assert.ok(!text.includes(pem.split('\n')[1].slice(0, 20)), 'no key material in the message');
	};
	const refused =
		(pattern: RegExp, code = 'config') =>
		(error: unknown) => {
			assert.ok(error instanceof StoreError, String(error));
			assert.equal(error.code, code);
			assert.match(error.message, pattern);
			secretFree(error);
			return true;
		};
	const json = (fields: Record<string, unknown>) => JSON.stringify(fields);
	const without = (name: string) => Object.fromEntries(Object.entries(key).filter(([k]) => k !== name));

	it('malformed JSON is refused without quoting it', () => {
		const broken = JSON.stringify(key).slice(0, 200);
		assert.throws(() => new GcsStore(config('b', { serviceAccountJson: broken })), refused(/Google Cloud Storage credential: Service Account JSON is not valid JSON/));
		assert.throws(() => new GcsStore(config('b', { serviceAccountJson: `{"private_key": "${pem.slice(0, 80)}` })), refused(/not valid JSON/));
		assert.throws(() => new GcsStore(config('b', { serviceAccountJson: '   ' })), refused(/Service Account JSON is empty/));
		assert.throws(() => new GcsStore(config('b', { serviceAccountJson: '["a"]' })), refused(/must be a JSON object/));
	});

	it('missing or wrong fields are named', () => {
		assert.throws(() => new GcsStore(config('b', { serviceAccountJson: json(without('client_email')) })), refused(/Service Account JSON › client_email is missing/));
		assert.throws(() => new GcsStore(config('b', { serviceAccountJson: json(without('private_key')) })), refused(/Service Account JSON › private_key is missing/));
		assert.throws(
			() => new GcsStore(config('b', { serviceAccountJson: json({ ...key, private_key: pem.replace(/[A-Za-z]{10}/, 'xxxxxxxxxx').slice(0, 300) }) })),
			refused(/Service Account JSON › private_key is not a PEM private key/),
		);
		assert.throws(() => new GcsStore(config('b', { serviceAccountJson: json({ ...key, private_key: 'not a key' }) })), refused(/private_key is not a PEM private key/));
		assert.throws(
			() => new GcsStore(config('b', { serviceAccountJson: json({ type: 'authorized_user', client_id: 'x', client_secret: 'y', refresh_token: 'z' }) })),
			refused(/type is "authorized_user", but only service-account keys/),
		);
	});

	it('accepts the key as an object, and a private_key whose newlines were escaped twice', async () => {
		const bucket = freshBucketName('forms');
		await new GcsStore(config(bucket, { serviceAccountJson: key })).check();
		const escaped = json({ ...key, private_key: pem.replace(/\n/g, '\\n') });
		const store = new GcsStore(config(bucket, { serviceAccountJson: escaped }));
		await writeText(store, 'k.txt', 'ok');
		assert.equal((await readAll(await store.read('k.txt'))).toString(), 'ok');
	});

	it('bucket and endpoint problems', async () => {
		assert.throws(() => new GcsStore(config('  ')), /Bucket is empty/);
		assert.throws(() => new GcsStore(config('b', { apiEndpoint: '127.0.0.1:9199' })), refused(/API Endpoint must start with http/));
		const started = Date.now();
		await assert.rejects(new GcsStore(config('b', { apiEndpoint: 'http://127.0.0.1:1' })).check(), refused(/cannot reach 127\.0\.0\.1:1 .*check the API Endpoint/, 'unreachable'));
		assert.ok(Date.now() - started < 30_000, 'an unreachable endpoint fails within seconds');
	});
});
