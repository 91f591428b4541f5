import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { eligibility, filterDatasets, type Tier } from '../../lib/eligibility';
import { FORMATS, type FileType } from '../../lib/format';
import type { DatasetKind } from '../../lib/source/types';
import { toNodeError } from '../shared/errors';
import { sourceFrom, sourceTerms } from '../shared/transport';
import { credentialTest } from '../shared/methods/credentialTest';
import { docs, sourceCredentials, sourcePropertiesFor } from '../shared/properties';

export class ListEligibleDatasets implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'List Eligible Datasets',
		name: 'listEligibleDatasets',
		icon: { light: 'file:listEligibleDatasets.svg', dark: 'file:listEligibleDatasets.dark.svg' },
		group: ['input'],
		version: 1,
		subtitle: '={{ "entitled: " + $parameter["entitledTier"] }}',
		description: 'List the datasets of a data lake and whether each may be exported',
		documentationUrl: docs('list-eligible-datasets'),
		defaults: { name: 'List Eligible Datasets' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: sourceCredentials('listEligibleDatasets'),
		properties: [
			...sourcePropertiesFor('listEligibleDatasets'),
			{
				displayName: 'Entitled Tier',
				name: 'entitledTier',
				type: 'options',
				options: [
					{ name: 'Prime', value: 'Prime', description: 'Prime datasets only' },
					{ name: 'Ultimate', value: 'Ultimate', description: 'Prime and Ultimate datasets' },
				],
				default: 'Ultimate',
				description: 'The product tier you are entitled to; datasets of a higher tier are listed as not eligible',
			},
			{
				displayName: 'Check Against File Type',
				name: 'fileType',
				type: 'options',
				// every registered format (lib/format): datasets whose schema it cannot hold are not eligible
				options: [...FORMATS.values()].map((f) => ({ name: f.name, value: f.id, description: `Datasets whose schema ${f.name} cannot hold are not eligible` })),
				default: 'parquet',
				description: 'The file type you will export to, so schemas it cannot represent are flagged',
			},
			{
				displayName: 'Only Eligible',
				name: 'onlyEligible',
				type: 'boolean',
				default: false,
				description: 'Whether to output only eligible datasets (otherwise every dataset, with the reason when not eligible)',
			},
			{
				displayName: 'Filters',
				name: 'filters',
				type: 'collection',
				placeholder: 'Add Filter',
				default: {},
				options: [
					{
						displayName: 'Kinds',
						name: 'kinds',
						type: 'multiOptions',
						options: [
							{ name: 'Event', value: 'event' },
							{ name: 'Lookup', value: 'lookup' },
							{ name: 'Profile', value: 'profile' },
						],
						default: [],
						description: 'Only datasets of these kinds',
					},
					{
						displayName: 'Name or Tag',
						name: 'match',
						type: 'string',
						default: '',
						placeholder: 'ajo*feedback*',
						description: 'Only datasets whose ID, name or a tag contains this text (* is a wildcard)',
					},
				],
			},
		],
	};

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				const filters = this.getNodeParameter('filters', i, {}) as { kinds?: DatasetKind[]; match?: string };
				const filter = {
					entitledTier: this.getNodeParameter('entitledTier', i) as Tier,
					fileType: this.getNodeParameter('fileType', i) as FileType,
					...filters,
				};
				const onlyEligible = this.getNodeParameter('onlyEligible', i, false) as boolean;
				// pass the trigger's time on, so Export Dataset can name folders after the schedule
				const scheduledTime = items[i].json.scheduledTime ?? items[i].json.timestamp;
				const source = sourceFrom(this, i);
				const datasets = filterDatasets(await source.listDatasets().finally(() => source.close?.()), filter).map((d) => eligibility(d, filter));
				for (const dataset of datasets) {
					if (onlyEligible && !dataset.eligible) continue;
					const json = { ...dataset } as unknown as IDataObject;
					if (scheduledTime) json.scheduledTime = scheduledTime as string;
					out.push({ json, pairedItem: { item: i } });
				}
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i, {}, sourceTerms(this, i));
				if (!this.continueOnFail()) throw nodeError;
				out.push({ json: { error: nodeError.message }, error: nodeError, pairedItem: { item: i } });
			}
		}
		return [out];
	}
}
