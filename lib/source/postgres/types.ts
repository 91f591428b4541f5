/**
 * PostgreSQL values as the export's values (lib/values.ts): every column is read as PostgreSQL's
 * own text output (the session is set to UTC and ISO dates, shortest exact floats, hex bytea) and
 * converted here, so nothing passes through a lossy default parser. docs/sources/postgres.md has
 * the table.
 */
import { parseJson } from '../../json';
import type { Field, FieldType } from '../../schema';
import { Binary, ExactNumber } from '../../values';

/** A column as the catalog describes it (domains resolved to their base type). */
export interface ColumnInfo {
	name: string;
	/** Base type name (`int8`, `timestamptz`, `_text` for arrays). */
	type: string;
	/** Element type name of an array, else null. */
	element: string | null;
	typmod: number;
	notNull: boolean;
	/** format_type(): the type as SQL spells it (`numeric(12,2)`). */
	sql: string;
}

type Convert = (text: string) => unknown;

/** A value PostgreSQL holds that the field's type cannot (infinity, NaN, a date BC): reported as a mismatch with its text, never changed. */
export class Unfit {
	constructor(
		readonly text: string,
		readonly expected: string,
		readonly detail: string,
	) {}
}

const INTEGER = new Set(['int2', 'int4']);
const STRING = new Set(['text', 'varchar', 'bpchar', 'name', 'uuid', 'char', 'citext']);

/** numeric(p, s) from its typmod; undefined when unconstrained. */
function numericShape(typmod: number): { precision: number; scale: number } | undefined {
	if (typmod < 4) return undefined;
	const value = typmod - 4;
	const precision = (value >> 16) & 0xffff;
	// the scale is an 11-bit signed number since PostgreSQL 15 (numeric(5, -2))
	let scale = value & 0x7ff;
	if (scale & 0x400) scale -= 0x800;
	return { precision, scale };
}

function shapeOf(type: string, typmod: number): Omit<Field, 'name'> {
	if (INTEGER.has(type)) return { type: 'int' };
	if (type === 'int8') return { type: 'long' };
	if (type === 'float4' || type === 'float8') return { type: 'double' };
	if (type === 'numeric') {
		const shape = numericShape(typmod);
		// Parquet's DECIMAL holds up to 38 digits and no negative scale: other numerics are kept as
		// their exact literal in a json field (a bare number in NDJSON, JSON text in Parquet)
		if (shape && shape.precision >= 1 && shape.precision <= 38 && shape.scale >= 0 && shape.scale <= shape.precision) return { type: 'decimal', precision: shape.precision, scale: shape.scale };
		return { type: 'json' };
	}
	if (type === 'bool') return { type: 'boolean' };
	if (type === 'timestamptz' || type === 'timestamp') return { type: 'timestamp' };
	if (type === 'date') return { type: 'date' };
	if (type === 'json' || type === 'jsonb') return { type: 'json' };
	if (type === 'bytea') return { type: 'binary' };
	return { type: 'string' };
}

/** The schema field of a column: arrays of known types as lists, anything else as text. */
export function fieldOf(column: ColumnInfo): Field {
	const nullable = column.notNull ? { nullable: false } : {};
	if (column.element) {
		// an element's typmod is the column's (numeric(10,2)[])
		return { name: column.name, type: 'array', items: shapeOf(column.element, column.typmod), ...nullable };
	}
	return { name: column.name, ...shapeOf(column.type, column.typmod), ...nullable };
}

/** Types kept as PostgreSQL's text output (documented): what fieldOf makes a string though the type is not text. */
export function keptAsText(column: ColumnInfo): boolean {
	const type = column.element ?? column.type;
	return shapeOf(type, column.typmod).type === 'string' && !STRING.has(type);
}

// `2026-11-28 10:00:00.123456+00` (timestamptz in UTC) or without the offset (timestamp)
const TIMESTAMP_TEXT = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(\+00(?::00)?|Z)?$/;

