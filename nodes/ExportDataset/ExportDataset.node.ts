import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';
import { attempt, RequestError } from '../../lib/errors';
import { runExport, type ExportMode, type SchemaMismatchPolicy } from '../../lib/export/run';
import {
	checkDatasetId,
	checkNoDateSelection,
	checkFileNamePrefix,
	checkFolderPath,
	checkFolderTemplate,
	codecOf,
	compressionProperties,
	fileTypeOf,
	fileTypeOptions,
	fileTypeTerms,
	numericOption,
	pathText,
	schemaMismatchOf,
} from './parameters';
import { toNodeError, type ParameterTerms } from '../shared/errors';
import { credentialTest } from '../shared/methods/credentialTest';
import { searchDatasets } from '../shared/methods/listSearch';
import { SOURCES_NAMING_DATASET } from '../shared/sources';
import { networkPolicy, sourceDatasetParameter, sourceFrom, sourceScope, sourceTerms, sourceWithoutDateSelection, storeFrom, type NetworkOptions } from '../shared/transport';
import {
	credentialFor,
	destinationFieldProperties,
	destinationProperty,
	folderPathProperty,
	folderTemplateOption,
	layoutOptions,
	docs,
	networkOptions,
	sourcePropertiesFor,
	type LayoutOptionValues,
} from '../shared/properties';

interface ExportOptions extends LayoutOptionValues, NetworkOptions {
	exportTime?: string;
	maxRecordsPerFile?: number;
	maxFileSizeMb?: number;
	lookbackDays?: number;
	startDate?: string;
	endDate?: string;
	fileNamePrefix?: string;
	rowGroupRows?: number;
	cleanupAfterHours?: number;
	schemaMismatch?: SchemaMismatchPolicy;
}

