/**
 * The example workflow writing to Azure Blob and the Data Landing Zone (Azurite), what landed read
 * back by DuckDB, bad credentials routed to the error output, and every credential's Test button.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import type { ICredentialDataDecryptedObject, ICredentialsDecrypted, IDataObject, NodeOperationError } from 'n8n-workflow';
import { generateLake, sampleSchema, SAMPLE_DATASETS } from '../scripts/sample/generator';
import { parseAbfss } from '../lib/storage';
import { credentialTest } from '../nodes/shared/methods/credentialTest';

const { adlsGen2ConnectionTest, azureBlobConnectionTest, dataLandingZoneConnectionTest, googleCloudStorageConnectionTest, sftpConnectionTest } = credentialTest;
import { canonicalRecords, readFiles } from './helpers/duckdb';
import { lakeFiles, tempDir } from './helpers/fixtures';
import { azuriteOAuthServer, azuriteServer, sftpServer, type AzuriteOAuthServer } from './helpers/servers';
import { freshBucketName, gcsServer, serviceAccountKey } from './helpers/gcs';
import { exampleTo, runWorkflow, type WorkflowJson } from './harness/engine';

const DS = 'ajo_push_profile_dataset';
const azurite = azuriteServer();
const service = new BlobServiceClient(azurite.endpoint, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey));

function workflowTo(lake: string, destination: string, credentialType: string, params: Record<string, unknown> = {}): WorkflowJson {
	return exampleTo({ lake, dataset: DS, destination, credentialType, credentialId: 'cloud', both: params as IDataObject });
}

async function download(container: string, names: string[], dir: string, from = service): Promise<string[]> {
	mkdirSync(dir, { recursive: true });
	return Promise.all(
		names.map(async (name, i) => {
			const path = join(dir, `${i}-${name.split('/').pop()}`);
			writeFileSync(path, await from.getContainerClient(container).getBlobClient(name).downloadToBuffer());
			return path;
		}),
	);
}

async function blobNames(container: string, from = service): Promise<string[]> {
	const names: string[] = [];
	for await (const blob of from.getContainerClient(container).listBlobsFlat()) names.push(blob.name);
	return names;
}

/**
 * The OAuth Azurite (HTTPS, bearer tokens checked) and the token issuer standing in for Microsoft
 * Entra ID (scripts/servers/azurite-oauth.sh), looked up when first needed. The account key
 * client is the tests' own, for creating file systems and reading back what landed.
 */
let oauthServer: { server: AzuriteOAuthServer; admin: BlobServiceClient } | undefined;
function oauth() {
	if (!oauthServer) {
		const server = azuriteOAuthServer();
		oauthServer = { server, admin: new BlobServiceClient(server.endpoint, new StorageSharedKeyCredential(server.accountName, server.accountKey)) };
	}
	return oauthServer;
}

