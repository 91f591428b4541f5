import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A folder on the n8n host (or a volume mounted into it) that exports may be written to. Exports
 * stay inside it: a node's Folder Path is always relative to this root.
 */
export class DatasetExportLocalFolderApi implements ICredentialType {
	name = 'datasetExportLocalFolderApi';

	displayName = 'Dataset Export Local Folder API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#local-folder';

	properties: INodeProperties[] = [
		{
			displayName: 'Root Folder',
			name: 'rootPath',
			type: 'string',
			default: '',
			required: true,
			placeholder: '/data/exports',
			description: 'Absolute path of an existing, writable folder on the n8n host. Every export is written below it; in Docker, mount a volume here.',
		},
	];
}
