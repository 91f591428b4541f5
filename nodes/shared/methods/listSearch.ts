/** The editor's searchable lists (resource locators). */
import type { ILoadOptionsFunctions, INodeListSearchResult } from 'n8n-workflow';
import { exportedDatasets } from '../../../lib/export/manifest';
import { DEFAULT_FOLDER_TEMPLATE } from '../../../lib/export/template';
import { cleanPath } from '../../../lib/storage/common';
import { sourceFrom, sourceScope, storeFrom } from '../transport';

/** Searchable dataset list for resource locators. */
export async function searchDatasets(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
	// a source read once per execution (Input Items) has no datasets before it runs: the name is typed
	if (sourceScope(this) === 'execution') return { results: [] };
	const source = sourceFrom(this);
	const datasets = await source.listDatasets().finally(() => source.close?.());
	const needle = (filter ?? '').toLowerCase();
	return {
		results: datasets
			.filter((d) => !needle || d.id.toLowerCase().includes(needle) || d.name.toLowerCase().includes(needle))
			.map((d) => ({ name: `${d.name} (${d.kind}, ${d.tier})`, value: d.id, description: d.description })),
	};
}

/**
 * Searchable list for Verify Export's dataset: the datasets with committed exports below the
 * node's Folder Path at its destination (the lake is not needed to verify).
 */
export async function searchExportedDatasets(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
	const store = await storeFrom(this, 0);
	const options = (this.getCurrentNodeParameter('options') ?? {}) as { folderTemplate?: string };
	const folderPath = cleanPath(String(this.getCurrentNodeParameter('folderPath') ?? ''));
	const datasets = await exportedDatasets(store, folderPath, options.folderTemplate || DEFAULT_FOLDER_TEMPLATE).finally(() => store.close());
	const needle = (filter ?? '').toLowerCase();
	return {
		results: datasets
			.filter((d) => !needle || d.datasetId.toLowerCase().includes(needle) || d.datasetName.toLowerCase().includes(needle))
			.map((d) => ({ name: d.datasetName ? `${d.datasetName} (${d.datasetId})` : d.datasetId, value: d.datasetId, description: `Last ${d.mode} export ${d.exportTime}` })),
	};
}
