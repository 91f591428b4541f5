/**
 * A lake in a store: the local lake's two layouts (../lake-layout.ts) in a folder of an S3 bucket,
 * an Azure Blob or ADLS Gen2 container, a GCS bucket or an SFTP server, read through the same Store
 * adapters exports are written with (their timeouts and bounded retries included). Read-only: the
 * lake is listed, stat-ed and read, never written.
 *
 * - One listing of the dataset's folder gives its batches: `batches/<id>/` folders (with an optional
 *   batch.json) or, without them, every data file directly in the folder as one batch.
 * - A batch's time is its batch.json `ingestedAt`, else the newest of its files' modification times
 *   as the store reports them.
 * - Text files stream (gunzipped when gzip); Parquet files are read by ranged requests (the footer,
 *   then one row group's column chunks at a time), never whole.
 */
import { attemptAsync } from '../../errors';
import { parseJson } from '../../json';
import { validateSchema } from '../../schema';
import { ORIGIN } from '../../mismatch';
import { cleanPath, joinPath, readAll, unrooted } from '../../storage/common';
import { StoreError, type Store, type StoredObject } from '../../storage/types';
import { datasetInfo, isHidden, SchemaInference, sortBatches, unusable, type BatchJson, type DatasetJson } from '../lake-layout';
import { datasetIdProblem } from '../local-lake';
import { formatFromName, parquetRowCount, readFile, type LakeFile } from '../readers';
import { SourceError, type BatchInfo, type DatasetInfo, type DatasetRecord, type ListBatchesOptions, type ReadOptions, type RecordChunk, type Source } from '../types';

/** Bytes of metadata files read whole (dataset.json, batch.json): more is refused. */
const MAX_METADATA_BYTES = 16 << 20;

export interface StoreLakeOptions {
	/** How the lake is named in messages (e.g. `s3://bucket/lake`). */
	label?: string;
}

export class StoreLakeSource implements Source {
	readonly type = 'store-lake';
	private readonly root: string;
	private readonly label: string;
	private readonly inference = new SchemaInference();
	/** Sizes from the newest listing, so a read needs no stat per file. */
	private readonly sizes = new Map<string, number>();

	private opened: Promise<Store> | undefined;

	/** `store`: the store, or how to open it (the nodes open it from a credential when it is first used). */
	constructor(
		private readonly store: Store | (() => Promise<Store>),
		root: string,
		options: StoreLakeOptions = {},
	) {
		// the store cleans every key it lists (`./lake`, `a//b`): the root is cleaned the same way ('..' is refused)
		this.root = cleanPath(root);
		this.label = options.label ?? (typeof store === 'function' ? `the lake folder "${this.root || '/'}"` : `${store.location}${this.root ? `/${this.root}` : ''}`);
	}

	private open(): Promise<Store> {
		this.opened ??= typeof this.store === 'function' ? this.store() : Promise.resolve(this.store);
		return this.opened;
	}

	async close(): Promise<void> {
		const store = await this.opened?.catch(() => undefined);
		this.opened = undefined;
		await store?.close();
	}

	/** A store error as a source error: a refused credential, an unreachable server, a missing bucket say so. */
	private sourceError(error: unknown, what: string): Error {
		if (error instanceof SourceError) return error;
		if (error instanceof StoreError) {
			const code =
				error.code === 'auth'
					? 'auth'
					: error.code === 'unreachable' || error.code === 'timeout' || error.code === 'unavailable'
						? 'unreachable'
						: error.code === 'not_found' || error.code === 'config'
							? 'location'
							: 'unreadable';
			return new SourceError(`${what}: ${error.message}`, code);
		}
		return new SourceError(`${what}: ${(error as Error)?.message ?? String(error)}`, 'unreadable');
	}

	private path(...parts: string[]): string {
		return joinPath(this.root, ...parts);
	}

	/** Every object under a folder of the lake, by path relative to the lake. */
	private async objects(folder: string): Promise<StoredObject[]> {
		const prefix = folder ? `${this.path(folder)}/` : this.root ? `${this.root}/` : '';
		const listed = await attemptAsync(async () => {
			const out: StoredObject[] = [];
			for await (const object of (await this.open()).list(prefix)) out.push(object);
			return out;
		});
		if (!listed.ok) throw this.sourceError(listed.error, `the lake ${this.label} cannot be listed`);
		return listed.value.map((o) => {
			this.sizes.set(o.path, o.size);
			return { ...o, path: unrooted(this.root, o.path) };
		});
	}

