/**
 * The export engine: plan (export time, folder, the batches no committed export holds), stream
 * source → encoder → splitter → store with back-pressure, then commit through the dataset's commit
 * log (lib/export/state.ts) and write the manifest. It knows sources, formats and stores only
 * through their interfaces.
 *
 * Failures: a file whose upload fails transiently is written again from its first record (read
 * again from the source), under a new name, with bounded exponential backoff; anything else fails
 * the run, which removes its own files. A run that dies leaves an intent the next run settles.
 */
import { createEncoder, fileTypeList, formatOf, formatProblemOf, type Codec, type Encoder, type EncodedFile, type EncoderOptions, type FileType } from '../format';
import { attempt, attemptAsync, RequestError } from '../errors';
import { stringifyJson } from '../json';
import { nextRetry, sleep, type RetryPolicy } from '../retry';
import { ValueMismatch } from '../mismatch';
import type { Schema } from '../schema';
import { sliceChunk, SourceError, type BatchInfo, type DatasetInfo, type RecordChunk, type Source } from '../source/types';
import { baseName, cleanPath, joinPath, parentOf } from '../storage/common';
import { DEFAULT_NETWORK_POLICY, StoreError, type Store, type Upload } from '../storage/types';
import { MismatchHandler, SchemaMismatchError, type Position, type SchemaEvolution, type SchemaMismatchPolicy, type SkippedRecords } from './mismatches';
import { listManifestPaths, manifestName, MANIFEST_VERSION, readManifest, type Manifest, type ManifestBatch, type ManifestFile } from './manifest';
import {
	checkpointIfDue,
	claimFate,
	cleanLeftovers,
	commit,
	destinationIdentity,
	emptyCleanup,
	finishRun,
	fold,
	markerDir,
	MAX_RUN_MS,
	DEFAULT_CLEANUP_AFTER_MS,
	DEFAULT_COMMIT_WINDOW,
	markDone,
	readState,
	removeRunFiles,
	StateError,
	statePaths,
	writeIntent,
	writeOwn,
	type CleanupReport,
	type CommitWindow,
	type DatasetState,
	type StatePaths,
} from './state';
import { DEFAULT_FOLDER_TEMPLATE, renderFolder, stablePrefix, TemplateError, validateTemplate, type TemplateValues } from './template';
import { floorToMinute, parseDate, uuidv7 } from './time';

export const GENERATOR = 'n8n-nodes-dataset-export';
/** Leftovers of runs that started longer ago than this are removed by the next run (default). */
export { DEFAULT_CLEANUP_AFTER_MS };

export type ExportMode = 'incremental' | 'full';
export type { SchemaMismatchPolicy } from './mismatches';

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
	/** Rows per row group, for formats that have them (Parquet); the same as `formatOptions.rowGroupRows`. */
	rowGroupRows?: number;
	/** Compression level, for formats that take one (gzip'd NDJSON); the same as `formatOptions.gzipLevel`. */
	gzipLevel?: number;
	/** Options for the chosen format's encoder (lib/format: each format reads the ones it knows). */
	formatOptions?: EncoderOptions;
	/** Retries of whole files and of the commit (requests are retried by the store). */
	retry?: Partial<RetryPolicy>;
	/** Leftovers of runs that started longer ago than this are removed (default 24 hours). */
	cleanupAfterMs?: number;
	/**
	 * A value that does not fit its field's type, or a field the schema lacks: `fail` the run
	 * (default), `evolve` the schema (new nullable columns, conflicting types widened), or `skip`
	 * the record (counted in the report and the manifest).
	 */
	schemaMismatch?: SchemaMismatchPolicy;
	/**
	 * How long this run tries to commit after claiming its commit, and how long a write sent before
	 * then may take to land (default 1 hour each). Recorded in the claim: a later run leaves the
	 * files of a run that claimed and never committed alone until both have passed. For tests.
	 */
	commitWindow?: CommitWindow;
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

export type ExportStatus = 'committed' | 'nothing-new' | 'superseded' | 'written-without-manifest';

