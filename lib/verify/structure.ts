/**
 * A file's structure, checked by streaming it once (never held whole): what Verify can tell
 * without the manifest's checksum.
 *
 * NDJSON (optionally gzip): the gzip stream decodes to its end (gzip's own CRC-32 and length
 * trailer checked by zlib), every line is valid UTF-8 and parses as one JSON object, the file ends
 * with a newline, and the line count is what the manifest says.
 *
 * Parquet: `PAR1` at both ends, the footer length fits the file, the footer parses, the row groups'
 * rows add up to the footer's count (and to the manifest's), every column chunk lies inside the
 * data area, the codec is the manifest's, the top-level columns are fields of the manifest's
 * schema, and (`decode`) every page of every column chunk of every row group decodes (in a worker
 * thread with a heap limit and a watchdog, lib/verify/decode-worker.ts),
 * one row group in memory at a time.
 *
 * What only a checksum catches: a change that leaves the structure valid. In plain NDJSON, a byte
 * inside a string or number that stays valid JSON and UTF-8 (`a` → `c`, `1` → `3`); in gzip, the
 * six header bytes zlib does not check (modification time, extra flags, OS); in Parquet, a byte
 * inside stored values that still decodes (plain-encoded numbers, string bytes, and most literal
 * bytes of Snappy/ZSTD blocks when the page has no CRC).
 */
import { createGunzip } from 'node:zlib';
import { parquetMetadataAsync, type FileMetaData } from 'hyparquet';
import type { Schema } from '../schema';
import { HashingCounter, readAll } from '../storage/common';
import type { Store } from '../storage/types';
import { decodeRowGroup } from './decode-worker';

/** A line longer than this is not parsed (it cannot be one of our records): the line count goes on. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface StructureResult {
	/** Bytes read (streamed files). */
	size: number | null;
	/** SHA-256 of the bytes read (streamed files), else null. */
	sha256: string | null;
	/** Records found (NDJSON lines, Parquet rows by the footer); null when the file cannot tell. */
	records: number | null;
	/** Whether the file could be read as its format all through. */
	readable: boolean;
	problems: string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A zlib failure in words. */
function gzipProblem(error: Error): string {
	const message = error.message;
	if (/unexpected end of file/i.test(message)) return 'the gzip stream ends before its end marker (the file is truncated, or bytes in it were changed)';
	if (/incorrect header check|unknown compression method|not in gzip format/i.test(message)) return `it does not start as a gzip stream (${message})`;
	if (/incorrect data check|incorrect length check/i.test(message)) return `the gzip checksum does not match the data (bytes changed: ${message})`;
	return `the gzip stream is damaged (${message})`;
}

const short = (text: string) => (text.length > 120 ? `${text.slice(0, 120)}…` : text);

/**
 * Stream an NDJSON file once: hash it (when `hash`), gunzip it (`gzip`), and check every line.
 * Reports the first bad line only (a damaged file usually has one), with its number.
 */
