/**
 * The export engine: plan (export time, folder, window), then stream source → encoder →
 * splitter → store with back-pressure, then write the manifest last. It knows sources, formats
 * and stores only through their interfaces.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createEncoder, CODECS, formatProblem, type Codec, type Encoder, type EncodedFile, type FileType } from '../format';
import { attempt, attemptAsync } from '../errors';
import { stringifyJson } from '../json';
import { sliceChunk, SourceError, type BatchInfo, type DatasetInfo, type RecordChunk, type Source } from '../source/types';
import { baseName, cleanPath, joinPath, parentOf, writeText } from '../storage/common';
import { StoreError, type Store, type Upload } from '../storage/types';
import { findLatestManifest, manifestName, MANIFEST_VERSION, type ExportWindow, type Manifest, type ManifestFile } from './manifest';
import { DEFAULT_FOLDER_TEMPLATE, renderFolder, stablePrefix, TemplateError, validateTemplate, type TemplateValues } from './template';
import { floorToMinute, parseDate, uuidv7 } from './time';

export const GENERATOR = 'n8n-nodes-dataset-export';

export type ExportMode = 'incremental' | 'full';

export interface ExportRequest {
	datasetId: string;
	mode: ExportMode;
	fileType: FileType;
	codec: Codec;
	/** Base folder inside the destination. */
	folderPath: string;
	folderTemplate?: string;
	/** The schedule's time (e.g. the Schedule Trigger's timestamp); now when absent. */
	exportTime?: unknown;
	includeManifest?: boolean;
	maxRecordsPerFile?: number;
	/** Bytes; absent: no limit. */
	maxBytesPerFile?: number;
	lookbackDays?: number;
	startDate?: unknown;
	endDate?: unknown;
	fileNamePrefix?: string;
	destinationName?: string;
	sandboxName?: string;
	organizationName?: string;
	rowGroupRows?: number;
	gzipLevel?: number;
	signal?: AbortSignal;
	/** Called after each chunk with running totals. */
	onProgress?: (progress: { records: number; bytes: number; files: number }) => void;
	/** Clock, for tests. */
	now?: () => Date;
}

export interface ExportedFile {
	path: string;
	name: string;
	size: number;
	records: number;
	sha256: string;
}

export interface ExportReport {
	runId: string;
	status: 'committed' | 'nothing-new' | 'written-without-manifest';
	datasetId: string;
	datasetName: string;
	destination: { type: string; instanceName: string; instanceId: string };
	folder: string;
	exportTime: string;
	scheduledTime: string;
	mode: ExportMode;
	window: { from: string | null; to: string | null; batches: number; batchIds: string[] };
	fileType: FileType;
	codec: Codec;
	files: ExportedFile[];
	manifestPath: string | null;
	/** Folder below which every export of this dataset (and its manifests) lives. */
	statePrefix: string;
	previousManifestPath: string | null;
	totals: { files: number; records: number; bytes: number };
	durationMs: number;
}

/** A bad parameter value: `parameter` is the node parameter's name, the message says what is wrong. */
export class ExportError extends Error {
	constructor(
		message: string,
		readonly parameter?: string,
	) {
		super(message);
		this.name = 'ExportError';
	}
}

export function destinationInstanceId(store: Store): string {
	return createHash('sha256').update(store.location).digest('hex').slice(0, 12);
}

interface Plan {
	dataset: DatasetInfo;
	encoder: Encoder;
	exportTime: Date;
	scheduledTime: string;
	folder: string;
	prefix: string;
	instanceId: string;
	window: ExportWindow;
	batches: BatchInfo[];
	previous?: { path: string; manifest: Manifest };
}

const positiveInt = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value > 0;