export interface ExportReport {
	runId: string;
	/**
	 * `committed`: the export is in the commit log; `nothing-new`: committed, holding no batch;
	 * `superseded`: another run committed these batches first (see `supersededBy`), this run's files
	 * were removed; `written-without-manifest`: a full export without a manifest (nothing committed).
	 */
	status: ExportStatus;
	datasetId: string;
	datasetName: string;
	destination: { type: string; instanceName: string; instanceId: string };
	folder: string;
	exportTime: string;
	scheduledTime: string;
	mode: ExportMode;
	/** The exported batches: ids, and the earliest and latest ingestion time among them. */
	window: { from: string | null; to: string | null; batches: number; batchIds: string[] };
	fileType: FileType;
	codec: Codec;
	files: ExportedFile[];
	/** The manifest of this export (superseded: the winning export's). */
	manifestPath: string | null;
	/** Folder below which every export of this dataset (and its commit log) lives. */
	statePrefix: string;
	/** The newest committed export before this run. */
	previousManifestPath: string | null;
	/** Where this export sits in the dataset's commit log. */
	commit: { sequence: number; path: string } | null;
	supersededBy: { runId: string; sequence: number; manifestPath: string | null } | null;
	/** Committed batches whose ingestion time or size changed since they were exported (not exported again). */
	changedBatches: string[];
	/** What this run removed of earlier runs that never committed (see README, Guarantees). */
	cleanup: Omit<CleanupReport, 'removed'> & { removed: string[] };
	/** Retries: of requests and parts (by the store), of whole files, and of the commit. */
	retries: { requests: number; files: number; commit: number };
	/** Objects the state read took (commit log and checkpoint). */
	stateReads: number;
	/** Milliseconds spent on the commit protocol: state, cleanup, intent, claim, commit, manifest, finishing up. */
	protocolMs: number;
	/** Records left out because they did not fit the schema (On Schema Mismatch: Skip Record). */
	skipped: SkippedRecords;
	/** Schema changes made by On Schema Mismatch: Evolve, by the file first written with each. */
	schemaEvolution: (SchemaEvolution & { file: string | null })[];
	warnings: string[];
	totals: { files: number; records: number; bytes: number };
	durationMs: number;
}

const positiveInt = (value: unknown) => typeof value === 'number' && Number.isInteger(value) && value > 0;

/** Check every parameter before anything is read or written. */
export function validateRequest(request: ExportRequest): void {
	if (typeof request.datasetId !== 'string' || !request.datasetId.trim()) {
		throw new RequestError('Dataset is empty: pick a dataset or map its id (e.g. {{ $json.id }})', 'datasetId');
	}
	if (request.schemaMismatch !== undefined && !['fail', 'evolve', 'skip'].includes(request.schemaMismatch)) {
		throw new RequestError(`On Schema Mismatch must be "fail", "evolve" or "skip", not "${String(request.schemaMismatch)}"`, 'schemaMismatch');
	}
	if (request.mode !== 'incremental' && request.mode !== 'full') {
		throw new RequestError(`Mode must be "incremental" or "full", not "${String(request.mode)}"`, 'mode');
	}
	const format = formatOf(request.fileType);
	if (!format) throw new RequestError(`File Type must be ${fileTypeList()}, not "${String(request.fileType)}"`, 'fileType');
	if (!format.codecs.some((c) => c.value === request.codec)) {
		throw new RequestError(`Compression "${String(request.codec)}" is not available for ${format.name} (choose ${format.codecs.map((c) => c.value).join(', ')})`, 'codec');
	}
	if (request.includeManifest === false && request.mode === 'incremental') {
		throw new RequestError('Include Manifest must be on for incremental exports: the manifest is where the next run finds its starting point', 'includeManifest');
	}
	if (!attempt(() => cleanPath(request.folderPath ?? '')).ok) {
		throw new RequestError(`Folder Path "${request.folderPath}" must not contain ".." segments`, 'folderPath');
	}
	const template = attempt(() => validateTemplate(request.folderTemplate || DEFAULT_FOLDER_TEMPLATE));
	if (!template.ok) throw new RequestError(`Folder Template: ${template.error.message}`, 'folderTemplate');
	// absent means "no limit"; a limit that is given must be usable
	if (request.maxRecordsPerFile !== undefined && !positiveInt(request.maxRecordsPerFile)) {
		throw new RequestError(`Max Records per File must be a whole number above 0 (remove the option for no limit), not ${request.maxRecordsPerFile}`, 'maxRecordsPerFile');
	}
	if (request.maxBytesPerFile !== undefined && !(typeof request.maxBytesPerFile === 'number' && request.maxBytesPerFile > 0)) {
		throw new RequestError(`Max File Size must be above 0 (remove the option for no limit), not ${request.maxBytesPerFile}`, 'maxBytesPerFile');
	}
	if (request.lookbackDays !== undefined && !(typeof request.lookbackDays === 'number' && request.lookbackDays > 0)) {
		throw new RequestError(`Lookback Days must be above 0 (remove the option for no limit), not ${request.lookbackDays}`, 'lookbackDays');
	}
	if (request.cleanupAfterMs !== undefined && !(typeof request.cleanupAfterMs === 'number' && request.cleanupAfterMs >= 0)) {
		throw new RequestError(`Remove Leftovers After must be 0 hours or more, not ${request.cleanupAfterMs / 3_600_000}`, 'cleanupAfterMs');
	}
	if (request.fileNamePrefix !== undefined && !/^[A-Za-z0-9._-]*$/.test(request.fileNamePrefix)) {
		throw new RequestError('File Name Prefix may only hold letters, digits, ".", "_" and "-"', 'fileNamePrefix');
	}
	const dates: Record<string, Date | undefined> = {};
	for (const [key, label] of [
		['startDate', 'Start Date'],
		['endDate', 'End Date'],
		['exportTime', 'Export Time'],
	] as const) {
		const date = attempt(() => parseDate(request[key]));
		if (!date.ok) throw new RequestError(`${label}: ${date.error.message}`, key);
		dates[key] = date.value;
	}
	if (dates.startDate && dates.endDate && dates.endDate < dates.startDate) {
		throw new RequestError(`End Date (${dates.endDate.toISOString()}) is before Start Date (${dates.startDate.toISOString()})`, 'endDate');
	}
}