	/**
	 * A listing that found nothing may be an empty lake, or a bucket or SFTP folder that does not
	 * exist (SFTP lists a missing folder as empty): the store's own check tells (a refusal to check,
	 * e.g. a read-only credential, is not taken as a missing lake).
	 */
	private async assertRootExists(lakeIsEmpty: boolean): Promise<void> {
		const checked = await attemptAsync(async () => (await this.open()).check());
		if (!checked.ok && checked.error instanceof StoreError && (checked.error.code === 'not_found' || checked.error.code === 'config')) {
			throw new SourceError(`the lake ${this.label} cannot be opened: ${checked.error.message}`, 'location');
		}
		// a Lake Folder with nothing in it is a mistyped or missing folder far more often than an empty lake
		if (lakeIsEmpty && this.root) throw new SourceError(`the lake ${this.label}: the folder "${this.root}" holds no objects (is Lake Folder spelled right?)`, 'location');
	}

	private async readJson<T>(relativePath: string): Promise<T | undefined> {
		const read = await attemptAsync(async () => (await readAll(await (await this.open()).read(this.path(relativePath)), MAX_METADATA_BYTES)).toString('utf8'));
		if (!read.ok) {
			if (read.error instanceof StoreError && read.error.code === 'not_found') return undefined;
			throw this.sourceError(read.error, `${relativePath} cannot be read`);
		}
		return parseJson(read.value) as T;
	}

	async listDatasets(): Promise<DatasetInfo[]> {
		const all = await this.objects('');
		if (!all.length) await this.assertRootExists(true);
		// one pass: each dataset's objects (the first folder of each path)
		const byDataset = new Map<string, StoredObject[]>();
		for (const object of all) {
			const cut = object.path.indexOf('/');
			if (cut < 1) continue;
			const name = object.path.slice(0, cut);
			if (isHidden(name)) continue;
			let list = byDataset.get(name);
			if (!list) byDataset.set(name, (list = []));
			list.push(object);
		}
		const out: DatasetInfo[] = [];
		for (const name of [...byDataset.keys()].sort()) {
			const problem = datasetIdProblem(name);
			if (problem) {
				out.push(unusable(name, `the folder name ${problem}; rename the folder`));
				continue;
			}
			out.push(await this.describe(name, byDataset.get(name)!));
		}
		return out;
	}

	private async datasetObjects(id: string): Promise<StoredObject[]> {
		const problem = datasetIdProblem(id);
		if (problem) throw new SourceError(problem, 'invalid');
		const objects = await this.objects(id);
		if (!objects.length) {
			await this.assertRootExists(false);
			throw new SourceError(`dataset "${id}" does not exist in the lake ${this.label}`, 'not_found');
		}
		return objects;
	}

	async getDataset(id: string): Promise<DatasetInfo> {
		return this.describe(id, await this.datasetObjects(id));
	}

	private async describe(id: string, objects: StoredObject[]): Promise<DatasetInfo> {
		let meta: DatasetJson = {};
		let problem: string | undefined;
		// read only when the listing has it (no request for a file that is not there)
		const hasMeta = objects.some((o) => o.path === `${id}/dataset.json`);
		const read = hasMeta ? await attemptAsync(() => this.readJson<DatasetJson>(`${id}/dataset.json`)) : ({ ok: true, value: undefined } as const);
		if (!read.ok) problem = `dataset.json cannot be used: ${read.error.message}`;
		else if (read.value) {
			meta = read.value;
			const valid = await attemptAsync(async () => meta.schema && validateSchema(meta.schema, `${id}/dataset.json schema`));
			if (!valid.ok) {
				meta = {};
				problem = `dataset.json cannot be used: ${valid.error.message}`;
			}
		}
		let batches: BatchInfo[] = [];
		const listed = await attemptAsync(() => this.batchesOf(id, objects));
		if (listed.ok) batches = listed.value;
		else problem ??= listed.error.message;
		const info = datasetInfo(id, meta, batches, problem);
		if (!info.schema && batches.length && !info.problem) {
			const inferred = await attemptAsync(() =>
				this.inference.infer(
					info,
					batches,
					async (file) => this.file(file),
					(batch, chunkSize) => this.readBatch(info, batch, { chunkSize }),
				),
			);
			if (inferred.ok) {
				info.schema = inferred.value;
				info.schemaSource = inferred.value ? 'inferred' : 'none';
			} else info.problem = `schema cannot be inferred: ${inferred.error.message}`;
		}
		return info;
	}

