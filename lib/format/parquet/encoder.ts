/**
 * Parquet through hyparquet-writer: row groups are encoded as records arrive and flushed to the
 * sink one by one (the writer awaits our flush, which awaits the sink), so a file is uploaded
 * while it is written and memory holds at most one row group.
 *
 * Types: string→UTF8, int→INT32, long→INT64, double→DOUBLE, boolean→BOOLEAN,
 * timestamp→INT64 TIMESTAMP(MICROS, UTC), date→INT32 DATE, json→BYTE_ARRAY JSON,
 * object→group, array→3-level LIST.
 */
import type { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { ColumnChunk } from 'hyparquet';
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import { snappyCompressor } from 'hysnappy';
import { writeColumn, type ColumnEncoder } from 'hyparquet-writer/src/column.js';
import { isInexactLiteral, stringifyJson } from '../../json';
import { ValueMismatch, type MismatchKind } from '../../mismatch';
import type { Field, Schema } from '../../schema';
import type { DatasetRecord } from '../../source/types';
import { Binary, ExactNumber } from '../../values';
import { endSink, FormatError, SinkWatch, writeTo, type Codec, type EncodedFile, type Encoder } from '../types';

export interface ParquetOptions {
	/** Rows per row group (default 10,000: memory grows with it). The first group of a file is smaller, to learn row sizes. */
	rowGroupRows?: number;
	/** Target file size: a row group is flushed early so the file can close near this size. */
	maxFileBytes?: number;
	/** Value written as the file's `created_by`. */
	createdBy?: string;
}

type Convert = (value: unknown) => unknown;

const zstdCompressSync = (zlib as unknown as { zstdCompressSync?: (b: Uint8Array) => Buffer }).zstdCompressSync;

/** Whether this runtime can write a Parquet codec, and why not. */
export function parquetCodecProblem(codec: Codec): string | undefined {
	if (codec === 'zstd' && !zstdCompressSync) {
		return `ZSTD needs Node.js 22.15 or newer (this runtime is ${process.version}); choose Snappy or Gzip`;
	}
	return undefined;
}

let snappy: ((input: Uint8Array) => Uint8Array) | undefined;

const COMPRESSORS = {
	// hysnappy (WebAssembly, by hyparquet's authors) compresses ~4× faster than hyparquet-writer's
	// built-in JavaScript Snappy. Its memory grows to the largest page compressed and stays there.
	SNAPPY: (input: Uint8Array) => (snappy ??= snappyCompressor())(input),
	GZIP: (input: Uint8Array) => new Uint8Array(zlib.gzipSync(input)),
	...(zstdCompressSync ? { ZSTD: (input: Uint8Array) => new Uint8Array(zstdCompressSync(input)) } : {}),
};

export const PARQUET_CODEC: Record<Codec, 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'ZSTD'> = {
	none: 'UNCOMPRESSED',
	snappy: 'SNAPPY',
	gzip: 'GZIP',
	zstd: 'ZSTD',
};

/**
 * A value that does not fit its field, thrown from inside the shredder; write() turns it into a
 * ValueMismatch naming the record, after rolling the record back.
 */
class Miss {
	constructor(
		readonly kind: MismatchKind,
		readonly path: string,
		readonly expected: string,
		readonly value: unknown,
		readonly detail?: string,
	) {}
}

/** Bytes a FIXED_LEN_BYTE_ARRAY needs for a decimal of `precision` digits (two's complement), as the Parquet spec says. */
export function decimalBytes(precision: number): number {
	const limit = 10n ** BigInt(precision);
	let bytes = 1;
	while (2n ** BigInt(8 * bytes - 1) < limit) bytes++;
	return bytes;
}

/** Parquet schema elements for one field (depth-first, as Parquet lists them). */
function elementsFor(field: Omit<Field, 'name'> & { name: string }, required = false): SchemaElement[] {
	const repetition_type = required || field.nullable === false ? 'REQUIRED' : 'OPTIONAL';
	const base = { name: field.name, repetition_type } as const;
	switch (field.type) {
		case 'string':
			return [{ ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } }];
		case 'json':
			return [{ ...base, type: 'BYTE_ARRAY', converted_type: 'JSON', logical_type: { type: 'JSON' } }];
		case 'binary':
			return [{ ...base, type: 'BYTE_ARRAY' }];
		case 'int':
			return [{ ...base, type: 'INT32' }];
		case 'long':
			return [{ ...base, type: 'INT64' }];
		case 'double':
			return [{ ...base, type: 'DOUBLE' }];
		case 'boolean':
			return [{ ...base, type: 'BOOLEAN' }];
		case 'decimal': {
			const precision = field.precision ?? 38;
			const scale = field.scale ?? 0;
			const annotation = { converted_type: 'DECIMAL', precision, scale, logical_type: { type: 'DECIMAL', precision, scale } } as const;
			if (precision <= 9) return [{ ...base, type: 'INT32', ...annotation }];
			if (precision <= 18) return [{ ...base, type: 'INT64', ...annotation }];
			return [{ ...base, type: 'FIXED_LEN_BYTE_ARRAY', type_length: decimalBytes(precision), ...annotation }];
		}
		case 'date':
			return [{ ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }];
		case 'timestamp':
			return [
				{
					...base,
					type: 'INT64',
					converted_type: 'TIMESTAMP_MICROS',
					logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
				},
			];
		case 'object': {
			const children = (field.fields ?? []).flatMap((f) => elementsFor(f));
			return [{ ...base, num_children: field.fields?.length ?? 0 }, ...children];
		}
		case 'array':
			return [
				{ ...base, converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
				{ name: 'list', repetition_type: 'REPEATED', num_children: 1 },
				...elementsFor({ ...(field.items ?? { type: 'json' }), name: 'element' }),
			];
		default:
			throw new FormatError(`field "${field.name}": type "${field.type}" is not written to Parquet yet`);
	}
}

export function parquetSchema(schema: Schema): SchemaElement[] {
	return [{ name: 'schema', num_children: schema.fields.length }, ...schema.fields.flatMap((f) => elementsFor(f))];
}

const MIN_INT32 = -2147483648;
const MAX_INT32 = 2147483647;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;
const INTEGER_TEXT = /^-?\d+$/;
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Integer text of an integral value (number, bigint, digit string, ExactNumber), or undefined. */
function integerText(v: unknown): string | undefined {
	if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v).toString() : undefined;
	if (typeof v === 'bigint') return v.toString();
	const text = typeof v === 'string' ? v : v instanceof ExactNumber ? v.text : undefined;
	if (text !== undefined && INTEGER_TEXT.test(text)) return text;
	if (v instanceof ExactNumber) {
		// an integral literal written with a point or an exponent (`5.0`, `1e3`)
		const exact = decimalUnscaled(text!, 0);
		return typeof exact === 'bigint' ? exact.toString() : undefined;
	}
	return undefined;
}

