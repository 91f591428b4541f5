/**
 * Verify an export at its destination: the manifest parses and is committed (its commit record in
 * the dataset's commit log holds the same JSON); every file it lists exists with its size, SHA-256
 * and record count, and is readable (gzip decodes to the end, the Parquet footer parses and names
 * the expected codec); no object anywhere below the dataset's export prefix is unlisted (temporary
 * names and unfinished uploads included); and no batch of the export is in another committed
 * incremental export of the dataset.
 */
import { createGunzip } from 'node:zlib';
import { parquetMetadataAsync } from 'hyparquet';
import { findLatestManifest, isManifestPath, parseManifest, readManifest, runIdOf, type Manifest, type ManifestFile } from '../export/manifest';
import { batchesOf, destinationIdentity, readState, runIdIn, STATE_DIR, statePaths, type DatasetState } from '../export/state';
import { DEFAULT_FOLDER_TEMPLATE, renderFolder, stablePrefix, type TemplateValues } from '../export/template';
import { floorToMinute, parseDate } from '../export/time';
import { attempt, attemptAsync } from '../errors';
import { parseJson, stringifyJson } from '../json';
import { cleanPath, HashingCounter, joinPath, parentOf, readAll, readText } from '../storage/common';
import { StoreError, type Store } from '../storage/types';

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
	/** Stream every file through SHA-256 (default true; else only sizes, counts and footers). */
	checksums?: boolean;
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
	sha256: { expected: string | null; actual: string | null; source: 'streamed' | 'storage' | 'skipped' };
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
	/** Temporary files and unfinished uploads below the prefix. */
	unfinished: string[];
	continuity: ContinuityVerdict;
	totals: { files: number; records: number; bytes: number };
	problems: string[];
	durationMs: number;
}

export class VerifyError extends Error {
	constructor(
		message: string,
		readonly parameter?: string,
	) {
		super(message);
		this.name = 'VerifyError';
	}
}

/** Find the manifest a request points at. */
async function locate(store: Store, request: VerifyRequest): Promise<string> {
	if (request.manifestPath) {
		const clean = attempt(() => cleanPath(request.manifestPath as string));
		if (!clean.ok) throw new VerifyError(`Manifest Path: ${clean.error.message}`, 'manifestPath');
		return clean.value;
	}
	if (!request.datasetId?.trim()) throw new VerifyError('give either a Manifest Path or a Dataset to verify', 'datasetId');
	const folderPath = request.folderPath ?? '';
	// read only: Verify never writes (the marker is written by the first export)
	const instanceId = await destinationIdentity(store, folderPath, false);
	const time = attempt(() => parseDate(request.exportTime));
	if (!time.ok) throw new VerifyError(`Export Time: ${time.error.message}`, 'exportTime');
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
	if (!rendered.ok) throw new VerifyError(`Folder Template: ${rendered.error.message}`, 'folderTemplate');
	const { prefix, folder } = rendered.value;
	const notFound = () =>
		new VerifyError(
			`no committed export of dataset "${values.datasetId}" found under "${prefix || '/'}"${exportTime ? ` for export time ${values.exportTime.toISOString()}` : ''}`,
			'datasetId',
		);
	const state = await readState(store, statePaths(prefix, values.datasetId), values.datasetId, { readOnly: true });
	if (!folder) {
		if (state.headRun?.manifestPath) return state.headRun.manifestPath;
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

const isGzipName = (name: string) => name.endsWith('.gz');

/** Stream a file once: hash it, and count NDJSON records / check gzip while the bytes pass. */
async function inspectText(store: Store, path: string, gzip: boolean): Promise<{ size: number; sha256: string; records: number; problem?: string }> {
	const input = await store.read(path);
	const counter = new HashingCounter();
	const hashed = input.pipe(counter);
	input.on('error', (error) => counter.destroy(error));
	const text = gzip ? hashed.pipe(createGunzip()) : hashed;
	if (gzip) hashed.on('error', (error) => text.destroy(error));
	let records = 0;
	let lastByte = 10;
	let first = '';
	let tail = '';
	let problem: string | undefined;
	try {
		for await (const chunk of text as AsyncIterable<Buffer>) {
			for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) records++;
			if (first.length < 1 << 16 && !first.includes('\n')) first += chunk.toString('utf8', 0, Math.min(chunk.length, 1 << 16));
			tail = (tail + chunk.toString('utf8', Math.max(0, chunk.length - (1 << 16)))).slice(-(1 << 17));
			if (chunk.length) lastByte = chunk[chunk.length - 1];
		}
	} catch (error) {
		problem = `${gzip ? 'gzip stream' : 'file'} cannot be read to the end: ${(error as Error).message}`;
	}
	if (!problem && lastByte !== 10) problem = 'the last record is not terminated by a newline (truncated file?)';
	if (!problem && records > 0) {
		const firstLine = first.slice(0, first.indexOf('\n'));
		const lines = tail.split('\n');
		const lastLine = lines[lines.length - 2] ?? '';
		for (const [label, line] of [
			['first', firstLine],
			['last', lastLine],
		]) {
			try {
				parseJson(line);
			} catch (error) {
				problem = `the ${label} record is not valid JSON: ${(error as Error).message}`;
				break;
			}
		}
	}
	// drain what is left so the hash covers the whole object
	try {
		for await (const chunk of hashed) void chunk;
	} catch (error) {
		problem ??= `file cannot be read to the end: ${(error as Error).message}`;
	}
	return { size: counter.bytes, sha256: counter.digest(), records, problem };
}

async function parquetFooter(store: Store, path: string, size: number) {
	return parquetMetadataAsync({
		byteLength: size,
		async slice(start: number, end?: number) {
			const buffer = await readAll(await store.read(path, { start, end: end ?? size }));
			return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length) as ArrayBuffer;
		},
	});
}