/** A timestamp as `…THH:MM:SS.ffffffZ`; one it cannot be (BC, infinity, year > 9999) is Unfit. */
function timestamp(text: string): string | Unfit {
	const m = TIMESTAMP_TEXT.exec(text);
	if (!m) return new Unfit(text, 'a timestamp', 'PostgreSQL holds a timestamp no ISO-8601 UTC time from year 1 to 9999 can be (infinity, BC, or past 9999)');
	return `${m[1]}T${m[2]}.${(m[3] ?? '').padEnd(6, '0')}Z`;
}

function date(text: string): string | Unfit {
	return /^\d{4}-\d\d-\d\d$/.test(text) ? text : new Unfit(text, 'a date', 'PostgreSQL holds a date no YYYY-MM-DD date can be (infinity, BC, or past 9999)');
}

function double(text: string): unknown {
	// NaN and ±Infinity are no JSON numbers: reported, never written as null
	if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return new Unfit(text, 'a double', 'NaN and ±Infinity are no JSON numbers');
	if (text === '-0') return new ExactNumber('-0');
	return Number(text);
}

function long(text: string): number | bigint {
	const value = BigInt(text);
	return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function bytes(text: string): Binary | string {
	return text.startsWith('\\x') ? new Binary(Buffer.from(text.slice(2), 'hex')) : text;
}

function decimal(text: string): ExactNumber | Unfit {
	return /^-?\d+(\.\d+)?$/.test(text) ? new ExactNumber(text) : new Unfit(text, 'a decimal', 'NaN and ±Infinity are no decimal numbers');
}

function scalarConverter(type: string): Convert {
	if (INTEGER.has(type)) return Number;
	if (type === 'int8') return long;
	if (type === 'float4' || type === 'float8') return double;
	if (type === 'numeric') return decimal;
	if (type === 'bool') return (t) => (t === 't' ? true : t === 'f' ? false : t);
	if (type === 'timestamptz' || type === 'timestamp') return timestamp;
	if (type === 'date') return date;
	if (type === 'json' || type === 'jsonb') return parseJson;
	if (type === 'bytea') return bytes;
	return (t) => t;
}

/** An element of an array read through to_json(): JSON values, with timestamps, bytea, numerics and floats put right. */
function elementConverter(type: string): (value: unknown) => unknown {
	if (type === 'timestamptz' || type === 'timestamp') return (v) => (typeof v === 'string' ? timestamp(v) : v);
	if (type === 'bytea') return (v) => (typeof v === 'string' ? bytes(v) : v);
	if (type === 'numeric') return (v) => (typeof v === 'number' || typeof v === 'bigint' ? new ExactNumber(String(v)) : v);
	if (type === 'int8') return (v) => (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
	if (type === 'float4' || type === 'float8') return (v) => (Object.is(v, -0) ? new ExactNumber('-0') : v);
	return (v) => v;
}

/** How a column is selected (arrays as JSON, so nesting and quoting come out exact) and its text converted. */
export function readerOf(column: ColumnInfo, quoted: string): { select: string; convert: Convert } {
	if (column.element) {
		const element = elementConverter(column.element);
		let unfit: Unfit | undefined;
		const mapDeep = (value: unknown): unknown => {
			if (Array.isArray(value)) return value.map(mapDeep);
			const converted = element(value);
			if (converted instanceof Unfit) unfit ??= converted;
			return converted;
		};
		// floats in to_json: NaN and Infinity come as strings already; -0 as the number -0
		return {
			select: `to_json(${quoted})::text`,
			convert: (text) => {
				unfit = undefined;
				const value = mapDeep(parseJson(text));
				return unfit ? new Unfit(text, `an array of ${(unfit as Unfit).expected.replace(/^an? /, '')}s`, (unfit as Unfit).detail) : value;
			},
		};
	}
	return { select: quoted, convert: scalarConverter(column.type) };
}

/** Types a cursor column may have: ordered, and comparable with the text PostgreSQL writes them as. */
export const CURSOR_TYPES = new Set(['int2', 'int4', 'int8', 'numeric', 'timestamptz', 'timestamp', 'date', 'text', 'varchar', 'uuid']);

export const isTimestampType = (type: string) => type === 'timestamptz' || type === 'timestamp';

export type { FieldType };