	async listBatches(datasetId: string, options: ListBatchesOptions = {}): Promise<BatchInfo[]> {
		return this.batchesOf(datasetId, await this.datasetObjects(datasetId), options.warn);
	}

	private async batchesOf(id: string, objects: StoredObject[], warn?: (message: string) => void): Promise<BatchInfo[]> {
		const inBatches = objects.filter((o) => o.path.startsWith(`${id}/batches/`));
		const out: BatchInfo[] = [];
		// objects the layout does not read (deeper folders, unknown formats, files beside batches/): said, never dropped silently
		const ignored: string[] = [];
		const visible = (parts: string[]) => !parts.slice(1).some(isHidden);
		if (inBatches.length) {
			const byBatch = new Map<string, StoredObject[]>();
			for (const object of objects) {
				const parts = object.path.split('/');
				if (!visible(parts)) continue;
				const inLayout = parts[1] === 'batches' && parts.length === 4;
				if (!inLayout) {
					if (object.path !== `${id}/dataset.json`) ignored.push(object.path);
					continue;
				}
				if (parts[3] !== 'batch.json' && !formatFromName(parts[3])) {
					ignored.push(object.path);
					continue;
				}
				byBatch.set(parts[2], [...(byBatch.get(parts[2]) ?? []), object]);
			}
			for (const [batchId, files] of byBatch) {
				const data = files.filter((f) => !f.path.endsWith('/batch.json')).sort((a, b) => (a.path < b.path ? -1 : 1));
				if (!data.length) continue;
				const meta = files.some((f) => f.path.endsWith('/batch.json'))
					? await this.readJson<BatchJson>(`${id}/batches/${batchId}/batch.json`).catch((error: Error) => {
							throw new SourceError(`batch ${batchId}: batch.json cannot be read: ${error.message}`, 'unreadable');
						})
					: undefined;
				out.push({
					id: batchId,
					ingestedAt: this.batchTime(batchId, meta?.ingestedAt, data),
					recordCount: typeof meta?.recordCount === 'number' ? meta.recordCount : null,
					sizeBytes: data.reduce((n, f) => n + f.size, 0),
					files: data.map((f) => f.path),
				});
			}
		} else {
			for (const object of objects) {
				const parts = object.path.split('/');
				if (!visible(parts) || object.path === `${id}/dataset.json`) continue;
				if (parts.length !== 2 || !formatFromName(parts[1])) {
					ignored.push(object.path);
					continue;
				}
				out.push({
					id: parts[1],
					ingestedAt: this.batchTime(parts[1], undefined, [object]),
					recordCount: formatFromName(parts[1]) === 'parquet' ? await this.parquetRows(object.path) : null,
					sizeBytes: object.size,
					files: [object.path],
				});
			}
		}
		if (ignored.length) {
			warn?.(
				`${ignored.length} object(s) in the folder of dataset ${id} are not read (the layout reads batches/<batch>/<file> or files directly in the dataset's folder, as NDJSON, JSON, CSV or Parquet, optionally .gz): ${ignored.slice(0, 5).join(', ')}${ignored.length > 5 ? ', …' : ''}`,
			);
		}
		return sortBatches(out);
	}

	/** A Parquet file's row count from its footer; null when it is not readable Parquet (the read says why), the store's own failures thrown. */
	private async parquetRows(path: string): Promise<number | null> {
		const counted = await attemptAsync(() => parquetRowCount(this.file(path)));
		if (counted.ok) return counted.value;
		if (counted.error instanceof SourceError && counted.error.code !== 'unreadable') throw counted.error;
		return null;
	}