/**
 * The unscaled integer of a decimal literal at `scale` (`12.50` at scale 4 → 125000n), or why it
 * cannot be one: 'syntax' (not a number literal) or 'scale' (non-zero digits past `scale`).
 */
function decimalUnscaled(text: string, scale: number): bigint | 'syntax' | 'scale' {
	const m = DECIMAL_TEXT.exec(text);
	if (!m || (!m[2] && !m[3])) return 'syntax';
	let digits = (m[2] ?? '') + (m[3] ?? '');
	const shift = scale - (m[3]?.length ?? 0) + (m[4] ? Number(m[4]) : 0);
	if (!Number.isSafeInteger(shift) || Math.abs(shift) > 10_000) return digits.replace(/0/g, '') ? 'scale' : 0n;
	if (shift >= 0) digits += '0'.repeat(shift);
	else {
		const dropped = digits.slice(digits.length + shift);
		if (/[1-9]/.test(dropped)) return 'scale';
		digits = digits.slice(0, digits.length + shift);
	}
	const unscaled = BigInt(digits || '0');
	return m[1] === '-' ? -unscaled : unscaled;
}

const DAY_US = 86_400_000_000n;

/** String.prototype.isWellFormed (Node 20+; the typings this package builds with predate it). */
const isWellFormed = (text: string): boolean => (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
	y -= m <= 2 ? 1 : 0;
	const era = Math.floor(y / 400);
	const yoe = y - era * 400;
	const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
	const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
	return era * 146097 + doe - 719468;
}

