import { text, type Destination } from './types';

export const localFolder: Destination = {
	value: 'localFolder',
	name: 'Local Folder',
	description: 'A folder on the n8n host or a mounted volume',
	credential: 'datasetExportLocalFolderApi',
	config: (credential) => ({ type: 'localFolder', path: text(credential.rootPath) }),
	test: { ok: () => 'The folder exists and is writable' },
};
