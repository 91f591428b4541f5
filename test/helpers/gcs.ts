/** The Cloud Storage emulator that scripts/servers/gcs.sh started, and service-account keys for it. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, randomUUID } from 'node:crypto';

export interface GcsServer {
	/** JSON API endpoint (http://127.0.0.1:PORT). */
	endpoint: string;
	projectId: string;
}

export function gcsServer(): GcsServer {
	const file = join(__dirname, '..', '..', '.tmp', 'servers', 'gcs', 'env.json');
	if (!existsSync(file)) throw new Error(`the GCS emulator is not running: start it with "bash scripts/servers/gcs.sh start" (${file} is missing)`);
	return JSON.parse(readFileSync(file, 'utf8')) as GcsServer;
}

/**
 * A service-account JSON key file shaped like the ones Google issues, with a fresh RSA key. The
 * emulator checks no credentials, so this key is only parsed and checked locally.
 */
export function serviceAccountKey(projectId: string): Record<string, string> {
	const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
	const email = `dataset-export@${projectId}.iam.gserviceaccount.com`;
	return {
		type: 'service_account',
		project_id: projectId,
		private_key_id: randomUUID().replace(/-/g, ''),
		private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
		client_email: email,
		client_id: '100000000000000000001',
		auth_uri: 'https://accounts.google.com/o/oauth2/auth',
		token_uri: 'https://oauth2.googleapis.com/token',
		auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
		client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(email)}`,
		universe_domain: 'googleapis.com',
	};
}

export const freshBucketName = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
