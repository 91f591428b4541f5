import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { ClientSecretCredential } from '@azure/identity';
import { BlobServiceClient, ContainerSASPermissions, StorageSharedKeyCredential } from '@azure/storage-blob';
import { openStore } from '../../lib/storage';
import { readAll, writeText } from '../../lib/storage/common';
import { AzureBlobStore, type AzureBlobConfig } from '../../lib/storage/azure';
import { StoreError } from '../../lib/storage/types';
import { azureError } from '../helpers/fault-proxy';
import { azuriteOAuthServer, azuriteServer, type AzuriteOAuthServer } from '../helpers/servers';
import { closedPort, storeContract, TEST_NETWORK, TEST_PAGE_SIZE } from './contract';
import { FAULT_NETWORK, faultSuite, lostReplySuite } from './faults';

const server = azuriteServer();
const service = new BlobServiceClient(server.endpoint, new StorageSharedKeyCredential(server.accountName, server.accountKey));
const options = { network: TEST_NETWORK, pageSize: TEST_PAGE_SIZE };
const keyConfig = (container: string): AzureBlobConfig => ({
	authentication: 'accountKey',
	accountName: server.accountName,
	accountKey: server.accountKey,
	endpoint: server.endpoint,
	container,
	...options,
});

async function freshContainer(label: string) {
	const name = `${label}-${randomUUID().slice(0, 8)}`;
	await service.getContainerClient(name).create();
	return name;
}

function sasUrl(container: string, permissions: string) {
	return service.getContainerClient(container).generateSasUrl({ permissions: ContainerSASPermissions.parse(permissions), expiresOn: new Date(Date.now() + 3600_000) });
}

/** An account key of the right shape that is not the account's. */
const wrongKey = Buffer.from('not the key of this account, but 64 bytes long all the same....').toString('base64');

storeContract('Azure Blob (Azurite), account key', async () => {
	const container = await freshContainer('contract');
	const port = await closedPort();
	return {
		store: new AzureBlobStore(keyConfig(container)),
		broken: new AzureBlobStore(keyConfig('no-such-container')),
		reopen: (pageSize) => new AzureBlobStore({ ...keyConfig(container), pageSize }),
		badCredentials: () => new AzureBlobStore({ ...keyConfig(container), accountKey: wrongKey }),
		unreachable: () => new AzureBlobStore({ ...keyConfig(container), endpoint: `http://127.0.0.1:${port}/${server.accountName}` }),
		secrets: [server.accountKey],
		showsUnfinished: false,
	};
});

storeContract('Data Landing Zone (Azurite), container SAS URI', async () => {
	const container = await freshContainer('dlz');
	const url = await sasUrl(container, 'racwdl');
	const signature = new URL(url).searchParams.get('sig') as string;
	const port = await closedPort();
	const dlz = (sasUrl: string, pageSize = TEST_PAGE_SIZE) => new AzureBlobStore({ authentication: 'sasUrl', sasUrl, rootPath: 'landing', ...options, pageSize }, 'data-landing-zone');
	// a signature of the right shape that the account did not make
	const forged = new URL(url);
	forged.searchParams.set('sig', Buffer.from(randomUUID()).toString('base64'));
	return {
		store: dlz(url),
		broken: new AzureBlobStore({ authentication: 'sasUrl', sasUrl: url.replace(`/${container}?`, '/no-such-container?'), ...options }, 'data-landing-zone'),
		reopen: (pageSize) => dlz(url, pageSize),
		badCredentials: () => dlz(forged.toString()),
		unreachable: () => dlz(url.replace(`:${azurite.port}/`, `:${port}/`)),
		secrets: [signature, encodeURIComponent(signature), server.accountKey],
		showsUnfinished: false,
	};
});

const azurite = new URL(server.endpoint);
const throughProxy = (container: string) => (proxy: { url: string }) => new AzureBlobStore({ ...keyConfig(container), endpoint: `${proxy.url}/${server.accountName}`, network: FAULT_NETWORK });

