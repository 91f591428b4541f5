/**
 * Node parameters shared by the nodes: where exports go below the destination, their layout and
 * network options. The Source and Destination parameters come from their registries (sources/,
 * destinations/).
 */
export { sourceCredentials, sourcePropertiesFor } from './sources';
export { credentialFor, destinationCredentials, destinationFieldProperties, destinationProperty } from './destinations';
import type { INodeProperties } from 'n8n-workflow';
import { DEFAULT_FOLDER_TEMPLATE, MACROS } from '../../lib/export/template';

export const README = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#readme';
/** A section of the README (the nodes' documentation links). */
export const docs = (anchor: string) => README.replace('#readme', `#${anchor}`);

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

/** The values of Options › Folder Template and the layout options, as the nodes read them. */
export interface LayoutOptionValues {
	folderTemplate?: string;
	destinationName?: string;
	sandboxName?: string;
	organizationName?: string;
}

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
			"How often a transient failure (dropped connection, timeout, HTTP 429 or 5xx, SFTP disconnect) is retried, per request and per file, with exponential backoff. Works with On Error › Continue, where n8n's own Retry On Fail does not run.",
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