function validDate(y: number, m: number, d: number): boolean {
	if (m < 1 || m > 12 || d < 1) return false;
	const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
	return d <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

const ISO_DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Microseconds since the epoch of an ISO-8601 timestamp, exactly (no Date: years to 9999 and
 * every microsecond). Zone-less means UTC, never the host's zone. Returns a string saying why
 * when the text is not a timestamp ('type') or has digits past microseconds ('nanos').
 */
export function isoMicros(text: string): bigint | 'type' | 'nanos' {
	const m = ISO_TIMESTAMP_TEXT.exec(text);
	if (!m) return 'type';
	const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
	const [h, mi, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
	if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59) return 'type';
	let micros = 0n;
	const fraction = m[7];
	if (fraction) {
		if (fraction.length > 6 && /[1-9]/.test(fraction.slice(6))) return 'nanos';
		micros = BigInt(fraction.slice(0, 6).padEnd(6, '0'));
	}
	let offsetMinutes = 0;
	const zone = m[8];
	if (zone && zone !== 'Z' && zone !== 'z') {
		const digits = zone.slice(1).replace(':', '');
		const oh = Number(digits.slice(0, 2));
		const om = Number(digits.slice(2) || 0);
		if (oh > 23 || om > 59) return 'type';
		offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
	}
	const seconds = daysFromCivil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offsetMinutes * 60;
	return BigInt(seconds) * 1_000_000n + micros;
}

/** Days since the epoch of a `YYYY-MM-DD` date, or undefined. */
function isoDays(text: string): number | undefined {
	const m = ISO_DATE_TEXT.exec(text);
	if (!m) return undefined;
	const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
	return validDate(y, mo, d) ? daysFromCivil(y, mo, d) : undefined;
}

/** The shortest digits of a whole double, written out in full (`1.4272920223260322e+21` → `1427292022326032200000`). */
export function integerDigits(n: number): string {
	const text = String(n);
	const e = /^(-?)(\d)(?:\.(\d+))?e\+(\d+)$/.exec(text);
	if (!e) return text;
	const digits = e[2] + (e[3] ?? '');
	return e[1] + digits + '0'.repeat(Number(e[4]) - (digits.length - 1));
}

/**
 * A converter from a non-null record value to what hyparquet-writer takes for a leaf column:
 * timestamps and dates become plain integers (µs as bigint, days) rather than Date objects, so
 * there is no allocation per value on the hot path. A value that does not fit throws a Miss.
 */
function leafConverter(field: Omit<Field, 'name'>, path: string): Convert {
	const type = (expected: string, v: unknown, detail?: string) => new Miss('type', path, expected, v, detail);
	const unrepresentable = (expected: string, v: unknown, detail: string) => new Miss('unrepresentable', path, expected, v, detail);
	const checkText = (v: string) => {
		if (!isWellFormed(v)) throw unrepresentable('a string', v, 'has a lone surrogate, which UTF-8 cannot hold');
		return v;
	};
	switch (field.type) {
		case 'string':
			return (v) => {
				if (typeof v === 'string') return checkText(v);
				if (v instanceof Date) return v.toISOString();
				// scalars have one exact text; structures and bytes are not strings
				if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v instanceof ExactNumber) return String(v);
				throw type('a string', v);
			};
		case 'json':
			return (v) => checkText(stringifyJson(v));
		case 'binary':
			return (v) => {
				if (v instanceof Binary) return v.bytes;
				if (v instanceof Uint8Array) return v;
				if (typeof v === 'string' && BASE64.test(v)) return new Uint8Array(Buffer.from(v, 'base64'));
				throw type('binary (bytes or base64 text)', v);
			};
		case 'int':
			return (v) => {
				if (typeof v === 'number' && (v | 0) === v) return v;
				const text = integerText(v);
				if (text === undefined) throw type('a 32-bit integer', v);
				const n = Number(text);
				if (n < MIN_INT32 || n > MAX_INT32) throw type('a 32-bit integer', v, 'out of the 32-bit range');
				return n;
			};
		case 'long':
			return (v) => {
				if (typeof v === 'bigint') {
					if (v < MIN_INT64 || v > MAX_INT64) throw type('a 64-bit integer', v, 'out of the 64-bit range');
					return v;
				}
				if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
				const text = integerText(v);
				if (text === undefined) throw type('a 64-bit integer', v);
				const n = BigInt(text);
				if (n < MIN_INT64 || n > MAX_INT64) throw type('a 64-bit integer', v, 'out of the 64-bit range');
				return n;
			};
		case 'double':
			return (v) => {
				if (typeof v === 'number') return v;
				if (typeof v === 'bigint') {
					const n = Number(v);
					// a whole double of 2^53 or more, as JSON writers print it (its shortest digits, e.g.
					// 18886071834445870 for the double 18886071834445868): those digits give that double back
					if (BigInt(n) !== v && integerDigits(n) !== v.toString()) {
						throw unrepresentable('a double', v, 'a double cannot hold this integer exactly (declare the field long or decimal)');
					}
					return n;
				}
				const text = v instanceof ExactNumber ? v.text : typeof v === 'string' ? v.trim() : undefined;
				if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return Number(text);
				if (text === undefined || !DECIMAL_TEXT.test(text) || !/\d/.test(text)) throw type('a number', v);
				if (isInexactLiteral(text) && !/^-0*(?:\.0*)?(?:[eE][+-]?\d+)?$/.test(text)) {
					throw unrepresentable('a double', v, 'a double cannot hold this number exactly (declare the field decimal)');
				}
				return Number(text);
			};
		case 'boolean':
			return (v) => {
				if (typeof v === 'boolean') return v;
				if (v === 'true' || v === 1) return true;
				if (v === 'false' || v === 0) return false;
				throw type('a boolean', v);
			};
		case 'decimal': {
			const precision = field.precision ?? 38;
			const scale = field.scale ?? 0;
			const expected = `a decimal(${precision},${scale})`;
			const limit = 10n ** BigInt(precision);
			return (v) => {
				const text = v instanceof ExactNumber ? v.text : typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? v.toString() : typeof v === 'string' ? v.trim() : undefined;
				const unscaled = text === undefined ? 'syntax' : decimalUnscaled(text, scale);
				if (unscaled === 'syntax') throw type(expected, v);
				if (unscaled === 'scale') throw unrepresentable(expected, v, `has more than ${scale} digits after the point`);
				if (unscaled >= limit || unscaled <= -limit) {
					throw unrepresentable(expected, v, `has more than ${precision - scale} digits before the point`);
				}
				return unscaled;
			};
		}
		case 'timestamp':
			return (v) => {
				if (typeof v === 'string') {
					const micros = isoMicros(v);
					if (micros === 'type') throw type('a timestamp (ISO 8601)', v);
					if (micros === 'nanos') throw unrepresentable('a timestamp', v, 'has digits past microseconds; Parquet keeps microseconds (NDJSON keeps them)');
					return micros;
				}
				if (v instanceof Date && Number.isFinite(v.getTime())) return BigInt(v.getTime()) * 1000n;
				if (typeof v === 'number' && Number.isFinite(v)) return BigInt(Math.round(v * 1000)); // milliseconds since the epoch
				throw type('a timestamp (ISO 8601)', v);
			};
		case 'date':
			return (v) => {
				if (typeof v === 'string') {
					const days = isoDays(v);
					if (days !== undefined) return days;
					// a timestamp at midnight UTC is that date; any other time would be lost
					const micros = isoMicros(v);
					if (typeof micros === 'bigint' && micros % DAY_US === 0n) return Number(micros / DAY_US);
					throw type('a date (YYYY-MM-DD)', v);
				}
				if (v instanceof Date && Number.isFinite(v.getTime())) return Math.floor(v.getTime() / 86_400_000);
				throw type('a date (YYYY-MM-DD)', v);
			};
		default:
			throw new FormatError(`field "${path}": type "${field.type}" is not a leaf`);
	}
}