faultSuite('Azure Blob (Azurite)', async () => {
	const container = await freshContainer('faults');
	return {
		server: { host: azurite.hostname, port: Number(azurite.port) },
		through: throughProxy(container),
		direct: new AzureBlobStore(keyConfig(container)),
		retriesParts: true,
		errorReply: (status) => azureError(status, status === 503 ? 'ServerBusy' : 'TooManyRequests'),
	};
});

lostReplySuite('Azure Blob (Azurite)', async () => {
	const container = await freshContainer('lost');
	return {
		server: { host: azurite.hostname, port: Number(azurite.port) },
		through: throughProxy(container),
		direct: new AzureBlobStore(keyConfig(container)),
		retriesParts: true,
		// Put Block List: PUT ?comp=blocklist
		bigCommit: { method: 'PUT', target: /comp=blocklist/ },
		busy: azureError(503, 'ServerBusy'),
	};
});

describe('Azure conditional creates on Azurite', () => {
	it('Put Blob and Put Block List with If-None-Match: * are a create-if-absent: 409 on a taken name, one winner of 8 racers each', async () => {
		const container = service.getContainerClient(await freshContainer('inm'));
		const text = async (name: string) => (await container.getBlobClient(name).downloadToBuffer()).toString();
		const putBlob = (name: string, body: string) => container.getBlockBlobClient(name).upload(body, body.length, { conditions: { ifNoneMatch: '*' } });
		await putBlob('p', 'first');
		await assert.rejects(putBlob('p', 'second'), (e: { statusCode?: number; code?: string }) => e.statusCode === 409 && e.code === 'BlobAlreadyExists');
		assert.equal(await text('p'), 'first');
		const puts = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => putBlob('race', `w${i}`)));
		assert.equal(puts.filter((r) => r.status === 'fulfilled').length, 1);
		const staged = await Promise.all(
			Array.from({ length: 8 }, async (_, i) => {
				const blob = container.getBlockBlobClient('blocks');
				const id = Buffer.from(`block-${i}`).toString('base64');
				await blob.stageBlock(id, Buffer.from(`b${i}`), 2);
				return () => blob.commitBlockList([id], { conditions: { ifNoneMatch: '*' } });
			}),
		);
		const commits = await Promise.allSettled(staged.map((commit) => commit()));
		const won = commits.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
		assert.equal(won.length, 1);
		for (const r of commits) if (r.status === 'rejected') assert.equal((r.reason as { statusCode?: number }).statusCode, 409);
		assert.equal(await text('blocks'), `b${won[0]}`);
	});
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

	it('an unreachable endpoint says it cannot reach it (unreachable, retryable)', async () => {
		await assert.rejects(new AzureBlobStore({ ...keyConfig(container), endpoint: 'http://127.0.0.1:1/devstoreaccount1' }).check(), (error: unknown) => {
			refused(/cannot reach 127\.0\.0\.1:1/)(error);
			assert.equal((error as StoreError).code, 'unreachable');
			assert.equal((error as StoreError).retryable, true);
			return true;
		});
	});

	it('missing fields are refused before any request', () => {
		assert.throws(() => new AzureBlobStore({ authentication: 'accountKey', accountName: 'a', container: 'c' }), /Account Key is empty/);
		assert.throws(() => new AzureBlobStore({ authentication: 'sasUrl', sasUrl: 'https://a.blob.core.windows.net/c' }), /no signature/);
	});
});

/**
 * ADLS Gen2 with a service principal, against the second Azurite (HTTPS, --oauth basic: it checks
 * each bearer token's issuer, audience and lifetime) and the token issuer standing in for Microsoft
 * Entra ID (scripts/servers/azurite-oauth.sh). Started lazily, so the tests above still run without it.
 */
let oauthServer: AzuriteOAuthServer | undefined;
const oauth = () => (oauthServer ??= azuriteOAuthServer());
const oauthAdmin = () => new BlobServiceClient(oauth().endpoint, new StorageSharedKeyCredential(oauth().accountName, oauth().accountKey));

async function freshOAuthContainer(label: string) {
	const name = `${label}-${randomUUID().slice(0, 8)}`;
	await oauthAdmin().getContainerClient(name).create();
	return name;
}

