import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Azure Data Lake Storage Gen2, addressed by its abfss URL, written through the Blob API, with the
 * storage account's key or as a service principal (Microsoft Entra ID application + client secret).
 */
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
			// credentials saved before this choice existed have no value here and keep using the key
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			options: [
				{ name: 'Account Key', value: 'accountKey' },
				{ name: 'Service Principal', value: 'servicePrincipal', description: 'A Microsoft Entra ID application (tenant ID, client ID, client secret)' },
			],
			default: 'accountKey',
		},
		{
			displayName: 'Account Key',
			name: 'accountKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: { show: { authentication: ['accountKey'] } },
		},
		{
			displayName: 'Tenant ID',
			name: 'tenantId',
			type: 'string',
			default: '',
			required: true,
			placeholder: '00000000-0000-0000-0000-000000000000',
			displayOptions: { show: { authentication: ['servicePrincipal'] } },
			description: 'The directory (tenant) ID of the Microsoft Entra ID tenant the application is registered in',
		},
		{
			displayName: 'Client ID',
			name: 'clientId',
			type: 'string',
			default: '',
			required: true,
			placeholder: '00000000-0000-0000-0000-000000000000',
			displayOptions: { show: { authentication: ['servicePrincipal'] } },
			description: 'The application (client) ID of the app registration',
		},
		{
			displayName: 'Client Secret',
			name: 'clientSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: { show: { authentication: ['servicePrincipal'] } },
			description: "The client secret's Value (not its Secret ID). The application needs a data role such as Storage Blob Data Contributor on the account or container.",
		},
		{
			displayName: 'Authority Host',
			name: 'authorityHost',
			type: 'string',
			default: 'https://login.microsoftonline.com',
			displayOptions: { show: { authentication: ['servicePrincipal'] } },
			description: 'Where Microsoft Entra ID signs in: change it only for sovereign clouds (e.g. https://login.microsoftonline.us, https://login.chinacloudapi.cn) or Azure Stack',
		},
		{
			displayName: 'Blob Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			placeholder: 'https://account.blob.core.windows.net',
			description: "Leave empty for the account's public Blob endpoint (set it for sovereign clouds or emulators)",
		},
	];
}
