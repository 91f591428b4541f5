/**
 * Records handed over in memory as one dataset with one batch: the input items of an n8n
 * execution (issue 13; not offered in the nodes yet, see docs/notes/sources-design.md §5).
 *
 * The batch is named by its content (a SHA-256 of the records' exact JSON as given: the same keys in
 * another order are other content), so the same records
 * handed over again (a retried execution) are the batch the commit log already holds, and an
 * incremental export of them is `nothing-new` instead of a second copy; other records are a new
 * batch. The schema is inferred from every record (they are all in memory already). Records are
 * read in chunks of the size asked, never copied whole.
 */
import { createHash } from 'node:crypto';
import { stringifyJson } from '../../json';
import { inferSchema } from '../../schema';
import { Binary, ExactNumber } from '../../values';
import { datasetIdProblem } from '../local-lake';
import { SourceError, type BatchInfo, type DatasetInfo, type DatasetRecord, type ReadOptions, type Source } from '../types';

export interface InputItemsOptions {
	/** When the records were handed over: the batch's ingestion time (default: now). */
	receivedAt?: Date;
	/** Shown as the dataset's name (default: its id). */
	name?: string;
}

/**
 * A value as the item's JSON says it: objects with `toJSON` (Luxon's DateTime that Code nodes and
 * expressions make, Date, BSON ids) become what they serialise to, so their schema is that of
 * their JSON and not of their internals; the exact-value classes (ExactNumber, Binary) stay.
 */
function plain(value: unknown, depth = 0): unknown {
	if (value === null || typeof value !== 'object' || value instanceof ExactNumber || value instanceof Binary) return value;
	if (depth > 200) throw new SourceError('an item nests more than 200 levels deep', 'malformed');
	const toJSON = (value as { toJSON?: unknown }).toJSON;
	if (typeof toJSON === 'function') return plain(toJSON.call(value), depth + 1);
	if (Array.isArray(value)) {
		let copy: unknown[] | undefined;
		for (let i = 0; i < value.length; i++) {
			const next = plain(value[i], depth + 1);
			if (next !== value[i]) (copy ??= value.slice())[i] = next;
		}
		return copy ?? value;
	}
	let copy: Record<string, unknown> | undefined;
	for (const key of Object.keys(value)) {
		const was = (value as Record<string, unknown>)[key];
		const next = plain(was, depth + 1);
		if (next !== was) (copy ??= { ...(value as Record<string, unknown>) })[key] = next;
	}
	return copy ?? value;
}

export class InputItemsSource implements Source {
	readonly type = 'input-items';
	private readonly info: DatasetInfo;
	private readonly batch: BatchInfo;

	private readonly records: readonly DatasetRecord[];

	constructor(
		readonly datasetId: string,
		given: readonly DatasetRecord[],
		options: InputItemsOptions = {},
	) {
		const problem = datasetIdProblem(datasetId);
		if (problem) throw new SourceError(problem, 'invalid');
		for (let i = 0; i < given.length; i++) {
			const record = given[i];
			if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new SourceError(`record ${i + 1} is not an object`, 'malformed');
		}
		let records = given.map((record) => plain(record) as DatasetRecord);
		// n8n's "Always Output Data" hands on one empty item when a node found nothing: no record
		const empty = records.filter((r) => Object.keys(r).length === 0).length;
		let warning: string | undefined;
		if (empty && empty === records.length) {
			warning = `the ${empty} input item(s) have no fields (a node with Always Output Data sends one empty item when it found nothing): nothing to export`;
			records = [];
		} else if (empty) warning = `${empty} of ${records.length} input items have no fields: exported as records whose every field is null`;
		this.records = records;
		const hash = createHash('sha256');
		let bytes = 0;
		for (let i = 0; i < records.length; i++) {
			const record = records[i];
			const text = stringifyJson(record);
			hash.update(text).update('\n');
			bytes += Buffer.byteLength(text) + 1;
		}
		const at = (options.receivedAt ?? new Date()).toISOString();
		const schema = records.length ? inferSchema(records) : undefined;
		this.batch = { id: `items-${hash.digest('hex').slice(0, 32)}`, ingestedAt: at, recordCount: records.length, sizeBytes: bytes, files: [], contentAddressed: true, ...(warning ? { warning } : {}) };
		this.info = {
			id: datasetId,
			name: options.name ?? datasetId,
			description: 'Records handed over in memory (the input items of an execution)',
			kind: 'event',
			tier: 'Prime',
			tags: [],
			enabled: true,
			schema,
			schemaSource: schema ? 'inferred' : 'none',
			recordCount: records.length,
			sizeBytes: bytes,
			batchCount: 1,
			lastIngestedAt: at,
		};
	}

	async listDatasets(): Promise<DatasetInfo[]> {
		return [{ ...this.info }];
	}

	async getDataset(id: string): Promise<DatasetInfo> {
		if (id !== this.datasetId) throw new SourceError(`dataset "${id}" does not exist: the input items are the dataset "${this.datasetId}"`, 'not_found');
		return { ...this.info };
	}

	async listBatches(datasetId: string): Promise<BatchInfo[]> {
		await this.getDataset(datasetId);
		return [{ ...this.batch, files: [] }];
	}

	/** What the items said that the export must report (empty items), if anything. */
	get warning(): string | undefined {
		return this.batch.warning;
	}

	async *readBatch(dataset: DatasetInfo, batch: BatchInfo, options: ReadOptions = {}): AsyncGenerator<DatasetRecord[]> {
		await this.getDataset(dataset.id);
		if (batch.id !== this.batch.id) throw new SourceError(`batch "${batch.id}" of dataset "${dataset.id}" does not exist`, 'not_found');
		const size = Math.max(1, options.chunkSize ?? 2000);
		for (let start = 0; start < this.records.length; start += size) {
			options.signal?.throwIfAborted();
			yield this.records.slice(start, start + size);
		}
	}
}
