/**
 * Verify an export at its destination: the manifest parses and is committed (its commit record in
 * the dataset's commit log holds the same JSON); every file it lists exists with its size and
 * record count, its structure is sound (read by the file's format through the registry in
 * lib/format: each format's `check`), and its SHA-256 matches (Verify Checksums); no object anywhere below the dataset's export prefix is
 * unaccounted for (lib/verify/unlisted.ts); no batch of the export is in another committed
 * incremental export of the dataset; optionally each batch's records match the lake's count
 * (lib/verify/reconcile.ts). A schema change since the previous export is a warning
 * (lib/verify/schema-change.ts).
 */
import { findLatestManifest, isManifestPath, parseManifest, readManifest, runIdOf, type Manifest, type ManifestFile } from '../export/manifest';
import { batchesOf, destinationIdentity, readState, statePaths, type DatasetState } from '../export/state';
import { DEFAULT_FOLDER_TEMPLATE, renderFolder, stablePrefix, type TemplateValues } from '../export/template';
import { floorToMinute, parseDate } from '../export/time';
import { attempt, attemptAsync, RequestError } from '../errors';
import { formatOfFile } from '../format';
import { stringifyJson } from '../json';
import type { Source } from '../source/types';
import { cleanPath, joinPath, parentOf, readText } from '../storage/common';
import { StoreError, type Store } from '../storage/types';
import { NOT_RECONCILED, reconcile, type Reconciliation } from './reconcile';
import { schemaChange, type SchemaChange } from './schema-change';
import { findUnlisted, type RunInProgress } from './unlisted';

export type { BatchReconciliation, Reconciliation } from './reconcile';
export type { SchemaChange } from './schema-change';

export interface VerifyRequest {
	/** The manifest to verify (e.g. Export Dataset's `manifestPath`). */
	manifestPath?: string;
	/** Otherwise: find the dataset's export at `exportTime`, or its latest one. */
	datasetId?: string;
	folderPath?: string;
	folderTemplate?: string;
	exportTime?: unknown;
	destinationName?: string;
	sandboxName?: string;
	organizationName?: string;
	/** Stream every file through SHA-256 (default true). Sizes, record counts and each file's structure are checked either way. */
	checksums?: boolean;
	/**
	 * Let each file's format decode everything it holds (default true; Parquet: every column chunk),
	 * else only its quick structure checks (Parquet: ends, footer and row counts).
	 */
	decode?: boolean;
	/** Compare each batch's exported records with the count the lake's batch metadata gives (Reconcile With Lake). */
	source?: Source;
	checkOrphans?: boolean;
	checkContinuity?: boolean;
	signal?: AbortSignal;
}

export interface FileVerdict {
	name: string;
	path: string;
	ok: boolean;
	exists: boolean;
	size: { expected: number; actual: number | null };
	sha256: { expected: string | null; actual: string | null; source: 'streamed' | 'skipped' };
	records: { expected: number | null; actual: number | null };
	readable: boolean;
	problems: string[];
}

export interface ContinuityVerdict {
	checked: boolean;
	ok: boolean;
	/** This export's window (exports made by the commit log are checked by batch, not by time). */
	chain: Array<{ manifestPath: string; from: string | null; to: string | null }>;
	problems: string[];
}

export interface Verdict {
	ok: boolean;
	manifestPath: string;
	runId: string;
	datasetId: string;
	mode: string;
	exportTime: string;
	window: { from: string | null; to: string | null };
	/** Whether the dataset's commit log holds this export (version 1 manifests: always). */
	committed: boolean;
	commit: { sequence: number; path: string } | null;
	files: FileVerdict[];
	/** Objects below the dataset's export prefix that no committed export lists. */
	orphans: string[];
	/** The same, each with why it is not accounted for. */
	unlisted: Array<{ path: string; why: string }>;
	/** Temporary files and unfinished uploads below the prefix. */
	unfinished: string[];
	/**
	 * Runs that have not committed and may still be running (another export of the dataset at the
	 * same time, or one that died less than its Remove Leftovers After ago), with their files and
	 * unfinished uploads so far: a warning, not a problem, until that age.
	 */
	inProgress: RunInProgress[];
	continuity: ContinuityVerdict;
	/** Per-batch record counts against the lake's (Reconcile With Lake). */
	reconciliation: Reconciliation;
	/** The schema this export wrote against the previous export's. */
	schemaChange: SchemaChange;
	totals: { files: number; records: number; bytes: number };
	problems: string[];
	/** What does not fail verification but should be known: schema changes, batches not reconciled, runs in progress. */
	warnings: string[];
	durationMs: number;
}

