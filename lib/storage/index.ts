import { LocalFolderStore } from './local';
import { SftpStore, type SftpConfig } from './sftp';
import { StoreError, type Store } from './types';

export * from './types';
export * from './common';
export { LocalFolderStore, SftpStore };

/** Destination types and the names the UI shows for them. */
export const DESTINATIONS = {
	localFolder: { label: 'Local Folder', storeType: 'local-folder' },
	sftp: { label: 'SFTP', storeType: 'sftp' },
} as const;

export type DestinationType = keyof typeof DESTINATIONS;

/** Settings of a destination: the credential's fields plus node parameters such as a bucket. */
export type DestinationConfig = { type: 'localFolder'; path: string } | ({ type: 'sftp' } & SftpConfig);

export function openStore(config: DestinationConfig): Store {
	switch (config.type) {
		case 'localFolder':
			return new LocalFolderStore(config.path);
		case 'sftp':
			return new SftpStore(config);
		default:
			throw new StoreError(`unknown destination type "${(config as { type: string }).type}"`, 'config');
	}
}
