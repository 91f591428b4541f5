/**
 * Lakes in stores (lib/source/store-lake) on the real test servers: the source contract on the same
 * lake as the local lake's (both layouts, edge values) uploaded to S3 (Ceph), Azure Blob (Azurite),
 * Google Cloud Storage (the emulator) and SFTP (OpenSSH); Parquet read by ranged requests, never
 * whole; a lake exported across backends (S3 lake → SFTP), read back by DuckDB; a refused key and a
 * missing bucket said as such.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { runExport } from '../../lib/export/run';
import { stringifyJson } from '../../lib/json';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { StoreLakeSource } from '../../lib/source/store-lake';
import { SourceError, type DatasetRecord } from '../../lib/source/types';
import { openStore } from '../../lib/storage';
import { LocalFolderStore } from '../../lib/storage/local';
import type { Store } from '../../lib/storage/types';
import { generateLake } from '../../scripts/sample/generator';
import { canonicalRecords, readFiles } from '../helpers/duckdb';
import { tempDir, uploadFolder } from '../helpers/fixtures';
import { freshBucketName, gcsServer, serviceAccountKey } from '../helpers/gcs';
import { azuriteServer, freshBucket, s3Server, sftpFolder, sftpServer } from '../helpers/servers';
import { sourceContract } from './contract';
import { buildLakeFixture } from './lake-fixture';

/** Every store the tests open, closed when the file ends (SFTP sessions and HTTP agents would keep the process alive). */
const opened: Store[] = [];
const track = <T extends Store>(store: T): T => (opened.push(store), store);
after(async () => {
	for (const store of opened) await store.close().catch(() => undefined);
});

const s3 = s3Server();
const s3Store = (bucket: string, overrides: Record<string, unknown> = {}, network?: Parameters<typeof openStore>[1]) =>
	track(
		openStore(
			{ type: 'amazonS3', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, bucket, ...overrides } as Parameters<
				typeof openStore
			>[0],
			network,
		),
	);

const azure = azuriteServer();
async function azureStore(): Promise<{ store: Store; container: string }> {
	const container = `lake-${randomUUID().slice(0, 8)}`;
	await new BlobServiceClient(azure.endpoint, new StorageSharedKeyCredential(azure.accountName, azure.accountKey)).getContainerClient(container).create();
	return { container, store: track(openStore({ type: 'azureBlob', authentication: 'accountKey', accountName: azure.accountName, accountKey: azure.accountKey, endpoint: azure.endpoint, container })) };
}

const gcs = gcsServer();
const gcsKey = JSON.stringify(serviceAccountKey(gcs.projectId));
const gcsStore = (bucket: string) => track(openStore({ type: 'googleCloudStorage', authentication: 'serviceAccount', serviceAccountJson: gcsKey, apiEndpoint: gcs.endpoint, bucket }));

const sftp = sftpServer();
const sftpStore = (rootPath: string) =>
	track(openStore({ type: 'sftp', host: sftp.host, port: sftp.port, username: sftp.username, password: sftp.password, hostFingerprint: sftp.hostFingerprint, rootPath }));

let fixture: ReturnType<typeof buildLakeFixture> | undefined;
const lakeFixture = () => (fixture ??= buildLakeFixture());

sourceContract('lake on S3 (Ceph)', async () => {
	const { lake, expected } = await lakeFixture();
	const bucket = await freshBucket('lake');
	await uploadFolder(lake, s3Store(bucket), 'warehouse/lake');
	return {
		source: new StoreLakeSource(s3Store(bucket), 'warehouse/lake'),
		expected,
		broken: new StoreLakeSource(s3Store(`no-such-bucket-${randomUUID().slice(0, 8)}`), 'lake'),
		badCredentials: new StoreLakeSource(s3Store(bucket, { secretAccessKey: `not-the-${'sec'}ret-key-of-this-account-x` }), 'warehouse/lake'),
		unreachable: new StoreLakeSource(s3Store(bucket, { endpoint: 'http://127.0.0.1:1' }, { maxAttempts: 2 }), 'warehouse/lake'),
	};
});

