/** Node parameters shared by the three nodes: where datasets come from and where exports go. */
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import { DEFAULT_FOLDER_TEMPLATE, MACROS } from '../../lib/export/template';

export const README = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#readme';
/** A section of the README (the nodes' documentation links). */
export const docs = (anchor: string) => README.replace('#readme', `#${anchor}`);

export const sourceProperties: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'source',
		type: 'options',
		noDataExpression: true,
		options: [{ name: 'Local Lake', value: 'localLake', description: 'A folder with one sub-folder per dataset' }],
		default: 'localLake',
		description: 'Where the datasets are read from',
	},
	{
		displayName: 'Lake Path',
		name: 'lakePath',
		type: 'string',
		default: '',
		required: true,
		placeholder: '/data/lake',
		description:
			'Folder of the local lake on the n8n host: one sub-folder per dataset (a metadata file plus a batches folder), or plain sub-folders of data files',
		hint: 'A leading ~ is the home folder of the user n8n runs as (/home/node in the Docker image)',
		displayOptions: { show: { source: ['localLake'] } },
	},
];

export const DESTINATION_OPTIONS: INodePropertyOptions[] = [
	{ name: 'Local Folder', value: 'localFolder', description: 'A folder on the n8n host or a mounted volume' },
	{ name: 'Amazon S3', value: 'amazonS3', description: 'Amazon S3 or an S3-compatible store (Ceph, MinIO, R2, …)' },
	{ name: 'SFTP', value: 'sftp', description: 'An SFTP server (password or key, pinned host key)' },
	{ name: 'Azure Blob', value: 'azureBlob', description: 'An Azure Storage container' },
	{ name: 'Azure Data Lake Storage Gen2', value: 'adlsGen2', description: 'An ADLS Gen2 file system (abfss URL)' },
	{ name: 'Data Landing Zone', value: 'dataLandingZone', description: "Adobe's Data Landing Zone (container SAS URI)" },
	{ name: 'Google Cloud Storage', value: 'googleCloudStorage', description: 'A Cloud Storage bucket (service-account JSON or HMAC keys)' },
];

/**
 * Show a credential only for one destination. Written with `hide` (every other destination), not
 * `show`: when credentials' `show` conditions cover every value of a parameter, n8n's editor takes
 * that parameter for the node's "authentication" field and moves it out of the parameter list,
 * which would hide Destination (and with it Bucket and Container) from the user.
 */
export function credentialFor(destination: string): { hide: { destination: string[] } } {
	return { hide: { destination: DESTINATION_OPTIONS.map((o) => String(o.value)).filter((v) => v !== destination) } };
}

export const destinationProperty: INodeProperties = {
	displayName: 'Destination',
	name: 'destination',
	type: 'options',
	noDataExpression: true,
	options: DESTINATION_OPTIONS,
	default: 'localFolder',
	description: 'Where the export files are written; each destination has its own credential',
};


export const bucketProperty: INodeProperties = {
	displayName: 'Bucket',
	name: 'bucket',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'my-exports',
	description: 'The bucket the exports go to',
	displayOptions: { show: { destination: ['amazonS3', 'googleCloudStorage'] } },
};

export const containerProperty: INodeProperties = {
	displayName: 'Container',
	name: 'container',
	type: 'string',
	default: '',
	required: true,
	placeholder: 'exports',
	description: 'The Azure container (not needed when the credential is a container SAS URL: leave it as it is)',
	displayOptions: { show: { destination: ['azureBlob'] } },
};

export const folderPathProperty: INodeProperties = {
	displayName: 'Folder Path',
	name: 'folderPath',
	type: 'string',
	default: 'exports',
	placeholder: 'exports/ajo',
	description: 'Folder inside the destination that exports are written below (no ".." segments)',
	hint: 'Each export lands in Folder Path / dataset ID / exportTime=YYYYMMDDHHMM unless Options › Folder Template says otherwise',
};

export const folderTemplateOption: INodeProperties = {
	displayName: 'Folder Template',
	name: 'folderTemplate',
	type: 'string',
	default: DEFAULT_FOLDER_TEMPLATE,
	description: `Layout of each export's folder below Folder Path. Macros: ${MACROS.join(', ')}. Must match the template Export Dataset used.`,
};

export const layoutOptions: INodeProperties[] = [
	{
		displayName: 'Destination Name',
		name: 'destinationName',
		type: 'string',
		default: '',
		description: 'Value of %DESTINATION_INSTANCE_NAME% (defaults to the destination type)',
	},
	{
		displayName: 'Sandbox Name',
		name: 'sandboxName',
		type: 'string',
		default: 'prod',
		description: 'Value of %SANDBOX_NAME%',
	},
	{
		displayName: 'Organization Name',
		name: 'organizationName',
		type: 'string',
		default: '',
		description: 'Value of %ORGANIZATION_NAME%',
	},
];

/** Options of Export Dataset and Verify Export: how the destination's network is treated. */
export const networkOptions: INodeProperties[] = [
	{
		displayName: 'Network Timeout (Seconds)',
		name: 'timeoutSeconds',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 60,
		description: 'A connection to the destination that makes no progress for this long fails (and is retried)',
	},
	{
		displayName: 'Retries',
		name: 'retries',
		type: 'number',
		typeOptions: { minValue: 0, maxValue: 20 },
		default: 4,
		description:
			'How often a transient failure (dropped connection, timeout, HTTP 429 or 5xx, SFTP disconnect) is retried, per request and per file, with exponential backoff. Works with On Error › Continue, where n8n\'s own Retry On Fail does not run.',
	},
	{
		displayName: 'Max Retry Time (Seconds)',
		name: 'maxRetrySeconds',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 180,
		description: 'Longest time one request, file or commit may spend retrying before the export fails',
	},
];