/** Check every parameter before anything is read or written. */
export function validateRequest(request: ExportRequest): void {
	if (typeof request.datasetId !== 'string' || !request.datasetId.trim()) {
		throw new ExportError('Dataset is empty: pick a dataset or map its id (e.g. {{ $json.id }})', 'datasetId');
	}
	if (request.mode !== 'incremental' && request.mode !== 'full') {
		throw new ExportError(`Mode must be "incremental" or "full", not "${String(request.mode)}"`, 'mode');
	}
	if (!CODECS[request.fileType]) throw new ExportError(`File Type must be "json" or "parquet", not "${String(request.fileType)}"`, 'fileType');
	if (!CODECS[request.fileType].includes(request.codec)) {
		throw new ExportError(
			`Compression "${String(request.codec)}" is not available for ${request.fileType === 'json' ? 'JSON' : 'Parquet'} (choose ${CODECS[request.fileType].join(', ')})`,
			'compression',
		);
	}
	if (request.includeManifest === false && request.mode === 'incremental') {
		throw new ExportError('Include Manifest must be on for incremental exports: the manifest is where the next run finds its starting point', 'includeManifest');
	}
	if (!attempt(() => cleanPath(request.folderPath ?? '')).ok) {
		throw new ExportError(`Folder Path "${request.folderPath}" must not contain ".." segments`, 'folderPath');
	}
	const template = attempt(() => validateTemplate(request.folderTemplate || DEFAULT_FOLDER_TEMPLATE));
	if (!template.ok) throw new ExportError(`Folder Template: ${template.error.message}`, 'folderTemplate');
	// absent means "no limit"; a limit that is given must be usable
	if (request.maxRecordsPerFile !== undefined && !positiveInt(request.maxRecordsPerFile)) {
		throw new ExportError(`Max Records per File must be a whole number above 0 (remove the option for no limit), not ${request.maxRecordsPerFile}`, 'maxRecordsPerFile');
	}
	if (request.maxBytesPerFile !== undefined && !(typeof request.maxBytesPerFile === 'number' && request.maxBytesPerFile > 0)) {
		throw new ExportError(`Max File Size must be above 0 (remove the option for no limit), not ${request.maxBytesPerFile}`, 'maxFileSizeMb');
	}
	if (request.lookbackDays !== undefined && !(typeof request.lookbackDays === 'number' && request.lookbackDays > 0)) {
		throw new ExportError(`Lookback Days must be above 0 (remove the option for no limit), not ${request.lookbackDays}`, 'lookbackDays');
	}
	if (request.fileNamePrefix !== undefined && !/^[A-Za-z0-9._-]*$/.test(request.fileNamePrefix)) {
		throw new ExportError('File Name Prefix may only hold letters, digits, ".", "_" and "-"', 'fileNamePrefix');
	}
	const dates: Record<string, Date | undefined> = {};
	for (const [key, label] of [
		['startDate', 'Start Date'],
		['endDate', 'End Date'],
		['exportTime', 'Export Time'],
	] as const) {
		const date = attempt(() => parseDate(request[key]));
		if (!date.ok) throw new ExportError(`${label}: ${date.error.message}`, key);
		dates[key] = date.value;
	}
	if (dates.startDate && dates.endDate && dates.endDate < dates.startDate) {
		throw new ExportError(`End Date (${dates.endDate.toISOString()}) is before Start Date (${dates.startDate.toISOString()})`, 'endDate');
	}
}

function maxIso(...values: Array<string | null | undefined>): string | null {
	let best: string | null = null;
	for (const v of values) if (v && (!best || v > best)) best = v;
	return best;
}

