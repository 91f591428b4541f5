/**
 * The example workflow writing to Azure Blob and the Data Landing Zone (Azurite), what landed read
 * back by DuckDB, bad credentials routed to the error output, and every credential's Test button.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { ICredentialDataDecryptedObject, ICredentialsDecrypted, INode, NodeOperationError } from 'n8n-workflow';
import { generateLake, sampleSchema, SAMPLE_DATASETS } from '../lib/sample/generator';
import { parseAbfss } from '../lib/storage';
import { adlsGen2ConnectionTest, azureBlobConnectionTest, dataLandingZoneConnectionTest, sftpConnectionTest } from '../nodes/shared/context';
import { canonicalRecords, readFiles } from './helpers/duckdb';
import { lakeFiles, tempDir } from './helpers/fixtures';
import { azuriteServer, sftpServer } from './helpers/servers';
import { runWorkflow, setTriggerTime, type WorkflowJson } from './harness/engine';

const EXAMPLE = JSON.parse(readFileSync(join(__dirname, '..', 'examples', 'scheduled-export.json'), 'utf8')) as WorkflowJson;
const DS = 'ajo_push_profile_dataset';
const azurite = azuriteServer();
const service = new BlobServiceClient(azurite.endpoint, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));

function workflowTo(lake: string, destination: string, credentialType: string, params: Record<string, unknown> = {}): WorkflowJson {
	const workflow = structuredClone(EXAMPLE);
	const nodes = Object.fromEntries(workflow.nodes.map((n) => [n.name, n])) as Record<string, INode>;
	setTriggerTime(workflow, '2026-11-22T06:00:00Z');
	nodes['List Eligible Datasets'].parameters.lakePath = lake;
	nodes['List Eligible Datasets'].parameters.filters = { match: DS };
	for (const name of ['Export Dataset', 'Verify Export']) {
		Object.assign(nodes[name].parameters, { destination, ...params });
		nodes[name].credentials = { [credentialType]: { id: 'cloud', name: 'cloud' } };
	}
	nodes['Export Dataset'].parameters.lakePath = lake;
	return workflow;
}

async function download(container: string, names: string[], dir: string): Promise<string[]> {
	mkdirSync(dir, { recursive: true });
	return Promise.all(
		names.map(async (name, i) => {
			const path = join(dir, `${i}-${name.split('/').pop()}`);
			writeFileSync(path, await service.getContainerClient(container).getBlobClient(name).downloadToBuffer());
			return path;
		}),
	);
}

async function blobNames(container: string): Promise<string[]> {
	const names: string[] = [];
	for await (const blob of service.getContainerClient(container).listBlobsFlat()) names.push(blob.name);
	return names;
}

describe('workflows exporting to Azure Blob and the Data Landing Zone (Azurite)', () => {
	const lake = tempDir('azure-lake');
	const schema = sampleSchema(SAMPLE_DATASETS.find((d) => d.id === DS)!);
	let expected: string[];
	before(async () => {
		await generateLake({ dir: lake, records: 5000, seed: 'azure', batches: 2, datasets: [DS] });
		expected = canonicalRecords(schema, await readFiles(lakeFiles(lake, DS)));
	});

	it('Azure Blob, account key: List → Export (Parquet) → Verify; DuckDB reads back the lake exactly', async () => {
		const container = `wf-${randomUUID().slice(0, 8)}`;
		await service.getContainerClient(container).create();
		const credentials = { cloud: { authentication: 'accountKey', accountName: azurite.accountName, accountKey: azurite.accountKey, endpoint: azurite.endpoint } };
		const result = await runWorkflow(workflowTo(lake, 'azureBlob', 'datasetExportAzureBlobApi', { container }), credentials);
		assert.equal(result.error, undefined, result.error?.message);
		const [report] = result.output('Export Dataset');
		assert.equal(report.status, 'committed');
		assert.equal((report.destination as { type: string }).type, 'azure-blob');
		assert.equal(result.output('Verify Export')[0].ok, true);
		const files = (report.files as Array<{ path: string }>).map((f) => f.path);
		assert.deepEqual(canonicalRecords(schema, await readFiles(await download(container, files, tempDir('azure-dl')))), expected);
	});

	it('Data Landing Zone, container SAS URI: Export (NDJSON.gz) → Verify; DuckDB reads back the lake exactly', async () => {
		const container = `dlz-${randomUUID().slice(0, 8)}`;
		await service.getContainerClient(container).create();
		const sasUrl = await service.getContainerClient(container).generateSasUrl({ permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3600_000) });
		const result = await runWorkflow(
			workflowTo(lake, 'dataLandingZone', 'datasetExportDataLandingZoneApi', { fileType: 'json', jsonCompression: 'gzip' }),
			{ cloud: { sasUrl } },
		);
		assert.equal(result.error, undefined, result.error?.message);
		const [report] = result.output('Export Dataset');
		assert.equal((report.destination as { type: string }).type, 'data-landing-zone');
		assert.equal(result.output('Verify Export')[0].ok, true);
		const files = (report.files as Array<{ path: string }>).map((f) => f.path);
		assert.ok(files.every((f) => f.endsWith('.json.gz')));
		assert.deepEqual(canonicalRecords(schema, await readFiles(await download(container, files, tempDir('dlz-dl')))), expected);
	});

	it('ADLS Gen2 by its abfss URL (Blob API, account key): Export → Verify; DuckDB reads back the lake exactly', async () => {
		const container = `adls-${randomUUID().slice(0, 8)}`;
		await service.getContainerClient(container).create();
		const credential = { url: `abfss://${container}@${azurite.accountName}.dfs.core.windows.net`, accountKey: azurite.accountKey, endpoint: azurite.endpoint };
		const result = await runWorkflow(workflowTo(lake, 'adlsGen2', 'datasetExportAdlsGen2Api'), { cloud: credential });
		assert.equal(result.error, undefined, result.error?.message);
		const [report] = result.output('Export Dataset');
		assert.equal((report.destination as { type: string }).type, 'adls-gen2');
		assert.equal(result.output('Verify Export')[0].ok, true);
		const files = (report.files as Array<{ path: string }>).map((f) => f.path);
		assert.deepEqual(canonicalRecords(schema, await readFiles(await download(container, files, tempDir('adls-dl')))), expected);
		const test = (data: Record<string, unknown>) => adlsGen2ConnectionTest.call({} as never, { id: 'x', name: 'x', type: 'x', data } as ICredentialsDecrypted);
		assert.equal((await test(credential)).status, 'OK');
		assert.match((await test({ ...credential, url: 'abfss://missing-fs@devstoreaccount1.dfs.core.windows.net' })).message, /container "missing-fs" does not exist/);
		assert.match((await test({ ...credential, url: 'https://nope' })).message, /URL must look like abfss:\/\/CONTAINER@ACCOUNT/);
		assert.deepEqual(parseAbfss('abfss://fs1@acct.dfs.core.windows.net/'), { container: 'fs1', account: 'acct' });
	});

	it('a wrong key and a read-only SAS go to the error output, naming the credential; nothing is committed', async () => {
		const container = `bad-${randomUUID().slice(0, 8)}`;
		await service.getContainerClient(container).create();
		const wrongKey = { cloud: { authentication: 'accountKey', accountName: azurite.accountName, accountKey: Buffer.from('k'.repeat(64)).toString('base64'), endpoint: azurite.endpoint } };
		const first = await runWorkflow(workflowTo(lake, 'azureBlob', 'datasetExportAzureBlobApi', { container }), wrongKey);
		const [denied] = first.errors('Export Dataset');
		assert.match(String(denied.json.error), /Destination: Azure Blob credential: access denied .*check the key or SAS/);
		assert.match(String((denied.error as NodeOperationError).description), /destination credential/);

		const readOnly = await service.getContainerClient(container).generateSasUrl({ permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 3600_000) });
		const second = await runWorkflow(workflowTo(lake, 'dataLandingZone', 'datasetExportDataLandingZoneApi'), { cloud: { sasUrl: readOnly } });
		const [refused] = second.errors('Export Dataset');
		assert.match(String(refused.json.error), /Data Landing Zone credential: access denied while writing/);
		assert.ok(!String(refused.json.error).includes(new URL(readOnly).searchParams.get('sig')!), 'no SAS signature in the error');
		assert.deepEqual(await blobNames(container), [], 'no data file and no manifest');
	});
});

describe('credential Test buttons', () => {
	const test = (fn: typeof sftpConnectionTest, data: ICredentialDataDecryptedObject) => fn.call({} as never, { id: 'x', name: 'x', type: 'x', data } as ICredentialsDecrypted);

	it('SFTP: right credential OK; wrong password and wrong host key explained', async () => {
		const s = sftpServer();
		const good = { host: s.host, port: s.port, username: s.username, password: s.password, hostFingerprint: s.hostFingerprint };
		assert.deepEqual(await test(sftpConnectionTest, good), { status: 'OK', message: 'Logged in and found the root folder' });
		const wrong = await test(sftpConnectionTest, { ...good, password: 'nope' });
		assert.equal(wrong.status, 'Error');
		assert.match(wrong.message, /refused the login/);
		assert.match((await test(sftpConnectionTest, { ...good, hostFingerprint: 'SHA256:wrong' })).message, /refusing to connect/);
	});

	it('Azure Blob: account key, connection string and SAS URL; a wrong key is explained', async () => {
		const key = { authentication: 'accountKey', accountName: azurite.accountName, accountKey: azurite.accountKey, endpoint: azurite.endpoint };
		assert.equal((await test(azureBlobConnectionTest, key)).status, 'OK');
		const connectionString = `DefaultEndpointsProtocol=http;AccountName=${azurite.accountName};AccountKey=${azurite.accountKey};BlobEndpoint=${azurite.endpoint};`;
		assert.equal((await test(azureBlobConnectionTest, { authentication: 'connectionString', connectionString })).status, 'OK');
		const wrong = await test(azureBlobConnectionTest, { ...key, accountKey: Buffer.from('z'.repeat(64)).toString('base64') });
		assert.equal(wrong.status, 'Error');
		assert.match(wrong.message, /access denied/);
		assert.ok(!wrong.message.includes(azurite.accountKey));
	});

	it('Data Landing Zone: a working SAS URI is OK, one for a missing container is explained', async () => {
		const container = `t-${randomUUID().slice(0, 8)}`;
		await service.getContainerClient(container).create();
		const sasUrl = await service.getContainerClient(container).generateSasUrl({ permissions: ContainerSASPermissions.parse('racwdl'), expiresOn: new Date(Date.now() + 3600_000) });
		assert.equal((await test(dataLandingZoneConnectionTest, { sasUrl })).status, 'OK');
		await service.getContainerClient(container).delete();
		const gone = await test(dataLandingZoneConnectionTest, { sasUrl });
		assert.equal(gone.status, 'Error');
		assert.match(gone.message, /does not exist|access denied/);
	});
});