interface Plan {
	dataset: DatasetInfo;
	encoder: Encoder;
	exportTime: Date;
	scheduledTime: string;
	folder: string;
	prefix: string;
	instanceId: string;
	paths: StatePaths;
	state: DatasetState;
	batches: BatchInfo[];
	changedBatches: string[];
	/** Batches exported by version 1 manifests here, adopted by this run's commit (first run after an upgrade). */
	adopted?: { manifests: string[]; batches: ManifestBatch[] };
	/** Version 1 manifests not adopted because files they list are missing (their batches are exported again). */
	legacyIncomplete: string[];
	previousManifestPath: string | null;
	/** Time the state read took. */
	stateMs: number;
	/** What the source said while planning (rows a cursor cannot reach, …). */
	planWarnings: string[];
}

/** The parts of the plan that need no destination: parameters, dataset, encoder. */
async function prepare(source: Source, request: ExportRequest) {
	validateRequest(request);
	const found = await attemptAsync(() => source.getDataset(request.datasetId.trim()));
	if (!found.ok) {
		const error = found.error;
		if (error instanceof SourceError && (error.code === 'not_found' || error.code === 'invalid')) {
			throw new RequestError(`Dataset: ${error.message}`, 'datasetId');
		}
		throw error;
	}
	const dataset: DatasetInfo = found.value;
	if (dataset.problem) throw new RequestError(`Dataset "${dataset.id}" cannot be exported: ${dataset.problem}`, 'datasetId');
	if (!dataset.enabled) throw new RequestError(`Dataset "${dataset.id}" is disabled in the lake`, 'datasetId');
	// the format says whether it can hold the dataset, and which choice (file type or codec) is at fault
	const problem = formatProblemOf(request.fileType, request.codec, dataset.schema);
	if (problem) throw new RequestError(`File Type / Compression: ${problem.message}`, problem.field);
	const encoderFor = (schema: Schema | undefined) =>
		createEncoder(request.fileType, request.codec, schema, {
			rowGroupRows: request.rowGroupRows,
			gzipLevel: request.gzipLevel,
			...request.formatOptions,
			maxFileBytes: request.maxBytesPerFile,
			createdBy: GENERATOR,
		});
	return { dataset, encoder: encoderFor(dataset.schema), encoderFor };
}

async function plan(source: Source, store: Store, request: ExportRequest, now: Date, dataset: DatasetInfo, encoder: Encoder): Promise<Plan> {
	const exportTime = floorToMinute(parseDate(request.exportTime) ?? now);
	const instanceId = await destinationIdentity(store, request.folderPath ?? '');
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
		if (rendered.error instanceof TemplateError) throw new RequestError(`Folder Template: ${rendered.error.message}`, 'folderTemplate');
		throw rendered.error;
	}
	const { folder, prefix } = rendered.value;
	const paths = statePaths(prefix, dataset.id);
	const stateStarted = Date.now();
	const state = await readState(store, paths, dataset.id);
	const stateMs = Date.now() - stateStarted;
	const previousManifestPath = state.headRun?.manifestPath ?? null;

	// the selection: Start Date, End Date, Lookback Days (ingestion times; the lake's clock)
	const startDate = parseDate(request.startDate)?.toISOString();
	const endDate = parseDate(request.endDate)?.toISOString();
	const lookbackStart = request.lookbackDays ? new Date(now.getTime() - request.lookbackDays * 86_400_000).toISOString() : undefined;
	// a source that keeps a cursor plans the range after the newest committed one (none for a full export)
	const planWarnings: string[] = [];
	const listed = await source.listBatches(dataset.id, {
		after: request.mode === 'incremental' ? (state.position ?? null) : null,
		mode: request.mode,
		signal: request.signal,
		warn: (message) => planWarnings.push(message),
	});
	const selected = listed.filter((b) => (!startDate || b.ingestedAt > startDate) && (!endDate || b.ingestedAt <= endDate) && (!lookbackStart || b.ingestedAt > lookbackStart));
	let adopted: (NonNullable<Plan['adopted']> & { incomplete: string[] }) | undefined;
	const changedBatches: string[] = [];
	let batches = selected;
	if (request.mode === 'incremental') {
		// the first commit at a destination that version 1 manifests used: adopt what they exported
		// (until an incremental export has committed: full exports before it adopt nothing)
		if (!state.incremental) adopted = await legacyExports(store, prefix, dataset.id);
		const legacy = new Set(adopted?.batches.map((b) => b.id));
		// every selected batch that no committed export holds, whatever its ingestion time
		batches = selected.filter((b) => {
			const mark = state.batches.get(b.id);
			if (!mark) return !legacy.has(b.id);
			if (!b.contentAddressed && ((mark.ingestedAt && mark.ingestedAt !== b.ingestedAt) || (mark.sizeBytes !== null && mark.sizeBytes !== b.sizeBytes))) changedBatches.push(b.id);
			return false;
		});
	}
	return {
		dataset,
		encoder,
		exportTime,
		scheduledTime: exportTime.toISOString().replace('.000Z', 'Z'),
		folder,
		prefix,
		instanceId,
		paths,
		state,
		batches,
		changedBatches,
		adopted: adopted?.manifests.length ? { manifests: adopted.manifests, batches: adopted.batches } : undefined,
		legacyIncomplete: adopted?.incomplete ?? [],
		previousManifestPath,
		stateMs,
		planWarnings,
	};
}

