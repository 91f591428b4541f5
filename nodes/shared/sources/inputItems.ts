import { NodeOperationError } from 'n8n-workflow';
import { InputItemsSource } from '../../../lib/source/input-items';
import type { SourceOption } from './types';

/** This node's input items as one dataset, one batch per execution (lib/source/input-items). */
export const inputItems: SourceOption = {
	value: 'inputItems',
	name: 'Input Items',
	description: "This node's input items, as one dataset: one batch per execution",
	properties: [
		{
			displayName:
				'Every input item becomes one record of the dataset named below, and the node runs once for all of them. Items identical to a batch already exported (a retried execution, or the same data sent again later) export nothing twice. n8n already holds the items in memory: keep to tens of thousands of small items per execution, and read bigger data from a lake.',
			name: 'inputItemsNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'Dataset Name',
			name: 'datasetName',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'orders',
			description: 'The dataset the items become: the same name every execution, so its exports continue one another',
		},
	],
	locationParameter: 'datasetName',
	datasetParameter: { name: 'datasetName', displayName: 'Dataset Name' },
	nodes: ['exportDataset'],
	scope: 'execution',
	noDateSelection: "each execution's items are one batch, received now",
	open({ get, node, itemIndex, records }) {
		if (!records) throw new NodeOperationError(node, 'Input Items can only be read while the node runs', { itemIndex });
		return new InputItemsSource(String(get('datasetName') ?? '').trim(), records());
	},
};
