/**
 * Parquet's reading side (Verify), through ranged reads: `PAR1` at both ends, the footer length
 * fits the file, the footer parses, the row groups' rows add up to the footer's count (and to the
 * manifest's), every column chunk lies inside the data area, the codec is the manifest's, the
 * top-level columns are fields of the manifest's schema, and (`decode`) every page of every column
 * chunk of every row group decodes (in a worker thread with a heap limit and a watchdog,
 * ./decode-worker.ts), one row group in memory at a time.
 *
 * What only a checksum catches: a byte inside stored values that still decodes (plain-encoded
 * numbers, string bytes, and most literal bytes of Snappy/ZSTD blocks when the page has no CRC).
 */
import { parquetMetadataAsync, type FileMetaData } from 'hyparquet';
import type { Schema } from '../../schema';
import type { Store } from '../../storage/types';
import { rangedFile, short } from '../read';
import type { StructureResult } from '../types';
import { decodeRowGroup } from './decode-worker';
import { PARQUET_CODEC } from './encoder';

const MAGIC = Buffer.from('PAR1');

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
	const expectedCodec = (PARQUET_CODEC as Record<string, string | undefined>)[expect.codec ?? ''];
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
		if (unknown.length)
			result.problems.push(
				`Parquet column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(short(n))).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not in the manifest's schema (a changed byte in the footer, or another file)`,
			);
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