/**
 * One leaf column of a row group being built: its values with their Dremel definition and
 * repetition levels (levels only when the column can have them, as hyparquet-writer expects).
 */
interface Leaf {
	column: Omit<ColumnEncoder, 'codec' | 'compressors' | 'stats'>;
	maxDefinitionLevel: number;
	/** Whether the column has repetition levels (a list above it). */
	repeated: boolean;
	values: unknown[];
	definitionLevels: number[];
	repetitionLevels: number[];
}

/** Shreds one value of a field into its leaves, at definition level `def` and repetition level `rep`. */
type Shred = (value: unknown, def: number, rep: number) => void;

/**
 * The record shredder, compiled from the schema: every record is walked once, from its root, and
 * each value lands in its leaf column with its levels (Dremel). hyparquet-writer's own
 * `ParquetWriter.write` walks every row from the root once per leaf column, which was 40% of
 * Parquet encoding time on a 22-leaf schema.
 */
class Shredder {
	readonly leaves: Leaf[] = [];
	readonly fields: { name: string; shred: Shred }[];
	readonly fieldNames: ReadonlySet<string>;

	constructor(schema: Schema) {
		const root = parquetSchema(schema)[0];
		this.fields = schema.fields.map((f) => ({ name: f.name, shred: this.compile(f, f.name, [root], 0, 0, f.name).shred }));
		this.fieldNames = new Set(schema.fields.map((f) => f.name));
	}

