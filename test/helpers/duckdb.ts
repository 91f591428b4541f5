/**
 * Independent readers for comparing exports exactly: DuckDB reads Parquet and CSV (values taken
 * in DuckDB's JSON form, which keeps decimals, 64-bit integers and timestamps as exact text), and
 * a small lossless JSON reader of its own reads NDJSON / JSON arrays (DuckDB's JSON reader turns
 * `12345678901234.5678` into a double). Both sides are normalised by the dataset schema so they
 * compare record for record, exactly: timestamps to the nanosecond in UTC, decimals as their
 * exact value, binary as hex, -0 kept, 64-bit integers as text.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Field, Schema } from '../../lib/schema';

let connection: Promise<DuckDBConnection> | undefined;

export function duck(): Promise<DuckDBConnection> {
	connection ??= DuckDBInstance.create(':memory:').then((db) => db.connect());
	return connection;
}

export async function query(sql: string): Promise<Record<string, unknown>[]> {
	const reader = await (await duck()).runAndReadAll(sql);
	return reader.getRowObjectsJS() as Record<string, unknown>[];
}

/** Rows in DuckDB's JSON form: DECIMAL, BIGINT, TIMESTAMP as exact text, BLOB as `\xNN` text. */
export async function queryExact(sql: string): Promise<Record<string, unknown>[]> {
	const reader = await (await duck()).runAndReadAll(sql);
	return reader.getRowObjectsJson() as Record<string, unknown>[];
}

const quote = (path: string) => `'${path.replace(/'/g, "''")}'`;

/** A number as written in JSON text, kept exactly. */
export class Literal {
	constructor(readonly text: string) {}
	toString(): string {
		return this.text;
	}
}

/** Which reader a row came from (how its binary and timestamp values are spelled). */
export const READER = Symbol('reader');
type Reader = 'parquet' | 'csv' | 'json';

/** A lossless JSON parser (numbers as Literal), independent of lib/json. */
export function parseLossless(text: string): unknown {
	let i = 0;
	const space = () => {
		while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
	};
	const fail = (what: string): never => {
		throw new SyntaxError(`${what} at ${i}`);
	};
	const value = (): unknown => {
		space();
		const c = text[i];
		if (c === '{') {
			i++;
			const out: Record<string, unknown> = {};
			space();
			if (text[i] === '}') return (i++, out);
			for (;;) {
				space();
				const key = value();
				if (typeof key !== 'string') fail('key');
				space();
				if (text[i++] !== ':') fail('colon');
				out[key as string] = value();
				space();
				if (text[i] === ',') i++;
				else if (text[i++] === '}') return out;
				else fail('object');
			}
		}
		if (c === '[') {
			i++;
			const out: unknown[] = [];
			space();
			if (text[i] === ']') return (i++, out);
			for (;;) {
				out.push(value());
				space();
				if (text[i] === ',') i++;
				else if (text[i++] === ']') return out;
				else fail('array');
			}
		}
		if (c === '"') {
			const start = i;
			i++;
			while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
			i++;
			return JSON.parse(text.slice(start, i)) as string;
		}
		const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
		if (m) return ((i += m[0].length), new Literal(m[0]));
		for (const [word, v] of [
			['true', true],
			['false', false],
			['null', null],
		] as const) {
			if (text.startsWith(word, i)) return ((i += word.length), v);
		}
		return fail('value');
	};
	const out = value();
	space();
	if (i < text.length) fail('trailing text');
	return out;
}

function readJsonFile(path: string): Record<string, unknown>[] {
	let bytes = readFileSync(path);
	if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
	const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
	const trimmed = text.trimStart();
	if (trimmed.startsWith('[')) return parseLossless(trimmed) as Record<string, unknown>[];
	return text
		.split('\n')
		.filter((line) => line.trim())
		.map((line) => parseLossless(line) as Record<string, unknown>);
}

/** Rows of data files (format from the extension), tagged with the reader that read them. */
export async function readFiles(paths: string[]): Promise<Record<string, unknown>[]> {
	const rows: Record<string, unknown>[] = [];
	for (const path of paths) {
		const base = path.replace(/\.gz$/, '');
		let reader: Reader;
		let read: Record<string, unknown>[];
		if (base.endsWith('.parquet')) {
			reader = 'parquet';
			read = await queryExact(`SELECT * FROM read_parquet(${quote(path)})`);
		} else if (base.endsWith('.csv')) {
			reader = 'csv';
			read = await queryExact(`SELECT * FROM read_csv(${quote(path)}, header = true, all_varchar = true)`);
		} else {
			reader = 'json';
			read = readJsonFile(path);
		}
		for (const row of read) {
			Object.defineProperty(row, READER, { value: reader, enumerable: false });
			rows.push(row);
		}
	}
	return rows;
}

