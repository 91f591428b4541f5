/**
 * The manifest: the description of one export. It keeps Adobe's fields (`flowRunId`,
 * `scheduledTime`, `exportResults[{sinkPath, name, size}]`) and adds what Adobe's users ask for.
 * The same JSON is the export's commit record in the dataset's commit log (lib/export/state.ts),
 * which is what makes it committed; the manifest file in the export folder is written from it
 * right after the commit (and by the next run, should the committing run die in between).
 *
 * Version 1 manifests (before the commit log) were themselves the commit and carried a time
 * watermark; they are still read, and adopted into the log by the first run after an upgrade.
 */
import { attempt } from '../errors';
import { parseJson } from '../json';
import type { Schema } from '../schema';
import type { BatchPosition } from '../source/types';
import type { FileType } from '../format';
import type { SchemaEvolution, SkippedRecords } from './mismatches';
import { baseName, readText } from '../storage/common';
import type { Store } from '../storage/types';

export const MANIFEST_VERSION = 2;

export interface ManifestFile {
	sinkPath: string;
	name: string;
	size: number;
	records: number;
	sha256: string;
}

export interface ExportWindow {
	/**
	 * Version 2: the earliest ingestion time of the exported batches (null: no batch). Version 1:
	 * the exclusive lower bound of the time window.
	 */
	from: string | null;
	/** The latest ingestion time of the exported batches (null: no batch). */
	to: string | null;
	/** Ids of the exported batches: the truth the commit log is built on. */
	batches: string[];
}

/** A batch as exported: its id, and what it looked like then. */
export interface ManifestBatch {
	id: string;
	ingestedAt: string;
	sizeBytes: number | null;
	/** Records in the batch by the source's metadata (null: the source cannot count without reading). */
	records: number | null;
	/** Records of the batch in this export's files (version 2, from 0.2). */
	exported?: number;
	/** Records of the batch left out by On Schema Mismatch: Skip Record. */
	skipped?: number;
	/** The range of a table this batch is, in the source's cursor terms (sources that keep a cursor). */
	position?: BatchPosition;
}

export interface Manifest {
	flowRunId: string;
	scheduledTime: string;
	exportResults: ManifestFile[];
	manifestVersion: number;
	datasetId: string;
	datasetName: string;
	destination: { type: string; instanceName: string; instanceId: string };
	mode: 'incremental' | 'full';
	exportTime: string;
	window: ExportWindow;
	format: { fileType: FileType; codec: string; extension: string };
	schema: Schema | null;
	/** Where this dataset's exports live: `statePrefix` holds every export folder of the dataset. */
	layout: { folderPath: string; folderTemplate: string; folder: string; statePrefix: string };
	totals: { files: number; records: number; bytes: number };
	startedAt: string;
	completedAt: string;
	generator: string;
	/** Version 2: the exported batches with their fingerprints (`window.batches` has the ids). */
	batches?: ManifestBatch[];
	/** Version 2: where the export sits in the dataset's commit log. */
	commit?: { protocol: number; sequence: number; path: string; manifestPath: string | null };
	/** On Schema Mismatch: Evolve widened the schema: from which file, and what changed (`schema` is the widest). */
	schemaEvolution?: (SchemaEvolution & { file: string | null })[];
	/** On Schema Mismatch: Skip Record left records out: how many, and the first few with where and why. */
	skipped?: SkippedRecords;
	/** Batches that version 1 manifests at this destination had exported, adopted by the first commit. */
	adopted?: { manifests: string[]; batches: ManifestBatch[] };
}

export const manifestName = (destinationInstanceId: string, runId: string) => `manifest-${destinationInstanceId}-${runId}.json`;

const MANIFEST_NAME = /^manifest-(.+)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/;

export function isManifestPath(path: string, destinationInstanceId?: string): boolean {
	const match = MANIFEST_NAME.exec(baseName(path));
	return !!match && (destinationInstanceId === undefined || match[1] === destinationInstanceId);
}

/** The run id in a manifest's name (UUIDv7: sorts by creation time). */
export function runIdOf(path: string): string {
	return MANIFEST_NAME.exec(baseName(path))?.[2] ?? '';
}

export class ManifestError extends Error {}

