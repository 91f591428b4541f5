import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** An SFTP server that exports are written to (host-key pinning recommended). */
export class DatasetExportSftpApi implements ICredentialType {
	name = 'datasetExportSftpApi';

	displayName = 'Dataset Export SFTP API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#sftp';

	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: '', required: true, placeholder: 'sftp.example.com' },
		{ displayName: 'Port', name: 'port', type: 'number', default: 22 },
		{ displayName: 'Username', name: 'username', type: 'string', default: '', required: true },
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Leave empty when logging in with a private key',
		},
		{
			displayName: 'Private Key',
			name: 'privateKey',
			type: 'string',
			typeOptions: { password: true, rows: 4 },
			default: '',
			description: 'OpenSSH or PEM private key (ed25519, ECDSA or RSA)',
		},
		{
			displayName: 'Passphrase',
			name: 'passphrase',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Passphrase of the private key, if it has one',
		},
		{
			displayName: 'Host Key Fingerprint',
			name: 'hostFingerprint',
			type: 'string',
			default: '',
			placeholder: 'SHA256:BO4q7EE6BK8QQfX1Qm7r0uEjx5ipV/5iJvWlQIcs+qE',
			description: 'The server\'s host key as "ssh-keygen -lf" prints it. When set, a server presenting any other key is refused.',
		},
		{
			displayName: 'Root Folder',
			name: 'rootPath',
			type: 'string',
			default: '',
			placeholder: '/upload',
			description: "Folder that the node's Folder Path is relative to (empty: the login folder)",
		},
	];
}
