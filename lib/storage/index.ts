import { LocalFolderStore } from './local';
import { SftpStore, type SftpConfig } from './sftp';
import { AzureBlobStore, type AzureBlobConfig } from './azure';
import { S3Store, type S3Config } from './s3';
import { StoreError, type Store } from './types';

export * from './types';
export * from './common';
export { AzureBlobStore, LocalFolderStore, S3Store, SftpStore };

/** Destination types and the names the UI shows for them. */
export const DESTINATIONS = {
	localFolder: { label: 'Local Folder', storeType: 'local-folder' },
	amazonS3: { label: 'Amazon S3', storeType: 'amazon-s3' },
	sftp: { label: 'SFTP', storeType: 'sftp' },
	azureBlob: { label: 'Azure Blob', storeType: 'azure-blob' },
	dataLandingZone: { label: 'Data Landing Zone', storeType: 'data-landing-zone' },
} as const;

export type DestinationType = keyof typeof DESTINATIONS;

/** Settings of a destination: the credential's fields plus node parameters such as a bucket. */
export type DestinationConfig =
	| { type: 'localFolder'; path: string }
	| ({ type: 'amazonS3' } & S3Config)
	| ({ type: 'sftp' } & SftpConfig)
	| ({ type: 'azureBlob' } & AzureBlobConfig)
	| { type: 'dataLandingZone'; sasUrl: string; rootPath?: string };

export function openStore(config: DestinationConfig): Store {
	switch (config.type) {
		case 'localFolder':
			return new LocalFolderStore(config.path);
		case 'sftp':
			return new SftpStore(config);
		case 'amazonS3':
			return new S3Store({ ...config, label: 'S3 credential' });
		case 'azureBlob':
			return new AzureBlobStore({ ...config, label: 'Azure Blob credential' });
		case 'dataLandingZone':
			return new AzureBlobStore({ authentication: 'sasUrl', sasUrl: config.sasUrl, rootPath: config.rootPath, label: 'Data Landing Zone credential' }, 'data-landing-zone');
		default:
			throw new StoreError(`unknown destination type "${(config as { type: string }).type}"`, 'config');
	}
}