export class ExportDataset implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Export Dataset',
		name: 'exportDataset',
		icon: { light: 'file:exportDataset.svg', dark: 'file:exportDataset.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["mode"] + " · " + $parameter["fileType"] }}',
		description: 'Export a dataset to storage as NDJSON or Parquet, incrementally, with a manifest',
		documentationUrl: docs('export-dataset'),
		defaults: { name: 'Export Dataset' },
		// an AI agent may run it: exports never overwrite, and an incremental export repeated by
		// mistake commits only a "nothing new" manifest
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		// the destination registry's credentials (nodes/shared/destinations), spelled out because n8n's
		// lint reads credential lists and their Test buttons only as literals in node files
		credentials: [
			{ name: 'datasetExportLocalFolderApi', required: true, displayOptions: credentialFor('localFolder'), testedBy: 'localFolderConnectionTest' },
			{ name: 'datasetExportS3Api', required: true, displayOptions: credentialFor('amazonS3'), testedBy: 'amazonS3ConnectionTest' },
			{ name: 'datasetExportSftpApi', required: true, displayOptions: credentialFor('sftp'), testedBy: 'sftpConnectionTest' },
			{ name: 'datasetExportAzureBlobApi', required: true, displayOptions: credentialFor('azureBlob'), testedBy: 'azureBlobConnectionTest' },
			{ name: 'datasetExportAdlsGen2Api', required: true, displayOptions: credentialFor('adlsGen2'), testedBy: 'adlsGen2ConnectionTest' },
			{ name: 'datasetExportDataLandingZoneApi', required: true, displayOptions: credentialFor('dataLandingZone'), testedBy: 'dataLandingZoneConnectionTest' },
			{ name: 'datasetExportGoogleCloudStorageApi', required: true, displayOptions: credentialFor('googleCloudStorage'), testedBy: 'googleCloudStorageConnectionTest' },
			// the source registry's credentials (nodes/shared/sources)
			{ name: 'datasetExportS3LakeApi', required: true, displayOptions: { show: { source: ['amazonS3Lake'] } }, testedBy: 'amazonS3LakeConnectionTest' },
			{ name: 'datasetExportSftpLakeApi', required: true, displayOptions: { show: { source: ['sftpLake'] } }, testedBy: 'sftpLakeConnectionTest' },
			{ name: 'datasetExportAzureBlobLakeApi', required: true, displayOptions: { show: { source: ['azureBlobLake'] } }, testedBy: 'azureBlobLakeConnectionTest' },
			{ name: 'datasetExportAdlsGen2LakeApi', required: true, displayOptions: { show: { source: ['adlsGen2Lake'] } }, testedBy: 'adlsGen2LakeConnectionTest' },
			{ name: 'datasetExportDataLandingZoneLakeApi', required: true, displayOptions: { show: { source: ['dataLandingZoneLake'] } }, testedBy: 'dataLandingZoneLakeConnectionTest' },
			{ name: 'datasetExportGoogleCloudStorageLakeApi', required: true, displayOptions: { show: { source: ['googleCloudStorageLake'] } }, testedBy: 'googleCloudStorageLakeConnectionTest' },
			{ name: 'datasetExportPostgresApi', required: true, displayOptions: { show: { source: ['postgres'] } }, testedBy: 'postgresConnectionTest' },
		],
		properties: [
			...sourcePropertiesFor('exportDataset'),
			{
				displayName: 'Dataset',
				name: 'dataset',
				type: 'resourceLocator',
				default: { mode: 'id', value: '={{ $json.id }}' },
				required: true,
				description: 'The dataset to export: pick one, or map the ID from List Eligible Datasets',
				hint: 'The default maps {{ $json.id }}, so each item from List Eligible Datasets exports its dataset',
				// sources that name the dataset themselves (Input Items' Dataset Name)
				displayOptions: { hide: { source: SOURCES_NAMING_DATASET } },
				modes: [
					{
						displayName: 'From List',
						name: 'list',
						type: 'list',
						typeOptions: { searchListMethod: 'searchDatasets', searchable: true },
					},
					{ displayName: 'By ID', name: 'id', type: 'string', placeholder: 'ajo_message_feedback_event_dataset' },
				],
			},
			destinationProperty,
			...destinationFieldProperties,
			folderPathProperty,
			{
				displayName: 'Mode',
				name: 'mode',
				type: 'options',
				options: [
					{
						name: 'Incremental',
						value: 'incremental',
						description: 'First run exports everything; later runs only batches ingested since the last committed export',
					},
					{ name: 'Full', value: 'full', description: 'Every run exports a complete snapshot' },
				],
				default: 'incremental',
				description: 'Whether each run exports only what is new or the whole dataset',
				hint: 'Incremental reads its position from the newest manifest at the destination: keep Include Manifest on',
			},
			{
				displayName: 'File Type',
				name: 'fileType',
				type: 'options',
				// the format registry's formats (lib/format); the default is a literal, as n8n's lint wants
				// (test/unit/format-registry.test.ts checks it is registered)
				options: fileTypeOptions(),
				default: 'parquet',
				description: 'Format of the exported files',
			},
			// one Compression per format, its codecs from the registry
			...compressionProperties(),
			{
				displayName: 'Include Manifest',
				name: 'includeManifest',
				type: 'boolean',
				default: true,
				description: 'Whether to write a manifest (file list, record counts, checksums, window) after the data files. Required for incremental mode and for Verify Export.',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'End Date',
						name: 'endDate',
						type: 'dateTime',
						default: '',
						description: 'Only export batches ingested at or before this time (UTC)',
					},
					{
						displayName: 'Export Time',
						name: 'exportTime',
						type: 'string',
						default: '',
						placeholder: '={{ $json.timestamp }}',
						description:
							"The schedule's time, floored to the minute (UTC). Empty: the input item's scheduledTime or timestamp (Schedule Trigger), else now. With Source Input Items: this option, else now.",
					},
					{
						displayName: 'File Name Prefix',
						name: 'fileNamePrefix',
						type: 'string',
						default: 'part',
						description: 'Files are named PREFIX-NUMBER-UUID.EXTENSION: unique, never overwritten',
					},
					folderTemplateOption,
					{
						displayName: 'Lookback Days',
						name: 'lookbackDays',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 365,
						description: 'Only export batches ingested in the last N days (Adobe uses 365 for event datasets). Remove the option for no limit.',
					},
					{
						displayName: 'Max File Size (MB)',
						name: 'maxFileSizeMb',
						type: 'number',
						typeOptions: { minValue: 0.01, numberPrecision: 2 },
						default: 256,
						description: 'Start a new file after about this many megabytes. Remove the option for no limit.',
					},
					{
						displayName: 'Max Records per File',
						name: 'maxRecordsPerFile',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 1000000,
						description: 'Start a new file after this many records. Remove the option for no limit.',
					},
					{
						displayName: 'On Schema Mismatch',
						name: 'schemaMismatch',
						type: 'options',
						options: [
							{
								name: 'Fail',
								value: 'fail',
								description: 'The run fails, naming the dataset, batch, file, line, field, value and expected type; nothing is committed',
							},
							{
								name: 'Evolve',
								value: 'evolve',
								description: 'New fields become new nullable columns and conflicting types widen to JSON text; the manifest records the schema written',
							},
							{
								name: 'Skip Record',
								value: 'skip',
								description: 'Records that do not fit are left out, counted in the report and the manifest, the first ones listed as examples',
							},
						],
						default: 'fail',
						description: 'What to do with a record that does not fit the schema: a value of another type, or a field the schema lacks',
					},
					{
						displayName: 'Parquet Row Group Size',
						name: 'rowGroupRows',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 10000,
						description: 'Rows per Parquet row group. Larger groups compress a little better and use more memory while exporting.',
					},
					{
						displayName: 'Remove Leftovers After (Hours)',
						name: 'cleanupAfterHours',
						type: 'number',
						typeOptions: { minValue: 0 },
						default: 24,
						description:
							'Files, temporary files and unfinished uploads of earlier runs of the dataset that never committed are removed by the next run once the run that left them started this long ago (it might still be running before that)',
					},
					{
						displayName: 'Start Date',
						name: 'startDate',
						type: 'dateTime',
						default: '',
						description: 'Only export batches ingested after this time (UTC)',
					},
					...layoutOptions,
					...networkOptions,
				],
			},
		],
	};

	methods = {
		listSearch: { searchDatasets },
		credentialTest,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const out: INodeExecutionData[] = [];
		const signal = this.getExecutionCancelSignal?.();
		const summary = { exported: 0, nothingNew: 0, superseded: 0, failed: 0, records: 0, files: 0, bytes: 0, warnings: 0 };
		// a source read once per execution (Input Items) exports all items as one dataset, with the
		// parameters of the first; otherwise every item is one export
		const perExecution = sourceScope(this) === 'execution';
		const exportsToRun = perExecution ? Math.min(items.length, 1) : items.length;
		const pairedWith = (i: number) => (perExecution ? items.map((_, item) => ({ item })) : { item: i });
		const named = sourceDatasetParameter(this);
		const noDates = sourceWithoutDateSelection(this);
		for (let i = 0; i < exportsToRun; i++) {
			let datasetId = '';
			try {
				datasetId = String((named ? this.getNodeParameter(named.name, i, '') : this.getNodeParameter('dataset', i, '', { extractValue: true })) ?? '');
				checkDatasetId(datasetId, named?.displayName);
				const fileType = fileTypeOf(this.getNodeParameter('fileType', i));
				// read with a fallback: when File Type is an expression, the editor may not have stored the other choice's parameter
				const terms = fileTypeTerms(fileType);
				const codec = codecOf(fileType, this.getNodeParameter(terms.parameter, i, terms.fallback));
				const options = this.getNodeParameter('options', i, {}) as ExportOptions;
				// read once per execution, the first item is a record like the others, not a trigger's output
				const input = perExecution ? {} : items[i].json;
				if (noDates) checkNoDateSelection(options, noDates.name, noDates.why);
				const folderPath = pathText(this.getNodeParameter('folderPath', i, ''), 'folderPath', 'Folder Path');
				checkFolderPath(folderPath);
				const folderTemplate = options.folderTemplate === undefined ? undefined : pathText(options.folderTemplate, 'folderTemplate', 'Folder Template');
				for (const [key, label] of [
					['destinationName', 'Destination Name'],
					['sandboxName', 'Sandbox Name'],
					['organizationName', 'Organization Name'],
					['fileNamePrefix', 'File Name Prefix'],
				] as const) {
					pathText(options[key], key, label);
				}
				checkFileNamePrefix(options.fileNamePrefix);
				checkFolderTemplate(folderPath, folderTemplate, {
					datasetId: datasetId.trim() || 'dataset',
					destination: String(this.getNodeParameter('destination', i, '')),
					destinationName: options.destinationName,
					sandboxName: options.sandboxName,
					organizationName: options.organizationName,
				});
				const megabytes = { one: 'MB', many: 'MB' };
				const maxFileSizeMb = numericOption(options.maxFileSizeMb, 'maxFileSizeMb', 'Max File Size (MB)', megabytes, false);
				const maxRecordsPerFile = numericOption(options.maxRecordsPerFile, 'maxRecordsPerFile', 'Max Records per File', { one: 'record', many: 'records' }, true);
				const lookbackDays = numericOption(options.lookbackDays, 'lookbackDays', 'Lookback Days', { one: 'day', many: 'days' }, false, ' (100 years; remove the option to export every batch)');
				const rowGroupRows = numericOption(options.rowGroupRows, 'rowGroupRows', 'Parquet Row Group Size', { one: 'row', many: 'rows' }, true, ' (a row group is held in memory while it is written)');
				const cleanupAfterHours = numericOption(options.cleanupAfterHours, 'cleanupAfterHours', 'Remove Leftovers After (Hours)', { one: 'hour', many: 'hours' }, false);
				const schemaMismatch = schemaMismatchOf(options.schemaMismatch);
				const retry = networkPolicy(options);
				const source = sourceFrom(this, i);
				const store = await storeFrom(this, i);
				const report = await runExport(source, store, {
					datasetId,
					mode: this.getNodeParameter('mode', i) as ExportMode,
					fileType,
					codec,
					folderPath,
					includeManifest: this.getNodeParameter('includeManifest', i, true) as boolean,
					exportTime: exportTimeOf(options, input),
					folderTemplate,
					maxRecordsPerFile,
					maxBytesPerFile: maxFileSizeMb === undefined ? undefined : Math.round(maxFileSizeMb * 1024 * 1024),
					lookbackDays,
					startDate: options.startDate,
					endDate: options.endDate,
					fileNamePrefix: options.fileNamePrefix,
					destinationName: options.destinationName,
					sandboxName: options.sandboxName,
					organizationName: options.organizationName,
					rowGroupRows,
					retry,
					cleanupAfterMs: cleanupAfter(cleanupAfterHours),
					schemaMismatch,
					signal,
					onProgress: progressLog(this, datasetId),
				}).finally(() => Promise.all([store.close(), source?.close?.()]));
				summary[report.status === 'nothing-new' ? 'nothingNew' : report.status === 'superseded' ? 'superseded' : 'exported']++;
				summary.warnings += report.warnings.length;
				for (const warning of report.warnings) this.logger?.warn(`Export Dataset: ${report.datasetId}: ${warning}`);
				summary.records += report.totals.records;
				summary.files += report.totals.files;
				summary.bytes += report.totals.bytes;
				this.logger?.info(
					`Export Dataset: ${report.datasetId} ${report.status}: ${report.totals.records} records in ${report.totals.files} files (${report.totals.bytes} bytes) in ${report.durationMs} ms`,
				);
				out.push({ json: report as unknown as IDataObject, pairedItem: pairedWith(i) });
			} catch (caught) {
				const error = explainExportTime(caught, optionsOf(this, i), perExecution ? {} : items[i].json);
				const nodeError = toNodeError(this.getNode(), error, i, { datasetId }, exportTerms(this, i));
				summary.failed++;
				if (!this.continueOnFail()) throw nodeError;
				out.push({ json: { error: nodeError.message }, error: nodeError, pairedItem: pairedWith(i) });
			}
		}
		this.addExecutionHints?.({
			message: summaryText(summary),
			type: summary.failed || summary.warnings ? 'warning' : 'info',
			location: 'outputPane',
		});
		return [out];
	}
}