	/** Where every leaf stands (value, definition and repetition counts), to cut back to. */
	mark(): number[] {
		const marks = new Array<number>(this.leaves.length * 3);
		for (let i = 0; i < this.leaves.length; i++) {
			const leaf = this.leaves[i];
			marks[3 * i] = leaf.values.length;
			marks[3 * i + 1] = leaf.definitionLevels.length;
			marks[3 * i + 2] = leaf.repetitionLevels.length;
		}
		return marks;
	}

	truncate(marks: readonly number[]): void {
		for (let i = 0; i < this.leaves.length; i++) {
			const leaf = this.leaves[i];
			leaf.values.length = marks[3 * i];
			leaf.definitionLevels.length = marks[3 * i + 1];
			leaf.repetitionLevels.length = marks[3 * i + 2];
		}
	}

	/**
	 * `def`/`rep`: the maximum definition and repetition levels of the field's parent. Returns the
	 * field's shredder and the leaves under it (which a null or an empty list fills with nulls).
	 */
	private compile(field: Omit<Field, 'name'>, name: string, parents: SchemaElement[], def: number, rep: number, path: string): { shred: Shred; leaves: Leaf[] } {
		const elements = elementsFor({ ...field, name });
		const element = elements[0];
		const optional = element.repetition_type === 'OPTIONAL';
		const ownDef = optional ? def + 1 : def;
		const schemaPath = [...parents, element];
		const required = () => new Miss('type', path, 'a value (the field is required)', null);

		if (field.type === 'object') {
			const children = (field.fields ?? []).map((f) => ({ name: f.name, ...this.compile(f, f.name, schemaPath, ownDef, rep, `${path}.${f.name}`) }));
			const leaves = children.flatMap((c) => c.leaves);
			const nulls = fillNulls(leaves);
			const names = new Set(children.map((c) => c.name));
			const shred: Shred = (v, d, r) => {
				if (v === null || v === undefined) {
					if (!optional) throw required();
					return nulls(d, r);
				}
				if (!isPlainObject(v)) throw new Miss('type', path, 'an object', v);
				const d1 = optional ? d + 1 : d;
				const present = shredChildren(children, v, d1, r);
				if (present !== keyCount(v)) unknownField(v, names, path);
			};
			return { shred, leaves };
		}

		if (field.type === 'array') {
			// LIST group (this field) > REPEATED group "list" > "element"
			const repeated = elements[1];
			const item = this.compile(field.items ?? { type: 'json' }, 'element', [...schemaPath, repeated], ownDef + 1, rep + 1, `${path}[]`);
			const nulls = fillNulls(item.leaves);
			const again = rep + 1;
			const shred: Shred = (v, d, r) => {
				if (v === null || v === undefined) {
					if (!optional) throw required();
					return nulls(d, r);
				}
				if (!Array.isArray(v)) throw new Miss('type', path, 'a list', v);
				const d1 = optional ? d + 1 : d;
				if (!v.length) return nulls(d1, r);
				item.shred(v[0], d1 + 1, r);
				for (let i = 1; i < v.length; i++) item.shred(v[i], d1 + 1, again);
			};
			return { shred, leaves: item.leaves };
		}

		const convert = leafConverter(field, path);
		const leaf: Leaf = {
			column: {
				columnName: schemaPath
					.slice(1)
					.map((e) => e.name)
					.join('.'),
				// hyparquet-writer would JSON.stringify a JSON column's values (again, and with BigInts made
				// Numbers): ours are already exact JSON text, so its pages are written as the UTF-8 strings
				// they are. The file's schema (the footer) still says JSON.
				element: field.type === 'json' ? { ...element, converted_type: 'UTF8', logical_type: { type: 'STRING' } } : element,
				schemaPath,
				pageSize: 1 << 20,
				columnIndex: false,
				offsetIndex: true,
			},
			maxDefinitionLevel: ownDef,
			repeated: rep > 0,
			values: [],
			definitionLevels: [],
			repetitionLevels: [],
		};
		this.leaves.push(leaf);
		const values = leaf.values;
		const defs = leaf.definitionLevels;
		const reps = leaf.repetitionLevels;
		const withDef = ownDef > 0;
		const withRep = rep > 0;
		const shred: Shred = (v, d, r) => {
			if (v === null || v === undefined) {
				if (!optional) throw required();
				values.push(null);
				if (withDef) defs.push(d);
			} else {
				values.push(convert(v));
				if (withDef) defs.push(optional ? d + 1 : d);
			}
			if (withRep) reps.push(r);
		};
		return { shred, leaves: [leaf] };
	}