/** Find the manifest a request points at. */
async function locate(store: Store, request: VerifyRequest): Promise<string> {
	if (request.manifestPath) {
		const clean = attempt(() => cleanPath(request.manifestPath as string));
		if (!clean.ok) throw new RequestError(`Manifest Path: ${clean.error.message}`, 'manifestPath');
		return clean.value;
	}
	if (!request.datasetId?.trim()) throw new RequestError('give either a Manifest Path or a Dataset to verify', 'datasetId');
	const folderPath = request.folderPath ?? '';
	// read only: Verify never writes (the marker is written by the first export)
	const instanceId = await destinationIdentity(store, folderPath, false);
	const time = attempt(() => parseDate(request.exportTime));
	if (!time.ok) throw new RequestError(`Export Time: ${time.error.message}`, 'exportTime');
	const exportTime = time.value;
	const values: TemplateValues = {
		datasetId: request.datasetId.trim(),
		destination: store.type,
		destinationInstanceName: request.destinationName || store.type,
		destinationInstanceId: instanceId,
		sandboxName: request.sandboxName || 'prod',
		organizationName: request.organizationName || '',
		exportTime: floorToMinute(exportTime ?? new Date(0)),
	};
	const template = request.folderTemplate || DEFAULT_FOLDER_TEMPLATE;
	const rendered = attempt(() => ({
		prefix: stablePrefix(folderPath, template, values),
		folder: exportTime ? renderFolder(folderPath, template, values) : undefined,
	}));
	if (!rendered.ok) throw new RequestError(`Folder Template: ${rendered.error.message}`, 'folderTemplate');
	const { prefix, folder } = rendered.value;
	const notFound = () =>
		new RequestError(`no committed export of dataset "${values.datasetId}" found under "${prefix || '/'}"${exportTime ? ` for export time ${values.exportTime.toISOString()}` : ''}`, 'datasetId');
	const state = await readState(store, statePaths(prefix, values.datasetId), values.datasetId, { readOnly: true });
	if (!folder) {
		if (state.headRun?.manifestPath) return state.headRun.manifestPath;
		// an export committed without a manifest file (Include Manifest off): its commit record is the same JSON
		if (state.headRun) return statePaths(prefix, values.datasetId).commit(state.head);
		// exports made before the commit log: the newest manifest
		const legacy = await findLatestManifest(store, prefix, values.datasetId, instanceId);
		if (!legacy) throw notFound();
		return legacy.path;
	}
	// the newest committed export in that export time's folder
	const candidates: string[] = [];
	for await (const object of store.list(`${folder}/`)) {
		if (parentOf(object.path) === folder && isManifestPath(object.path)) candidates.push(object.path);
	}
	candidates.sort((x, y) => (runIdOf(x) < runIdOf(y) ? 1 : -1));
	for (const path of candidates) {
		const manifest = await attemptAsync(() => readManifest(store, path));
		if (!manifest.ok || manifest.value.datasetId !== values.datasetId) continue;
		if (isLegacy(manifest.value) || state.runs.has(manifest.value.flowRunId)) return path;
	}
	throw notFound();
}

/** A version 1 manifest: committed by being written (before the commit log). */
const isLegacy = (manifest: Manifest) => (manifest.manifestVersion ?? 1) < 2 || !manifest.commit;