/** The export time: the option, else the input item's scheduledTime or timestamp (a Schedule Trigger's). */
function exportTimeOf(options: ExportOptions, input: IDataObject): unknown {
	return options.exportTime || input.scheduledTime || input.timestamp || undefined;
}

/** The engine's fields in this node's terms: the source's parameter, and the chosen file type's Compression for `codec`. */
function exportTerms(context: IExecuteFunctions, itemIndex: number): ParameterTerms {
	const terms = sourceTerms(context, itemIndex);
	const fileType = attempt(() => fileTypeOf(context.getNodeParameter('fileType', itemIndex)));
	return fileType.ok ? { ...terms, codec: fileTypeTerms(fileType.value).parameter } : terms;
}

function optionsOf(context: IExecuteFunctions, itemIndex: number): ExportOptions {
	try {
		return context.getNodeParameter('options', itemIndex, {}) as ExportOptions;
	} catch {
		return {};
	}
}

/** An unreadable export time that came from the input item, not the option: say where it came from. */
function explainExportTime(error: unknown, options: ExportOptions, input: IDataObject): unknown {
	if (!(error instanceof RequestError) || error.field !== 'exportTime' || options.exportTime) return error;
	const field = input.scheduledTime ? 'scheduledTime' : 'timestamp';
	return new RequestError(error.message.replace(/^Export Time:/, `Export Time (from the input item's ${field}; set Options › Export Time to override it):`), 'exportTime');
}

