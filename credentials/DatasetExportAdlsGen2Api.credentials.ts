import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** Azure Data Lake Storage Gen2, addressed by its abfss URL, written through the Blob API. */
export class DatasetExportAdlsGen2Api implements ICredentialType {
	name = 'datasetExportAdlsGen2Api';

	displayName = 'Dataset Export ADLS Gen2 API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#adls-gen2';

	properties: INodeProperties[] = [
		{
			displayName: 'URL',
			name: 'url',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'abfss://container@account.dfs.core.windows.net',
			description: 'The file system (container) and account, as abfss://CONTAINER@ACCOUNT.dfs.core.windows.net',
		},
		{
			displayName: 'Account Key',
			name: 'accountKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Blob Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			placeholder: 'https://account.blob.core.windows.net',
			description: 'Leave empty for the account\'s public Blob endpoint (set it for sovereign clouds or emulators)',
		},
	];
}
