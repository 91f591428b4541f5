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
import { datasetIdProblem } from '../local-lake';
import { SourceError, type BatchInfo, type DatasetInfo, type DatasetRecord, type ReadOptions, type Source } from '../types';

export interface InputItemsOptions {
	/** When the records were handed over: the batch's ingestion time (default: now). */
	receivedAt?: Date;
	/** Shown as the dataset's name (default: its id). */
	name?: string;
}

export class InputItemsSource implements Source {
	readonly type = 'input-items';
	private readonly info: DatasetInfo;
	private readonly batch: BatchInfo;

	constructor(
		readonly datasetId: string,
		private readonly records: readonly DatasetRecord[],
		options: InputItemsOptions = {},
	) {
		const problem = datasetIdProblem(datasetId);
		if (problem) throw new SourceError(problem, 'invalid');
		const hash = createHash('sha256');
		let bytes = 0;
		for (let i = 0; i < records.length; i++) {
			const record = records[i];
			if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new SourceError(`record ${i + 1} is not an object`, 'malformed');
			const text = stringifyJson(record);
			hash.update(text).update('\n');
			bytes += Buffer.byteLength(text) + 1;
		}
		const at = (options.receivedAt ?? new Date()).toISOString();
		const schema = records.length ? inferSchema(records) : undefined;
		this.batch = { id: `items-${hash.digest('hex').slice(0, 32)}`, ingestedAt: at, recordCount: records.length, sizeBytes: bytes, files: [], contentAddressed: true };
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
