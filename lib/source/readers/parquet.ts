/**
 * Parquet, one row group at a time through ranged reads of the file, every value exact (the
 * value contract of lib/values.ts):
 *
 * - TIMESTAMP (MILLIS, MICROS, NANOS) and INT96 → ISO strings with the unit's digits (3, 6 or 9)
 *   ending `Z`, from the integer itself (hyparquet's default makes Dates, which hold ms);
 * - DECIMAL → ExactNumber of the unscaled integer at its scale (hyparquet would go through a
 *   double): the decimal annotation is removed from a copy of the footer, so hyparquet hands over
 *   the raw integers or bytes, and they are scaled here;
 * - BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY with no string, JSON, UUID or ENUM annotation → Binary;
 * - JSON → parseJson (64-bit integers exact); ENUM → string;
 * - INT64 → number when safe, else bigint; a negative zero double → ExactNumber('-0.0') (so JSON
 *   output keeps its sign);
 * - a null → null, at any depth: keys are never dropped.
 */
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type FileMetaData, type SchemaElement, type SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { attemptAsync } from '../../errors';
import { parseJson } from '../../json';
import type { Field, Schema } from '../../schema';
import { Binary, ExactNumber } from '../../values';
import { ORIGIN } from '../../mismatch';
import { SourceError, type DatasetRecord, type RecordChunk } from '../types';
import { asLakeFile, nameOf, unreadable, type LakeInput } from './common';

type AsyncBuffer = { byteLength: number; slice(start: number, end?: number): Promise<ArrayBuffer> };