async function verifyFile(store: Store, manifest: Manifest, entry: ManifestFile, checksums: boolean, decode: boolean): Promise<FileVerdict> {
	const path = cleanPath(joinPath(entry.sinkPath, entry.name));
	const verdict: FileVerdict = {
		name: entry.name,
		path,
		ok: false,
		exists: false,
		size: { expected: entry.size, actual: null },
		sha256: { expected: entry.sha256 ?? null, actual: null, source: 'skipped' },
		records: { expected: typeof entry.records === 'number' ? entry.records : null, actual: null },
		readable: false,
		problems: [],
	};
	const stat = await attemptAsync(() => store.stat(path));
	if (!stat.ok) {
		verdict.problems.push(`cannot be looked at: ${stat.error.message}`);
		return verdict;
	}
	if (!stat.value) {
		verdict.problems.push('file is missing');
		return verdict;
	}
	verdict.exists = true;
	verdict.size.actual = stat.value.size;
	if (stat.value.size !== entry.size) verdict.problems.push(`size is ${stat.value.size} bytes, the manifest says ${entry.size}`);
	const size = stat.value.size;
	const checked = await attemptAsync(async () => {
		const format = formatOfFile(manifest.format?.fileType, entry.name);
		if (!format) throw new Error(`no format is registered for file type "${manifest.format?.fileType ?? '(none)'}" (nor for the file's extension)`);
		return format.check(store, path, size, { name: entry.name, codec: manifest.format?.codec, schema: manifest.schema, decode, hash: checksums });
	});
	if (!checked.ok) {
		verdict.problems.push(`cannot be read: ${checked.error.message}`);
	} else {
		const structure = checked.value;
		verdict.records.actual = structure.records;
		verdict.readable = structure.readable;
		verdict.problems.push(...structure.problems);
		if (checksums && structure.sha256) verdict.sha256 = { ...verdict.sha256, actual: structure.sha256, source: 'streamed' };
	}
	if (verdict.sha256.expected && verdict.sha256.actual && verdict.sha256.expected !== verdict.sha256.actual) {
		verdict.problems.push(`SHA-256 is ${verdict.sha256.actual}, the manifest says ${verdict.sha256.expected}`);
	}
	if (!verdict.sha256.expected) verdict.problems.push('the manifest has no checksum for this file');
	if (verdict.records.expected !== null && verdict.records.actual !== null && verdict.records.expected !== verdict.records.actual) {
		verdict.problems.push(`holds ${verdict.records.actual} records, the manifest says ${verdict.records.expected}`);
	}
	verdict.ok = verdict.problems.length === 0;
	return verdict;
}

/**
 * The export's place in the commit log: committed (its commit record holds the same JSON), and
 * none of its batches in another committed incremental export of the dataset.
 */
async function checkCommit(store: Store, manifestPath: string, manifest: Manifest, state: DatasetState): Promise<{ committed: boolean; problems: string[]; continuity: ContinuityVerdict }> {
	const problems: string[] = [];
	let committed = true;
	if (!isLegacy(manifest)) {
		const record = manifest.commit as NonNullable<Manifest['commit']>;
		const text = await attemptAsync(() => readText(store, record.path));
		if (!text.ok) {
			committed = false;
			problems.push(
				`the export is not committed: its commit record ${record.path} ${text.error instanceof StoreError && text.error.code === 'not_found' ? 'does not exist' : `cannot be read (${text.error.message})`}`,
			);
		} else {
			const parsed = attempt(() => parseManifest(text.value, record.path));
			if (!parsed.ok || parsed.value.flowRunId !== manifest.flowRunId) {
				committed = false;
				problems.push(`the export is not committed: commit ${record.sequence} (${record.path}) belongs to ${parsed.ok ? `run ${parsed.value.flowRunId}` : 'no readable run'}`);
			} else if (stringifyJson(parsed.value) !== stringifyJson(manifest)) {
				problems.push(`the manifest differs from its commit record ${record.path} (edited after the commit?)`);
			}
		}
		// (an export committed without a manifest file is verified from its commit record itself)
		if (manifestPath !== record.manifestPath && !(record.manifestPath === null && manifestPath === record.path))
			problems.push(`the manifest is at ${manifestPath}, its commit record says ${record.manifestPath}`);
	}
	const continuity: ContinuityVerdict = { checked: false, ok: true, chain: [], problems: [] };
	if (manifest.mode === 'incremental' && !isLegacy(manifest)) {
		continuity.checked = true;
		const sequence = manifest.commit?.sequence;
		for (const batch of batchesOf(manifest)) {
			const dup = state.duplicates.find((d) => d.batchId === batch.id);
			if (dup) continuity.problems.push(`batch ${batch.id} is in more than one committed export (commits ${dup.sequences.join(', ')})`);
			const mark = state.batches.get(batch.id);
			if (!mark && committed) continuity.problems.push(`batch ${batch.id} is not in the commit log`);
			else if (mark && mark.seq !== sequence && !dup) continuity.problems.push(`batch ${batch.id} was committed by commit ${mark.seq}, not by this export (commit ${sequence})`);
		}
		continuity.chain = [{ manifestPath, from: manifest.window.from, to: manifest.window.to }];
		continuity.ok = continuity.problems.length === 0;
	}
	return { committed, problems, continuity };
}

async function reconcileOrFail(source: Source, manifest: Manifest): Promise<Reconciliation> {
	const result = await attemptAsync(() => reconcile(source, manifest));
	if (!result.ok) throw new RequestError(result.error.message, 'source');
	return result.value;
}

