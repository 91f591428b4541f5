/**
 * Verify an export at its destination: the manifest parses; every file it lists exists with
 * its size, SHA-256 and record count, and is readable (gzip decodes to the end, the Parquet footer
 * parses and names the expected codec); no unlisted files sit in the export folder; and the
 * dataset's consecutive incremental windows have no gap and no overlap.
 */
import { createGunzip } from 'node:zlib';
import { parquetMetadataAsync } from 'hyparquet';
import { findLatestManifest, findManifests, isManifestPath, readManifest, runIdOf, type Manifest, type ManifestFile } from '../export/manifest';
import { destinationInstanceId } from '../export/run';
import { DEFAULT_FOLDER_TEMPLATE, renderFolder, stablePrefix, type TemplateValues } from '../export/template';
import { floorToMinute, parseDate } from '../export/time';
import { attempt, attemptAsync } from '../errors';
import { parseJson } from '../json';
import { baseName, cleanPath, HashingCounter, joinPath, parentOf, readAll } from '../storage/common';
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
	/** Incremental exports of this dataset at this destination, oldest first, up to this one. */
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
	files: FileVerdict[];
	orphans: string[];
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
	const instanceId = destinationInstanceId(store);
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
	const rendered = attempt(() =>
		exportTime ? renderFolder(request.folderPath ?? '', template, values) : stablePrefix(request.folderPath ?? '', template, values),
	);
	if (!rendered.ok) throw new VerifyError(`Folder Template: ${rendered.error.message}`, 'folderTemplate');
	const prefix = rendered.value;
	const found = await findLatestManifest(store, prefix, values.datasetId, instanceId);
	if (!found) {
		throw new VerifyError(
			`no committed export of dataset "${values.datasetId}" found under "${prefix || '/'}"${exportTime ? ` for export time ${values.exportTime.toISOString()}` : ''}`,
			'datasetId',
		);
	}
	return found.path;
}

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

/** Files in the export folder that no manifest there lists. */
async function findOrphans(store: Store, folder: string): Promise<string[]> {
	const objects: string[] = [];
	for await (const object of store.list(folder ? `${folder}/` : '')) {
		if (parentOf(object.path) === folder) objects.push(object.path);
	}
	const listed = new Set<string>();
	for (const path of objects.filter((p) => isManifestPath(p))) {
		try {
			for (const f of (await readManifest(store, path)).exportResults) listed.add(cleanPath(joinPath(f.sinkPath, f.name)));
		} catch {
			// an unreadable manifest lists nothing; its files show up as orphans
		}
	}
	return objects.filter((p) => !isManifestPath(p) && !listed.has(p));
}

async function checkContinuity(store: Store, manifestPath: string, manifest: Manifest): Promise<ContinuityVerdict> {
	if (manifest.mode !== 'incremental') return { checked: false, ok: true, chain: [], problems: [] };
	const prefix = manifest.layout?.statePrefix ?? parentOf(parentOf(manifestPath));
	const chain = await findManifests(store, prefix, manifest.datasetId, manifest.destination?.instanceId ?? '', 'incremental');
	const upTo = chain.filter((m) => runIdOf(m.path) <= runIdOf(manifestPath));
	const problems: string[] = [];
	for (let i = 1; i < upTo.length; i++) {
		const prev = upTo[i - 1].manifest.window;
		const cur = upTo[i].manifest.window;
		if (cur.from === prev.to) continue;
		const kind = prev.to !== null && (cur.from === null || cur.from < prev.to) ? 'overlap' : 'gap';
		problems.push(`${kind} between ${baseName(upTo[i - 1].path)} (to ${prev.to}) and ${baseName(upTo[i].path)} (from ${cur.from})`);
	}
	return {
		checked: true,
		ok: problems.length === 0,
		chain: upTo.map((m) => ({ manifestPath: m.path, from: m.manifest.window.from, to: m.manifest.window.to })),
		problems,
	};
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
	const orphans = request.checkOrphans === false ? [] : await findOrphans(store, folder);
	const continuity = request.checkContinuity === false ? { checked: false, ok: true, chain: [], problems: [] } : await checkContinuity(store, manifestPath, manifest);
	const problems = [
		...files.filter((f) => !f.ok).map((f) => `${f.name}: ${f.problems.join('; ')}`),
		...orphans.map((o) => `unlisted file ${o} (left by a failed run, or written by something else)`),
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
		files,
		orphans,
		continuity,
		totals: { files: manifest.exportResults.length, records, bytes: manifest.exportResults.reduce((n, f) => n + f.size, 0) },
		problems,
		durationMs: Date.now() - started,
	};
}