/** Exact value of a decimal text: `1.50` and `1.5` agree, `-0` is `0`. */
function decimalKey(text: string): string {
	const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
	if (!m) return `NaN(${text})`;
	let digits = (m[2] ?? '') + (m[3] ?? '');
	let exponent = (m[4] ? Number(m[4]) : 0) - (m[3]?.length ?? 0);
	digits = digits.replace(/^0+/, '');
	if (!digits) return '0';
	const trimmed = digits.replace(/0+$/, '');
	exponent += digits.length - trimmed.length;
	return `${m[1] === '-' ? '-' : ''}${trimmed}e${exponent}`;
}

/** Nanoseconds since the epoch (UTC) of a timestamp text (ISO or DuckDB's), as decimal text. */
export function timestampNanos(text: string): string {
	const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text.trim());
	if (!m) return `bad timestamp ${text}`;
	const seconds = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)) / 1000;
	let nanos = BigInt(seconds) * 1_000_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
	const zone = m[8];
	if (zone && zone.toUpperCase() !== 'Z') {
		const digits = zone.slice(1).replace(':', '');
		const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
		nanos -= BigInt((zone[0] === '-' ? -1 : 1) * minutes * 60) * 1_000_000_000n;
	}
	return nanos.toString();
}

function hexOf(value: unknown, reader: Reader): string {
	const text = String(value);
	if (reader === 'parquet') {
		// DuckDB's BLOB text: printable ASCII as is, other bytes as \xNN
		const bytes: number[] = [];
		for (let i = 0; i < text.length; i++) {
			if (text[i] === '\\' && text[i + 1] === 'x') {
				bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
				i += 3;
			} else bytes.push(text.charCodeAt(i));
		}
		return Buffer.from(bytes).toString('hex');
	}
	return Buffer.from(text, 'base64').toString('hex');
}

/** A JSON value in canonical text: numbers by exact value, keys in order. */
function canonicalJson(value: unknown): string {
	if (value instanceof Literal) return decimalKey(value.text);
	if (typeof value === 'number') return Object.is(value, -0) ? '0' : decimalKey(String(value));
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	if (value && typeof value === 'object') {
		return `{${Object.keys(value)
			.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
			.join(',')}}`;
	}
	return JSON.stringify(value);
}

/** A JSON-shaped text cell (CSV, Parquet JSON column) parsed losslessly; other values as they are. */
function structured(value: unknown): unknown {
	return typeof value === 'string' ? parseLossless(value) : value;
}

const text = (value: unknown) => (value instanceof Literal ? value.text : String(value));

/** A value in a form that compares equal however the reader typed it, exactly. */
export function normalise(field: Omit<Field, 'name'>, value: unknown, reader: Reader = 'json'): unknown {
	if (value === null || value === undefined) return null;
	switch (field.type) {
		case 'timestamp':
			return timestampNanos(text(value));
		case 'date':
			return text(value).slice(0, 10);
		case 'long':
		case 'int':
			return BigInt(text(value)).toString();
		case 'double': {
			const n = typeof value === 'number' ? value : Number(text(value));
			return Object.is(n, -0) ? '-0' : n;
		}
		case 'decimal':
			return decimalKey(text(value));
		case 'binary':
			return hexOf(value, reader);
		case 'boolean':
			return value === true || value === 'true';
		case 'string':
			return text(value);
		case 'json':
			// a JSON field is JSON text in Parquet (and CSV), the value itself in NDJSON
			return canonicalJson(reader === 'json' ? value : structured(value));
		case 'object': {
			const v = (reader === 'csv' ? structured(value) : value) as Record<string, unknown>;
			if (v === null) return null;
			const out: Record<string, unknown> = {};
			for (const child of field.fields ?? []) out[child.name] = normalise(child, v[child.name], reader);
			return out;
		}
		case 'array': {
			const v = (reader === 'csv' ? structured(value) : value) as unknown[];
			if (v === null) return null;
			return v.map((item) => normalise(field.items ?? { type: 'json' }, item, reader));
		}
		default:
			return text(value);
	}
}

/** Each record as canonical text, sorted: equal multisets give equal arrays. */
export function canonicalRecords(schema: Schema, rows: Record<string, unknown>[]): string[] {
	return rows
		.map((row) => {
			const reader = (row as { [READER]?: Reader })[READER] ?? 'json';
			return JSON.stringify(schema.fields.map((f) => [f.name, normalise(f, row[f.name], reader)]));
		})
		.sort();
}
