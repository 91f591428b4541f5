/**
 * What every lake shares, wherever its files are (a folder on this host: ./local-lake; a store:
 * ./store-lake): the two layouts' metadata files, which names are hidden, how a dataset is
 * described from its metadata and batches, the batch order, and schema inference.
 *
 *   <lake>/<datasetId>/dataset.json                 metadata (name, kind, tier, tags, schema, …)
 *   <lake>/<datasetId>/batches/<batchId>/batch.json  {id, ingestedAt, recordCount} (optional)
 *   <lake>/<datasetId>/batches/<batchId>/*.{json,ndjson,jsonl,csv,parquet}[.gz]
 *
 * or a plain folder of files: each sub-folder is a dataset and each data file in it a batch,
 * ingested at the file's modification time.
 */
import { inferSchema, type Schema } from '../schema';
import { formatFromName, parquetFileSchema, type LakeInput } from './readers';
import { DATASET_KINDS, type BatchInfo, type DatasetInfo, type DatasetKind, type DatasetRecord } from './types';

export const SAMPLE_RECORDS = 500;

export interface BatchJson {
	id?: string;
	ingestedAt?: string;
	recordCount?: number;
}

export interface DatasetJson {
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

/** Names starting with "." or "_" are never datasets, batches or data files. */
export function isHidden(name: string): boolean {
	return name.startsWith('.') || name.startsWith('_');
}

/** A dataset folder that cannot be described, listed with the reason (List Eligible Datasets shows it as not eligible). */
export function unusable(id: string, problem: string): DatasetInfo {
	return {
		id,
		name: id,
		description: '',
		kind: 'event',
		tier: 'Prime',
		tags: [],
		enabled: true,
		schema: undefined,
		schemaSource: 'none',
		recordCount: null,
		sizeBytes: 0,
		batchCount: 0,
		lastIngestedAt: null,
		problem,
	};
}

/** Batches by ingestion time, then id. */
export function sortBatches(batches: BatchInfo[]): BatchInfo[] {
	return batches.sort((a, b) => (a.ingestedAt < b.ingestedAt ? -1 : a.ingestedAt > b.ingestedAt ? 1 : a.id < b.id ? -1 : 1));
}

/** A dataset as its metadata and batches describe it (its schema inferred by the caller when it declares none). */
export function datasetInfo(id: string, meta: DatasetJson, batches: BatchInfo[], problem?: string): DatasetInfo {
	const kind = (DATASET_KINDS as readonly string[]).includes(meta.kind ?? '') ? (meta.kind as DatasetKind) : 'event';
	const known = batches.every((b) => b.recordCount !== null);
	return {
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
		problem,
	};
}

/**
 * A schema for a dataset that declares none, cached per dataset state: a Parquet file's footer
 * says its types (decimal precision, binary, timestamp units); other files are sampled.
 */
export class SchemaInference {
	private readonly cache = new Map<string, { key: string; schema: Schema | undefined }>();

	async infer(
		dataset: DatasetInfo,
		batches: BatchInfo[],
		open: (file: string) => Promise<LakeInput>,
		read: (batch: BatchInfo, chunkSize: number) => AsyncIterable<DatasetRecord[]>,
	): Promise<Schema | undefined> {
		const key = `${batches.length}:${dataset.lastIngestedAt}`;
		const cached = this.cache.get(dataset.id);
		if (cached?.key === key) return cached.schema;
		const first = batches[0]?.files[0];
		let schema: Schema | undefined;
		if (first && formatFromName(first) === 'parquet') schema = await parquetFileSchema(await open(first));
		else {
			const sample: DatasetRecord[] = [];
			outer: for (const batch of batches) {
				for await (const chunk of read(batch, SAMPLE_RECORDS)) {
					sample.push(...chunk);
					if (sample.length >= SAMPLE_RECORDS) break outer;
				}
			}
			schema = sample.length ? inferSchema(sample) : undefined;
		}
		this.cache.set(dataset.id, { key, schema });
		return schema;
	}
}