export async function checkNdjson(store: Store, path: string, gzip: boolean, hash: boolean): Promise<StructureResult> {
	const problems: string[] = [];
	const input = await store.read(path);
	const counter = new HashingCounter();
	const hashed = input.pipe(counter);
	input.on('error', (error) => counter.destroy(error));
	let gzipError: Error | undefined;
	const text = gzip ? hashed.pipe(createGunzip()) : hashed;
	if (gzip) {
		hashed.on('error', (error) => text.destroy(error));
		text.on('error', (error) => (gzipError ??= error));
	}
	let lines = 0;
	let pending: Buffer[] = [];
	let pendingBytes = 0;
	let tooLong = false;
	let firstBad: string | undefined;
	const check = (line: Buffer) => {
		lines++;
		if (firstBad) return;
		let decoded: string;
		try {
			decoded = utf8.decode(line);
		} catch {
			firstBad = `line ${lines} is not valid UTF-8 (a byte was changed or the file is not text)`;
			return;
		}
		let value: unknown;
		try {
			value = JSON.parse(decoded);
		} catch (error) {
			firstBad = `line ${lines} is not valid JSON (${short((error as Error).message)})`;
			return;
		}
		if (!value || typeof value !== 'object' || Array.isArray(value)) firstBad = `line ${lines} is not a JSON object (a record is one object per line)`;
	};
	let streamError: Error | undefined;
	try {
		for await (const chunk of text as AsyncIterable<Buffer>) {
			let start = 0;
			for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
				if (tooLong) {
					lines++;
					if (!firstBad) firstBad = `line ${lines} is longer than ${MAX_LINE_BYTES / 1048576} MiB (a newline is missing, or the file is not NDJSON)`;
				} else if (pending.length) {
					pending.push(chunk.subarray(start, nl));
					check(Buffer.concat(pending));
				} else check(chunk.subarray(start, nl));
				pending = [];
				pendingBytes = 0;
				tooLong = false;
				start = nl + 1;
			}
			if (start < chunk.length && !tooLong) {
				pendingBytes += chunk.length - start;
				if (pendingBytes > MAX_LINE_BYTES) {
					tooLong = true;
					pending = [];
				} else pending.push(Buffer.from(chunk.subarray(start)));
			}
		}
	} catch (error) {
		streamError = error as Error;
	}
	// drain what is left so the hash and size cover the whole object
	let drained = true;
	try {
		for await (const chunk of hashed) void chunk;
	} catch (error) {
		drained = false;
		streamError ??= error as Error;
	}
	const fromGzip = gzip && gzipError && (!streamError || streamError === gzipError);
	if (streamError || gzipError) {
		problems.push(`not a readable NDJSON file: ${fromGzip ? gzipProblem(gzipError as Error) : `it cannot be read to the end (${(streamError ?? gzipError)!.message})`}`);
	} else {
		if (pendingBytes || tooLong) problems.push(`not a readable NDJSON file: the last line (${lines + 1}) does not end with a newline (the file is truncated, or a newline was changed)`);
		if (firstBad) problems.push(`not a readable NDJSON file: ${firstBad}`);
	}
	const readable = problems.length === 0;
	return { size: counter.bytes, sha256: hash && drained ? counter.digest() : null, records: streamError || gzipError ? null : lines, readable, problems };
}

const PARQUET_CODECS: Record<string, string> = { none: 'UNCOMPRESSED', snappy: 'SNAPPY', gzip: 'GZIP', zstd: 'ZSTD' };
const MAGIC = Buffer.from('PAR1');

type AsyncBuffer = { byteLength: number; slice(start: number, end?: number): Promise<ArrayBuffer> };

function rangedFile(store: Store, path: string, size: number): AsyncBuffer {
	return {
		byteLength: size,
		async slice(start: number, end?: number) {
			const buffer = await readAll(await store.read(path, { start, end: end ?? size }));
			return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length) as ArrayBuffer;
		},
	};
}

export interface ParquetExpectations {
	/** The manifest's codec name (`snappy`, `gzip`, `zstd`, `none`). */
	codec?: string;
	/** The manifest's schema: the file's top-level columns must be among its fields. */
	schema?: Schema | null;
	/** Decode every column chunk (default true). */
	decode?: boolean;
	/** Time one row group may take to decode (default 60 s plus 2 s per MiB of it). */
	decodeTimeoutMs?: number;
}

const damaged = (what: string) => `not a readable Parquet file: ${what}`;

/**
 * Check a Parquet file's structure through ranged reads: the two ends, the footer, and (`decode`)
 * every row group, one at a time.
 */
