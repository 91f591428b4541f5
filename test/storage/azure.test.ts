import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential } from '@azure/storage-blob';
import { readAll, writeText } from '../../lib/storage/common';
import { AzureBlobStore, type AzureBlobConfig } from '../../lib/storage/azure';
import { StoreError } from '../../lib/storage/types';
import { azuriteServer } from '../helpers/servers';
import { storeContract } from './contract';

const server = azuriteServer();
const service = new BlobServiceClient(server.endpoint, new StorageSharedKeyCredential(server.accountName, server.accountKey));
const keyConfig = (container: string): AzureBlobConfig => ({ authentication: 'accountKey', accountName: server.accountName, accountKey: server.accountKey, endpoint: server.endpoint, container });

async function freshContainer(label: string) {
	const name = `${label}-${randomUUID().slice(0, 8)}`;
	await service.getContainerClient(name).create();
	return name;
}

function sasUrl(container: string, permissions: string) {
	return service.getContainerClient(container).generateSasUrl({ permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3600_000) });
}

storeContract('Azure Blob (Azurite), account key', async () => ({
	store: new AzureBlobStore(keyConfig(await freshContainer('contract'))),
	broken: new AzureBlobStore(keyConfig('no-such-container')),
}));

storeContract('Data Landing Zone (Azurite), container SAS URI', async () => {
	const container = await freshContainer('dlz');
	return {
		store: new AzureBlobStore({ authentication: 'sasUrl', sasUrl: await sasUrl(container, 'racwdl'), rootPath: 'landing' }, 'data-landing-zone'),
		broken: new AzureBlobStore({ authentication: 'sasUrl', sasUrl: (await sasUrl(container, 'racwdl')).replace(`/${container}?`, '/no-such-container?') }, 'data-landing-zone'),
	};
});

describe('Azure credentials and permissions', () => {
	let container: string;
	before(async () => {
		container = await freshContainer('auth');
	});
	const refused = (pattern: RegExp) => (error: unknown) => {
		assert.ok(error instanceof StoreError, String(error));
		assert.match(error.message, pattern);
		assert.ok(!error.message.includes(server.accountKey), 'the key never appears in errors');
		assert.ok(!/sig=(?!\*)/.test(error.message), 'no SAS signature in errors');
		return true;
	};

	it('a connection string works like account + key', async () => {
		const store = new AzureBlobStore({
			authentication: 'connectionString',
			connectionString: `DefaultEndpointsProtocol=http;AccountName=${server.accountName};AccountKey=${server.accountKey};BlobEndpoint=${server.endpoint};`,
			container,
		});
		await store.check();
		await writeText(store, 'cs/hello.txt', 'hi');
		assert.equal((await readAll(await store.read('cs/hello.txt'))).toString(), 'hi');
	});

	it('a wrong account key is refused, naming the key or SAS', async () => {
		const wrongKey = Buffer.from('x'.repeat(64)).toString('base64');
		await assert.rejects(new AzureBlobStore({ ...keyConfig(container), accountKey: wrongKey }).check(), refused(/access denied .*check the key or SAS/));
	});

	it('a missing container is named', async () => {
		await assert.rejects(new AzureBlobStore(keyConfig('missing-container')).check(), refused(/container "missing-container" does not exist/));
	});

	it('a read-only SAS cannot write, and nothing appears', async () => {
		const store = new AzureBlobStore({ authentication: 'sasUrl', sasUrl: await sasUrl(container, 'rl') });
		await store.check();
		await assert.rejects(writeText(store, 'ro/x.txt', 'x'), refused(/access denied while writing ro\/x\.txt/));
		assert.equal(await new AzureBlobStore(keyConfig(container)).stat('ro/x.txt'), null);
	});

	it('an unreachable endpoint says it cannot reach it', async () => {
		await assert.rejects(new AzureBlobStore({ ...keyConfig(container), endpoint: 'http://127.0.0.1:1/devstoreaccount1' }).check(), refused(/cannot reach 127\.0\.0\.1:1/));
	});

	it('missing fields are refused before any request', () => {
		assert.throws(() => new AzureBlobStore({ authentication: 'accountKey', accountName: 'a', container: 'c' }), /Account Key is empty/);
		assert.throws(() => new AzureBlobStore({ authentication: 'sasUrl', sasUrl: 'https://a.blob.core.windows.net/c' }), /no signature/);
	});
});
