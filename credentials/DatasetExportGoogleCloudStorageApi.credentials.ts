import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** Google Cloud Storage through its S3-compatible XML API with HMAC keys (Adobe's way). */
export class DatasetExportGoogleCloudStorageApi implements ICredentialType {
	name = 'datasetExportGoogleCloudStorageApi';

	displayName = 'Dataset Export Google Cloud Storage API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#google-cloud-storage';

	properties: INodeProperties[] = [
		{
			displayName: 'HMAC Access ID',
			name: 'accessKeyId',
			type: 'string',
			default: '',
			required: true,
			description: 'From Cloud Storage › Settings › Interoperability (a service account HMAC key)',
		},
		{ displayName: 'HMAC Secret', name: 'secretAccessKey', type: 'string', typeOptions: { password: true }, default: '', required: true },
		{
			displayName: 'XML API Endpoint',
			name: 'endpoint',
			type: 'string',
			default: 'https://storage.googleapis.com',
			description: "Cloud Storage's S3-compatible XML API endpoint",
		},
	];
}