export async function verifyExport(store: Store, request: VerifyRequest): Promise<Verdict> {
	const started = Date.now();
	const manifestPath = await locate(store, request);
	const read = await attemptAsync(() => readManifest(store, manifestPath));
	if (!read.ok) {
		if (read.error instanceof StoreError && read.error.code === 'not_found') {
			throw new RequestError(`manifest ${manifestPath} does not exist: the export was never committed (or was removed)`, 'manifestPath');
		}
		throw new RequestError(read.error.message, 'manifestPath');
	}
	const manifest: Manifest = read.value;
	const files: FileVerdict[] = [];
	for (const entry of manifest.exportResults) {
		request.signal?.throwIfAborted();
		files.push(await verifyFile(store, manifest, entry, request.checksums !== false, request.decode !== false));
	}
	const folder = parentOf(manifestPath);
	const prefix = manifest.layout?.statePrefix ?? parentOf(folder);
	const state = await readState(store, statePaths(prefix, manifest.datasetId), manifest.datasetId, { readOnly: true });
	const commitCheck = await checkCommit(store, manifestPath, manifest, state);
	const unlisted = request.checkOrphans === false ? { orphans: [], unfinished: [], inProgress: [] } : await findUnlisted(store, prefix, state, request.signal);
	const schema = await schemaChange(store, statePaths(prefix, manifest.datasetId), manifest);
	const reconciliation = request.source ? await reconcileOrFail(request.source, manifest) : NOT_RECONCILED;
	const continuity = request.checkContinuity === false ? { checked: false, ok: true, chain: [], problems: [] } : commitCheck.continuity;
	const problems = [
		...commitCheck.problems,
		...files.filter((f) => !f.ok).map((f) => `${f.name}: ${f.problems.join('; ')}`),
		...unlisted.orphans.map((o) => `unlisted file ${o.path} (${o.why})`),
		...unlisted.unfinished.map((u) => `unfinished upload ${u} (left by a run that never finished; the next export run removes it)`),
		...continuity.problems,
		...reconciliation.batches.filter((b) => b.status === 'differs').map((b) => `batch ${b.id} does not reconcile with the lake: ${b.note}`),
	];
	const warnings = [...schema.warnings];
	for (const run of unlisted.inProgress) {
		const held = [run.files.length && `${run.files.length} file(s)`, run.unfinished.length && `${run.unfinished.length} unfinished upload(s)`].filter(Boolean).join(' and ');
		warnings.push(
			`run ${run.runId} (started ${run.startedAt}, ${Math.round(run.ageMs / 60_000)} min ago) has not committed and may still be running: its ${held} are not part of any export yet (they join one when it commits, or the next export removes them once the run is older than its Remove Leftovers After)`,
		);
	}
	const unreconciled = reconciliation.batches.filter((b) => b.status === 'not reconciled');
	if (unreconciled.length) {
		warnings.push(
			`${unreconciled.length} of ${reconciliation.batches.length} batch(es) not reconciled with the lake: ${unreconciled
				.slice(0, 10)
				.map((b) => `${b.id} (${b.note})`)
				.join('; ')}${unreconciled.length > 10 ? '; …' : ''}`,
		);
	}
	const records = manifest.exportResults.reduce((n, f) => n + (f.records ?? 0), 0);
	if (manifest.totals && manifest.totals.records !== records) problems.push(`totals.records is ${manifest.totals.records}, the files add up to ${records}`);
	return {
		ok: problems.length === 0,
		manifestPath,
		runId: manifest.flowRunId,
		datasetId: manifest.datasetId,
		mode: manifest.mode,
		exportTime: manifest.exportTime ?? manifest.scheduledTime,
		window: { from: manifest.window.from, to: manifest.window.to },
		committed: commitCheck.committed,
		commit: manifest.commit ? { sequence: manifest.commit.sequence, path: manifest.commit.path } : null,
		files,
		orphans: unlisted.orphans.map((o) => o.path),
		unlisted: unlisted.orphans,
		unfinished: unlisted.unfinished,
		inProgress: unlisted.inProgress,
		continuity,
		totals: { files: manifest.exportResults.length, records, bytes: manifest.exportResults.reduce((n, f) => n + f.size, 0) },
		reconciliation,
		schemaChange: schema.change,
		problems,
		warnings,
		durationMs: Date.now() - started,
	};
}
