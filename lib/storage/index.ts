import { LocalFolderStore } from './local';
import { SftpStore, type SftpConfig } from './sftp';
import { AzureBlobStore, type AzureBlobConfig } from './azure';
import { S3Store, type S3Config } from './s3';
import { GcsStore, type GcsConfig } from './gcs';
import { networkPolicy, type StoreOptions } from './network';
import { resilient, type ResilientStore } from './resilient';
import { StoreError, type NetworkPolicy, type Store } from './types';

export * from './types';
export * from './common';
export { networkPolicy, type StoreOptions } from './network';
export { adapterOf, ResilientStore } from './resilient';
export { AzureBlobStore, GcsStore, LocalFolderStore, S3Store, SftpStore };

/**
 * Settings of a destination: the credential's fields plus node parameters such as a bucket, and
 * optionally the network policy (idle timeout, retries) and a listing page size.
 */
export type DestinationConfig = StoreOptions &
	(
		| { type: 'localFolder'; path: string }
		| ({ type: 'amazonS3' } & S3Config)
		| { type: 'googleCloudStorage'; authentication?: 'hmac'; accessKeyId: string; secretAccessKey: string; endpoint?: string; bucket: string }
		| ({ type: 'googleCloudStorage'; authentication: 'serviceAccount' } & GcsConfig)
		| { type: 'adlsGen2'; url: string; authentication?: 'accountKey'; accountKey: string; endpoint?: string }
		| ({ type: 'adlsGen2'; url: string; authentication: 'servicePrincipal'; endpoint?: string } & Pick<AzureBlobConfig, 'tenantId' | 'clientId' | 'clientSecret' | 'authorityHost'>)
		| ({ type: 'sftp' } & SftpConfig)
		| ({ type: 'azureBlob' } & AzureBlobConfig)
		| { type: 'dataLandingZone'; sasUrl: string; rootPath?: string }
	);

/** `abfss://<container>@<account>.dfs.core.windows.net[/path]` → container and account. */
export function parseAbfss(url: string): { container: string; account: string; blobEndpoint: string } {
	const match = /^abfss?:\/\/([^@/]+)@([^./]+)\.dfs\.([^/]+)\/?$/.exec((url ?? '').trim());
	if (!match) throw new StoreError(`ADLS Gen2 credential: URL must look like abfss://CONTAINER@ACCOUNT.dfs.core.windows.net, not "${url}"`, 'config');
	// the same account's Blob endpoint, in the URL's cloud (core.windows.net, core.chinacloudapi.cn, core.usgovcloudapi.net, …)
	return { container: match[1], account: match[2], blobEndpoint: `https://${match[2]}.blob.${match[3]}` };
}

/**
 * The store for a destination: its adapter behind the retry layer (resilient.ts), both under the
 * same network policy (`network`, else config.network, over DEFAULT_NETWORK_POLICY).
 */
export function openStore(config: DestinationConfig, network?: Partial<NetworkPolicy>): ResilientStore {
	const policy = networkPolicy({ ...config.network, ...network });
	return resilient(openAdapter({ ...config, network: policy }), policy);
}

function openAdapter(config: DestinationConfig): Store {
	const options: StoreOptions = { network: config.network, pageSize: config.pageSize };
	switch (config.type) {
		case 'localFolder':
			return new LocalFolderStore(config.path, options);
		case 'sftp':
			return new SftpStore(config);
		case 'amazonS3':
			return new S3Store({ ...config, label: 'S3 credential' });
		case 'googleCloudStorage':
			// a service-account JSON key: the JSON API through Google's SDK
			if (config.authentication === 'serviceAccount') return new GcsStore({ ...config, label: 'Google Cloud Storage credential' });
			// HMAC keys (and credentials saved before the choice existed): the XML API speaks S3 (path-style, region "auto")
			return new S3Store({
				accessKeyId: config.accessKeyId,
				secretAccessKey: config.secretAccessKey,
				endpoint: config.endpoint || 'https://storage.googleapis.com',
				region: 'auto',
				forcePathStyle: true,
				bucket: config.bucket,
				label: 'Google Cloud Storage credential',
				type: 'google-cloud-storage',
				...options,
			});
		case 'adlsGen2': {
			const { container, account, blobEndpoint } = parseAbfss(config.url);
			const label = 'ADLS Gen2 credential';
			// a service principal signs in to Microsoft Entra ID; credentials saved before the choice existed use the key
			if (config.authentication === 'servicePrincipal') {
				const { tenantId, clientId, clientSecret, authorityHost } = config;
				const endpoint = config.endpoint || blobEndpoint;
				return new AzureBlobStore({ authentication: 'servicePrincipal', accountName: account, tenantId, clientId, clientSecret, authorityHost, endpoint, container, label, ...options }, 'adls-gen2');
			}
			return new AzureBlobStore(
				{ authentication: 'accountKey', accountName: account, accountKey: config.accountKey, endpoint: config.endpoint || blobEndpoint, container, label, ...options },
				'adls-gen2',
			);
		}
		case 'azureBlob':
			return new AzureBlobStore({ ...config, label: 'Azure Blob credential' });
		case 'dataLandingZone':
			return new AzureBlobStore({ authentication: 'sasUrl', sasUrl: config.sasUrl, rootPath: config.rootPath, label: 'Data Landing Zone credential', ...options }, 'data-landing-zone');
		default:
			throw new StoreError(`unknown destination type "${(config as { type: string }).type}"`, 'config');
	}
}