export async function checkParquet(store: Store, path: string, size: number, expect: ParquetExpectations = {}): Promise<StructureResult> {
	const result: StructureResult = { size: null, sha256: null, records: null, readable: false, problems: [] };
	const fail = (what: string) => {
		result.problems.push(damaged(what));
		return result;
	};
	if (size < 12) return fail(`it is only ${size} bytes long (a Parquet file has at least 12: magic bytes and footer length)`);
	const file = rangedFile(store, path, size);
	const head = Buffer.from(await file.slice(0, 4));
	const tail = Buffer.from(await file.slice(size - 8, size));
	if (!head.equals(MAGIC)) return fail(`it does not start with the Parquet magic bytes "PAR1" (found ${JSON.stringify(head.toString('latin1'))}: damaged at the start, or not Parquet)`);
	if (!tail.subarray(4).equals(MAGIC)) return fail(`it does not end with the Parquet magic bytes "PAR1" (the file is truncated or damaged at the end)`);
	const footerLength = tail.readUInt32LE(0);
	if (footerLength > size - 12) return fail(`the footer is damaged (its length field says ${footerLength} bytes, the file has room for ${size - 12})`);
	let metadata: FileMetaData;
	try {
		metadata = await parquetMetadataAsync(file);
		if (!metadata || !Array.isArray(metadata.row_groups) || !Array.isArray(metadata.schema)) throw new Error('no row groups or schema');
	} catch (error) {
		return fail(`the footer is damaged (${short((error as Error).message)})`);
	}
	const footerStart = size - 8 - footerLength;
	const problems: string[] = [];
	let rows = 0n;
	try {
		for (const [g, group] of metadata.row_groups.entries()) {
			rows += BigInt(group.num_rows);
			for (const column of group.columns ?? []) {
				const meta = column.meta_data;
				const name = meta?.path_in_schema?.join('.') ?? '?';
				if (!meta) {
					problems.push(`the footer is damaged (row group ${g}, column ${name}: no column metadata)`);
					continue;
				}
				const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
				const end = start + Number(meta.total_compressed_size);
				if (!(start >= 4 && end <= footerStart && end > start)) {
					problems.push(`the footer is damaged (row group ${g}, column ${name}: bytes ${start}–${end} lie outside the data area 4–${footerStart})`);
				}
			}
		}
		if (rows !== BigInt(metadata.num_rows)) problems.push(`the footer is damaged (its row groups hold ${rows} rows, its total says ${metadata.num_rows})`);
	} catch (error) {
		return fail(`the footer is damaged (${short((error as Error).message)})`);
	}
	if (problems.length) {
		result.problems.push(...problems.slice(0, 3).map(damaged));
		return result;
	}
	result.records = Number(metadata.num_rows);
	const expectedCodec = PARQUET_CODECS[expect.codec ?? ''];
	const codecs = new Set(metadata.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec)));
	if (expectedCodec && metadata.row_groups.length && (codecs.size !== 1 || !codecs.has(expectedCodec as never))) {
		result.problems.push(`Parquet codec is ${[...codecs].join('/')}, the manifest says ${expectedCodec}`);
	}
	if (expect.schema?.fields) {
		const known = new Set(expect.schema.fields.map((f) => f.name));
		const root = metadata.schema[0];
		const top: string[] = [];
		for (let i = 1, left = root?.num_children ?? 0; i < metadata.schema.length && left > 0; left--) {
			top.push(metadata.schema[i].name);
			// skip the element's subtree
			let open = 1;
			while (open > 0 && i < metadata.schema.length) open += (metadata.schema[i++].num_children ?? 0) - 1;
		}
		const unknown = top.filter((name) => !known.has(name));
		if (unknown.length) result.problems.push(`Parquet column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(short(n))).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not in the manifest's schema (a changed byte in the footer, or another file)`);
	}
	if (expect.decode !== false) {
		const columns = [...new Set(metadata.row_groups[0]?.columns.map((c) => c.meta_data?.path_in_schema?.[0]).filter((n): n is string => !!n))];
		let groupStart = 0;
		for (const [g, group] of metadata.row_groups.entries()) {
			const groupRows = Number(group.num_rows);
			const chunks = group.columns.map((c) => Number(c.meta_data!.dictionary_page_offset ?? c.meta_data!.data_page_offset));
			const from = Math.min(...chunks);
			const to = Math.max(...group.columns.map((c, i) => chunks[i] + Number(c.meta_data!.total_compressed_size)));
			// one row group's bytes in memory at a time, decoded off the main thread
			const bytes = groupRows && group.columns.length ? await file.slice(from, to) : new ArrayBuffer(0);
			const problem = groupRows
				? await decodeRowGroup({
						metadata,
						size,
						base: from,
						bytes,
						start: groupStart,
						end: groupStart + groupRows,
						columns,
						timeoutMs: expect.decodeTimeoutMs ?? 60_000 + Math.ceil((to - from) / 1048576) * 2000,
					})
				: undefined;
			if (problem) {
				result.problems.push(damaged(`row group ${g} (rows ${groupStart + 1}–${groupStart + groupRows}) cannot be decoded: ${problem}`));
				return result;
			}
			groupStart += groupRows;
		}
	}
	result.readable = true;
	return result;
}

/** Stream a file once through SHA-256 (Parquet, whose structure is read by ranges). */
export async function hashFile(store: Store, path: string): Promise<{ size: number; sha256: string }> {
	const counter = new HashingCounter();
	const input = await store.read(path);
	input.on('error', (error) => counter.destroy(error));
	for await (const chunk of input.pipe(counter)) void chunk;
	return { size: counter.bytes, sha256: counter.digest() };
}
