import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** Amazon S3 or an S3-compatible store (custom endpoint, path-style). */
export class DatasetExportS3Api implements ICredentialType {
	name = 'datasetExportS3Api';

	displayName = 'Dataset Export S3 API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#amazon-s3';

	properties: INodeProperties[] = [
		{ displayName: 'Access Key ID', name: 'accessKeyId', type: 'string', default: '', required: true },
		{ displayName: 'Secret Access Key', name: 'secretAccessKey', type: 'string', typeOptions: { password: true }, default: '', required: true },
		{
			displayName: 'Session Token',
			name: 'sessionToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'For temporary credentials (STS); leave empty otherwise',
		},
		{ displayName: 'Region', name: 'region', type: 'string', default: 'us-east-1', placeholder: 'eu-central-1' },
		{
			displayName: 'Custom Endpoint',
			name: 'endpoint',
			type: 'string',
			default: '',
			placeholder: 'https://s3.example.com',
			description: 'For S3-compatible stores (Ceph, MinIO, Cloudflare R2, Google Cloud Storage XML API, …). Empty: Amazon S3.',
		},
		{
			displayName: 'Force Path Style',
			name: 'forcePathStyle',
			type: 'boolean',
			default: false,
			description: 'Whether to put the bucket in the URL path instead of the host name (most S3-compatible stores need it; on when a custom endpoint is set)',
		},
		{
			displayName: 'Role ARN',
			name: 'roleArn',
			type: 'string',
			default: '',
			placeholder: 'arn:aws:iam::123456789012:role/dataset-export',
			description:
				'Role to assume (STS AssumeRole) with the keys above; its temporary credentials write the exports and are renewed before they expire. Empty: the keys write directly. With a Custom Endpoint, STS is asked there.',
		},
		{
			displayName: 'External ID',
			name: 'externalId',
			type: 'string',
			default: '',
			description: "Sent with AssumeRole when the role's trust policy requires one (the ID the role's owner gave you)",
			displayOptions: { hide: { roleArn: [''] } },
		},
		{
			displayName: 'Role Session Name',
			name: 'roleSessionName',
			type: 'string',
			default: 'n8n-dataset-export',
			description: "Name of the assumed role's session, as it shows in the store's audit logs (CloudTrail)",
			displayOptions: { hide: { roleArn: [''] } },
		},
	];
}