/** Options › Remove Leftovers After (Hours), in milliseconds (the engine checks the value). */
function cleanupAfter(hours: number | undefined): number | undefined {
	return hours === undefined ? undefined : hours * 3_600_000;
}

/** Progress of a long export in n8n's log: one line every 10 seconds with running totals. */
function progressLog(context: IExecuteFunctions, datasetId: string) {
	let last = Date.now();
	return (progress: { records: number; bytes: number; files: number }) => {
		const now = Date.now();
		if (now - last < 10_000) return;
		last = now;
		context.logger?.info(`Export Dataset: ${datasetId}: ${progress.records} records in ${progress.files} files (${megabytes(progress.bytes)}) so far`);
	};
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function summaryText(s: { exported: number; nothingNew: number; superseded: number; failed: number; records: number; files: number; bytes: number; warnings: number }): string {
	const parts = [`Exported ${s.exported} dataset${s.exported === 1 ? '' : 's'}: ${s.records.toLocaleString('en-US')} records in ${s.files} files (${megabytes(s.bytes)})`];
	if (s.nothingNew) parts.push(`${s.nothingNew} had nothing new`);
	if (s.superseded) parts.push(`${s.superseded} superseded by a run that committed the same batches first`);
	if (s.warnings) parts.push(`${s.warnings} warning${s.warnings === 1 ? '' : 's'} (see each item's warnings)`);
	if (s.failed) parts.push(`${s.failed} failed (see the error output)`);
	return parts.join('; ');
}
