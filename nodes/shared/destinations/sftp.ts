import { optional, text, type Destination } from './types';

export const sftp: Destination = {
	value: 'sftp',
	name: 'SFTP',
	description: 'An SFTP server (password or key, pinned host key)',
	credential: 'datasetExportSftpApi',
	config: (credential) => ({
		type: 'sftp',
		host: text(credential.host),
		port: Number(credential.port) || 22,
		username: text(credential.username),
		password: optional(credential.password),
		privateKey: optional(credential.privateKey),
		passphrase: optional(credential.passphrase),
		hostFingerprint: optional(credential.hostFingerprint),
		rootPath: optional(credential.rootPath),
	}),
	// log in (checking the pinned host key) and find the root folder
	test: { ok: () => 'Logged in and found the root folder' },
};
