import type { ICredentialType, INodeProperties } from 'n8n-workflow';

/** Adobe's Data Landing Zone: the container SAS URI its credentials API hands out. */
export class DatasetExportDataLandingZoneApi implements ICredentialType {
	name = 'datasetExportDataLandingZoneApi';

	displayName = 'Dataset Export Data Landing Zone API';

	icon = 'file:../nodes/ExportDataset/exportDataset.svg' as const;

	documentationUrl = 'https://github.com/n8n-nodes-dataset-export/n8n-nodes-dataset-export#data-landing-zone';

	properties: INodeProperties[] = [
		{
			displayName: 'SAS URI',
			name: 'sasUrl',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			placeholder: 'https://ACCOUNT.blob.core.windows.net/dlz-destination?sv=...&sig=...',
			description: "The destination container's SAS URI (dlzPath.SASUri from Adobe's Data Landing Zone credentials API)",
		},
	];
}