/** An ADLS Gen2 credential for a service principal, as saved in n8n. */
function servicePrincipalCredential(container: string, fields: Record<string, string> = {}): ICredentialDataDecryptedObject {
	const { server } = oauth();
	return {
		url: `abfss://${container}@${server.accountName}.dfs.core.windows.net`,
		authentication: 'servicePrincipal',
		tenantId: server.tenantId,
		clientId: server.clientId,
		clientSecret: server.clientSecret,
		authorityHost: server.authorityHost,
		endpoint: server.endpoint,
		...fields,
	};
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
		const result = await runWorkflow(workflowTo(lake, 'dataLandingZone', 'datasetExportDataLandingZoneApi', { fileType: 'json', jsonCompression: 'gzip' }), { cloud: { sasUrl } });
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
		assert.deepEqual(parseAbfss('abfss://fs1@acct.dfs.core.windows.net/'), { container: 'fs1', account: 'acct', blobEndpoint: 'https://acct.blob.core.windows.net' });
		// sovereign clouds: the Blob endpoint follows the URL's cloud
		assert.equal(parseAbfss('abfss://fs1@acct.dfs.core.chinacloudapi.cn').blobEndpoint, 'https://acct.blob.core.chinacloudapi.cn');
		assert.equal(parseAbfss('abfss://fs1@acct.dfs.core.usgovcloudapi.net').blobEndpoint, 'https://acct.blob.core.usgovcloudapi.net');
	});

	it('ADLS Gen2 as a service principal (token from the Entra ID stand-in, checked by Azurite): Export → Verify; DuckDB reads back the lake exactly', async () => {
		const container = `adls-sp-${randomUUID().slice(0, 8)}`;
		await oauth().admin.getContainerClient(container).create();
		const result = await runWorkflow(workflowTo(lake, 'adlsGen2', 'datasetExportAdlsGen2Api'), { cloud: servicePrincipalCredential(container) });
		assert.equal(result.error, undefined, result.error?.message);
		const [report] = result.output('Export Dataset');
		assert.equal(report.status, 'committed');
		assert.equal((report.destination as { type: string }).type, 'adls-gen2');
		assert.equal(result.output('Verify Export')[0].ok, true);
		const files = (report.files as Array<{ path: string }>).map((f) => f.path);
		assert.deepEqual(canonicalRecords(schema, await readFiles(await download(container, files, tempDir('adls-sp-dl'), oauth().admin))), expected);
		assert.ok(!JSON.stringify(result.output('Export Dataset')).includes(oauth().server.clientSecret), 'no secret in the output');
	});

	it('ADLS Gen2, a wrong client secret: the error output names the credential and Client Secret; nothing is committed', async () => {
		const container = `adls-bad-${randomUUID().slice(0, 8)}`;
		await oauth().admin.getContainerClient(container).create();
		const wrongSecret = 'Wrong8Q~not-the-secret-value-at-all-000';
		const result = await runWorkflow(workflowTo(lake, 'adlsGen2', 'datasetExportAdlsGen2Api'), { cloud: servicePrincipalCredential(container, { clientSecret: wrongSecret }) });
		const [denied] = result.errors('Export Dataset');
		assert.match(String(denied.json.error), /^Destination: ADLS Gen2 credential: Client Secret was refused by Microsoft Entra ID \(AADSTS7000215: Invalid client secret provided\.\)/);
		assert.match(String((denied.error as NodeOperationError).description), /destination credential/);
		assert.ok(!String(denied.json.error).includes(wrongSecret) && !String(denied.json.error).includes(oauth().server.clientSecret), 'no secret in the error');
		assert.deepEqual(result.output('Export Dataset'), [], 'no report: nothing was exported');
		assert.deepEqual(await blobNames(container, oauth().admin), [], 'no data file and no manifest');
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

	it('ADLS Gen2: account key (also as saved before the Authentication choice) and service principal are OK; refusals name the field', async () => {
		const keyContainer = `adls-t-${randomUUID().slice(0, 8)}`;
		await service.getContainerClient(keyContainer).create();
		const keyCredential = { url: `abfss://${keyContainer}@${azurite.accountName}.dfs.core.windows.net`, accountKey: azurite.accountKey, endpoint: azurite.endpoint };
		assert.deepEqual(await test(adlsGen2ConnectionTest, keyCredential), { status: 'OK', message: 'The key opens the file system' });
		assert.deepEqual(await test(adlsGen2ConnectionTest, { ...keyCredential, authentication: 'accountKey' }), { status: 'OK', message: 'The key opens the file system' });

		const container = `adls-t-${randomUUID().slice(0, 8)}`;
		await oauth().admin.getContainerClient(container).create();
		const good = servicePrincipalCredential(container);
		assert.deepEqual(await test(adlsGen2ConnectionTest, good), { status: 'OK', message: 'The service principal signed in and opens the file system' });
		const refused = async (fields: Record<string, string>, pattern: RegExp) => {
			const result = await test(adlsGen2ConnectionTest, { ...good, ...fields });
			assert.equal(result.status, 'Error');
			assert.match(result.message, pattern);
			assert.ok(!result.message.includes(oauth().server.clientSecret));
		};
		await refused({ clientSecret: 'Wrong8Q~not-the-secret-value-at-all-000' }, /^ADLS Gen2 credential: Client Secret was refused .*AADSTS7000215/);
		await refused({ tenantId: randomUUID() }, /^ADLS Gen2 credential: Tenant ID "[-0-9a-f]+" was not found .*AADSTS90002/);
		await refused({ clientId: randomUUID() }, /^ADLS Gen2 credential: Client ID "[-0-9a-f]+" is not an application in tenant .*AADSTS700016/);
		await refused({ clientSecret: '' }, /^ADLS Gen2 credential: Client Secret is empty/);
		await refused({ url: `abfss://missing-fs@${oauth().server.accountName}.dfs.core.windows.net` }, /container "missing-fs" does not exist/);
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

describe('workflows exporting to Google Cloud Storage with a service-account JSON key (firebase-tools Storage emulator, JSON API)', () => {
	const lake = tempDir('gcs-lake');
	const schema = sampleSchema(SAMPLE_DATASETS.find((d) => d.id === DS)!);
	const gcs = gcsServer();
	const key = serviceAccountKey(gcs.projectId);
	/** The emulator checks no credentials: the key is parsed and checked locally, never sent (http://). */
	const credential = (fields: Record<string, unknown> = {}): ICredentialDataDecryptedObject => ({
		authentication: 'serviceAccount',
		serviceAccountJson: JSON.stringify(key, null, 2),
		apiEndpoint: gcs.endpoint,
		...fields,
	});
	const direct = new Storage({ apiEndpoint: gcs.endpoint, projectId: gcs.projectId });
	const objectNames = async (bucket: string) => (await direct.bucket(bucket).getFiles())[0].map((f) => f.name);
	let expected: string[];
	before(async () => {
		await generateLake({ dir: lake, records: 5000, seed: 'gcs', batches: 2, datasets: [DS] });
		expected = canonicalRecords(schema, await readFiles(lakeFiles(lake, DS)));
	});

	it('List → Export (Parquet) → Verify; DuckDB reads back the lake exactly', async () => {
		const bucket = freshBucketName('wf');
		const result = await runWorkflow(workflowTo(lake, 'googleCloudStorage', 'datasetExportGoogleCloudStorageApi', { bucket }), { cloud: credential() });
		assert.equal(result.error, undefined, result.error?.message);
		const [report] = result.output('Export Dataset');
		assert.equal(report.status, 'committed');
		assert.equal((report.destination as { type: string }).type, 'google-cloud-storage');
		assert.equal(result.output('Verify Export')[0].ok, true);
		const files = (report.files as Array<{ path: string }>).map((f) => f.path);
		assert.ok(files.length > 0 && files.every((f) => f.endsWith('.parquet')));
		assert.ok((await objectNames(bucket)).includes(String(report.manifestPath)), 'the manifest landed');
		const dir = tempDir('gcs-dl');
		const paths = await Promise.all(
			files.map(async (name, i) => {
				const path = join(dir, `${i}-${name.split('/').pop()}`);
				writeFileSync(path, (await direct.bucket(bucket).file(name).download())[0]);
				return path;
			}),
		);
		assert.deepEqual(canonicalRecords(schema, await readFiles(paths)), expected);
	});

	it('a broken key goes to the error output naming the credential and the field; no secret shown, nothing committed', async () => {
		const bucket = freshBucketName('bad');
		const { private_key: pem, ...noKey } = key;
		const result = await runWorkflow(workflowTo(lake, 'googleCloudStorage', 'datasetExportGoogleCloudStorageApi', { bucket }), {
			cloud: credential({ serviceAccountJson: JSON.stringify({ ...noKey, private_key: pem.slice(0, 120) }) }),
		});
		const [denied] = result.errors('Export Dataset');
		assert.match(String(denied.json.error), /^Destination: Google Cloud Storage credential: Service Account JSON › private_key is not a PEM private key/);
		assert.match(String((denied.error as NodeOperationError).description), /destination credential/);
		assert.ok(!String(denied.json.error).includes(pem.split('\n')[1]), 'no key material in the error');
		assert.deepEqual(result.output('Export Dataset'), [], 'no report: nothing was exported');
		assert.deepEqual(await objectNames(bucket), [], 'no data file and no manifest');
	});

	it('the Test button: a good key is OK; a malformed key, a missing field and an unreachable endpoint are explained; a credential saved before the choice is HMAC', async () => {
		const test = (data: ICredentialDataDecryptedObject) => googleCloudStorageConnectionTest.call({} as never, { id: 'x', name: 'x', type: 'x', data } as ICredentialsDecrypted);
		assert.deepEqual(await test(credential()), { status: 'OK', message: 'The key is well-formed and the endpoint answers (an http:// endpoint gets no credentials)' });
		const malformed = await test(credential({ serviceAccountJson: JSON.stringify(key).slice(0, -40) }));
		assert.equal(malformed.status, 'Error');
		assert.match(malformed.message, /^Google Cloud Storage credential: Service Account JSON is not valid JSON/);
		assert.ok(!malformed.message.includes('PRIVATE KEY'));
		const noEmail: Record<string, string> = { ...key };
		delete noEmail.client_email;
		assert.match((await test(credential({ serviceAccountJson: JSON.stringify(noEmail) }))).message, /Service Account JSON › client_email is missing/);
		assert.match((await test(credential({ serviceAccountJson: '' }))).message, /Service Account JSON is empty/);
		assert.match((await test(credential({ apiEndpoint: 'http://127.0.0.1:1' }))).message, /cannot reach 127\.0\.0\.1:1 .*check the API Endpoint/);
		// saved before the Authentication choice existed (no such field): still HMAC keys on the XML (S3) API
		const saved = await test({ accessKeyId: 'GOOG1EXAMPLE', secretAccessKey: 'not-a-secret', endpoint: 'http://127.0.0.1:1' });
		assert.match(saved.message, /^Google Cloud Storage credential: cannot reach the S3 endpoint/);
	});
});