const PARQUET_CODECS: Record<string, string> = { none: 'UNCOMPRESSED', snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD' };

async function verifyFile(store: Store, manifest: Manifest, entry: ManifestFile, checksums: boolean): Promise<FileVerdict> {
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
	const stat = await store.stat(path);
	if (!stat) {
		verdict.problems.push('file is missing');
		return verdict;
	}
	verdict.exists = true;
	verdict.size.actual = stat.size;
	if (stat.size !== entry.size) verdict.problems.push(`size is ${stat.size} bytes, the manifest says ${entry.size}`);
	if (stat.sha256) verdict.sha256 = { ...verdict.sha256, actual: stat.sha256, source: 'storage' };

	if (manifest.format?.fileType === 'parquet' || entry.name.endsWith('.parquet')) {
		try {
			const metadata = await parquetFooter(store, path, stat.size);
			verdict.records.actual = Number(metadata.num_rows);
			verdict.readable = true;
			const expectedCodec = PARQUET_CODECS[manifest.format?.codec ?? ''];
			const codecs = new Set(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)));
			if (expectedCodec && metadata.row_groups.length && (codecs.size !== 1 || !codecs.has(expectedCodec as never))) {
				verdict.problems.push(`Parquet codec is ${[...codecs].join('/')}, the manifest says ${expectedCodec}`);
			}
		} catch (error) {
			verdict.problems.push(`Parquet footer cannot be read: ${(error as Error).message}`);
		}
		if (checksums && verdict.sha256.source !== 'storage') {
			const counter = new HashingCounter();
			for await (const chunk of (await store.read(path)).pipe(counter)) void chunk;
			verdict.sha256 = { ...verdict.sha256, actual: counter.digest(), source: 'streamed' };
		}
	} else {
		const inspected = await inspectText(store, path, isGzipName(entry.name));
		verdict.records.actual = inspected.records;
		verdict.readable = !inspected.problem;
		if (inspected.problem) verdict.problems.push(inspected.problem);
		if (checksums && verdict.sha256.source !== 'storage') verdict.sha256 = { ...verdict.sha256, actual: inspected.sha256, source: 'streamed' };
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

/** The datasets whose commit logs are below a prefix: their committed run ids, for telling leftovers from exports. */
async function committedRuns(store: Store, prefix: string, stateRoots: Set<string>, known: DatasetState): Promise<Set<string>> {
	const runs = new Set(known.runs.keys());
	for (const root of stateRoots) {
		const segment = root.slice(root.lastIndexOf('/') + 1);
		const datasetId = decodeURIComponent(segment);
		const base = parentOf(parentOf(root));
		if (datasetId === known.datasetId && base === prefix) continue;
		const state = await readState(store, statePaths(base, datasetId), datasetId, { readOnly: true });
		for (const runId of state.runs.keys()) runs.add(runId);
	}
	return runs;
}

/**
 * Every object below the export prefix that no committed export accounts for: files of runs that
 * never committed (their run id is in their name), files no committed manifest in their folder
 * lists (exports made before the commit log, or written by something else), manifests that were
 * never committed, temporary files and unfinished uploads. The verified export's own folder is
 * checked file by file against the manifests there; other folders by run id, reading manifests
 * only where a name is not a committed run's.
 */
async function findUnlisted(store: Store, prefix: string, verifiedFolder: string, state: DatasetState): Promise<{ orphans: string[]; unfinished: string[] }> {
	const objects: string[] = [];
	const stateRoots = new Set<string>();
	const stateDir = `/${STATE_DIR}/`;
	for await (const object of store.list(prefix ? `${prefix}/` : '')) {
		const relative = `/${prefix ? object.path.slice(prefix.length + 1) : object.path}`;
		const at = relative.indexOf(stateDir);
		if (at >= 0) {
			// a commit log below the prefix: <somewhere>/_dataset_export/<dataset>/…
			const segment = relative.slice(at + stateDir.length).split('/')[0];
			if (segment && relative.slice(at + stateDir.length).includes('/')) stateRoots.add(joinPath(prefix, relative.slice(1, at), STATE_DIR, segment));
			continue;
		}
		objects.push(object.path);
	}
	const committed = await committedRuns(store, prefix, stateRoots, state);
	const folders = new Map<string, string[]>();
	for (const path of objects) {
		const folder = parentOf(path);
		const runId = runIdIn(path);
		if (folder !== verifiedFolder && runId && committed.has(runId)) continue;
		folders.set(folder, [...(folders.get(folder) ?? []), path]);
	}
	if (!folders.has(verifiedFolder)) folders.set(verifiedFolder, []);
	const orphans: string[] = [];
	for (const [folder, suspects] of folders) {
		if (!suspects.length) continue;
		const listed = new Set<string>();
		const goodManifests = new Set<string>();
		for (const path of suspects.filter((p) => isManifestPath(p))) {
			const manifest = await attemptAsync(() => readManifest(store, path));
			// an unreadable manifest, or one never committed, lists nothing (and is itself unlisted)
			if (!manifest.ok || !(isLegacy(manifest.value) || committed.has(manifest.value.flowRunId))) continue;
			goodManifests.add(path);
			for (const f of manifest.value.exportResults) listed.add(cleanPath(joinPath(f.sinkPath, f.name)));
		}
		if (folder !== verifiedFolder) {
			// a committed run's files in another folder were let through above; its manifest may list others
			for (const path of objects.filter((p) => parentOf(p) === folder && isManifestPath(p) && committed.has(runIdIn(p) ?? ''))) {
				const manifest = await attemptAsync(() => readManifest(store, path));
				if (manifest.ok) for (const f of manifest.value.exportResults) listed.add(cleanPath(joinPath(f.sinkPath, f.name)));
			}
		}
		for (const path of suspects) if (!goodManifests.has(path) && !listed.has(path)) orphans.push(path);
	}
	const unfinished: string[] = [];
	for await (const upload of store.listUnfinished(prefix ? `${prefix}/` : '')) unfinished.push(upload.detail);
	return { orphans: orphans.sort(), unfinished: unfinished.sort() };
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
			problems.push(`the export is not committed: its commit record ${record.path} ${text.error instanceof StoreError && text.error.code === 'not_found' ? 'does not exist' : `cannot be read (${text.error.message})`}`);
		} else {
			const parsed = attempt(() => parseManifest(text.value, record.path));
			if (!parsed.ok || parsed.value.flowRunId !== manifest.flowRunId) {
				committed = false;
				problems.push(`the export is not committed: commit ${record.sequence} (${record.path}) belongs to ${parsed.ok ? `run ${parsed.value.flowRunId}` : 'no readable run'}`);
			} else if (stringifyJson(parsed.value) !== stringifyJson(manifest)) {
				problems.push(`the manifest differs from its commit record ${record.path} (edited after the commit?)`);
			}
		}
		if (manifestPath !== record.manifestPath) problems.push(`the manifest is at ${manifestPath}, its commit record says ${record.manifestPath}`);
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

export async function verifyExport(store: Store, request: VerifyRequest): Promise<Verdict> {
	const started = Date.now();
	const manifestPath = await locate(store, request);
	const read = await attemptAsync(() => readManifest(store, manifestPath));
	if (!read.ok) {
		if (read.error instanceof StoreError && read.error.code === 'not_found') {
			throw new VerifyError(`manifest ${manifestPath} does not exist: the export was never committed (or was removed)`, 'manifestPath');
		}
		throw new VerifyError(read.error.message, 'manifestPath');
	}
	const manifest: Manifest = read.value;
	const files: FileVerdict[] = [];
	for (const entry of manifest.exportResults) {
		request.signal?.throwIfAborted();
		files.push(await verifyFile(store, manifest, entry, request.checksums !== false));
	}
	const folder = parentOf(manifestPath);
	const prefix = manifest.layout?.statePrefix ?? parentOf(folder);
	const state = await readState(store, statePaths(prefix, manifest.datasetId), manifest.datasetId, { readOnly: true });
	const commitCheck = await checkCommit(store, manifestPath, manifest, state);
	const unlisted = request.checkOrphans === false ? { orphans: [], unfinished: [] } : await findUnlisted(store, prefix, folder, state);
	const continuity = request.checkContinuity === false ? { checked: false, ok: true, chain: [], problems: [] } : commitCheck.continuity;
	const problems = [
		...commitCheck.problems,
		...files.filter((f) => !f.ok).map((f) => `${f.name}: ${f.problems.join('; ')}`),
		...unlisted.orphans.map((o) => `unlisted file ${o} (left by a run that never committed, or written by something else)`),
		...unlisted.unfinished.map((u) => `unfinished upload ${u} (left by a run that never finished; the next export run removes it)`),
		...continuity.problems,
	];
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
		orphans: unlisted.orphans,
		unfinished: unlisted.unfinished,
		continuity,
		totals: { files: manifest.exportResults.length, records, bytes: manifest.exportResults.reduce((n, f) => n + f.size, 0) },
		problems,
		durationMs: Date.now() - started,
	};
}
