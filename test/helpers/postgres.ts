/**
 * A fresh database on the test PostgreSQL (scripts/servers/postgres.sh) for a source test, owned
 * by the unprivileged test user, and SQL as that user. Dropped and made again by each test file
 * that asks for it, so runs never see each other's rows.
 */
import { Client } from 'pg';
import type { PostgresConnection } from '../../lib/source/postgres';
import { postgresServer } from './servers';

export async function freshDatabase(name: string): Promise<PostgresConnection> {
	const server = postgresServer();
	const admin = new Client({ host: server.host, port: server.port, database: 'postgres', user: server.superuser, password: server.superuserPassword, connectionTimeoutMillis: 10_000 });
	await admin.connect();
	try {
		await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
		await admin.query(`CREATE DATABASE "${name}" OWNER "${server.user}"`);
	} finally {
		await admin.end();
	}
	return { host: server.host, port: server.port, database: name, user: server.user, password: server.password };
}

/** A client of `connection` as its user (the caller ends it). */
export async function sqlClient(connection: PostgresConnection): Promise<Client> {
	const client = new Client({ ...connection, connectionTimeoutMillis: 10_000, ssl: false });
	client.on('error', () => undefined);
	await client.connect();
	return client;
}

/** Run statements once as the connection's user. */
export async function sql(connection: PostgresConnection, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
	const client = await sqlClient(connection);
	try {
		return (await client.query(text, params)).rows;
	} finally {
		await client.end();
	}
}
