import { MISMATCHES, ORIGIN, type ChunkOrigin, type Mismatch } from '../mismatch';
import type { Schema } from '../schema';

export type DatasetRecord = Record<string, unknown>;

/**
 * A chunk of records may carry each record's JSON text (one line, already validated) under this
 * key: JSON encoders then write that text as-is instead of serialising the record again, which
 * is faster and byte-for-byte faithful to the source.
 */
export const RAW_JSON = Symbol('rawJson');

/**
 * A chunk of records, with what a reader knows about them: their JSON text, where they come from
 * (file, lines), and values that did not fit the schema (see lib/mismatch.ts).
 */
export type RecordChunk = DatasetRecord[] & { [RAW_JSON]?: string[]; [ORIGIN]?: ChunkOrigin; [MISMATCHES]?: Mismatch[] };

/** A slice of a chunk that keeps the raw JSON text, origin and mismatches in step with the records. */
export function sliceChunk(chunk: RecordChunk, start: number, end: number): RecordChunk {
	const part: RecordChunk = chunk.slice(start, end);
	const raw = chunk[RAW_JSON];
	if (raw) part[RAW_JSON] = raw.slice(start, end);
	const origin = chunk[ORIGIN];
	if (origin) {
		part[ORIGIN] = origin.lines
			? { file: origin.file, lines: origin.lines.slice(start, end) }
			: { file: origin.file, firstLine: origin.firstLine === undefined ? undefined : origin.firstLine + start };
	}
	const found = chunk[MISMATCHES];
	if (found?.length) {
		const inside = found.filter((m) => m.index >= start && m.index < part.length + start).map((m) => ({ ...m, index: m.index - start }));
		if (inside.length) part[MISMATCHES] = inside;
	}
	return part;
}

/** The records at `keep` (indices, ascending) of a chunk, with their text, lines and mismatches in step. */
export function pickRecords(chunk: RecordChunk, keep: readonly number[]): RecordChunk {
	const part: RecordChunk = keep.map((i) => chunk[i]);
	const raw = chunk[RAW_JSON];
	if (raw) part[RAW_JSON] = keep.map((i) => raw[i]);
	const origin = chunk[ORIGIN];
	if (origin) part[ORIGIN] = { file: origin.file, lines: keep.map((i) => origin.lines?.[i] ?? (origin.firstLine ?? 0) + i) };
	const found = chunk[MISMATCHES];
	if (found?.length) {
		const at = new Map(keep.map((i, j) => [i, j]));
		const moved = found.filter((m) => at.has(m.index)).map((m) => ({ ...m, index: at.get(m.index)! }));
		if (moved.length) part[MISMATCHES] = moved;
	}
	return part;
}

/** The 1-based line (or row) of record `index` of a chunk in its source file, when the reader said. */
export function lineOf(chunk: RecordChunk, index: number): number | null {
	const origin = chunk[ORIGIN];
	if (!origin) return null;
	return origin.lines?.[index] ?? (origin.firstLine === undefined ? null : origin.firstLine + index);
}

export type DatasetKind = 'event' | 'profile' | 'lookup';
export const DATASET_KINDS: readonly DatasetKind[] = ['event', 'profile', 'lookup'];

export interface BatchInfo {
	id: string;
	/** ISO-8601 UTC ingestion time: the incremental watermark is built on it. */
	ingestedAt: string;
	/** Records in the batch when the source knows it without reading the data. */
	recordCount: number | null;
	sizeBytes: number;
	/** Source-relative locations of the batch's data files, in read order. */
	files: string[];
	/**
	 * The id names the batch's content (records handed over in memory): the same id is the same
	 * records, and `ingestedAt` is only when they were handed over, so a later time is no change.
	 */
	contentAddressed?: boolean;
	/**
	 * The batch is a range of a table in its cursor's terms (`(from, to]`), recorded in the commit
	 * and the manifest: the next incremental run asks the source for the range after the newest
	 * committed one (design: docs/notes/sources-design.md §1).
	 */
	position?: BatchPosition;
	/** Something about the batch the run must report (e.g. rows a cursor cannot reach). */
	warning?: string;
}

