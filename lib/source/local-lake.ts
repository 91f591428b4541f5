/**
 * The local data lake, the embedded default source. Read-only. Two layouts:
 *
 *   <lake>/<datasetId>/dataset.json                 metadata (name, kind, tier, tags, schema, …)
 *   <lake>/<datasetId>/batches/<batchId>/batch.json  {id, ingestedAt, recordCount} (optional)
 *   <lake>/<datasetId>/batches/<batchId>/*.{json,ndjson,jsonl,csv,parquet}[.gz]
 *
 * or a plain folder of files: each sub-folder is a dataset and each data file in it a batch,
 * ingested at the file's modification time.
 */
import { readdir, readFile as readText, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { hostPath } from '../host-path';
import { attemptAsync, errnoCode } from '../errors';
import { parseJson } from '../json';
import { inferSchema, validateSchema, type Schema } from '../schema';
import { formatFromName, parquetRowCount, readFile } from './readers';
import {
	DATASET_KINDS,
	SourceError,
	type BatchInfo,
	type DatasetInfo,
	type DatasetKind,
	type DatasetRecord,
	type ReadOptions,
	type Source,
} from './types';

const SAMPLE_RECORDS = 500;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

interface BatchJson {
	id?: string;
	ingestedAt?: string;
	recordCount?: number;
}

interface DatasetJson {
	id?: string;
	name?: string;
	description?: string;
	kind?: string;
	tier?: string;
	tags?: string[];
	enabled?: boolean;
	schema?: Schema;
	timestampField?: string;
}

function isHidden(name: string) {
	return name.startsWith('.') || name.startsWith('_');
}

async function exists(path: string) {
	try {
		await stat(path);
		return true;
	} catch {
		return false;
	}
}

export class LocalLakeSource implements Source {
	readonly type = 'local-lake';
	readonly root: string;
	private readonly inferred = new Map<string, { key: string; schema: Schema | undefined }>();

	constructor(root: string) {
		this.root = hostPath(root);
	}

	private datasetDir(id: string) {
		if (!SAFE_ID.test(id)) {
			throw new SourceError(`"${id}" is not a valid dataset id (letters, digits, ".", "_" and "-" only)`, 'invalid');
		}
		return join(this.root, id);
	}

	async listDatasets(): Promise<DatasetInfo[]> {
		const listed = await attemptAsync(() => readdir(this.root, { withFileTypes: true }));
		if (!listed.ok) throw new SourceError(`cannot read the lake folder ${this.root}: ${listed.error.message}`, 'unreadable');
		const ids = listed.value.filter((e) => e.isDirectory() && !isHidden(e.name) && SAFE_ID.test(e.name)).map((e) => e.name).sort();
		return Promise.all(ids.map((id) => this.describe(id)));
	}

	async getDataset(id: string): Promise<DatasetInfo> {
		const dir = this.datasetDir(id);
		const info = await attemptAsync(() => stat(dir));
		if (!info.ok || !info.value.isDirectory()) throw new SourceError(`dataset "${id}" does not exist in the lake ${this.root}`, 'not_found');
		return this.describe(id);
	}

	private async readDatasetJson(id: string): Promise<{ meta: DatasetJson; problem?: string }> {
		const path = join(this.datasetDir(id), 'dataset.json');
		let text: string;
		try {
			text = await readText(path, 'utf8');
		} catch {
			return { meta: {} };
		}
		try {
			const meta = parseJson(text) as DatasetJson;
			if (meta.schema) validateSchema(meta.schema, `${id}/dataset.json schema`);
			return { meta };
		} catch (error) {
			return { meta: {}, problem: `dataset.json cannot be used: ${(error as Error).message}` };
		}
	}

	private async describe(id: string): Promise<DatasetInfo> {
		const { meta, problem } = await this.readDatasetJson(id);
		let batches: BatchInfo[] = [];
		let batchProblem: string | undefined;
		try {
			batches = await this.listBatches(id);
		} catch (error) {
			batchProblem = (error as Error).message;
		}
		const kind = (DATASET_KINDS as readonly string[]).includes(meta.kind ?? '') ? (meta.kind as DatasetKind) : 'event';
		const known = batches.every((b) => b.recordCount !== null);
		const info: DatasetInfo = {
			id,
			name: meta.name ?? id,
			description: meta.description ?? '',
			kind,
			tier: meta.tier ?? 'Prime',
			tags: Array.isArray(meta.tags) ? meta.tags.map(String) : [],
			enabled: meta.enabled !== false,
			schema: meta.schema,
			schemaSource: meta.schema ? 'declared' : 'none',
			timestampField: meta.timestampField,
			recordCount: known ? batches.reduce((n, b) => n + (b.recordCount ?? 0), 0) : null,
			sizeBytes: batches.reduce((n, b) => n + b.sizeBytes, 0),
			batchCount: batches.length,
			lastIngestedAt: batches.length ? batches[batches.length - 1].ingestedAt : null,
			problem: problem ?? batchProblem,
		};
		if (!info.schema && batches.length && !info.problem) {
			try {
				info.schema = await this.inferSchema(info, batches);
				info.schemaSource = info.schema ? 'inferred' : 'none';
			} catch (error) {
				info.problem = `schema cannot be inferred: ${(error as Error).message}`;
			}
		}
		return info;
	}

	/** Infer a schema from the first records of the first batch; cached per dataset state. */
	private async inferSchema(dataset: DatasetInfo, batches: BatchInfo[]): Promise<Schema | undefined> {
		const key = `${batches.length}:${dataset.lastIngestedAt}`;
		const cached = this.inferred.get(dataset.id);
		if (cached?.key === key) return cached.schema;
		const sample: DatasetRecord[] = [];
		outer: for (const batch of batches) {
			for await (const chunk of this.readBatch(dataset, batch, { chunkSize: SAMPLE_RECORDS })) {
				sample.push(...chunk);
				if (sample.length >= SAMPLE_RECORDS) break outer;
			}
		}
		const schema = sample.length ? inferSchema(sample) : undefined;
		this.inferred.set(dataset.id, { key, schema });
		return schema;
	}

	async listBatches(datasetId: string): Promise<BatchInfo[]> {
		const dir = this.datasetDir(datasetId);
		const batchesDir = join(dir, 'batches');
		const batches = (await exists(batchesDir)) ? await this.structuredBatches(batchesDir) : await this.plainBatches(dir);
		return batches.sort((a, b) => (a.ingestedAt < b.ingestedAt ? -1 : a.ingestedAt > b.ingestedAt ? 1 : a.id < b.id ? -1 : 1));
	}

	private async structuredBatches(batchesDir: string): Promise<BatchInfo[]> {
		const entries = await readdir(batchesDir, { withFileTypes: true });
		const out: BatchInfo[] = [];
		for (const entry of entries) {
			if (!entry.isDirectory() || isHidden(entry.name)) continue;
			const dir = join(batchesDir, entry.name);
			const names = (await readdir(dir)).filter((n) => !isHidden(n) && n !== 'batch.json' && formatFromName(n)).sort();
			if (!names.length) continue;
			const stats = await Promise.all(names.map((n) => stat(join(dir, n))));
			const read = await attemptAsync(async () => parseJson(await readText(join(dir, 'batch.json'), 'utf8')) as BatchJson);
			if (!read.ok && errnoCode(read.error) !== 'ENOENT') {
				throw new SourceError(`batch ${entry.name}: batch.json cannot be read: ${read.error.message}`, 'unreadable');
			}
			const meta: BatchJson = read.ok ? read.value : {};
			const ingested = meta.ingestedAt ? new Date(meta.ingestedAt) : new Date(Math.max(...stats.map((s) => s.mtimeMs)));
			if (Number.isNaN(ingested.getTime())) {
				throw new SourceError(`batch ${entry.name}: batch.json has an invalid ingestedAt "${meta.ingestedAt}"`, 'invalid');
			}
			out.push({
				id: entry.name,
				ingestedAt: ingested.toISOString(),
				recordCount: typeof meta.recordCount === 'number' ? meta.recordCount : null,
				sizeBytes: stats.reduce((n, s) => n + s.size, 0),
				files: names.map((n) => join(dir, n)),
			});
		}
		return out;
	}

	private async plainBatches(dir: string): Promise<BatchInfo[]> {
		const entries = await readdir(dir, { withFileTypes: true });
		const out: BatchInfo[] = [];
		for (const entry of entries) {
			if (!entry.isFile() || isHidden(entry.name) || entry.name === 'dataset.json' || !formatFromName(entry.name)) continue;
			const path = join(dir, entry.name);
			const info = await stat(path);
			const parquet = formatFromName(entry.name) === 'parquet';
			out.push({
				id: entry.name,
				ingestedAt: new Date(info.mtimeMs).toISOString(),
				recordCount: parquet ? await parquetRowCount(path).catch(() => null) : null,
				sizeBytes: info.size,
				files: [path],
			});
		}
		return out;
	}

	async *readBatch(dataset: DatasetInfo, batch: BatchInfo, options: ReadOptions = {}): AsyncGenerator<DatasetRecord[]> {
		const chunkSize = options.chunkSize ?? 2000;
		for (const file of batch.files) {
			const format = formatFromName(file);
			if (!format) throw new SourceError(`lake file ${file} has no known format`, 'unreadable');
			yield* readFile(file, format, dataset.schema, chunkSize, options.signal, options.jsonText);
		}
	}
}