	/** Empties every leaf (after a row group is written). */
	reset(): void {
		for (const leaf of this.leaves) {
			leaf.values.length = 0;
			leaf.definitionLevels.length = 0;
			leaf.repetitionLevels.length = 0;
		}
	}
}

/** A null (or an empty list) at `def`/`rep`: one null slot in every leaf under it. */
function fillNulls(leaves: Leaf[]): (def: number, rep: number) => void {
	return (d, r) => {
		for (let i = 0; i < leaves.length; i++) {
			const leaf = leaves[i];
			leaf.values.push(null);
			if (leaf.maxDefinitionLevel > 0) leaf.definitionLevels.push(d);
			if (leaf.repeated) leaf.repetitionLevels.push(r);
		}
	};
}

/** Shreds a record's (or object's) fields; returns how many of them the value has (not undefined). */
function shredChildren(children: readonly { name: string; shred: Shred }[], value: Record<string, unknown>, d: number, r: number): number {
	let present = 0;
	for (let i = 0; i < children.length; i++) {
		const child = value[children[i].name];
		if (child !== undefined) present++;
		children[i].shred(child, d, r);
	}
	return present;
}

/** Own enumerable keys of an object, counted without allocating. */
function keyCount(value: object): number {
	let n = 0;
	for (const key in value) if (Object.hasOwn(value, key)) n++;
	return n;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Uint8Array) && !(v instanceof Binary) && !(v instanceof ExactNumber);
}

