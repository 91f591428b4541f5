import type { ICredentialType, INodeProperties } from 'n8n-workflow';
import { DatasetExportSftpApi } from './DatasetExportSftpApi.credentials';

/**
 * A lake in SFTP, read by the SFTP Lake source: the same fields as the destination
 * credential, as a type of its own, so a node can read a lake with one account and write exports
 * with another of the same kind (n8n gives a node one credential per type).
 */
export class DatasetExportSftpLakeApi implements ICredentialType {
	name = 'datasetExportSftpLakeApi';

	displayName = 'Dataset Export SFTP Lake API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#lakes-in-cloud-storage-and-on-sftp';

	properties: INodeProperties[] = new DatasetExportSftpApi().properties;
}