/** The batches version 1 incremental manifests of the dataset below `prefix` had exported. */
async function legacyExports(store: Store, prefix: string, datasetId: string): Promise<NonNullable<Plan['adopted']> & { incomplete: string[] }> {
	const manifests: string[] = [];
	const incomplete: string[] = [];
	const batches = new Map<string, ManifestBatch>();
	for (const path of await listManifestPaths(store, prefix)) {
		const manifest = await readManifest(store, path);
		if (manifest.datasetId !== datasetId || manifest.mode !== 'incremental' || (manifest.manifestVersion ?? 1) >= 2) continue;
		// a version 1 manifest could list files its run had removed (a lost reply to the manifest's
		// upload): adopting it would lose those batches for good, so they are exported again instead
		let complete = true;
		for (const f of manifest.exportResults) {
			if (!(await store.stat(joinPath(f.sinkPath.replace(/^\/+/, ''), f.name)))) complete = false;
		}
		if (!complete) {
			incomplete.push(path);
			continue;
		}
		manifests.push(path);
		for (const id of manifest.window.batches ?? []) batches.set(id, { id, ingestedAt: '', sizeBytes: null, records: null });
	}
	return { manifests, batches: [...batches.values()], incomplete };
}

interface OpenFile {
	upload: Upload;
	file: EncodedFile;
	path: string;
	records: number;
	/** Records written into the file from each batch (by index into the plan's batches). */
	fromBatch: Map<number, number>;
}

const batchOf = (b: BatchInfo): ManifestBatch => ({ id: b.id, ingestedAt: b.ingestedAt, sizeBytes: b.sizeBytes, records: b.recordCount, ...(b.position ? { position: b.position } : {}) });

/** Write a committed export's manifest file from its commit record (the same JSON; a second write of it is fine). */
export async function writeManifestFile(store: Store, record: Manifest, policy: RetryPolicy = DEFAULT_NETWORK_POLICY, signal?: AbortSignal): Promise<void> {
	const path = record.commit?.manifestPath;
	if (path) await writeOwn(store, path, stringifyJson(record, 2) + '\n', policy, signal);
}

