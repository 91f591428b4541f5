import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Google Cloud Storage: HMAC keys on the S3-compatible XML API (Adobe's way, and the default, so
 * credentials saved before the Authentication choice existed keep working), or a service account's
 * JSON key on the JSON API.
 */
export class DatasetExportGoogleCloudStorageApi implements ICredentialType {
	name = 'datasetExportGoogleCloudStorageApi';

	displayName = 'Dataset Export Google Cloud Storage API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#google-cloud-storage';

	properties: INodeProperties[] = [
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'options',
			options: [
				{ name: 'HMAC Keys (XML API)', value: 'hmac' },
				{ name: 'Service Account JSON', value: 'serviceAccount' },
			],
			default: 'hmac',
		},
		{
			displayName: 'HMAC Access ID',
			name: 'accessKeyId',
			type: 'string',
			default: '',
			required: true,
			displayOptions: { show: { authentication: ['hmac'] } },
			description: 'From Cloud Storage › Settings › Interoperability (a service account HMAC key)',
		},
		{
			displayName: 'HMAC Secret',
			name: 'secretAccessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: { show: { authentication: ['hmac'] } },
		},
		{
			displayName: 'XML API Endpoint',
			name: 'endpoint',
			type: 'string',
			default: 'https://storage.googleapis.com',
			displayOptions: { show: { authentication: ['hmac'] } },
			description: "Cloud Storage's S3-compatible XML API endpoint",
		},
		{
			displayName: 'Service Account JSON',
			name: 'serviceAccountJson',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: { show: { authentication: ['serviceAccount'] } },
			description:
				'The whole JSON key file of the service account (IAM › Service accounts › Keys › Add key › JSON). It needs to create, list, read and delete objects in the bucket (e.g. Storage Object Admin on the bucket).',
		},
		{
			displayName: 'API Endpoint',
			name: 'apiEndpoint',
			type: 'string',
			default: '',
			placeholder: 'https://storage.googleapis.com',
			displayOptions: { show: { authentication: ['serviceAccount'] } },
			description: 'Leave empty for Google. Set it for a private endpoint (https://, gets the service account token) or an emulator (http://, gets no credentials).',
		},
	];
}