async function oauthBlobNames(container: string) {
	const names: string[] = [];
	for await (const blob of oauthAdmin().getContainerClient(container).listBlobsFlat()) names.push(blob.name);
	return names;
}

type ServicePrincipalFields = { tenantId?: string; clientId?: string; clientSecret?: string; authorityHost?: string; endpoint?: string; pageSize?: number };

/** The ADLS Gen2 store as the node opens it: abfss URL + service principal, on the OAuth Azurite. */
function adlsServicePrincipal(container: string, fields: ServicePrincipalFields = {}) {
	const s = oauth();
	return openStore({
		type: 'adlsGen2',
		authentication: 'servicePrincipal',
		url: `abfss://${container}@${s.accountName}.dfs.core.windows.net`,
		tenantId: s.tenantId,
		clientId: s.clientId,
		clientSecret: s.clientSecret,
		authorityHost: s.authorityHost,
		endpoint: s.endpoint,
		...options,
		...fields,
	});
}

storeContract('ADLS Gen2 (Azurite with OAuth), service principal via the Entra ID stand-in', async () => {
	const container = await freshOAuthContainer('sp-contract');
	const port = await closedPort();
	return {
		store: adlsServicePrincipal(container),
		broken: adlsServicePrincipal('no-such-file-system'),
		reopen: (pageSize) => adlsServicePrincipal(container, { pageSize }),
		badCredentials: () => adlsServicePrincipal(container, { clientSecret: 'Wrong8Q~not-the-secret-value-at-all-000' }),
		// signs in (Entra answers), then finds nothing listening at the Blob endpoint
		unreachable: () => adlsServicePrincipal(container, { endpoint: `https://127.0.0.1:${port}/${oauth().accountName}` }),
		secrets: [oauth().clientSecret, oauth().accountKey],
		showsUnfinished: false,
	};
});

describe('ADLS Gen2 service principal: sign-in refusals name the credential field', () => {
	let container: string;
	before(async () => {
		container = await freshOAuthContainer('sp-auth');
	});
	const refused =
		(pattern: RegExp, code = 'auth') =>
		(error: unknown) => {
			assert.ok(error instanceof StoreError, String(error));
			assert.equal(error.code, code);
			assert.match(error.message, /^ADLS Gen2 credential: /);
			assert.match(error.message, pattern);
			assert.ok(!error.message.includes(oauth().clientSecret), 'the client secret never appears in errors');
			assert.ok(!/Trace ID|Correlation ID/.test(error.message), "Entra's first sentence only, not its trace details");
			return true;
		};
	/** A refused sign-in fails check() and a write alike, and nothing lands in the file system. */
	async function refusedEverywhere(fields: ServicePrincipalFields, pattern: RegExp) {
		await assert.rejects(adlsServicePrincipal(container, fields).check(), refused(pattern));
		await assert.rejects(writeText(adlsServicePrincipal(container, fields), 'denied/x.txt', 'x'), refused(pattern));
		assert.deepEqual(await oauthBlobNames(container), [], 'nothing written');
	}

	it('the right service principal writes and reads; Azurite saw a bearer token (no key was given)', async () => {
		const store = adlsServicePrincipal(container);
		await store.check();
		await writeText(store, 'ok/hello.txt', 'hi');
		assert.equal((await readAll(await store.read('ok/hello.txt'))).toString(), 'hi');
		assert.equal(store.type, 'adls-gen2');
		await store.delete('ok/hello.txt');
	});

	it('a wrong client secret: "Client Secret" (AADSTS7000215)', async () => {
		await refusedEverywhere(
			{ clientSecret: 'Wrong8Q~not-the-secret-value-at-all-000' },
			/Client Secret was refused by Microsoft Entra ID \(AADSTS7000215: Invalid client secret provided\.\); use the secret's Value/,
		);
	});

	it('an unknown tenant: "Tenant ID" (AADSTS90002)', async () => {
		const tenantId = randomUUID();
		await refusedEverywhere({ tenantId }, new RegExp(`Tenant ID "${tenantId}" was not found by ${oauth().authorityHost} \\(AADSTS90002: Tenant '${tenantId}' not found\\.\\)`));
	});

	it('an unknown client: "Client ID" (AADSTS700016)', async () => {
		const clientId = randomUUID();
		await refusedEverywhere(
			{ clientId },
			new RegExp(`Client ID "${clientId}" is not an application in tenant "${oauth().tenantId}" \\(AADSTS700016: Application with identifier '${clientId}' was not found`),
		);
	});

	it('an Authority Host that does not answer: "Authority Host"', async () => {
		// a port that was free a moment ago
		const port = await new Promise<number>((done) => {
			const server = createServer().listen(0, '127.0.0.1', () => {
				const { port } = server.address() as { port: number };
				server.close(() => done(port));
			});
		});
		const authorityHost = `https://127.0.0.1:${port}`;
		// not a refusal: nothing listens there (unreachable, retried by the retry layer)
		await assert.rejects(
			adlsServicePrincipal(container, { authorityHost }).check(),
			refused(new RegExp(`cannot reach the Authority Host ${authorityHost} \\(ECONNREFUSED\\); check Authority Host`), 'unreachable'),
		);
	});

	it('missing or malformed fields are refused before any request, naming the field', () => {
		const config = (fields: ServicePrincipalFields) => () => adlsServicePrincipal(container, fields);
		assert.throws(config({ clientSecret: '' }), /ADLS Gen2 credential: Client Secret is empty/);
		assert.throws(config({ clientId: ' ' }), /Client ID is empty/);
		assert.throws(config({ tenantId: '' }), /Tenant ID is empty/);
		assert.throws(config({ tenantId: 'my tenant/..' }), /Tenant ID must be the directory \(tenant\) ID/);
		assert.throws(config({ authorityHost: 'http://login.microsoftonline.com' }), /Authority Host must be an https:\/\/ address/);
		assert.throws(config({ endpoint: 'http://127.0.0.1:10099/devstoreaccount1' }), /Blob Endpoint must be https:\/\/ with a service principal/);
	});

	it("secrets stay out of the token issuer's log", () => {
		const log = readFileSync(join(dirname(oauth().caFile), 'issuer.log'), 'utf8');
		assert.match(log, /POST \/[^ ]+\/oauth2\/v2\.0\/token 401 AADSTS7000215/);
		assert.ok(!log.includes(oauth().clientSecret));
	});
});

