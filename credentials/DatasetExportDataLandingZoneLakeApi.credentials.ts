import type { ICredentialType, INodeProperties } from 'n8n-workflow';
import { DatasetExportDataLandingZoneApi } from './DatasetExportDataLandingZoneApi.credentials';

/**
 * A lake in a Data Landing Zone container, read by the Data Landing Zone Lake source: the same fields as the destination
 * credential, as a type of its own, so a node can read a lake with one account and write exports
 * with another of the same kind (n8n gives a node one credential per type).
 */
export class DatasetExportDataLandingZoneLakeApi implements ICredentialType {
	name = 'datasetExportDataLandingZoneLakeApi';

	displayName = 'Dataset Export Data Landing Zone Lake API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#lakes-in-cloud-storage-and-on-sftp';

	properties: INodeProperties[] = new DatasetExportDataLandingZoneApi().properties;
}
