import type { ICredentialType, INodeProperties } from 'n8n-workflow';
import { DatasetExportAzureBlobApi } from './DatasetExportAzureBlobApi.credentials';

/**
 * A lake in Azure Blob Storage, read by the Azure Blob Lake source: the same fields as the destination
 * credential, as a type of its own, so a node can read a lake with one account and write exports
 * with another of the same kind (n8n gives a node one credential per type).
 */
export class DatasetExportAzureBlobLakeApi implements ICredentialType {
	name = 'datasetExportAzureBlobLakeApi';

	displayName = 'Dataset Export Azure Blob Lake API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#lakes-in-cloud-storage-and-on-sftp';

	properties: INodeProperties[] = new DatasetExportAzureBlobApi().properties;
}
