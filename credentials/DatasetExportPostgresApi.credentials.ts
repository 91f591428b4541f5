import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** A PostgreSQL database whose tables and views are exported (Source: PostgreSQL). */
export class DatasetExportPostgresApi implements ICredentialType {
	name = 'datasetExportPostgresApi';

	displayName = 'Dataset Export PostgreSQL API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#postgresql-tables-as-datasets';

	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: 'localhost', required: true },
		{ displayName: 'Port', name: 'port', type: 'number', default: 5432 },
		{ displayName: 'Database', name: 'database', type: 'string', default: 'postgres', required: true },
		{ displayName: 'User', name: 'user', type: 'string', default: '', required: true, description: 'A user that may read the tables (SELECT); nothing is ever written' },
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'options',
			options: [
				{ name: 'Disable', value: 'disable', description: 'No encryption (a server on the same host or private network)' },
				{ name: 'Require', value: 'require', description: "Encrypted; the server's certificate is not checked" },
				{ name: 'Verify Full', value: 'verify-full', description: "Encrypted; the server's certificate and host name are checked" },
			],
			default: 'disable',
		},
		{
			displayName: 'CA Certificate',
			name: 'ca',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			description: "PEM of the certificate authority that signed the server's certificate (empty: the system's)",
			displayOptions: { show: { ssl: ['verify-full'] } },
		},
	];
}
