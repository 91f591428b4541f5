/** Connection details of the test servers that scripts/servers/*.sh started (see scripts/test.sh). */
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface SftpServer {
	host: string;
	port: number;
	username: string;
	password: string;
	privateKeyPath: string;
	rsaKeyPath: string;
	rsaPassphrase: string;
	hostFingerprint: string;
	home: string;
	uid: number;
	gid: number;
}

const root = join(__dirname, '..', '..', '.tmp', 'servers');

export function sftpServer(): SftpServer {
	const file = join(root, 'sftp', 'env.json');
	if (!existsSync(file)) throw new Error(`the SFTP test server is not running: start it with "bash scripts/servers/sftp.sh start" (${file} is missing)`);
	return JSON.parse(readFileSync(file, 'utf8')) as SftpServer;
}

/** A fresh folder in the SFTP user's home, owned by that user. */
export function sftpFolder(server: SftpServer, label: string): string {
	const path = join(server.home, `${label}-${randomUUID().slice(0, 8)}`);
	mkdirSync(path);
	chownSync(path, server.uid, server.gid);
	return path;
}

export interface AzuriteServer {
	accountName: string;
	accountKey: string;
	endpoint: string;
}

export function azuriteServer(): AzuriteServer {
	const file = join(root, 'azurite', 'env.json');
	if (!existsSync(file)) throw new Error(`Azurite is not running: start it with "bash scripts/servers/azurite.sh start" (${file} is missing)`);
	return JSON.parse(readFileSync(file, 'utf8')) as AzuriteServer;
}

/**
 * The second Azurite (scripts/servers/azurite-oauth.sh): HTTPS, bearer tokens checked (--oauth
 * basic), plus the token issuer standing in for Microsoft Entra ID, which knows one tenant, client
 * and secret. The account key is for the tests' own set-up and look-ups.
 */
export interface AzuriteOAuthServer extends AzuriteServer {
	authorityHost: string;
	tenantId: string;
	clientId: string;
	clientSecret: string;
	/** The test CA that signed both servers' certificate. */
	caFile: string;
}

export function azuriteOAuthServer(): AzuriteOAuthServer {
	const file = join(root, 'azurite-oauth', 'env.json');
	if (!existsSync(file)) throw new Error(`the OAuth Azurite and token issuer are not running: start them with "bash scripts/servers/azurite-oauth.sh start" (${file} is missing)`);
	const server = JSON.parse(readFileSync(file, 'utf8')) as AzuriteOAuthServer;
	// Node reads NODE_EXTRA_CA_CERTS once, at start-up: it cannot be set from inside the test
	const trusted = process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS) ? readFileSync(process.env.NODE_EXTRA_CA_CERTS, 'utf8') : '';
	if (!trusted.includes(readFileSync(server.caFile, 'utf8').trim())) {
		throw new Error(`the OAuth Azurite's test CA is not trusted: run the tests with NODE_EXTRA_CA_CERTS naming a file that holds ${server.caFile} (scripts/test.sh makes one)`);
	}
	return server;
}

export interface S3Server {
	endpoint: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
	/** A role the user may assume (STS AssumeRole on the same endpoint); its policy allows s3:*… */
	roleArn: string;
	/** …except PutObject into buckets whose names start with this (the user itself may write there). */
	roleDeniedBucketPrefix: string;
	/** A role whose trust policy requires sts:ExternalId = externalId. */
	externalIdRoleArn: string;
	externalId: string;
}

/** A new bucket on the test S3 server. */
export async function freshBucket(label: string): Promise<string> {
	const server = s3Server();
	const admin = new S3Client({ region: server.region, endpoint: server.endpoint, forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
	const bucket = `${label}-${randomUUID().slice(0, 8)}`;
	await admin.send(new CreateBucketCommand({ Bucket: bucket }));
	admin.destroy();
	return bucket;
}

export function s3Server(): S3Server {
	const file = join(root, 'ceph', 'env.json');
	if (!existsSync(file)) throw new Error(`the S3 test server (Ceph radosgw) is not running: start it with "bash scripts/servers/ceph.sh start" (${file} is missing)`);
	return JSON.parse(readFileSync(file, 'utf8')) as S3Server;
}

export interface PostgresServer {
	host: string;
	port: number;
	database: string;
	user: string;
	password: string;
	superuser: string;
	superuserPassword: string;
	/** The test CA that signed the server's TLS certificate (for 127.0.0.1). */
	caFile: string;
}

export function postgresServer(): PostgresServer {
	const file = join(root, 'postgres', 'env.json');
	if (!existsSync(file)) throw new Error(`PostgreSQL is not running: start it with "bash scripts/servers/postgres.sh start" (${file} is missing)`);
	return JSON.parse(readFileSync(file, 'utf8')) as PostgresServer;
}
