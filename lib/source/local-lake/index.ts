/**
 * The local data lake, the embedded default source: a folder on the n8n host. Read-only. The two
 * layouts are ../lake-layout.ts's; this file adds the folder's own rules (symbolic links may not
 * lead out of Lake Path, n8n's file-access settings apply).
 */
import { access, constants as fsConstants, readdir, readFile as readText, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { accessRefused, hostPath, isInside, type FileAccessCheck } from '../../host-path';
import { attemptAsync, errnoCode } from '../../errors';
import { parseJson } from '../../json';
import { validateSchema } from '../../schema';
import { ORIGIN } from '../../mismatch';
import { datasetInfo, isHidden, SchemaInference, sortBatches, unusable, type BatchJson, type DatasetJson } from '../lake-layout';
import { formatFromName, parquetRowCount, readFile } from '../readers';
import { SourceError, type BatchInfo, type DatasetInfo, type DatasetRecord, type RecordChunk, type ReadOptions, type Source } from '../types';

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** The rule for dataset ids (and so for the lake's dataset folder names), as messages and the README state it. */
export const DATASET_ID_RULE = 'an id starts with a letter or a digit, then holds only letters, digits, ".", "_" and "-" (ASCII, at most 255 characters)';

/** Why `id` is not a valid dataset id, or undefined when it is. */
export function datasetIdProblem(id: string): string | undefined {
	if (SAFE_ID.test(id)) return undefined;
	const shown = JSON.stringify(id.length > 80 ? `${id.slice(0, 77)}...` : id);
	return `${shown} is not a valid dataset id: ${DATASET_ID_RULE}`;
}

/**
 * A problem with Lake Path itself (missing, not a folder, unreadable, refused by n8n's file-access
 * settings): the nodes blame the Lake Path parameter, not the dataset.
 */
export interface LocalLakeOptions {
	/** n8n's file-access rule (helpers.isFilePathBlocked): true refuses a resolved path. */
	isBlocked?: FileAccessCheck;
}

export class LocalLakeSource implements Source {
	readonly type = 'local-lake';
	readonly root: string;
	private readonly inference = new SchemaInference();
	private readonly isBlocked: FileAccessCheck;
	private realRootPromise: Promise<string> | undefined;

	constructor(root: string, options: LocalLakeOptions = {}) {
		this.root = hostPath(root);
		this.isBlocked = options.isBlocked ?? (() => false);
	}

	/**
	 * Lake Path as a real folder that may be read: a SourceError ('location') naming what is wrong otherwise
	 * (missing, a file, permission denied, refused by n8n's file-access settings).
	 */
	check(): Promise<string> {
		this.realRootPromise ??= this.openRoot().catch((error: unknown) => {
			this.realRootPromise = undefined;
			throw error;
		});
		return this.realRootPromise;
	}

	private async openRoot(): Promise<string> {
		const root = this.root;
		if (root.includes('\0')) throw new SourceError(`Lake Path must not contain a NUL character`, 'location');
		const info = await attemptAsync(() => stat(root));
		if (!info.ok) {
			const code = errnoCode(info.error);
			if (code === 'ENOENT') throw new SourceError(`Lake Path: the folder ${root} does not exist`, 'location');
			if (code === 'ENOTDIR') throw new SourceError(`Lake Path: ${root} is not a folder (a part of the path is a file)`, 'location');
			if (code === 'EACCES' || code === 'EPERM') {
				throw new SourceError(`Lake Path: permission denied: the user n8n runs as may not open ${root} (or a folder above it)`, 'location');
			}
			if (code === 'ENAMETOOLONG') throw new SourceError(`Lake Path: the path is too long`, 'location');
			throw new SourceError(`Lake Path: cannot open ${root}: ${info.error.message}`, 'location');
		}
		if (!info.value.isDirectory()) throw new SourceError(`Lake Path: ${root} is a file, not a folder`, 'location');
		const readable = await attemptAsync(() => access(root, fsConstants.R_OK | fsConstants.X_OK));
		if (!readable.ok) throw new SourceError(`Lake Path: permission denied: the user n8n runs as may not read the folder ${root}`, 'location');
		const real = await realpath(root);
		if (this.isBlocked(real)) throw new SourceError(`Lake Path: ${accessRefused(`the folder ${root}`)}`, 'location');
		return real;
	}

	/** A path inside the lake as shown in messages: relative to Lake Path. */
	private shown(path: string, realRoot: string): string {
		const rel = relative(realRoot, path);
		return rel && !rel.startsWith('..') ? rel.split(sep).join('/') : path;
	}

	/**
	 * The real path of something in the lake, refusing anything that resolves outside Lake Path
	 * (a symbolic link out of the lake) or that n8n's file-access settings refuse. The message never
	 * names where the link leads.
	 */
	private async within(path: string): Promise<string> {
		const realRoot = await this.check();
		const resolved = await attemptAsync(() => realpath(path));
		if (!resolved.ok) {
			const code = errnoCode(resolved.error);
			const where = this.shown(path, realRoot);
			if (code === 'ENOENT') throw new SourceError(`${where} does not exist in the lake (or is a broken symbolic link)`, 'not_found');
			if (code === 'EACCES' || code === 'EPERM') throw new SourceError(`${where}: permission denied: the user n8n runs as may not read it`, 'unreadable');
			if (code === 'ELOOP') throw new SourceError(`${where} is a loop of symbolic links`, 'unreadable');
			throw new SourceError(`${where} cannot be opened: ${resolved.error.message}`, 'unreadable');
		}
		if (!isInside(realRoot, resolved.value)) {
			throw new SourceError(`${this.shown(path, realRoot)} is a symbolic link that leads outside the lake (Lake Path): refused; copy the data into the lake instead`, 'unreadable');
		}
		if (this.isBlocked(resolved.value)) throw new SourceError(`${this.shown(path, realRoot)}: ${accessRefused('it')}`, 'unreadable');
		return resolved.value;
	}

	/** The real folder of a dataset, checked; not_found when there is none. */
	private async datasetDir(id: string): Promise<string> {
		const problem = datasetIdProblem(id);
		if (problem) throw new SourceError(problem, 'invalid');
		const realRoot = await this.check();
		const dir = join(realRoot, id);
		const real = await attemptAsync(() => this.within(dir));
		if (!real.ok) {
			if (real.error instanceof SourceError && real.error.code === 'not_found') throw new SourceError(`dataset "${id}" does not exist in the lake ${this.root}`, 'not_found');
			throw real.error;
		}
		const info = await stat(real.value);
		if (!info.isDirectory()) throw new SourceError(`dataset "${id}" does not exist in the lake ${this.root} (${id} is a file, not a folder)`, 'not_found');
		const readable = await attemptAsync(() => access(real.value, fsConstants.R_OK | fsConstants.X_OK));
		if (!readable.ok) throw new SourceError(`dataset "${id}": permission denied: the user n8n runs as may not read its folder`, 'unreadable');
		return real.value;
	}

	async listDatasets(): Promise<DatasetInfo[]> {
		const realRoot = await this.check();
		const listed = await attemptAsync(() => readdir(realRoot, { withFileTypes: true }));
		if (!listed.ok) throw new SourceError(`Lake Path: cannot read the folder ${this.root}: ${listed.error.message}`, 'location');
		const names = listed.value
			.filter((e) => !isHidden(e.name) && (e.isDirectory() || e.isSymbolicLink()))
			.map((e) => e.name)
			.sort();
		const out: DatasetInfo[] = [];
		for (const name of names) {
			const problem = datasetIdProblem(name);
			if (problem) {
				out.push(unusable(name, `the folder name ${problem}; rename the folder`));
				continue;
			}
			const dir = await attemptAsync(() => this.datasetDir(name));
			if (!dir.ok) {
				// a symbolic link to a file is not a dataset; one that leads out of the lake is listed, refused
				if (dir.error instanceof SourceError && dir.error.code === 'not_found') continue;
				out.push(unusable(name, dir.error.message));
				continue;
			}
			out.push(await this.describe(name));
		}
		return out;
	}

	async getDataset(id: string): Promise<DatasetInfo> {
		await this.datasetDir(id);
		return this.describe(id);
	}

	private async readDatasetJson(id: string): Promise<{ meta: DatasetJson; problem?: string }> {
		const path = join(await this.datasetDir(id), 'dataset.json');
		let text: string;
		const real = await attemptAsync(() => this.within(path));
		if (!real.ok) {
			if (real.error instanceof SourceError && real.error.code === 'not_found') return { meta: {} };
			return { meta: {}, problem: `dataset.json cannot be used: ${real.error.message}` };
		}
		try {
			text = await readText(real.value, 'utf8');
		} catch (error) {
			return { meta: {}, problem: `dataset.json cannot be read: ${(error as Error).message}` };
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
		const info = datasetInfo(id, meta, batches, problem ?? batchProblem);
		if (!info.schema && batches.length && !info.problem) {
			try {
				info.schema = await this.inference.infer(
					info,
					batches,
					(file) => this.within(file),
					(batch, chunkSize) => this.readBatch(info, batch, { chunkSize }),
				);
				info.schemaSource = info.schema ? 'inferred' : 'none';
			} catch (error) {
				info.problem = `schema cannot be inferred: ${(error as Error).message}`;
			}
		}
		return info;
	}

	async listBatches(datasetId: string): Promise<BatchInfo[]> {
		const dir = await this.datasetDir(datasetId);
		const batchesDir = join(dir, 'batches');
		const found = await attemptAsync(() => this.within(batchesDir));
		if (!found.ok && !(found.error instanceof SourceError && found.error.code === 'not_found')) throw found.error;
		const batches = found.ok ? await this.structuredBatches(found.value) : await this.plainBatches(dir);
		return sortBatches(batches);
	}

	private async structuredBatches(batchesDir: string): Promise<BatchInfo[]> {
		const entries = await readdir(batchesDir, { withFileTypes: true });
		const out: BatchInfo[] = [];
		for (const entry of entries) {
			if (!(entry.isDirectory() || entry.isSymbolicLink()) || isHidden(entry.name)) continue;
			const dir = await this.within(join(batchesDir, entry.name)).catch((error: unknown) => {
				throw new SourceError(`batch ${entry.name}: ${(error as Error).message}`, (error as SourceError).code ?? 'unreadable');
			});
			if (!(await stat(dir)).isDirectory()) continue;
			const names = (await readdir(dir)).filter((n) => !isHidden(n) && n !== 'batch.json' && formatFromName(n)).sort();
			if (!names.length) continue;
			// each file by its name in the lake (its format), checked to stay inside the lake
			const files = names.map((n) => join(dir, n));
			const stats = [];
			for (const file of files) stats.push(await stat(await this.within(file)));
			const batchJson = await attemptAsync(() => this.within(join(dir, 'batch.json')));
			const read = batchJson.ok
				? await attemptAsync(async () => parseJson(await readText(batchJson.value, 'utf8')) as BatchJson)
				: batchJson.error instanceof SourceError && batchJson.error.code === 'not_found'
					? ({ ok: false, error: Object.assign(new Error('absent'), { code: 'ENOENT' }) } as const)
					: ({ ok: false, error: batchJson.error } as const);
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
				files,
			});
		}
		return out;
	}

	private async plainBatches(dir: string): Promise<BatchInfo[]> {
		const entries = await readdir(dir, { withFileTypes: true });
		const out: BatchInfo[] = [];
		for (const entry of entries) {
			if (!(entry.isFile() || entry.isSymbolicLink()) || isHidden(entry.name) || entry.name === 'dataset.json' || !formatFromName(entry.name)) continue;
			const path = join(dir, entry.name);
			const info = await stat(await this.within(path));
			if (!info.isFile()) continue;
			const parquet = formatFromName(entry.name) === 'parquet';
			out.push({
				id: entry.name,
				ingestedAt: new Date(info.mtimeMs).toISOString(),
				recordCount: parquet ? await parquetRowCount(await this.within(path)).catch(() => null) : null,
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
			// checked again when read: a link swapped in since the listing is refused too
			const real = await this.within(file);
			// errors and mismatches name the file as the lake knows it (relative to Lake Path), not by
			// where it is on this host
			const name = isAbsolute(file) ? relative(this.root, file) || file : file;
			const chunks = readFile(real, format, dataset.schema, chunkSize, options.signal, options.jsonText);
			try {
				for (;;) {
					const next = await attemptAsync(() => chunks.next());
					if (!next.ok) {
						const error = next.error;
						if (error instanceof SourceError) throw new SourceError(error.message.split(real).join(name), error.code);
						throw error;
					}
					if (next.value.done) break;
					const chunk = next.value.value as RecordChunk;
					const origin = chunk[ORIGIN];
					chunk[ORIGIN] = origin ? { ...origin, file: name } : { file: name };
					yield chunk;
				}
			} finally {
				// the consumer stopped early (an error, a cancel): the reader closes its file
				await chunks.return(undefined);
			}
		}
	}
}