/** A range of rows in a cursor's terms: the columns, and the first (exclusive) and last (inclusive) values, as the source writes them. */
export interface BatchPosition {
	/** The cursor column, then the unique tie-breaker columns. */
	columns: string[];
	/** Values after which the range starts (null: from the beginning). */
	from: string[] | null;
	/** Values of the range's last row. */
	to: string[];
}

export interface ListBatchesOptions {
	/** The newest committed range (incremental exports of sources that keep a cursor); null: none yet. */
	after?: BatchPosition | null;
	/** What the batches are for: a full export reads everything, without waiting for a cursor to settle. */
	mode?: 'incremental' | 'full';
	signal?: AbortSignal;
	/** Something the run must report (rows a cursor cannot reach, a setting that risks rows): the export lists it in its warnings. */
	warn?: (message: string) => void;
}

export interface DatasetInfo {
	id: string;
	name: string;
	description: string;
	kind: DatasetKind;
	tier: string;
	tags: string[];
	enabled: boolean;
	/** Declared by the dataset, or inferred from sample records when it declares none. */
	schema: Schema | undefined;
	schemaSource: 'declared' | 'inferred' | 'none';
	/** The event-time field of an `event` dataset, when it names one. */
	timestampField?: string;
	recordCount: number | null;
	sizeBytes: number;
	batchCount: number;
	lastIngestedAt: string | null;
	/** Set when the dataset's metadata could not be read; the dataset is then not eligible. */
	problem?: string;
}

export interface ReadOptions {
	signal?: AbortSignal;
	/**
	 * The consumer writes JSON and will use RAW_JSON text where a chunk has it. Sources that read
	 * JSON lines may then only validate each line (plain JSON.parse): the text is exact, but
	 * integers beyond 2^53 in that chunk's record objects may be approximate.
	 */
	jsonText?: boolean;
	/** Records per yielded chunk (default 2,000). */
	chunkSize?: number;
}

/** A data source: lists datasets and their batches, and streams a batch's records in chunks. */
export interface Source {
	/** Short type name used in reports, e.g. `local-lake`. */
	readonly type: string;
	listDatasets(): Promise<DatasetInfo[]>;
	/** Throws SourceError('not_found') for an unknown id. */
	getDataset(id: string): Promise<DatasetInfo>;
	/** Batches sorted by ingestion time, then id. Sources that keep a cursor plan the range after `options.after`. */
	listBatches(datasetId: string, options?: ListBatchesOptions): Promise<BatchInfo[]>;
	readBatch(dataset: DatasetInfo, batch: BatchInfo, options?: ReadOptions): AsyncIterable<DatasetRecord[]>;
	/**
	 * Records the source holds now for a batch an export committed (Verify's reconciliation), for
	 * sources whose batches are ranges rather than listed objects; null when it cannot say.
	 */
	countBatch?(datasetId: string, batch: { id: string; position?: BatchPosition }, signal?: AbortSignal): Promise<number | null>;
	/** Release what the source holds open (a store's connections); the caller's last word to it. */
	close?(): Promise<void>;
}

/**
 * `location`: the source itself (a lake's folder, a server) cannot be opened, as configured;
 * `auth`: the server refused the credential; `unreachable`: the server did not answer (after the
 * retries); `busy`: the source is not in a state to be read safely yet (transactions that could
 * still write rows into the range stayed open past the wait);
 * `not_found`: a dataset or batch that does not exist; `invalid`: a bad name or metadata;
 * `unreadable`: data that cannot be read; `malformed`: a record that cannot be parsed.
 */
export type SourceErrorCode = 'location' | 'auth' | 'unreachable' | 'busy' | 'not_found' | 'invalid' | 'unreadable' | 'malformed';

export class SourceError extends Error {
	constructor(
		message: string,
		readonly code: SourceErrorCode,
	) {
		super(message);
		this.name = 'SourceError';
	}
}