	private batchTime(batchId: string, declared: string | undefined, files: StoredObject[]): string {
		if (declared) {
			const at = new Date(declared);
			if (Number.isNaN(at.getTime())) throw new SourceError(`batch ${batchId}: batch.json has an invalid ingestedAt "${declared}"`, 'invalid');
			return at.toISOString();
		}
		const times = files.map((f) => f.modified?.getTime()).filter((t): t is number => t !== undefined && Number.isFinite(t));
		if (times.length < files.length) throw new SourceError(`batch ${batchId}: the store gives no modification time for its files, and it has no batch.json with an ingestedAt`, 'invalid');
		return new Date(Math.max(...times)).toISOString();
	}

	/** A lake file (a path relative to the lake) read through the store: streamed, or by byte ranges. */
	private file(relativePath: string): LakeFile {
		const path = this.path(relativePath);
		const opening = () => this.open();
		const sizes = this.sizes;
		const fail = (error: unknown) => this.sourceError(error, `cannot read lake file ${relativePath}`);
		return {
			name: relativePath,
			async size() {
				const known = sizes.get(path);
				if (known !== undefined) return known;
				const stat = await (await opening()).stat(path).catch((error: unknown) => {
					throw fail(error);
				});
				if (!stat) throw new SourceError(`lake file ${relativePath} does not exist (any more)`, 'not_found');
				sizes.set(path, stat.size);
				return stat.size;
			},
			stream: async () =>
				(await opening()).read(path).catch((error: unknown) => {
					throw fail(error);
				}),
			async range(start, end) {
				if (end <= start) return new Uint8Array(0);
				const bytes = await readAll(
					await (await opening()).read(path, { start, end }).catch((error: unknown) => {
						throw fail(error);
					}),
					end - start,
				).catch((error: Error) => {
					throw error instanceof SourceError ? error : new SourceError(`lake file ${relativePath}: asked for bytes ${start}–${end}: ${error.message}`, 'unreadable');
				});
				if (bytes.length !== end - start) throw new SourceError(`lake file ${relativePath}: asked for bytes ${start}–${end}, the store sent ${bytes.length}`, 'unreadable');
				return bytes;
			},
		};
	}

	private async version(path: string, name: string): Promise<{ size: number; modified?: Date }> {
		const stat = await attemptAsync(async () => (await this.open()).stat(path));
		if (!stat.ok) throw this.sourceError(stat.error, `cannot read lake file ${name}`);
		if (!stat.value) throw new SourceError(`lake file ${name} does not exist any more (removed since the lake was listed)`, 'unreadable');
		return stat.value;
	}

	private changed(name: string, when: string): SourceError {
		return new SourceError(`lake file ${name} changed ${when} (another writer replaced it): nothing was committed; the next run reads it again`, 'unreadable');
	}

	async *readBatch(dataset: DatasetInfo, batch: BatchInfo, options: ReadOptions = {}): AsyncGenerator<DatasetRecord[]> {
		const chunkSize = options.chunkSize ?? 2000;
		for (const name of batch.files) {
			const format = formatFromName(name);
			if (!format) throw new SourceError(`lake file ${name} has no known format`, 'unreadable');
			// a lake object replaced by its producer while it is read (a resumed read, a footer and row
			// groups read apart) could mix two versions: it is looked at before and after, and must not change
			const path = this.path(name);
			const before = await this.version(path, name);
			const listedSize = this.sizes.get(path);
			if (listedSize !== undefined && before.size !== listedSize) throw this.changed(name, 'since the lake was listed');
			const chunks = readFile(this.file(name), format, dataset.schema, chunkSize, options.signal, options.jsonText);
			try {
				for await (const chunk of chunks) {
					const origin = (chunk as RecordChunk)[ORIGIN];
					(chunk as RecordChunk)[ORIGIN] = origin ? { ...origin, file: name } : { file: name };
					yield chunk;
				}
			} finally {
				await chunks.return(undefined);
			}
			const after = await this.version(path, name);
			if (after.size !== before.size || after.modified?.getTime() !== before.modified?.getTime()) throw this.changed(name, 'while it was read');
		}
	}
}