/** Parse and check a manifest's shape; throws ManifestError naming what is wrong. */
export function parseManifest(text: string, path: string): Manifest {
	const parsed = attempt(() => parseJson(text) as Manifest);
	if (!parsed.ok) throw new ManifestError(`manifest ${path} is not valid JSON: ${parsed.error.message}`);
	const value = parsed.value;
	const problems: string[] = [];
	if (!value || typeof value !== 'object') throw new ManifestError(`manifest ${path} is not a JSON object`);
	if (typeof value.flowRunId !== 'string') problems.push('flowRunId');
	if (typeof value.datasetId !== 'string') problems.push('datasetId');
	if (!Array.isArray(value.exportResults)) problems.push('exportResults');
	else {
		value.exportResults.forEach((f, i) => {
			if (typeof f?.name !== 'string' || typeof f?.sinkPath !== 'string' || typeof f?.size !== 'number') {
				problems.push(`exportResults[${i}]`);
			}
		});
	}
	if (!value.window || !('from' in value.window) || !('to' in value.window)) problems.push('window');
	if (value.mode !== 'incremental' && value.mode !== 'full') problems.push('mode');
	if (problems.length) throw new ManifestError(`manifest ${path} is missing or has malformed fields: ${problems.join(', ')}`);
	return value;
}

export async function readManifest(store: Store, path: string): Promise<Manifest> {
	return parseManifest(await readText(store, path), path);
}

/** Paths of a destination's manifests below a prefix, oldest run first. */
export async function listManifestPaths(store: Store, prefix: string, destinationInstanceId?: string): Promise<string[]> {
	const paths: string[] = [];
	for await (const object of store.list(prefix ? `${prefix}/` : '')) {
		if (isManifestPath(object.path, destinationInstanceId)) paths.push(object.path);
	}
	return paths.sort((a, b) => (runIdOf(a) < runIdOf(b) ? -1 : 1));
}

export interface FoundManifest {
	path: string;
	manifest: Manifest;
}

/**
 * Every committed manifest of a dataset below a prefix, oldest first. Manifests of other
 * datasets or other destinations sharing the folder are skipped; an unreadable one is an error
 * (guessing past it could export a window twice or skip one).
 */
export async function findManifests(store: Store, prefix: string, datasetId: string, destinationInstanceId: string, mode?: 'incremental' | 'full'): Promise<FoundManifest[]> {
	const paths = await listManifestPaths(store, prefix, destinationInstanceId);
	const found: FoundManifest[] = [];
	for (const path of paths) {
		const manifest = await readManifest(store, path);
		if (manifest.datasetId === datasetId && (!mode || manifest.mode === mode)) found.push({ path, manifest });
	}
	return found;
}

/** The newest committed manifest, reading from the newest name down (one read in the usual case). */
export async function findLatestManifest(store: Store, prefix: string, datasetId: string, destinationInstanceId: string, mode?: 'incremental' | 'full'): Promise<FoundManifest | undefined> {
	const paths = await listManifestPaths(store, prefix, destinationInstanceId);
	for (const path of paths.reverse()) {
		const manifest = await readManifest(store, path);
		if (manifest.datasetId === datasetId && (!mode || manifest.mode === mode)) return { path, manifest };
	}
	return undefined;
}

export interface ExportedDataset {
	datasetId: string;
	datasetName: string;
	/** Export time and mode of the newest committed export found. */
	exportTime: string;
	mode: 'incremental' | 'full';
}

/**
 * The datasets with committed exports below a prefix (newest export first), for pickers. With a
 * folder template that starts with the dataset id, one manifest is read per dataset folder;
 * otherwise the newest `maxReads` manifests are read.
 */
export async function exportedDatasets(store: Store, prefix: string, folderTemplate: string, maxReads = 100): Promise<ExportedDataset[]> {
	const paths = (await listManifestPaths(store, prefix)).reverse();
	const byDatasetFolder = folderTemplate.startsWith('%DATASET_ID%/');
	const skip = prefix ? prefix.length + 1 : 0;
	const seenFolders = new Set<string>();
	const found = new Map<string, ExportedDataset>();
	let reads = 0;
	for (const path of paths) {
		if (reads >= maxReads) break;
		if (byDatasetFolder) {
			const folder = path.slice(skip).split('/')[0];
			if (seenFolders.has(folder)) continue;
			seenFolders.add(folder);
		}
		reads++;
		const read = await readManifest(store, path).then(
			(manifest) => manifest,
			() => undefined, // a picker lists what it can read; Verify reports unreadable manifests
		);
		if (!read || found.has(read.datasetId)) continue;
		found.set(read.datasetId, { datasetId: read.datasetId, datasetName: read.datasetName, exportTime: read.exportTime, mode: read.mode });
	}
	return [...found.values()];
}
