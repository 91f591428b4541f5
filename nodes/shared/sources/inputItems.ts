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
				'Every input item becomes one record of the dataset named below, and the node runs once for all of them. The same items sent again (a retried execution) are the same batch: an incremental export then exports nothing twice. n8n already holds the items in memory: keep to tens of thousands of small items per execution, and read bigger data from a lake.',
			name: 'inputItemsNotice',
			type: 'notice',
			default: '',
		},
	],
	locationParameter: 'dataset',
	nodes: ['exportDataset'],
	scope: 'execution',
	open({ get, node, itemIndex, records }) {
		if (!records) throw new NodeOperationError(node, 'Input Items can only be read while the node runs', { itemIndex });
		const chosen = get('dataset');
		const id = chosen !== null && typeof chosen === 'object' ? (chosen as { value?: unknown }).value : chosen;
		return new InputItemsSource(String(id ?? '').trim(), records());
	},
};