/** Throws unknown_field for the first key the schema does not have (keys whose value is undefined are absent). */
function unknownField(value: Record<string, unknown>, names: ReadonlySet<string>, path: string): void {
	for (const key of Object.keys(value)) {
		if (!names.has(key) && value[key] !== undefined) throw new Miss('unknown_field', path ? `${path}.${key}` : key, 'no field of this name', value[key]);
	}
}

/** hyparquet-writer's Writer, flushing each finished row group to the sink. */
class SinkWriter extends ByteWriter {
	pending: Promise<void> = Promise.resolve();
	flushed = 0;

	constructor(private readonly sink: Writable) {
		super(1 << 20);
	}

	flush(): Promise<void> {
		if (!this.index) return this.pending;
		const bytes = Buffer.from(new Uint8Array(this.buffer, 0, this.index)); // copy: the buffer is reused
		this.index = 0;
		this.flushed += bytes.length;
		this.pending = this.pending.then(() => writeTo(this.sink, bytes));
		this.pending.catch(() => undefined); // whoever awaits it gets the error; none is left unhandled
		return this.pending;
	}

	finish(): void {
		void this.flush();
	}
}

class ParquetFile implements EncodedFile {
	private readonly writer: SinkWriter;
	private readonly parquet: ParquetWriter;
	private readonly shredder: Shredder;
	private buffered = 0;
	private groups = 0;
	private bytesPerRow = 0;
	private readonly rowGroupRows: number;
	/** The sink's first failure, kept for every later write() and finish(). */
	private readonly watch: SinkWatch;

	constructor(
		private readonly sink: Writable,
		schema: Schema,
		codec: Codec,
		private readonly options: ParquetOptions,
		/** Footer bytes per row group and leaf column, learned from finished files of this export. */
		private readonly learned: { footerPerChunk: number },
	) {
		this.watch = new SinkWatch(sink);
		this.writer = new SinkWriter(sink);
		this.parquet = new ParquetWriter({
			writer: this.writer,
			schema: parquetSchema(schema),
			codec: PARQUET_CODEC[codec],
			compressors: COMPRESSORS,
			createdBy: options.createdBy,
			statistics: true,
		});
		this.shredder = new Shredder(schema);
		this.rowGroupRows = Math.max(1, options.rowGroupRows ?? 10_000);
	}

	/** What finish() will add: column/offset indexes and metadata grow with row groups × columns. */
	private footerEstimate(groups = this.groups + (this.buffered ? 1 : 0)): number {
		return 512 + Math.round(groups * this.shredder.leaves.length * this.learned.footerPerChunk);
	}

	get bytesOut() {
		return this.writer.flushed;
	}

	get bytesPending() {
		return this.writer.flushed + this.writer.index + Math.round(this.buffered * this.bytesPerRow) + this.footerEstimate();
	}

	private groupTarget(): number {
		// A small first row group teaches us the row size; later groups honour the byte target too.
		if (this.groups === 0) return Math.min(this.rowGroupRows, 1000);
		const max = this.options.maxFileBytes;
		if (max && this.bytesPerRow > 0) {
			const room = Math.max(1, Math.floor((max - this.bytesOut - this.footerEstimate(this.groups + 1)) / this.bytesPerRow));
			return Math.min(this.rowGroupRows, room);
		}
		return this.rowGroupRows;
	}

	private shredRecord(record: DatasetRecord): void {
		if (!isPlainObject(record)) throw new Miss('type', '(record)', 'an object', record);
		const { fields, fieldNames } = this.shredder;
		if (shredChildren(fields, record, 0, 0) !== keyCount(record)) unknownField(record, fieldNames, '');
	}

