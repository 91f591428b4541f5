import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';
import { verifyExport } from '../../lib/verify/verify';
import { ownWords, toNodeError } from '../shared/errors';
import { credentialTest } from '../shared/methods/credentialTest';
import { searchExportedDatasets } from '../shared/methods/listSearch';
import { sourceFrom, sourceTerms, storeFrom, type NetworkOptions } from '../shared/transport';
import {
	destinationCredentials,
	destinationFieldProperties,
	destinationProperty,
	folderPathProperty,
	folderTemplateOption,
	layoutOptions,
	type LayoutOptionValues,
	docs,
	networkOptions,
	sourceCredentials,
	sourcePropertiesFor,
} from '../shared/properties';

/** Reconcile With Lake: the lake's fields as Export Dataset shows them, shown when reconciling. */
const reconcileProperties: INodeProperties[] = [
	{
		displayName: 'Reconcile With Lake',
		name: 'reconcile',
		type: 'boolean',
		default: false,
		noDataExpression: true,
		description:
			"Whether to compare each exported batch's record count with the count in the lake's batch metadata (batches whose count the lake cannot give without reading them are listed as not reconciled)",
	},
	...sourcePropertiesFor('verifyExport').map((property) => ({
		...property,
		displayOptions: { show: { ...(property.displayOptions?.show ?? {}), reconcile: [true] } },
	})),
];

/** The destinations' credentials, and a source's only when Reconcile With Lake reads the source. */
const verifyCredentials = [...destinationCredentials, ...sourceCredentials('verifyExport').map((c) => ({ ...c, displayOptions: { show: { ...c.displayOptions?.show, reconcile: [true] } } }))];

interface VerifyOptions extends LayoutOptionValues, NetworkOptions {
	checksums?: boolean;
	decodeParquet?: boolean;
	checkOrphans?: boolean;
	checkContinuity?: boolean;
}