/** Days since 1970-01-01 → proleptic Gregorian y, m, d (Howard Hinnant's civil_from_days). */
function civilFromDays(days: number): [number, number, number] {
	const z = days + 719468;
	const era = Math.floor(z / 146097);
	const doe = z - era * 146097;
	const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
	const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
	const mp = Math.floor((5 * doy + 2) / 153);
	const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
	const m = mp + (mp < 10 ? 3 : -9);
	return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

function dateText(days: number): string {
	const [y, m, d] = civilFromDays(days);
	const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
	return `${year}-${pad(m, 2)}-${pad(d, 2)}`;
}

const UNITS_PER_SECOND = { 3: 1_000n, 6: 1_000_000n, 9: 1_000_000_000n } as const;

/** `YYYY-MM-DDTHH:MM:SS.fffZ` (3, 6 or 9 fraction digits) of an integer count of units since the epoch, exact. */
export function isoFromUnits(count: bigint, digits: 3 | 6 | 9): string {
	const perSecond = UNITS_PER_SECOND[digits];
	const perDay = perSecond * 86_400n;
	let days = count / perDay;
	let rest = count % perDay;
	if (rest < 0n) {
		rest += perDay;
		days -= 1n;
	}
	const seconds = Number(rest / perSecond);
	const fraction = rest % perSecond;
	const time = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}`;
	return `${dateText(Number(days))}T${time}.${fraction.toString().padStart(digits, '0')}Z`;
}

// a leading U+FEFF is part of the value (the default decoder drops it), and bytes that are not
// UTF-8 in a string column are an error (the default decoder replaces them with U+FFFD, silently)
const decoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

const PARSERS = {
	timestampFromMilliseconds: (v: bigint) => isoFromUnits(BigInt(v), 3),
	timestampFromMicroseconds: (v: bigint) => isoFromUnits(BigInt(v), 6),
	timestampFromNanoseconds: (v: bigint) => isoFromUnits(BigInt(v), 9),
	dateFromDays: (days: number) => dateText(days),
	stringFromBytes: (bytes: Uint8Array) => bytes && decoder.decode(bytes),
	jsonFromBytes: (bytes: Uint8Array) => bytes && parseJson(decoder.decode(bytes)),
};

/** The signed big-endian two's-complement integer of a decimal's bytes. */
function bytesToBigInt(bytes: Uint8Array): bigint {
	if (!bytes.length) return 0n;
	let value = 0n;
	for (const byte of bytes) value = (value << 8n) | BigInt(byte);
	const bits = BigInt(bytes.length * 8);
	return bytes[0] & 0x80 ? value - (1n << bits) : value;
}

/** Decimal text of an unscaled integer at `scale`: 123456, 2 → `1234.56`. */
export function decimalText(unscaled: bigint, scale: number): string {
	const negative = unscaled < 0n;
	let digits = (negative ? -unscaled : unscaled).toString();
	if (scale > 0) {
		digits = digits.padStart(scale + 1, '0');
		digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
	}
	return (negative ? '-' : '') + digits;
}

const isDecimal = (e: SchemaElement) => e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL';
const isBytes = (e: SchemaElement) => e.type === 'BYTE_ARRAY' || e.type === 'FIXED_LEN_BYTE_ARRAY';
/** A byte column hyparquet turns into something other than bytes (text, JSON, UUID, …). */
function isAnnotatedBytes(e: SchemaElement): boolean {
	if (isDecimal(e)) return false;
	const logical = e.logical_type?.type;
	return !!(e.converted_type || logical);
}

/**
 * A copy of the footer that hyparquet decodes exactly: decimal annotations removed (raw
 * integers and bytes come back, scaled here), ENUM read as UTF-8 text.
 */
function exactMetadata(metadata: FileMetaData): FileMetaData {
	const schema = metadata.schema.map((e) => {
		if (isDecimal(e)) {
			const copy: SchemaElement = { ...e };
			delete copy.converted_type;
			delete copy.logical_type;
			return copy;
		}
		if (e.converted_type === 'ENUM' || e.logical_type?.type === 'ENUM') return { ...e, converted_type: 'UTF8' as const, logical_type: { type: 'STRING' as const } };
		return e;
	});
	return { ...metadata, schema };
}

type Fix = (value: unknown) => unknown;

const same: Fix = (v) => (v === undefined ? null : v);

/** The fixer of a leaf column: hyparquet's value → the contract's. */
function leafFix(e: SchemaElement): Fix {
	if (isDecimal(e)) {
		const scale = e.scale ?? (e.logical_type?.type === 'DECIMAL' ? e.logical_type.scale : 0) ?? 0;
		return (v) => {
			if (v === null || v === undefined) return null;
			const unscaled = v instanceof Uint8Array ? bytesToBigInt(v) : BigInt(v as number | bigint);
			return new ExactNumber(decimalText(unscaled, scale));
		};
	}
	if (isBytes(e) && !isAnnotatedBytes(e)) return (v) => (v instanceof Uint8Array ? new Binary(v) : v === undefined ? null : v);
	if (e.type === 'INT64' && !e.converted_type && !e.logical_type) {
		return (v) => (typeof v === 'bigint' && v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v === undefined ? null : v);
	}
	if (e.type === 'INT64' && (e.logical_type?.type === 'INTEGER' || /^(U?INT_)/.test(e.converted_type ?? ''))) {
		return (v) => (typeof v === 'bigint' && v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v === undefined ? null : v);
	}
	// NaN and ±Infinity have no JSON number: they travel as the strings "NaN", "Infinity" and
	// "-Infinity" (what DuckDB, Spark and pandas read back as those doubles; Parquet output takes them)
	if (e.type === 'DOUBLE' || e.type === 'FLOAT') {
		return (v) => (v === undefined ? null : Object.is(v, -0) ? new ExactNumber('-0.0') : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
	}
	return same;
}

const mapArray =
	(fix: Fix): Fix =>
	(v) =>
		Array.isArray(v) ? v.map(fix) : v === undefined ? null : v;

/** The fixer of a schema node (leaf, struct, list or map), compiled once per file. */
function nodeFix(node: SchemaTree, inRepeated = false): Fix {
	const e = node.element;
	if (e.repetition_type === 'REPEATED' && !inRepeated) return mapArray(nodeFix(node, true));
	if (isListLike(node)) {
		const repeated = node.children[0];
		const element = repeated.children.length ? repeated.children[0] : repeated;
		return mapArray(nodeFix(element, element === repeated));
	}
	if (isMapLike(node)) {
		const value = node.children[0].children.find((c) => c.element.name === 'value');
		const fix = value ? nodeFix(value) : same;
		return (v) => {
			if (v === null || v === undefined || typeof v !== 'object') return v ?? null;
			const out = v as Record<string, unknown>;
			for (const key of Object.keys(out)) out[key] = fix(out[key]);
			return out;
		};
	}
	if (node.children.length) {
		const children = node.children.map((c) => ({ name: c.element.name, fix: nodeFix(c) }));
		return (v) => {
			if (v === null || v === undefined || typeof v !== 'object') return v ?? null;
			const out = v as Record<string, unknown>;
			for (const child of children) out[child.name] = child.fix(out[child.name]);
			return out;
		};
	}
	return leafFix(e);
}

function isListLike(node: SchemaTree): boolean {
	const e = node.element;
	if (e.converted_type !== 'LIST' && e.logical_type?.type !== 'LIST') return false;
	return node.children.length === 1 && node.children[0].element.repetition_type === 'REPEATED' && node.children[0].children.length <= 1;
}

function isMapLike(node: SchemaTree): boolean {
	const e = node.element;
	if (e.converted_type !== 'MAP' && e.converted_type !== 'MAP_KEY_VALUE' && e.logical_type?.type !== 'MAP') return false;
	return node.children.length === 1 && node.children[0].children.length === 2;
}

/** A record fixer for a file's schema: every top-level column, nulls kept. */
function recordFix(metadata: FileMetaData): (record: DatasetRecord) => void {
	const root = parquetSchema(metadata);
	const columns = root.children.map((c) => ({ name: c.element.name, fix: nodeFix(c) }));
	return (record) => {
		for (let i = 0; i < columns.length; i++) record[columns[i].name] = columns[i].fix(record[columns[i].name]);
	};
}

async function openFile(input: LakeInput): Promise<{ file: AsyncBuffer; close: () => Promise<void> }> {
	const lake = asLakeFile(input);
	let size: number;
	try {
		size = await lake.size();
	} catch (error) {
		throw unreadable(input, error);
	}
	const file: AsyncBuffer = {
		byteLength: size,
		async slice(start: number, end?: number): Promise<ArrayBuffer> {
			const bytes = await lake.range(start, end ?? size);
			return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
		},
	};
	return { file, close: async () => lake.close?.() };
}

async function footer(path: string, file: AsyncBuffer): Promise<FileMetaData> {
	// 64 KiB from the end holds most footers (hyparquet reads more when one is bigger)
	const read = await attemptAsync(() => parquetMetadataAsync(file, { initialFetchSize: 1 << 16 }));
	if (read.ok) return read.value;
	// the store's own failure (refused, unreachable, changed) keeps its code and words
	if (read.error instanceof SourceError) throw read.error;
	throw unreadable(path, new Error(`not a readable Parquet file (${read.error.message})`));
}

/** Parquet, one row group at a time through ranged reads of the file. */
export async function* readParquet(input: LakeInput, chunkSize: number, signal?: AbortSignal): AsyncGenerator<DatasetRecord[]> {
	const path = nameOf(input);
	const { file, close } = await openFile(input);
	try {
		const metadata = await footer(path, file);
		const exact = exactMetadata(metadata);
		const fix = recordFix(metadata);
		let rowStart = 0;
		for (const group of metadata.row_groups) {
			signal?.throwIfAborted();
			const rows = Number(group.num_rows);
			let records: DatasetRecord[];
			try {
				records = (await parquetReadObjects({
					file,
					metadata: exact,
					rowStart,
					rowEnd: rowStart + rows,
					compressors,
					utf8: false,
					parsers: PARSERS,
				})) as DatasetRecord[];
				for (const record of records) fix(record);
			} catch (error) {
				throw unreadable(path, error);
			}
			for (let i = 0; i < records.length; i += chunkSize) {
				const chunk: RecordChunk = records.slice(i, i + chunkSize);
				// rows are numbered from 1, as a person counts them
				chunk[ORIGIN] = { file: path, firstLine: rowStart + i + 1 };
				yield chunk;
			}
			rowStart += rows;
		}
	} finally {
		await close();
	}
}

/** Number of records in a Parquet file, from its footer. */
export async function parquetRowCount(input: LakeInput): Promise<number> {
	const path = nameOf(input);
	const { file, close } = await openFile(input);
	try {
		return Number((await footer(path, file)).num_rows);
	} finally {
		await close();
	}
}

/** The dataset field type of a Parquet leaf column. */
function leafType(e: SchemaElement): Omit<Field, 'name'> {
	if (isDecimal(e)) {
		const precision = e.precision ?? (e.logical_type?.type === 'DECIMAL' ? e.logical_type.precision : undefined) ?? 38;
		const scale = e.scale ?? (e.logical_type?.type === 'DECIMAL' ? e.logical_type.scale : undefined) ?? 0;
		return precision <= 38 ? { type: 'decimal', precision, scale } : { type: 'string' };
	}
	const logical = e.logical_type?.type;
	const converted = e.converted_type;
	if (logical === 'TIMESTAMP' || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS' || e.type === 'INT96') return { type: 'timestamp' };
	if (logical === 'DATE' || converted === 'DATE') return { type: 'date' };
	if (logical === 'JSON' || converted === 'JSON') return { type: 'json' };
	if (logical === 'STRING' || logical === 'ENUM' || logical === 'UUID' || converted === 'UTF8' || converted === 'ENUM') return { type: 'string' };
	switch (e.type) {
		case 'BOOLEAN':
			return { type: 'boolean' };
		case 'INT32':
			return { type: converted === 'UINT_32' || (logical === 'INTEGER' && !e.logical_type?.isSigned && e.logical_type?.bitWidth === 32) ? 'long' : 'int' };
		case 'INT64':
			if (converted === 'UINT_64' || (logical === 'INTEGER' && !e.logical_type?.isSigned)) return { type: 'decimal', precision: 20, scale: 0 };
			return { type: 'long' };
		case 'FLOAT':
		case 'DOUBLE':
			return { type: 'double' };
		case 'FIXED_LEN_BYTE_ARRAY':
			return logical === 'FLOAT16' ? { type: 'double' } : { type: 'binary' };
		default:
			return { type: 'binary' };
	}
}

/** The dataset field of a Parquet schema node. */
function fieldOf(node: SchemaTree, inRepeated = false): Field {
	const e = node.element;
	const name = e.name;
	const nullable = e.repetition_type !== 'REQUIRED';
	if (e.repetition_type === 'REPEATED' && !inRepeated) {
		const { name: _n, ...items } = fieldOf(node, true);
		void _n;
		return { name, type: 'array', items: { ...items, nullable: false }, nullable: false };
	}
	if (isListLike(node)) {
		const repeated = node.children[0];
		const element = repeated.children.length ? repeated.children[0] : repeated;
		const { name: _n, ...items } = fieldOf(element, element === repeated);
		void _n;
		return { name, type: 'array', items, nullable };
	}
	if (isMapLike(node)) return { name, type: 'json', nullable };
	if (node.children.length) return { name, type: 'object', fields: node.children.map((c) => fieldOf(c)), nullable };
	return { name, ...leafType(e), nullable };
}

/**
 * The dataset schema of a Parquet file, from its footer: decimals with their precision and scale,
 * binary, timestamps, dates, nested lists and structs (maps become json). A plain-folder lake of
 * Parquet files gets its exact types from here rather than from sampled values.
 */
export async function parquetFileSchema(input: LakeInput): Promise<Schema> {
	const path = nameOf(input);
	const { file, close } = await openFile(input);
	try {
		const metadata = await footer(path, file);
		// nullable is the default: only `nullable: false` is written
		const tidy = <T extends Omit<Field, 'name'>>(f: T): T => {
			if (f.nullable !== false) delete f.nullable;
			f.fields?.forEach(tidy);
			if (f.items) tidy(f.items);
			return f;
		};
		return { fields: parquetSchema(metadata).children.map((c) => tidy(fieldOf(c))) };
	} finally {
		await close();
	}
}