sourceContract('lake on Azure Blob (Azurite)', async () => {
	const { lake, expected } = await lakeFixture();
	const { store, container } = await azureStore();
	await uploadFolder(lake, store, 'lake');
	const missing = track(
		openStore({ type: 'azureBlob', authentication: 'accountKey', accountName: azure.accountName, accountKey: azure.accountKey, endpoint: azure.endpoint, container: 'no-such-container' }),
	);
	const wrongKey = Buffer.from('not the key of this account, but 64 bytes long all the same....').toString('base64');
	const refused = track(openStore({ type: 'azureBlob', authentication: 'accountKey', accountName: azure.accountName, accountKey: wrongKey, endpoint: azure.endpoint, container }));
	const closed = track(
		openStore(
			{ type: 'azureBlob', authentication: 'accountKey', accountName: azure.accountName, accountKey: azure.accountKey, endpoint: `http://127.0.0.1:1/${azure.accountName}`, container },
			{ maxAttempts: 2 },
		),
	);
	return {
		source: new StoreLakeSource(store, 'lake'),
		expected,
		broken: new StoreLakeSource(missing, 'lake'),
		badCredentials: new StoreLakeSource(refused, 'lake'),
		unreachable: new StoreLakeSource(closed, 'lake'),
	};
});

sourceContract('lake on Google Cloud Storage (emulator)', async () => {
	const { lake, expected } = await lakeFixture();
	const bucket = freshBucketName('lake');
	await uploadFolder(lake, gcsStore(bucket), 'lake');
	// the emulator makes any bucket it is asked about (no missing location) and checks no key (no refused one)
	const closed = track(openStore({ type: 'googleCloudStorage', authentication: 'serviceAccount', serviceAccountJson: gcsKey, apiEndpoint: 'http://127.0.0.1:1', bucket }, { maxAttempts: 2 }));
	return { source: new StoreLakeSource(gcsStore(bucket), 'lake'), expected, unreachable: new StoreLakeSource(closed, 'lake') };
});

sourceContract('lake on SFTP (OpenSSH)', async () => {
	const { lake, expected } = await lakeFixture();
	const root = sftpFolder(sftp, 'lake');
	await uploadFolder(lake, sftpStore(root), 'lake');
	return {
		source: new StoreLakeSource(sftpStore(root), 'lake'),
		expected,
		broken: new StoreLakeSource(sftpStore(`${sftp.home}/no-such-folder-${randomUUID().slice(0, 8)}`), 'lake'),
		badCredentials: new StoreLakeSource(
			track(
				openStore(
					{ type: 'sftp', host: sftp.host, port: sftp.port, username: sftp.username, password: `not-the-${'pass'}word-x`, hostFingerprint: sftp.hostFingerprint, rootPath: root },
					{ maxAttempts: 1 },
				),
			),
			'lake',
		),
		unreachable: new StoreLakeSource(track(openStore({ type: 'sftp', host: sftp.host, port: 1, username: sftp.username, password: sftp.password, rootPath: root }, { maxAttempts: 2 })), 'lake'),
	};
});

/** A store that counts what is read from it (bytes asked for, whole-object reads), around a real one. */
function counting(store: Store) {
	const seen = { ranged: 0, rangedBytes: 0, whole: [] as string[] };
	const wrapped: Store = Object.create(store) as Store;
	wrapped.read = async (path: string, range?: { start: number; end?: number }): Promise<Readable> => {
		if (range) {
			seen.ranged++;
			seen.rangedBytes += (range.end ?? range.start) - range.start;
		} else seen.whole.push(path);
		return store.read(path, range);
	};
	wrapped.list = (prefix: string) => store.list(prefix);
	wrapped.stat = (path: string) => store.stat(path);
	return { store: wrapped, seen };
}