async function plan(source: Source, store: Store, request: ExportRequest, now: Date): Promise<Plan> {
	validateRequest(request);
	const found = await attemptAsync(() => source.getDataset(request.datasetId.trim()));
	if (!found.ok) {
		const error = found.error;
		if (error instanceof SourceError && (error.code === 'not_found' || error.code === 'invalid')) {
			throw new ExportError(`Dataset: ${error.message}`, 'datasetId');
		}
		throw error;
	}
	const dataset: DatasetInfo = found.value;
	if (dataset.problem) throw new ExportError(`Dataset "${dataset.id}" cannot be exported: ${dataset.problem}`, 'datasetId');
	if (!dataset.enabled) throw new ExportError(`Dataset "${dataset.id}" is disabled in the lake`, 'datasetId');
	const problem = formatProblem(request.fileType, request.codec, dataset.schema);
	if (problem) throw new ExportError(`File Type / Compression: ${problem}`, request.fileType === 'parquet' && dataset.schema ? 'compression' : 'fileType');
	const encoder = createEncoder(request.fileType, request.codec, dataset.schema, {
		rowGroupRows: request.rowGroupRows,
		maxFileBytes: request.maxBytesPerFile,
		gzipLevel: request.gzipLevel,
		createdBy: GENERATOR,
	});

	const exportTime = floorToMinute(parseDate(request.exportTime) ?? now);
	const instanceId = destinationInstanceId(store);
	const values: TemplateValues = {
		datasetId: dataset.id,
		destination: store.type,
		destinationInstanceName: request.destinationName || store.type,
		destinationInstanceId: instanceId,
		sandboxName: request.sandboxName || 'prod',
		organizationName: request.organizationName || '',
		exportTime,
	};
	const template = request.folderTemplate || DEFAULT_FOLDER_TEMPLATE;
	const rendered = attempt(() => ({
		folder: renderFolder(request.folderPath ?? '', template, values),
		prefix: stablePrefix(request.folderPath ?? '', template, values),
	}));
	if (!rendered.ok) {
		if (rendered.error instanceof TemplateError) throw new ExportError(`Folder Template: ${rendered.error.message}`, 'folderTemplate');
		throw rendered.error;
	}
	const { folder, prefix } = rendered.value;

	const previous = request.mode === 'incremental' ? await findLatestManifest(store, prefix, dataset.id, instanceId, 'incremental') : undefined;
	const startDate = parseDate(request.startDate);
	const endDate = parseDate(request.endDate);
	const lookbackStart = request.lookbackDays ? new Date(now.getTime() - request.lookbackDays * 86_400_000) : undefined;
	const from = maxIso(previous?.manifest.window.to, startDate?.toISOString(), lookbackStart?.toISOString());
	const to = endDate?.toISOString() ?? null;
	const batches = (await source.listBatches(dataset.id)).filter((b) => (!from || b.ingestedAt > from) && (!to || b.ingestedAt <= to));
	const windowTo = batches.length ? batches[batches.length - 1].ingestedAt : from;
	return {
		dataset,
		encoder,
		exportTime,
		scheduledTime: exportTime.toISOString().replace('.000Z', 'Z'),
		folder,
		prefix,
		instanceId,
		window: { from, to: windowTo, batches: batches.map((b) => b.id) },
		batches,
		previous,
	};
}

interface OpenFile {
	upload: Upload;
	file: EncodedFile;
	path: string;
	records: number;
}