/** Run one dataset's export. Throws RequestError for bad parameters; leaves nothing committed on failure. */
export async function runExport(source: Source, store: Store, request: ExportRequest): Promise<ExportReport> {
	const started = Date.now();
	const clock = request.now ?? (() => new Date());
	const now = clock();
	const policy: RetryPolicy = { ...DEFAULT_NETWORK_POLICY, ...request.retry };
	const { signal } = request;
	const { dataset, encoder, encoderFor } = await prepare(source, request);
	await store.check();
	const p = await plan(source, store, request, now, dataset, encoder);
	const runId = uuidv7();
	const warnings: string[] = [];
	/** Time spent on the commit protocol (state, cleanup, intent, claim, commit, manifest, finishing up). */
	let protocolMs = p.stateMs;
	const timed = async <T>(step: () => Promise<T>): Promise<T> => {
		const at = Date.now();
		try {
			return await step();
		} finally {
			protocolMs += Date.now() - at;
		}
	};
	// every run leaves an intent until it is settled, also one with nothing new: it still writes a
	// commit record and a manifest file, and a run killed in the middle of those must be found.
	// Written first: cleanup reads the destination's clock from it.
	const intent = {
		protocol: 1,
		runId,
		datasetId: p.dataset.id,
		folder: p.folder,
		mode: request.mode,
		exportTime: p.exportTime.toISOString(),
		base: p.state.head,
		startedAt: now.toISOString(),
		cleanupAfterMs: request.cleanupAfterMs ?? DEFAULT_CLEANUP_AFTER_MS,
	};
	await timed(() => writeIntent(store, p.paths, intent, policy, signal));
	// what earlier runs left is settled best effort: a destination that refuses deletes (or a
	// listing that fails) does not stop the export; the next run tries again
	const cleaned = await timed(() =>
		attemptAsync(() =>
			cleanLeftovers(store, p.paths, p.state, {
				safetyAgeMs: request.cleanupAfterMs ?? DEFAULT_CLEANUP_AFTER_MS,
				now,
				selfRunId: runId,
				policy,
				rollForward: (record) => writeManifestFile(store, record, policy, signal),
				markerDir: markerDir(request.folderPath ?? ''),
				signal,
			}),
		),
	);
	if (!cleaned.ok && signal?.aborted) throw cleaned.error;
	const cleanup = cleaned.ok ? cleaned.value : emptyCleanup();
	if (!cleaned.ok) warnings.push(`removing what earlier runs left failed (${cleaned.error.message}); the next run tries again (it needs permission to delete at the destination)`);
	if (p.legacyIncomplete.length) {
		warnings.push(`${p.legacyIncomplete.length} version 1 manifest(s) list files that are missing (${p.legacyIncomplete.slice(0, 3).join(', ')}): their batches are exported again rather than lost`);
	}
	warnings.push(...p.planWarnings);
	for (const batch of p.batches) if (batch.warning) warnings.push(batch.warning);
	if (p.changedBatches.length) {
		warnings.push(`${p.changedBatches.length} batch(es) changed in the lake after they were exported (not exported again): ${p.changedBatches.slice(0, 10).join(', ')}`);
	}

	const namePrefix = request.fileNamePrefix || 'part';
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
	/** Records of each planned batch in the written files. */
	const exportedFrom: number[] = [];
	const mismatches = new MismatchHandler(request.schemaMismatch ?? 'fail', p.dataset.id, p.dataset.schema);
	/** Encodes the files from now on: Evolve replaces it with one for the wider schema. */
	let fileEncoder = p.encoder;
	/** The schema and evolutions when the file being written started: a retried file goes back to them. */
	let resumeSchema = { schema: mismatches.schema, evolutions: 0 };
	/** Tries so far of the file at each index (a retried file gets a new name). */
	const tries: number[] = [];
	let current: OpenFile | undefined;
	let totalRecords = 0;
	/** Where the file being written started: a failed file is written again from here. */
	let resumeAt: Position = { batch: 0, record: 0 };
	let position: Position = { batch: 0, record: 0 };

	const openFile = async () => {
		const index = written.length;
		tries[index] = (tries[index] ?? 0) + 1;
		// the run id in every name: a file is known as this run's by its name alone (cleanup, Verify)
		const attemptSuffix = tries[index] > 1 ? `-${tries[index]}` : '';
		const name = `${namePrefix}-${String(index).padStart(5, '0')}-${runId}${attemptSuffix}${fileEncoder.extension}`;
		const path = joinPath(p.folder, name);
		const upload = await store.openWrite(path, { contentType: fileEncoder.contentType, signal });
		current = { upload, file: fileEncoder.open(upload.stream), path, records: 0, fromBatch: new Map() };
		return current;
	};
	const closeFile = async () => {
		if (!current) return;
		const open = current;
		await open.file.finish();
		const result = await open.upload.done;
		current = undefined;
		written.push({ path: result.path, name: baseName(result.path), size: result.size, records: open.records, sha256: result.sha256 });
		for (const [b, n] of open.fromBatch) exportedFrom[b] = (exportedFrom[b] ?? 0) + n;
		resumeAt = { ...position };
		resumeSchema = { schema: mismatches.schema, evolutions: mismatches.evolutions.length };
	};
	/** Evolve widened the schema: the file being written ends here and the next uses the wider schema. */
	const evolve = async (previous: Schema | undefined) => {
		const closing = !!current?.records;
		if (closing) await closeFile();
		else if (current) {
			await current.upload.abort(new Error('the schema evolved before the first record')).catch(() => undefined);
			current = undefined;
		}
		mismatches.evolvedAt(written.length, previous);
		fileEncoder = encoderFor(mismatches.schema);
		// a file written again from here starts with the evolved schema (from an earlier point, it meets the change again)
		if (closing) resumeSchema = { schema: mismatches.schema, evolutions: mismatches.evolutions.length };
	};
	const writeChunk = async (read: RecordChunk) => {
		const batch = p.batches[position.batch].id;
		const base = position.record;
		const before = mismatches.schema;
		// what the reader found first (skipped records leave the chunk; `kept` maps back to the source)
		const settled = mismatches.settleReader(read, batch, (i) => ({ batch: position.batch, record: base + i }));
		const chunk = settled.chunk;
		const kept = settled.kept;
		const sourceIndex = (i: number) => (kept ? kept[i] : i);
		if (settled.evolved) await evolve(before);
		let offset = 0;
		/** `n` records from `offset` were written, and the one after them consumed too when `consumed`. */
		const advance = (n: number, consumed = 0) => {
			offset += n + consumed;
			position = { batch: position.batch, record: base + (offset ? sourceIndex(offset - 1) + 1 : 0) };
		};
		while (offset < chunk.length) {
			const file = current ?? (await openFile());
			const take = Math.min(chunk.length - offset, maxRecords - file.records, sliceFor(file));
			const wrote = await attemptAsync(() => file.file.write(offset === 0 && take === chunk.length ? chunk : sliceChunk(chunk, offset, offset + take)));
			if (wrote.ok) {
				file.fromBatch.set(position.batch, (file.fromBatch.get(position.batch) ?? 0) + take);
				file.records += take;
				totalRecords += take;
				advance(take);
			} else {
				if (!(wrote.error instanceof ValueMismatch)) throw wrote.error;
				// the records before the one that does not fit were written, nothing of it
				const m = wrote.error.mismatch;
				file.fromBatch.set(position.batch, (file.fromBatch.get(position.batch) ?? 0) + m.index);
				file.records += m.index;
				totalRecords += m.index;
				const at = offset + m.index;
				const previous = mismatches.schema;
				const decision = mismatches.decide(chunk, at, batch, { batch: position.batch, record: base + sourceIndex(at) }, { ...m, index: at });
				if (decision === 'write') {
					const located = mismatches.locate(chunk, at, batch, m);
					mismatches.fail(located, m, 'The widened schema still cannot hold this value.');
				}
				advance(m.index, decision === 'skip' ? 1 : 0);
				if (decision === 'evolved') await evolve(previous);
			}
			if (current && (current.records >= maxRecords || current.file.bytesPending >= maxBytes)) await closeFile();
		}
		// records the reader's mismatches left out at the end of the chunk are consumed as well
		position = { batch: position.batch, record: base + read.length };
	};
	/** Stream every planned batch from `from` on: a retry starts again at the failed file's first record. */
	const streamFrom = async (from: Position) => {
		position = { ...from };
		mismatches.rewind(from, resumeSchema);
		fileEncoder = mismatches.schema === p.dataset.schema && !resumeSchema.evolutions ? p.encoder : encoderFor(mismatches.schema);
		totalRecords = written.reduce((n, f) => n + f.records, 0);
		for (let b = from.batch; b < p.batches.length; b++) {
			position = { batch: b, record: b === from.batch ? from.record : 0 };
			let skip = position.record;
			const chunks = source.readBatch(p.dataset, p.batches[b], { signal, jsonText: fileEncoder.usesJsonText, chunkSize: fileEncoder.chunkRecords });
			for await (const read of chunks) {
				signal?.throwIfAborted();
				let chunk = read as RecordChunk;
				if (skip) {
					if (chunk.length <= skip) {
						skip -= chunk.length;
						continue;
					}
					chunk = sliceChunk(chunk, skip, chunk.length);
					skip = 0;
				}
				await writeChunk(chunk);
				request.onProgress?.({
					records: totalRecords,
					bytes: written.reduce((n, f) => n + f.size, 0) + (current?.file.bytesOut ?? 0),
					files: written.length + (current ? 1 : 0),
				});
			}
		}
		await closeFile();
	};

	let fileRetries = 0;
	let commitRetries = 0;
	/** Remove this run's own files (it knows nothing of it landed); keep the intent if that fails, for the next run. */
	const removeOwn = async (reason: unknown) => {
		await current?.upload.abort(reason).catch(() => undefined);
		current = undefined;
		const removed = await attemptAsync(async () => {
			for (const f of written) await store.delete(f.path);
			await removeRunFiles(store, p.folder, runId, new Set(), emptyCleanup());
			await finishRun(store, p.paths, runId);
		});
		return removed.ok;
	};

	let firstFailure = 0;
	for (;;) {
		const streamed = await attemptAsync(() => streamFrom(resumeAt));
		if (streamed.ok) break;
		const error = await uploadError(streamed.error, current?.upload);
		await current?.upload.abort(error).catch(() => undefined);
		current = undefined;
		// a transient store failure: write the file again, from its first record, under a new name
		firstFailure ||= Date.now();
		const wait = error instanceof StoreError && error.retryable && !signal?.aborted ? nextRetry(policy, fileRetries, firstFailure) : undefined;
		if (wait === undefined) {
			await removeOwn(error);
			throw wrapRunError(error, p.dataset.id);
		}
		fileRetries++;
		const slept = await attemptAsync(() => sleep(wait, signal));
		if (!slept.ok) {
			await removeOwn(slept.error);
			throw slept.error;
		}
	}
	// a retried file's failed upload may have landed after all (a lost reply): remove it before committing
	if (fileRetries) {
		const swept = await attemptAsync(() => removeRunFiles(store, p.folder, runId, new Set(written.map((f) => f.path)), emptyCleanup()));
		if (!swept.ok) {
			await removeOwn(swept.error);
			throw wrapRunError(swept.error, p.dataset.id);
		}
	}

	const totals = { files: written.length, records: totalRecords, bytes: written.reduce((n, f) => n + f.size, 0) };
	const skipped = mismatches.skipped;
	const skippedFrom = mismatches.skippedPerBatch();
	const schemaEvolution = mismatches.evolutions.map((e) => ({ ...e, file: written[e.fromFile]?.name ?? null }));
	if (skipped.records) {
		const first = skipped.examples[0];
		warnings.push(
			`${skipped.records} record(s) did not fit the schema and were skipped (On Schema Mismatch: Skip Record); the first: batch "${first.batch}"${first.file ? `, file "${first.file}"${first.line !== null ? ` line ${first.line}` : ''}` : ''}, field "${first.field}": expected ${first.expected}, got ${first.value}`,
		);
	}
	for (const e of schemaEvolution) warnings.push(`the schema evolved (On Schema Mismatch: Evolve) from file ${e.file ?? e.fromFile}: ${e.changes.join('; ')}`);
	const destination = { type: store.type, instanceName: request.destinationName || store.type, instanceId: p.instanceId };
	const times = p.batches.map((b) => b.ingestedAt).sort();
	const window = { from: times[0] ?? null, to: times[times.length - 1] ?? null, batches: p.batches.map((b) => b.id) };
	const report = (status: ExportStatus, extra: Partial<ExportReport> = {}): ExportReport => ({
		runId,
		status,
		datasetId: p.dataset.id,
		datasetName: p.dataset.name,
		destination,
		folder: p.folder,
		exportTime: p.exportTime.toISOString(),
		scheduledTime: p.scheduledTime,
		mode: request.mode,
		window: { from: window.from, to: window.to, batches: p.batches.length, batchIds: window.batches },
		fileType: request.fileType,
		codec: request.codec,
		files: written,
		manifestPath: null,
		statePrefix: p.prefix,
		previousManifestPath: p.previousManifestPath,
		commit: null,
		supersededBy: null,
		changedBatches: p.changedBatches,
		cleanup: { ...cleanup, removed: cleanup.removed.slice(0, 100) },
		retries: { requests: store.stats.retries, files: fileRetries, commit: commitRetries },
		stateReads: p.state.reads,
		protocolMs,
		skipped,
		schemaEvolution,
		warnings,
		totals,
		durationMs: Date.now() - started,
		...extra,
	});

	// a full export without a manifest file is still committed to the log (which tools never read),
	// so Verify knows its files and cleanup never takes them for a dead run's
	const manifestPath = request.includeManifest === false ? null : joinPath(p.folder, manifestName(p.instanceId, runId));
	const record: Manifest = {
		flowRunId: runId,
		scheduledTime: p.scheduledTime,
		exportResults: written.map<ManifestFile>((f) => ({ sinkPath: '/' + parentOf(f.path), name: f.name, size: f.size, records: f.records, sha256: f.sha256 })),
		manifestVersion: MANIFEST_VERSION,
		datasetId: p.dataset.id,
		datasetName: p.dataset.name,
		destination,
		mode: request.mode,
		exportTime: p.exportTime.toISOString(),
		window,
		format: { fileType: request.fileType, codec: request.codec, extension: p.encoder.extension },
		// the schema the files were written with (Evolve: the widest, which reads every file of the export)
		schema: mismatches.schema ?? null,
		...(schemaEvolution.length ? { schemaEvolution } : {}),
		...(skipped.records ? { skipped } : {}),
		layout: { folderPath: cleanPath(request.folderPath ?? ''), folderTemplate: request.folderTemplate || DEFAULT_FOLDER_TEMPLATE, folder: p.folder, statePrefix: p.prefix },
		totals,
		startedAt: new Date(started).toISOString(),
		completedAt: '',
		generator: GENERATOR,
		batches: p.batches.map((b, i) => ({ ...batchOf(b), exported: exportedFrom[i] ?? 0, ...(skippedFrom[i] ? { skipped: skippedFrom[i] } : {}) })),
		...(p.adopted ? { adopted: p.adopted } : {}),
	};

	// a run older than any abandon decision is kept for must not commit; then claim the commit,
	// so that a later run can no longer declare this one dead and remove its files
	// the commit window opens before the claim is sent (so it closes before the claim's time at the
	// destination says it does), measured by both clocks: a wall clock set back or a suspended
	// machine's monotonic clock cannot stretch it
	const windowFrom = { wall: Date.now(), mono: performance.now() };
	const commitWindow = request.commitWindow ?? DEFAULT_COMMIT_WINDOW;
	const expired = () => Math.max(Date.now() - windowFrom.wall, performance.now() - windowFrom.mono) >= commitWindow.windowMs;
	const claimed = await timed(() =>
		attemptAsync(async () => {
			if (Date.now() - started > MAX_RUN_MS) throw new StateError(`run ${runId} has been going for too long to commit safely`, 'abandoned');
			const fate = await claimFate(store, p.paths, runId, { decision: 'commit', by: runId, at: clock().toISOString(), ...commitWindow }, policy, signal);
			if (fate.decision === 'abandon') {
				throw new StateError(
					`run ${runId} was declared abandoned by run ${fate.by} at ${fate.at} (it had been running for longer than the cleanup safety age): nothing was committed, and the next run exports these batches`,
					'abandoned',
				);
			}
		}),
	);
	if (!claimed.ok) {
		await removeOwn(claimed.error);
		throw claimed.error;
	}

	record.completedAt = clock().toISOString();
	const outcome = await timed(() =>
		attemptAsync(() =>
			commit(
				store,
				p.paths,
				p.state,
				record,
				(r, seq) => {
					// completedAt is set once (below): every try of the same number writes the same JSON
					r.commit = { protocol: 1, sequence: seq, path: p.paths.commit(seq), manifestPath };
				},
				policy,
				signal,
				expired,
			),
		),
	);
	if (!outcome.ok) {
		// whether the commit landed is unknown: keep the files (a landed commit lists them) and the intent
		if (outcome.error instanceof StateError && outcome.error.code === 'unknown_outcome') throw outcome.error;
		await removeOwn(outcome.error);
		throw wrapRunError(outcome.error, p.dataset.id);
	}
	const result = outcome.value;
	if (result.status === 'superseded') {
		// our record can never land: the winner holds the number, and a superseded run does not try again
		const removed = await removeOwn(new Error('superseded'));
		// the winner may not have written its manifest file yet: this run's output points at it (for
		// Verify), so write it from the winner's record, as the next run would (the same JSON)
		await writeManifestFile(store, result.winner, policy, signal).catch(() => undefined);
		if (!removed) warnings.push(`this run's files could not all be removed; the next run removes them`);
		return report('superseded', {
			files: [],
			manifestPath: result.by.manifestPath,
			supersededBy: result.by,
			totals: { files: 0, records: 0, bytes: 0 },
			warnings: [...warnings, `batches ${result.overlap.slice(0, 10).join(', ')} were committed first by run ${result.by.runId}`],
		});
	}
	commitRetries = result.ambiguous;
	fold(p.state, result.sequence, record);
	// committed: the manifest file, the checkpoint when due, then the done marker (the next run
	// after the safety age removes the intent, and any upload of this run that landed late)
	const finished = await timed(() =>
		attemptAsync(async () => {
			if (request.includeManifest !== false) await writeManifestFile(store, record, policy, signal);
			await checkpointIfDue(store, p.paths, p.state);
			await markDone(store, p.paths, runId, policy, signal);
		}),
	);
	if (!finished.ok) warnings.push(`committed, but finishing up failed (${finished.error.message}); the next run completes it`);
	const status: ExportStatus = request.includeManifest === false ? 'written-without-manifest' : p.batches.length || request.mode === 'full' ? 'committed' : 'nothing-new';
	return report(status, {
		manifestPath,
		commit: { sequence: result.sequence, path: result.path },
		retries: { requests: store.stats.retries, files: fileRetries, commit: commitRetries },
	});
}