	/**
	 * Shreds records into the row group. A record that does not fit throws ValueMismatch after
	 * every record before it is in the row group and nothing of it: the leaves are cut back to
	 * where they stood when this chunk (or its last row group) began, and the records since are
	 * shredded again. Nothing is saved per record, so the happy path pays nothing for this.
	 */
	async write(records: DatasetRecord[]): Promise<void> {
		this.watch.check();
		let first = 0;
		let marks = this.shredder.mark();
		for (let r = 0; r < records.length; r++) {
			let failure: unknown;
			try {
				this.shredRecord(records[r]);
			} catch (error) {
				failure = error ?? new Error('a value could not be written');
			}
			if (failure !== undefined) {
				if (!(failure instanceof Miss)) throw failure;
				this.shredder.truncate(marks);
				for (let k = first; k < r; k++) this.shredRecord(records[k]);
				const { kind, path, expected, value, detail } = failure;
				throw new ValueMismatch({ index: r, kind, path, expected, value, detail });
			}
			if (++this.buffered >= this.groupTarget()) {
				await this.flushGroup();
				first = r + 1;
				marks = this.shredder.mark();
			}
		}
	}

	private async flushGroup(): Promise<void> {
		if (!this.buffered) return;
		const rows = this.buffered;
		this.buffered = 0;
		const { writer, parquet } = this;
		const groupStart = writer.offset;
		const columns: ColumnChunk[] = [];
		let uncompressed = 0n;
		for (const leaf of this.shredder.leaves) {
			const result = writeColumn({
				writer,
				column: {
					...leaf.column,
					codec: parquet.codec,
					compressors: parquet.compressors,
					stats: parquet.statistics,
					statisticsTruncateLength: parquet.statisticsTruncateLength,
				},
				pageData: {
					values: leaf.values,
					definitionLevels: leaf.definitionLevels,
					repetitionLevels: leaf.repetitionLevels,
					maxDefinitionLevel: leaf.maxDefinitionLevel,
				},
			});
			columns.push(result.chunk);
			parquet.pendingIndexes.push(result);
			uncompressed += result.chunk.meta_data?.total_uncompressed_size ?? 0n;
		}
		this.shredder.reset();
		parquet.num_rows += BigInt(rows);
		parquet.row_groups.push({
			columns,
			total_byte_size: uncompressed,
			num_rows: BigInt(rows),
			total_compressed_size: BigInt(writer.offset - groupStart),
		});
		await writer.flush();
		this.groups++;
		this.bytesPerRow = (writer.offset - groupStart) / rows;
	}

	async finish(): Promise<void> {
		this.watch.check();
		await this.flushGroup();
		const beforeFooter = this.writer.offset;
		await this.parquet.finish();
		if (this.groups) this.learned.footerPerChunk = Math.max(0, this.writer.offset - beforeFooter - 512) / (this.groups * this.shredder.leaves.length);
		await this.writer.pending;
		await endSink(this.sink);
	}
}

export const PARQUET_EXTENSION = '.parquet';
export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

export function parquetEncoder(schema: Schema, codec: Codec, options: ParquetOptions = {}): Encoder {
	const problem = parquetCodecProblem(codec);
	if (problem) throw new FormatError(problem);
	parquetSchema(schema); // fail early on a schema Parquet cannot hold
	const learned = { footerPerChunk: 150 };
	return {
		fileType: 'parquet',
		codec,
		extension: PARQUET_EXTENSION,
		contentType: PARQUET_CONTENT_TYPE,
		usesJsonText: false,
		// Parsed records that wait in a big chunk outlive young-generation GCs and pile up in the old
		// generation: 2,000-record chunks peaked at 327 MB RSS over 5M records, 250-record ones at 298 MB.
		chunkRecords: 250,
		open: (sink) => new ParquetFile(sink, schema, codec, options, learned),
	};
}