describe('lakes in stores', () => {
	const parquetLake = tempDir('store-lake-parquet');
	const DS = 'ajo_message_feedback_event_dataset';
	const made = generateLake({ dir: parquetLake, records: 120_000, seed: 'store-lake', batches: 1, datasets: [DS], format: 'parquet' });

	it('Parquet in S3 is read by ranged requests (footer, then row groups), never whole, and gives what the local lake gives', async () => {
		await made;
		const bucket = await freshBucket('lake-parquet');
		await uploadFolder(parquetLake, s3Store(bucket), 'lake');
		const { store, seen } = counting(s3Store(bucket));
		const remote = new StoreLakeSource(store, 'lake');
		const local = new LocalLakeSource(parquetLake);
		const [batch] = await remote.listBatches(DS);
		const dataset = await remote.getDataset(DS);
		assert.deepEqual(dataset.schema, (await local.getDataset(DS)).schema, 'the schema from the Parquet footer, read by range');
		const before = { ...seen, whole: [...seen.whole] };
		let remoteRecords: DatasetRecord[] = [];
		for await (const chunk of remote.readBatch(dataset, batch, { chunkSize: 5000 })) remoteRecords = remoteRecords.concat(chunk);
		const [localBatch] = await local.listBatches(DS);
		let localRecords: DatasetRecord[] = [];
		for await (const chunk of local.readBatch(await local.getDataset(DS), localBatch, { chunkSize: 5000 })) localRecords = localRecords.concat(chunk);
		assert.equal(remoteRecords.length, 120_000);
		assert.equal(stringifyJson(remoteRecords), stringifyJson(localRecords), 'every record, every value, as the local lake reads the same file');
		assert.deepEqual(
			seen.whole.slice(before.whole.length).filter((p) => p.endsWith('.parquet')),
			[],
			'no Parquet file read whole',
		);
		assert.ok(seen.ranged - before.ranged >= 3, `several ranged requests (footer, row groups), not ${seen.ranged - before.ranged}`);
		assert.ok(seen.rangedBytes - before.rangedBytes <= batch.sizeBytes * 1.1, 'each byte read about once');
	});

	it('an S3 lake exported to SFTP: committed, verified, and read back by DuckDB as the lake holds it', async () => {
		const { lake } = await lakeFixture();
		const bucket = await freshBucket('lake-cross');
		await uploadFolder(lake, s3Store(bucket), 'lake');
		const source = new StoreLakeSource(s3Store(bucket), 'lake');
		const root = sftpFolder(sftp, 'from-s3');
		const report = await runExport(source, sftpStore(root), { datasetId: 'journey_step_events', mode: 'incremental', fileType: 'parquet', codec: 'snappy', folderPath: 'exports' });
		assert.equal(report.status, 'committed');
		const schema = (await source.getDataset('journey_step_events')).schema!;
		const exported = await readFiles(report.files.map((f) => join(root, f.path)));
		const inLake = await readFiles(
			readdirSync(join(lake, 'journey_step_events', 'batches'), { recursive: true, encoding: 'utf8' })
				.filter((p) => p.endsWith('.gz'))
				.map((p) => join(lake, 'journey_step_events', 'batches', p)),
		);
		assert.equal(exported.length, inLake.length);
		assert.deepEqual(canonicalRecords(schema, exported), canonicalRecords(schema, inLake));
		const again = await runExport(source, sftpStore(root), { datasetId: 'journey_step_events', mode: 'incremental', fileType: 'parquet', codec: 'snappy', folderPath: 'exports' });
		assert.equal(again.status, 'nothing-new');
		// a local copy of the same export through the local lake agrees, batch for batch
		const viaLocal = await runExport(new LocalLakeSource(lake), new LocalFolderStore(tempDir('via-local')), {
			datasetId: 'journey_step_events',
			mode: 'incremental',
			fileType: 'parquet',
			codec: 'snappy',
			folderPath: 'x',
		});
		assert.deepEqual(viaLocal.window.batchIds, report.window.batchIds);
	});

	it('Lake Folder as typed (./lake//) is the folder; a missing one is an error; objects the layout does not read are said', async () => {
		const root = tempDir('store-lake-local');
		const write = (path: string, text: string) => {
			mkdirSync(join(root, path, '..'), { recursive: true });
			writeFileSync(join(root, path), text);
		};
		write('lake/orders/batches/b1/part-0.ndjson', '{"id":1}\n{"id":2}\n');
		write('lake/orders/batches/b2/date=2026-01-01/part-0.ndjson', '{"id":3}\n');
		write('lake/orders/batches/b1/notes.txt', 'x');
		write('lake/orders/extra.ndjson', '{"id":4}\n');
		const store = track(new LocalFolderStore(root));
		const source = new StoreLakeSource(store, './lake//');
		assert.deepEqual(
			(await source.listDatasets()).map((d) => d.id),
			['orders'],
		);
		const warnings: string[] = [];
		const batches = await source.listBatches('orders', { warn: (m) => warnings.push(m) });
		assert.deepEqual(
			batches.map((b) => b.id),
			['b1'],
		);
		assert.match(warnings.join(' '), /3 object\(s\) in the folder of dataset orders are not read .*date=2026-01-01\/part-0.ndjson/);
		const report = await runExport(source, new LocalFolderStore(tempDir('store-lake-local-out')), { datasetId: 'orders', mode: 'incremental', fileType: 'json', codec: 'gzip', folderPath: 'x' });
		assert.equal(report.totals.records, 2);
		assert.ok(
			report.warnings.some((w) => /not read/.test(w)),
			'the export reports what it did not read',
		);
		await assert.rejects(new StoreLakeSource(store, 'laek').listDatasets(), (e: unknown) => e instanceof SourceError && e.code === 'location' && /"laek" holds no objects/.test(e.message));
	});

	it('a lake file replaced while it is read fails the read (nothing mixed from two versions)', async () => {
		const root = tempDir('store-lake-replace');
		mkdirSync(join(root, 'events'), { recursive: true });
		const file = join(root, 'events', 'part.ndjson');
		writeFileSync(file, Array.from({ length: 10 }, (_, i) => `{"v":1,"id":${i}}`).join('\n') + '\n');
		const source = new StoreLakeSource(track(new LocalFolderStore(root)), '');
		const dataset = await source.getDataset('events');
		const [batch] = await source.listBatches('events');
		await assert.rejects(async () => {
			let first = true;
			for await (const chunk of source.readBatch(dataset, batch, { chunkSize: 1 })) {
				void chunk;
				if (first) {
					first = false;
					writeFileSync(file, Array.from({ length: 10 }, (_, i) => `{"v":2,"id":${i}}`).join('\n') + '\n');
					utimesSync(file, new Date(Date.now() + 5000), new Date(Date.now() + 5000));
				}
			}
		}, /changed while it was read/);
	});

	it('a refused key is auth, a missing bucket is location; the secret never appears', async () => {
		const bucket = await freshBucket('lake-auth');
		const secret = `wrong-${'sec'}ret-key-for-the-lake-0123456789`;
		const refused = new StoreLakeSource(s3Store(bucket, { secretAccessKey: secret }), 'lake');
		await assert.rejects(refused.listDatasets(), (e: unknown) => e instanceof SourceError && e.code === 'auth' && !e.message.includes(secret));
		await assert.rejects(
			new StoreLakeSource(s3Store('no-such-lake-bucket-x1'), '').listDatasets(),
			(e: unknown) => e instanceof SourceError && e.code === 'location' && /no-such-lake-bucket-x1/.test(e.message),
		);
	});
});
