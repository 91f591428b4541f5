/**
 * Streaming readers for the lake's file formats. Each yields records in chunks and never holds
 * a whole file: text formats are read through a 1 MiB stream (gunzipped when the file starts with
 * gzip's magic bytes), Parquet one row group at a time through ranged reads.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { attempt, attemptAsync } from '../errors';
import { parseJson } from '../json';
import type { Field, Schema } from '../schema';
import { RAW_JSON, SourceError, type DatasetRecord, type RecordChunk } from './types';

export type FileFormat = 'ndjson' | 'json' | 'csv' | 'parquet';

const HIGH_WATER_MARK = 1 << 20;

/** Format from the file name (a `.gz` suffix is ignored: gzip is detected from the bytes). */
export function formatFromName(name: string): FileFormat | undefined {
	const base = name.toLowerCase().replace(/\.(gz|gzip)$/, '');
	if (/\.(ndjson|jsonl)$/.test(base)) return 'ndjson';
	if (base.endsWith('.json')) return 'json';
	if (base.endsWith('.csv')) return 'csv';
	if (base.endsWith('.parquet')) return 'parquet';
	return undefined;
}

async function isGzip(path: string): Promise<boolean> {
	const handle = await open(path, 'r');
	try {
		const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
		return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
	} finally {
		await handle.close();
	}
}

/**
 * The file's bytes as a stream, gunzipped when it is gzip. Cancellation is checked between
 * chunks by the callers; `pipeline` owns both streams' errors, so none goes unhandled when the
 * consumer stops early.
 */
async function openText(path: string): Promise<NodeJS.ReadableStream> {
	const gzip = await isGzip(path);
	const raw = createReadStream(path, { highWaterMark: HIGH_WATER_MARK });
	if (!gzip) return raw;
	const gunzip = createGunzip({ chunkSize: 256 * 1024 });
	pipeline(raw, gunzip, () => undefined);
	return gunzip;
}

function unreadable(path: string, error: unknown): SourceError {
	if (error instanceof SourceError) return error;
	const message = (error as Error)?.message ?? String(error);
	return new SourceError(`cannot read lake file ${path}: ${message}`, 'unreadable');
}

function malformed(path: string, line: number, problem: string): SourceError {
	return new SourceError(`malformed record in ${path} at line ${line}: ${problem}`, 'malformed');
}

/** Yields the complete text lines of each decoded chunk, with the 1-based number of the first. */
async function* lines(path: string, signal?: AbortSignal): AsyncGenerator<[string[], number]> {
	const decoder = new StringDecoder('utf8');
	let rest = '';
	let lineNo = 1;
	try {
		for await (const chunk of await openText(path)) {
			signal?.throwIfAborted();
			const text = rest + decoder.write(chunk as Buffer);
			const cut = text.lastIndexOf('\n');
			if (cut < 0) {
				rest = text;
				continue;
			}
			const complete = text.slice(0, cut).split('\n');
			rest = text.slice(cut + 1);
			yield [complete, lineNo];
			lineNo += complete.length;
		}
		rest += decoder.end();
	} catch (error) {
		throw unreadable(path, error);
	}
	if (rest.length) yield [[rest], lineNo];
}