describe('the OAuth Azurite really checks bearer tokens (issuer, audience, lifetime; not the signature)', () => {
	/** An unsigned-looking JWT with the given claims, handed to the Blob client as its token. */
	function tokenWith(claims: Record<string, unknown>): Pick<ClientSecretCredential, 'getToken'> {
		const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
		const token = `${part({ typ: 'JWT', alg: 'RS256' })}.${part(claims)}.${Buffer.from('not a signature').toString('base64url')}`;
		return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600_000 }) };
	}
	const now = () => Math.floor(Date.now() / 1000);
	const good = () => ({ aud: 'https://storage.azure.com', iss: `https://sts.windows.net/${oauth().tenantId}/`, iat: now() - 60, nbf: now() - 60, exp: now() + 600 });
	const probe = (claims: Record<string, unknown>) => new BlobServiceClient(oauth().endpoint, tokenWith(claims), { retryOptions: { maxTries: 1 } }).getContainerClient('probe').exists();

	it('accepts well-formed claims whatever the signature (the part that is not real)', async () => {
		assert.equal(await probe(good()), false);
	});

	for (const [what, change, reason] of [
		['another audience', { aud: 'https://vault.azure.net' }, /audience/i],
		['another issuer', { iss: 'https://issuer.example/tenant/' }, /issuer/i],
		['an expired token', { exp: now() - 60 }, /expired/i],
		['a token not yet valid', { nbf: now() + 600 }, /^Lifetime validation failed\.$/],
	] as const) {
		it(`refuses ${what}`, async () => {
			await assert.rejects(probe({ ...good(), ...change }), (error: { statusCode?: number; details?: { errorCode?: string; authenticationErrorDetail?: string } }) => {
				assert.equal(error.statusCode, 403);
				assert.equal(error.details?.errorCode, 'AuthenticationFailed');
				assert.match(String(error.details?.authenticationErrorDetail), reason);
				return true;
			});
		});
	}
});