/**
 * A write into an upload's stream fails with whatever the backend's library destroyed it with (a
 * bare socket or HTTP error); the upload's own outcome says the same, classified by the store
 * (retryable or not, in words that name the destination). Prefer it, waiting briefly for it.
 */
async function uploadError(error: Error, upload: Upload | undefined): Promise<Error> {
	const ours = error instanceof StoreError || error instanceof SourceError || error instanceof RequestError || error.name === 'FormatError' || error.name === 'AbortError';
	if (ours || !upload) return error;
	let timer: NodeJS.Timeout | undefined;
	const settled = await Promise.race([
		upload.done.then(
			() => undefined,
			(reason: unknown) => reason,
		),
		new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 2000))),
	]);
	clearTimeout(timer);
	return settled instanceof StoreError ? settled : error;
}

function wrapRunError(error: unknown, datasetId: string): Error {
	if (error instanceof RequestError) return error;
	if (error instanceof SchemaMismatchError) return new RequestError(error.message, 'schemaMismatch');
	if (error instanceof SourceError && !['location', 'auth', 'unreachable', 'busy'].includes(error.code)) return new RequestError(`Dataset "${datasetId}": ${error.message}`, 'datasetId');
	if (error instanceof StoreError) return error;
	if ((error as Error)?.name === 'FormatError') return new RequestError(`Dataset "${datasetId}": a record does not fit the schema: ${(error as Error).message}`, 'datasetId');
	return error as Error;
}
