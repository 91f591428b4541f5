import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** An Azure Storage account (Blob): connection string, account + key, or a SAS URL. */
export class DatasetExportAzureBlobApi implements ICredentialType {
	name = 'datasetExportAzureBlobApi';

	displayName = 'Dataset Export Azure Blob API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#azure-blob';

	properties: INodeProperties[] = [
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			options: [
				{ name: 'Connection String', value: 'connectionString' },
				{ name: 'Account Name and Key', value: 'accountKey' },
				{ name: 'SAS URL', value: 'sasUrl' },
			],
			default: 'connectionString',
		},
		{
			displayName: 'Connection String',
			name: 'connectionString',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['connectionString'] } },
			description: "The storage account's connection string (Access keys in the Azure portal)",
		},
		{
			displayName: 'Account Name',
			name: 'accountName',
			type: 'string',
			default: '',
			displayOptions: { show: { authentication: ['accountKey'] } },
		},
		{
			displayName: 'Account Key',
			name: 'accountKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['accountKey'] } },
		},
		{
			displayName: 'Blob Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			placeholder: 'https://myaccount.blob.core.windows.net',
			displayOptions: { show: { authentication: ['accountKey'] } },
			description: 'Leave empty for https://ACCOUNT.blob.core.windows.net (set it for sovereign clouds or emulators)',
		},
		{
			displayName: 'SAS URL',
			name: 'sasUrl',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { authentication: ['sasUrl'] } },
			description: "A container SAS URL, or an account SAS URL (then the node's Container is used). Needs create and write permission to export.",
		},
	];
}