/** Run one dataset's export. Throws ExportError for bad parameters; leaves nothing committed on failure. */
export async function runExport(source: Source, store: Store, request: ExportRequest): Promise<ExportReport> {
	const started = Date.now();
	const now = request.now?.() ?? new Date();
	const p = await plan(source, store, request, now);
	await store.check();
	const runId = uuidv7();
	const prefix = request.fileNamePrefix || 'part';
	const maxRecords = request.maxRecordsPerFile || Infinity;
	const maxBytes = request.maxBytesPerFile || Infinity;
	/** With a byte limit, write in slices small enough to stop near it (sized from bytes per record so far). */
	const sliceFor = (file: OpenFile) => {
		if (!Number.isFinite(maxBytes)) return Infinity;
		const perRecord = file.records ? file.file.bytesPending / file.records : 0;
		if (!perRecord) return 100;
		return Math.max(1, Math.min(5000, Math.floor((maxBytes - file.file.bytesPending) / perRecord / 2)));
	};
	const written: ExportedFile[] = [];
	let current: OpenFile | undefined;
	let totalRecords = 0;

	const openFile = async () => {
		const name = `${prefix}-${String(written.length).padStart(5, '0')}-${randomUUID()}${p.encoder.extension}`;
		const path = joinPath(p.folder, name);
		const upload = await store.openWrite(path, { contentType: p.encoder.contentType, signal: request.signal });
		current = { upload, file: p.encoder.open(upload.stream), path, records: 0 };
		return current;
	};
	const closeFile = async () => {
		if (!current) return;
		const open = current;
		current = undefined;
		const finished = await attemptAsync(() => open.file.finish());
		if (!finished.ok) {
			await open.upload.abort(finished.error);
			throw finished.error;
		}
		const result = await open.upload.done;
		written.push({ path: result.path, name: baseName(result.path), size: result.size, records: open.records, sha256: result.sha256 });
	};
	const writeChunk = async (chunk: RecordChunk) => {
		let offset = 0;
		while (offset < chunk.length) {
			const file = current ?? (await openFile());
			const take = Math.min(chunk.length - offset, maxRecords - file.records, sliceFor(file));
			await file.file.write(offset === 0 && take === chunk.length ? chunk : sliceChunk(chunk, offset, offset + take));
			file.records += take;
			offset += take;
			totalRecords += take;
			if (file.records >= maxRecords || file.file.bytesPending >= maxBytes) await closeFile();
		}
	};

	const streamed = await attemptAsync(async () => {
		for (const batch of p.batches) {
			for await (const chunk of source.readBatch(p.dataset, batch, { signal: request.signal, jsonText: p.encoder.usesJsonText, chunkSize: p.encoder.chunkRecords })) {
				request.signal?.throwIfAborted();
				await writeChunk(chunk);
				request.onProgress?.({
					records: totalRecords,
					bytes: written.reduce((n, f) => n + f.size, 0) + (current?.file.bytesOut ?? 0),
					files: written.length + (current ? 1 : 0),
				});
			}
		}
		await closeFile();
	});
	if (!streamed.ok) {
		// nothing is committed without a manifest; remove what this run wrote so no orphans stay
		await current?.upload.abort(streamed.error).catch(() => undefined);
		await Promise.all(written.map((f) => store.delete(f.path).catch(() => undefined)));
		throw wrapRunError(streamed.error, p.dataset.id);
	}

	const totals = { files: written.length, records: totalRecords, bytes: written.reduce((n, f) => n + f.size, 0) };
	const destination = { type: store.type, instanceName: request.destinationName || store.type, instanceId: p.instanceId };
	let manifestPath: string | null = null;
	if (request.includeManifest !== false) {
		const manifest: Manifest = {
			flowRunId: runId,
			scheduledTime: p.scheduledTime,
			exportResults: written.map<ManifestFile>((f) => ({ sinkPath: '/' + parentOf(f.path), name: f.name, size: f.size, records: f.records, sha256: f.sha256 })),
			manifestVersion: MANIFEST_VERSION,
			datasetId: p.dataset.id,
			datasetName: p.dataset.name,
			destination,
			mode: request.mode,
			exportTime: p.exportTime.toISOString(),
			window: p.window,
			format: { fileType: request.fileType, codec: request.codec, extension: p.encoder.extension },
			schema: p.dataset.schema ?? null,
			layout: { folderPath: cleanPath(request.folderPath ?? ''), folderTemplate: request.folderTemplate || DEFAULT_FOLDER_TEMPLATE, folder: p.folder, statePrefix: p.prefix },
			totals,
			startedAt: new Date(started).toISOString(),
			completedAt: new Date().toISOString(),
			generator: GENERATOR,
		};
		manifestPath = joinPath(p.folder, manifestName(p.instanceId, runId));
		const committed = await attemptAsync(() => writeText(store, manifestPath as string, stringifyJson(manifest, 2) + '\n'));
		if (!committed.ok) {
			await Promise.all(written.map((f) => store.delete(f.path).catch(() => undefined)));
			throw wrapRunError(committed.error, p.dataset.id);
		}
	}
	return {
		runId,
		status: manifestPath ? (p.batches.length || request.mode === 'full' ? 'committed' : 'nothing-new') : 'written-without-manifest',
		datasetId: p.dataset.id,
		datasetName: p.dataset.name,
		destination,
		folder: p.folder,
		exportTime: p.exportTime.toISOString(),
		scheduledTime: p.scheduledTime,
		mode: request.mode,
		window: { from: p.window.from, to: p.window.to, batches: p.batches.length, batchIds: p.window.batches },
		fileType: request.fileType,
		codec: request.codec,
		files: written,
		manifestPath,
		statePrefix: p.prefix,
		previousManifestPath: p.previous?.path ?? null,
		totals,
		durationMs: Date.now() - started,
	};
}

function wrapRunError(error: unknown, datasetId: string): Error {
	if (error instanceof ExportError) return error;
	if (error instanceof SourceError) return new ExportError(`Dataset "${datasetId}": ${error.message}`, 'datasetId');
	if (error instanceof StoreError) return error;
	if ((error as Error)?.name === 'FormatError') return new ExportError(`Dataset "${datasetId}": a record does not fit the schema: ${(error as Error).message}`, 'datasetId');
	return error as Error;
}
