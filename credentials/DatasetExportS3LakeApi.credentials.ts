import type { ICredentialType, INodeProperties } from 'n8n-workflow';
import { DatasetExportS3Api } from './DatasetExportS3Api.credentials';

/**
 * A lake in Amazon S3, read by the S3 Lake source: the same fields as the destination
 * credential, as a type of its own, so a node can read a lake with one account and write exports
 * with another of the same kind (n8n gives a node one credential per type).
 */
export class DatasetExportS3LakeApi implements ICredentialType {
	name = 'datasetExportS3LakeApi';

	displayName = 'Dataset Export S3 Lake API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#lakes-in-cloud-storage-and-on-sftp';

	properties: INodeProperties[] = new DatasetExportS3Api().properties;
}
