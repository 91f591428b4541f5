import type { ICredentialType, INodeProperties } from 'n8n-workflow';
import { DatasetExportAdlsGen2Api } from './DatasetExportAdlsGen2Api.credentials';

/**
 * A lake in Azure Data Lake Storage Gen2, read by the ADLS Gen2 Lake source: the same fields as the destination
 * credential, as a type of its own, so a node can read a lake with one account and write exports
 * with another of the same kind (n8n gives a node one credential per type).
 */
export class DatasetExportAdlsGen2LakeApi implements ICredentialType {
	name = 'datasetExportAdlsGen2LakeApi';

	displayName = 'Dataset Export ADLS Gen2 Lake API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#lakes-in-cloud-storage-and-on-sftp';

	properties: INodeProperties[] = new DatasetExportAdlsGen2Api().properties;
}
