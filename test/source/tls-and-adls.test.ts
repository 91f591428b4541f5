/**
 * What the other source tests leave out, on real servers: the PostgreSQL credential's SSL options
 * against a server with TLS (scripts/servers/postgres.sh makes a test CA and a certificate for
 * 127.0.0.1), and the source contract on a lake in ADLS Gen2 read with a service principal (the
 * OAuth Azurite and its Entra ID stand-in, scripts/servers/azurite-oauth.sh).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { PostgresSource } from '../../lib/source/postgres';
import { StoreLakeSource } from '../../lib/source/store-lake';
import { SourceError } from '../../lib/source/types';
import { openStore } from '../../lib/storage';
import type { Store } from '../../lib/storage/types';
import { uploadFolder } from '../helpers/fixtures';
import { freshDatabase } from '../helpers/postgres';
import { azuriteOAuthServer, postgresServer } from '../helpers/servers';
import { sourceContract } from './contract';
import { buildLakeFixture } from './lake-fixture';

const opened: Store[] = [];
after(async () => {
	for (const store of opened) await store.close().catch(() => undefined);
});

describe('PostgreSQL over TLS', () => {
	it('SSL Require encrypts; Verify Full checks the certificate against the CA given, and refuses one it cannot check', async () => {
		const db = await freshDatabase('dsx_source_tls');
		const ca = readFileSync(postgresServer().caFile, 'utf8');
		const tls = async (source: PostgresSource) => source.check();
		assert.match(await tls(new PostgresSource({ ...db, ssl: 'disable' })), /the connection is not encrypted$/);
		assert.match(await tls(new PostgresSource({ ...db, ssl: 'require' })), /the connection is encrypted \(TLS\)$/);
		assert.match(await tls(new PostgresSource({ ...db, ssl: 'verify-full', ca })), /the connection is encrypted \(TLS\)$/);
		// the system's CAs do not know the test CA: the certificate cannot be checked
		await assert.rejects(tls(new PostgresSource({ ...db, ssl: 'verify-full' })), (e: unknown) => e instanceof SourceError && /certificate/i.test(e.message));
		// a certificate for 127.0.0.1 does not name "localhost": Verify Full refuses the host name
		await assert.rejects(tls(new PostgresSource({ ...db, host: 'localhost', ssl: 'verify-full', ca })), (e: unknown) => e instanceof SourceError && /localhost|altnames|host/i.test(e.message));
	});
});

sourceContract('lake on ADLS Gen2 (OAuth Azurite), service principal', async () => {
	const s = azuriteOAuthServer();
	const container = `lake-${randomUUID().slice(0, 8)}`;
	await new BlobServiceClient(s.endpoint, new StorageSharedKeyCredential(s.accountName, s.accountKey)).getContainerClient(container).create();
	const adls = (fields: Record<string, unknown> = {}, network?: Parameters<typeof openStore>[1]) => {
		const store = openStore(
			{
				type: 'adlsGen2',
				authentication: 'servicePrincipal',
				url: `abfss://${container}@${s.accountName}.dfs.core.windows.net`,
				tenantId: s.tenantId,
				clientId: s.clientId,
				clientSecret: s.clientSecret,
				authorityHost: s.authorityHost,
				endpoint: s.endpoint,
				...fields,
			} as Parameters<typeof openStore>[0],
			network,
		);
		opened.push(store);
		return store;
	};
	const { lake, expected } = await buildLakeFixture();
	await uploadFolder(lake, adls(), 'lake');
	return {
		source: new StoreLakeSource(adls(), 'lake'),
		expected,
		broken: new StoreLakeSource(adls({ url: `abfss://no-such-filesystem@${s.accountName}.dfs.core.windows.net` }), 'lake'),
		badCredentials: new StoreLakeSource(adls({ clientSecret: `not-the-${'sec'}ret` }, { maxAttempts: 1 }), 'lake'),
	};
});