function asRecord(value: unknown, path: string, line: number): DatasetRecord {
	if (value === null || typeof value !== 'object' || Array.isArray(value)) {
		throw malformed(path, line, `expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
	}
	return value as DatasetRecord;
}

/**
 * NDJSON; each chunk carries its lines' text (RAW_JSON) so JSON encoders need not re-serialise.
 * With `jsonText` the lines are only validated (plain JSON.parse), since the text is what is used.
 */
export async function* readNdjson(path: string, chunkSize: number, signal?: AbortSignal, jsonText = false): AsyncGenerator<RecordChunk> {
	const parse = jsonText ? JSON.parse : parseJson;
	let chunk: RecordChunk = [];
	let texts: string[] = [];
	for await (const [block, firstLine] of lines(path, signal)) {
		for (let i = 0; i < block.length; i++) {
			let line = block[i];
			if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
			if (!line.trim()) continue;
			const value = attempt(() => parse(line));
			if (!value.ok) throw malformed(path, firstLine + i, value.error.message);
			chunk.push(asRecord(value.value, path, firstLine + i));
			texts.push(line);
			if (chunk.length >= chunkSize) {
				chunk[RAW_JSON] = texts;
				yield chunk;
				chunk = [];
				texts = [];
			}
		}
	}
	if (chunk.length) {
		chunk[RAW_JSON] = texts;
		yield chunk;
	}
}

/**
 * A JSON document that is an array of objects, read element by element: a small scanner finds
 * each top-level element's text (tracking strings and nesting) and parses only that.
 */
export async function* readJsonArray(path: string, chunkSize: number, signal?: AbortSignal): AsyncGenerator<DatasetRecord[]> {
	const decoder = new StringDecoder('utf8');
	let state: 'start' | 'between' | 'element' | 'end' = 'start';
	let depth = 0;
	let inString = false;
	let escaped = false;
	let element = '';
	let line = 1;
	let elementLine = 1;
	let chunk: DatasetRecord[] = [];
	const finishElement = () => {
		let value: unknown;
		try {
			value = parseJson(element);
		} catch (error) {
			throw malformed(path, elementLine, (error as Error).message);
		}
		chunk.push(asRecord(value, path, elementLine));
		element = '';
	};
	const consume = (text: string) => {
		let elementStart = 0;
		for (let i = 0; i < text.length; i++) {
			const c = text.charCodeAt(i);
			if (c === 10) line++;
			if (state === 'element') {
				if (inString) {
					if (escaped) escaped = false;
					else if (c === 92 /* \ */) escaped = true;
					else if (c === 34 /* " */) inString = false;
				} else if (c === 34) {
					inString = true;
				} else if (c === 123 /* { */ || c === 91 /* [ */) {
					depth++;
				} else if (c === 125 /* } */ || c === 93 /* ] */) {
					if (depth === 0) {
						// the array closes right after a scalar element
						element += text.slice(elementStart, i);
						finishElement();
						state = 'end';
					} else if (--depth === 0) {
						element += text.slice(elementStart, i + 1);
						finishElement();
						state = 'between';
					}
				} else if (c === 44 /* , */ && depth === 0) {
					element += text.slice(elementStart, i);
					finishElement();
					state = 'between';
				}
				continue;
			}
			if (c === 32 || c === 10 || c === 13 || c === 9 || c === 0xfeff) continue;
			if (state === 'start') {
				if (c !== 91) throw malformed(path, line, 'a JSON file must hold one array of records, or one record per line');
				state = 'between';
			} else if (state === 'between') {
				if (c === 44) continue;
				if (c === 93) {
					state = 'end';
					continue;
				}
				state = 'element';
				elementStart = i;
				elementLine = line;
				depth = 0;
				inString = false;
				escaped = false;
				i--; // scan this character again as part of the element
			} else {
				throw malformed(path, line, 'unexpected content after the closing ]');
			}
		}
		if (state === 'element') element += text.slice(elementStart);
	};
	try {
		for await (const buf of await openText(path)) {
			signal?.throwIfAborted();
			consume(decoder.write(buf as Buffer));
			if (chunk.length >= chunkSize) {
				yield chunk;
				chunk = [];
			}
		}
		consume(decoder.end());
	} catch (error) {
		throw unreadable(path, error);
	}
	if ((state as string) !== 'end') throw malformed(path, line, (state as string) === 'start' ? 'the file is empty' : 'the array is not closed');
	if (chunk.length) yield chunk;
}

type Caster = (text: string) => unknown;

function casterFor(field: Field | undefined): Caster {
	const type = field?.type;
	if (type === 'int' || type === 'double') return (t) => Number(t);
	if (type === 'long') {
		return (t) => {
			const n = Number(t);
			return Number.isSafeInteger(n) || !/^-?\d+$/.test(t) ? n : BigInt(t);
		};
	}
	if (type === 'boolean') return (t) => /^(true|1|yes)$/i.test(t);
	if (type === 'object' || type === 'array' || type === 'json') return (t) => parseJson(t);
	if (type) return (t) => t;
	// no schema: numbers and booleans by their look, the rest as text
	return (t) => {
		if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t)) {
			const n = Number(t);
			return Number.isInteger(n) && !Number.isSafeInteger(n) && /^-?\d+$/.test(t) ? BigInt(t) : n;
		}
		if (t === 'true' || t === 'false') return t === 'true';
		return t;
	};
}

/** CSV with a header row; empty cells are null, cells are typed by the dataset schema. */
export async function* readCsv(path: string, schema: Schema | undefined, chunkSize: number, signal?: AbortSignal): AsyncGenerator<DatasetRecord[]> {
	const byName = new Map((schema?.fields ?? []).map((f) => [f.name, f]));
	const casters = new Map<string, Caster>();
	const parser = parseCsv({ columns: true, bom: true, skip_empty_lines: true, relax_quotes: false });
	let chunk: DatasetRecord[] = [];
	let input: NodeJS.ReadableStream;
	try {
		input = await openText(path);
	} catch (error) {
		throw unreadable(path, error);
	}
	input.on('error', (error) => parser.destroy(error));
	input.pipe(parser);
	const rows = (parser as AsyncIterable<Record<string, string>>)[Symbol.asyncIterator]();
	for (;;) {
		signal?.throwIfAborted();
		const next = await attemptAsync(() => rows.next());
		if (!next.ok) {
			const line = (next.error as { lines?: number }).lines;
			throw line !== undefined ? malformed(path, line, next.error.message) : unreadable(path, next.error);
		}
		if (next.value.done) break;
		const row = next.value.value;
		const record: DatasetRecord = {};
		for (const key in row) {
			const text = row[key];
			let cast = casters.get(key);
			if (!cast) casters.set(key, (cast = casterFor(schema ? byName.get(key) ?? { name: key, type: 'string' } : undefined)));
			const value = text === '' ? { ok: true as const, value: null } : attempt(() => cast(text));
			if (!value.ok) throw malformed(path, parser.info.lines, `column "${key}": ${value.error.message}`);
			record[key] = value.value;
		}
		chunk.push(record);
		if (chunk.length >= chunkSize) {
			yield chunk;
			chunk = [];
		}
	}
	if (chunk.length) yield chunk;
}

const PARQUET_PARSERS = {
	dateFromDays: (days: number) => new Date(days * 86_400_000).toISOString().slice(0, 10),
};

/** Parquet, one row group at a time through ranged reads of the file. */
export async function* readParquet(path: string, chunkSize: number, signal?: AbortSignal): AsyncGenerator<DatasetRecord[]> {
	let handle;
	try {
		handle = await open(path, 'r');
	} catch (error) {
		throw unreadable(path, error);
	}
	try {
		const { size } = await stat(path);
		const file = {
			byteLength: size,
			async slice(start: number, end?: number): Promise<ArrayBuffer> {
				const stop = end ?? size;
				const buffer = Buffer.allocUnsafe(stop - start);
				let done = 0;
				while (done < buffer.length) {
					const { bytesRead } = await handle!.read(buffer, done, buffer.length - done, start + done);
					if (!bytesRead) throw new Error(`unexpected end of file at byte ${start + done}`);
					done += bytesRead;
				}
				return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length) as ArrayBuffer;
			},
		};
		let metadata;
		try {
			metadata = await parquetMetadataAsync(file);
		} catch (error) {
			throw unreadable(path, new Error(`not a readable Parquet file (${(error as Error).message})`));
		}
		let rowStart = 0;
		for (const group of metadata.row_groups) {
			signal?.throwIfAborted();
			const rows = Number(group.num_rows);
			let records: DatasetRecord[];
			try {
				records = (await parquetReadObjects({
					file,
					metadata,
					rowStart,
					rowEnd: rowStart + rows,
					compressors,
					parsers: PARQUET_PARSERS,
				})) as DatasetRecord[];
			} catch (error) {
				throw unreadable(path, error);
			}
			rowStart += rows;
			for (let i = 0; i < records.length; i += chunkSize) yield records.slice(i, i + chunkSize);
		}
	} finally {
		await handle.close();
	}
}

/** Number of records in a Parquet file, from its footer. */
export async function parquetRowCount(path: string): Promise<number> {
	const handle = await open(path, 'r');
	try {
		const { size } = await stat(path);
		const metadata = await parquetMetadataAsync({
			byteLength: size,
			async slice(start: number, end?: number) {
				const buffer = Buffer.alloc((end ?? size) - start);
				await handle.read(buffer, 0, buffer.length, start);
				return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length) as ArrayBuffer;
			},
		});
		return Number(metadata.num_rows);
	} finally {
		await handle.close();
	}
}

export function readFile(
	path: string,
	format: FileFormat,
	schema: Schema | undefined,
	chunkSize: number,
	signal?: AbortSignal,
	jsonText = false,
): AsyncGenerator<DatasetRecord[]> {
	switch (format) {
		case 'ndjson':
			return readNdjson(path, chunkSize, signal, jsonText);
		case 'csv':
			return readCsv(path, schema, chunkSize, signal);
		case 'parquet':
			return readParquet(path, chunkSize, signal);
		case 'json':
			return readJsonOrNdjson(path, chunkSize, signal, jsonText);
	}
}

/** `.json` files hold either one array of records or one record per line: the first byte decides. */
async function* readJsonOrNdjson(path: string, chunkSize: number, signal?: AbortSignal, jsonText = false): AsyncGenerator<DatasetRecord[]> {
	let first = '';
	try {
		for await (const buf of await openText(path)) {
			first = (buf as Buffer).toString('utf8').replace(/^[\s\ufeff]+/, '');
			if (first) break;
		}
	} catch (error) {
		throw unreadable(path, error);
	}
	if (first.startsWith('[')) yield* readJsonArray(path, chunkSize, signal);
	else yield* readNdjson(path, chunkSize, signal, jsonText);
}
