/**
 * DuckDB as the independent reader: it reads the lake's own batch files and the exported files,
 * and both sides are normalised by the dataset schema so they compare record for record.
 */
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

const quote = (path: string) => `'${path.replace(/'/g, "''")}'`;

/** Rows of data files as DuckDB reads them (format from the extension). */
export async function readFiles(paths: string[]): Promise<Record<string, unknown>[]> {
	const rows: Record<string, unknown>[] = [];
	for (const path of paths) {
		const base = path.replace(/\.gz$/, '');
		let sql: string;
		if (base.endsWith('.parquet')) sql = `SELECT * FROM read_parquet(${quote(path)})`;
		else if (base.endsWith('.csv')) sql = `SELECT * FROM read_csv(${quote(path)}, header = true, all_varchar = true)`;
		else sql = `SELECT * FROM read_json(${quote(path)}, format = 'auto', maximum_object_size = 104857600, sample_size = -1)`;
		rows.push(...(await query(sql)));
	}
	return rows;
}

function timestampMs(value: unknown): number | null {
	if (value === null || value === undefined) return null;
	if (value instanceof Date) return value.getTime();
	if (typeof value === 'object' && value && 'micros' in value) return Number((value as { micros: bigint }).micros / 1000n);
	if (typeof value === 'number') return value;
	const text = String(value);
	const ms = Date.parse(/[zZ]|[+-]\d\d(:?\d\d)?$/.test(text) ? text.replace(' ', 'T') : text.replace(' ', 'T') + 'Z');
	return Number.isNaN(ms) ? null : ms;
}

function dateText(value: unknown): string | null {
	if (value === null || value === undefined) return null;
	if (value instanceof Date) return value.toISOString().slice(0, 10);
	if (typeof value === 'object' && value && 'days' in value) return new Date(Number((value as { days: number }).days) * 86_400_000).toISOString().slice(0, 10);
	return String(value).slice(0, 10);
}

/** JSON-shaped text, parsed when a CSV cell or a JSON column holds nested data as text. */
function maybeParse(value: unknown): unknown {
	if (typeof value !== 'string') return value;
	const digitsSafe = value.replace(/(?<=[:[,]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '"$1"');
	return JSON.parse(digitsSafe);
}

/** A value in a form that compares equal however the reader typed it. */
export function normalise(field: Omit<Field, 'name'>, value: unknown): unknown {
	if (value === null || value === undefined) return null;
	switch (field.type) {
		case 'timestamp':
			return timestampMs(value);
		case 'date':
			return dateText(value);
		case 'long':
		case 'int':
			return String(typeof value === 'number' || typeof value === 'bigint' ? value : BigInt(String(value)));
		case 'double':
			return Number(value);
		case 'boolean':
			return value === true || value === 'true';
		case 'string':
			return String(value);
		case 'json':
			return JSON.stringify(maybeParse(value));
		case 'object': {
			const v = maybeParse(value) as Record<string, unknown>;
			if (v === null) return null;
			const out: Record<string, unknown> = {};
			for (const child of field.fields ?? []) out[child.name] = normalise(child, v[child.name]);
			return out;
		}
		case 'array': {
			const v = maybeParse(value) as unknown[];
			if (v === null) return null;
			return v.map((item) => normalise(field.items ?? { type: 'json' }, item));
		}
		default:
			return String(value);
	}
}

/** Each record as canonical text, sorted: equal multisets give equal arrays. */
export function canonicalRecords(schema: Schema, rows: Record<string, unknown>[]): string[] {
	return rows
		.map((row) => JSON.stringify(schema.fields.map((f) => [f.name, normalise(f, row[f.name])])))
		.sort();
}