export class VerifyExport implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Verify Export',
		name: 'verifyExport',
		icon: { light: 'file:verifyExport.svg', dark: 'file:verifyExport.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["verify"] }}',
		description: 'Check an export at its destination: manifest, files, sizes, structure, checksums, record counts, unlisted files, batches and schema changes',
		documentationUrl: docs('verify-export'),
		defaults: { name: 'Verify Export' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: verifyCredentials,
		properties: [
			destinationProperty,
			...destinationFieldProperties,
			{
				displayName: 'Verify',
				name: 'verify',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Manifest', value: 'manifest', description: 'The export a manifest describes (Export Dataset passes its manifestPath)' },
					{ name: 'Latest Export of a Dataset', value: 'latest', description: 'The newest committed export of a dataset' },
					{ name: 'Export at a Time', value: 'exportTime', description: "A dataset's export at a given export time" },
				],
				default: 'manifest',
				description: 'Which export to check',
			},
			{
				displayName: 'Manifest Path',
				name: 'manifestPath',
				type: 'string',
				default: '={{ $json.manifestPath }}',
				required: true,
				description: 'Path of the manifest inside the destination, as Export Dataset outputs it',
				displayOptions: { show: { verify: ['manifest'] } },
			},
			{
				displayName: 'Dataset',
				name: 'datasetId',
				type: 'resourceLocator',
				default: { mode: 'id', value: '={{ $json.datasetId ?? $json.id }}' },
				required: true,
				description: 'The exported dataset: pick one of those exported below Folder Path, or map its ID',
				displayOptions: { show: { verify: ['latest', 'exportTime'] } },
				modes: [
					{
						displayName: 'From Destination',
						name: 'list',
						type: 'list',
						typeOptions: { searchListMethod: 'searchExportedDatasets', searchable: true },
					},
					{ displayName: 'By ID', name: 'id', type: 'string', placeholder: 'ajo_message_feedback_event_dataset' },
				],
			},
			{ ...folderPathProperty, displayOptions: { show: { verify: ['latest', 'exportTime'] } } },
			{
				displayName: 'Export Time',
				name: 'exportTime',
				type: 'dateTime',
				default: '',
				required: true,
				description: 'Export time of the export to check (floored to the minute, UTC)',
				displayOptions: { show: { verify: ['exportTime'] } },
			},
			...reconcileProperties,
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Check Batches Exported Once',
						name: 'checkContinuity',
						type: 'boolean',
						default: true,
						description: 'Whether to check in the commit log that no batch of the export is in another committed incremental export of the dataset',
					},
					{
						displayName: 'Check Unlisted Files',
						name: 'checkOrphans',
						type: 'boolean',
						default: true,
						description: "Whether objects below the dataset's export folder that no committed export lists fail the check (files of runs that never committed, temporary files, unfinished uploads)",
					},
					{
						displayName: 'Decode Parquet Data',
						name: 'decodeParquet',
						type: 'boolean',
						default: true,
						description: 'Whether to decode every column chunk of Parquet files (one row group in memory at a time); otherwise their ends, footers and row counts only',
					},
					{
						displayName: 'Verify Checksums',
						name: 'checksums',
						type: 'boolean',
						default: true,
						description:
							"Whether to read every file to check its SHA-256. Without it, sizes, record counts and each file's structure are still checked, but a changed byte that leaves the file valid goes unseen.",
					},
					{ ...folderTemplateOption, displayOptions: { show: { '/verify': ['latest', 'exportTime'] } } },
					...layoutOptions,
					...networkOptions,
				],
			},
		],
	};

	methods = { listSearch: { searchExportedDatasets }, credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		const signal = this.getExecutionCancelSignal?.();
		let passed = 0;
		const warnings: string[] = [];
		for (let i = 0; i < items.length; i++) {
			try {
				const verify = this.getNodeParameter('verify', i) as string;
				const options = this.getNodeParameter('options', i, {}) as VerifyOptions;
				const manifestPath = verify === 'manifest' ? String(this.getNodeParameter('manifestPath', i) ?? '').trim() : undefined;
				if (verify === 'manifest' && !manifestPath) {
					throw new NodeOperationError(this.getNode(), 'Manifest Path is empty', {
						itemIndex: i,
						description: "Map the manifestPath of Export Dataset's output. An export written without a manifest cannot be verified.",
					});
				}
				const source = this.getNodeParameter('reconcile', i, false) === true ? sourceFrom(this, i) : undefined;
				const store = await storeFrom(this, i);
				const verdict = await verifyExport(store, {
					manifestPath,
					datasetId: verify !== 'manifest' ? datasetParameter(this.getNodeParameter('datasetId', i, '', { extractValue: true })) : undefined,
					folderPath: verify !== 'manifest' ? (this.getNodeParameter('folderPath', i, '') as string) : undefined,
					exportTime: verify === 'exportTime' ? this.getNodeParameter('exportTime', i) : undefined,
					signal,
					checksums: options.checksums,
					decode: options.decodeParquet,
					source,
					checkOrphans: options.checkOrphans,
					checkContinuity: options.checkContinuity,
					folderTemplate: options.folderTemplate,
					destinationName: options.destinationName,
					sandboxName: options.sandboxName,
					organizationName: options.organizationName,
				}).finally(() => Promise.all([store.close(), source?.close?.()]));
				const item: INodeExecutionData = { json: verdict as unknown as IDataObject, pairedItem: { item: i } };
				if (verdict.ok) passed++;
				for (const warning of verdict.warnings) warnings.push(`${verdict.datasetId}: ${warning}`);
				if (!verdict.ok) {
					const failure = new NodeOperationError(this.getNode(), ownWords(`Export of ${verdict.datasetId} failed verification: ${verdict.problems[0]}`), {
						itemIndex: i,
						description: verdict.problems.join('\n'),
					});
					failure.context.verdict = verdict as unknown as IDataObject;
					if (!this.continueOnFail()) throw failure;
					item.error = failure;
				}
				out.push(item);
			} catch (error) {
				const nodeError = toNodeError(this.getNode(), error, i, {}, sourceTerms(this, i));
				if (!this.continueOnFail()) throw nodeError;
				out.push({ json: { error: nodeError.message }, error: nodeError, pairedItem: { item: i } });
			}
		}
		const failed = items.length - passed;
		this.addExecutionHints?.({
			message: `${passed} of ${items.length} export${items.length === 1 ? '' : 's'} verified${failed ? `; ${failed} failed (see the error output)` : ''}`,
			type: failed ? 'warning' : 'info',
			location: 'outputPane',
		});
		if (warnings.length) {
			this.addExecutionHints?.({
				message: `${warnings.length} warning${warnings.length === 1 ? '' : 's'}: ${warnings.slice(0, 3).join(' | ')}${warnings.length > 3 ? ' | …' : ''}`,
				type: 'warning',
				location: 'outputPane',
			});
		}
		return [out];
	}
}

/** The dataset id from the resource locator (or from a plain string, as workflows saved before it hold). */
function datasetParameter(value: unknown): string {
	if (value && typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value ?? '');
	return String(value ?? '');
}
