import type { Mismatch } from './mismatch';
import { Binary, ExactNumber } from './values';

/**
 * The dataset schema: a small, XDM-like field tree that every source describes its records with
 * and every encoder maps to its own types.
 */

export type FieldType = 'string' | 'int' | 'long' | 'double' | 'boolean' | 'timestamp' | 'date' | 'decimal' | 'binary' | 'object' | 'array' | 'json';

export const FIELD_TYPES: readonly FieldType[] = ['string', 'int', 'long', 'double', 'boolean', 'timestamp', 'date', 'decimal', 'binary', 'object', 'array', 'json'];

export interface Field {
	name: string;
	type: FieldType;
	/** Children of an `object` field. */
	fields?: Field[];
	/** Digits in all of a `decimal` field (1–38). */
	precision?: number;
	/** Digits after the point of a `decimal` field (0–precision; default 0). */
	scale?: number;
	/** Element of an `array` field (its name is ignored). */
	items?: Omit<Field, 'name'> & { name?: string };
	/** Defaults to true: every field may be null unless it says otherwise. */
	nullable?: boolean;
	description?: string;
}

export interface Schema {
	fields: Field[];
}

export class SchemaError extends Error {}

/** Check a schema's shape; throws SchemaError naming the offending field path. */
export function validateSchema(schema: unknown, where = 'schema'): Schema {
	if (!schema || typeof schema !== 'object' || !Array.isArray((schema as Schema).fields)) {
		throw new SchemaError(`${where}: expected an object with a "fields" array`);
	}
	const visit = (field: Field, path: string) => {
		if (!field || typeof field !== 'object') throw new SchemaError(`${where}: ${path} is not a field object`);
		if (!FIELD_TYPES.includes(field.type)) {
			throw new SchemaError(`${where}: field "${path}" has unknown type "${String(field.type)}"`);
		}
		if (field.type === 'decimal') {
			const { precision, scale = 0 } = field;
			if (!Number.isInteger(precision) || precision! < 1 || precision! > 38) {
				throw new SchemaError(`${where}: decimal field "${path}" needs a "precision" from 1 to 38, not ${String(precision)}`);
			}
			if (!Number.isInteger(scale) || scale < 0 || scale > precision!) {
				throw new SchemaError(`${where}: decimal field "${path}" needs a "scale" from 0 to its precision (${precision}), not ${String(scale)}`);
			}
		}
		if (field.type === 'object') {
			if (!Array.isArray(field.fields)) throw new SchemaError(`${where}: object field "${path}" has no "fields"`);
			const names = new Set<string>();
			for (const child of field.fields) {
				if (typeof child?.name !== 'string' || !child.name) {
					throw new SchemaError(`${where}: a child of "${path}" has no name`);
				}
				if (names.has(child.name)) throw new SchemaError(`${where}: "${path}.${child.name}" appears twice`);
				names.add(child.name);
				visit(child, `${path}.${child.name}`);
			}
		}
		if (field.type === 'array') {
			if (!field.items) throw new SchemaError(`${where}: array field "${path}" has no "items"`);
			visit({ ...field.items, name: 'element' } as Field, `${path}[]`);
		}
	};
	visit({ name: '', type: 'object', fields: (schema as Schema).fields }, '(root)');
	return schema as Schema;
}

/**
 * Why a schema cannot be written as Parquet, or undefined when it can. Parquet has no empty
 * groups, so an object with no fields (at any depth) is not representable.
 */
export function parquetProblem(schema: Schema): string | undefined {
	const visit = (field: Field, path: string): string | undefined => {
		if (field.type === 'object') {
			if (!field.fields?.length) return `object field "${path}" has no fields (Parquet has no empty groups)`;
			for (const child of field.fields) {
				const problem = visit(child, path ? `${path}.${child.name}` : child.name);
				if (problem) return problem;
			}
		}
		if (field.type === 'array' && field.items) return visit({ ...field.items, name: 'element' } as Field, `${path}[]`);
		return undefined;
	};
	if (!schema.fields.length) return 'the schema has no fields';
	return visit({ name: '', type: 'object', fields: schema.fields }, '');
}

/** One line per top-level field, e.g. `timestamp: timestamp, tags: array<string>`. */
export function schemaSummary(schema: Schema | undefined): string {
	if (!schema) return '';
	const typeName = (f: Omit<Field, 'name'>): string =>
		f.type === 'array' && f.items ? `array<${typeName(f.items)}>` : f.type === 'object' ? `object{${(f.fields ?? []).map((c) => c.name).join(',')}}` : f.type;
	return schema.fields.map((f) => `${f.name}: ${typeName(f)}`).join(', ');
}

/** Whether an ISO date (and time) names a real day and a clock time (hours < 24, minutes and seconds < 60, offsets within ±18:00). */
function realDateTime(text: string): boolean {
	const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?[^+-]*(?:[+-](\d{2}):?(\d{2}))?$/.exec(text);
	if (!m) return false;
	const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
	const day = new Date(Date.UTC(2000, mo - 1, d));
	day.setUTCFullYear(y);
	if (mo < 1 || mo > 12 || day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return false;
	if (Number(m[4] ?? 0) > 23 || Number(m[5] ?? 0) > 59 || Number(m[6] ?? 0) > 59) return false;
	return Number(m[7] ?? 0) <= 18 && Number(m[8] ?? 0) <= 59;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;
const DECIMAL_LITERAL = /^-?(\d+)(?:\.(\d+))?$/;
const MAX_LONG = 2n ** 63n - 1n;
const MIN_LONG = -(2n ** 63n);

/** A field type without its name (array items, inferred types). */
export type FieldShape = Omit<Field, 'name'>;

/** The decimal(p,s) that holds a plain decimal literal exactly, if one of at most 38 digits does. */
function decimalShape(text: string): FieldShape | undefined {
	const m = DECIMAL_LITERAL.exec(text);
	if (!m) return undefined;
	const integer = m[1].replace(/^0+/, '');
	const scale = m[2]?.length ?? 0;
	const precision = Math.max(1, integer.length + scale);
	return precision <= 38 ? { type: 'decimal', precision, scale } : undefined;
}

/**
 * The type of a value as the value contract (lib/values.ts) carries it: null says nothing
 * (undefined); BigInts are longs (decimal(n,0) beyond 64 bits); ExactNumbers are the decimal
 * that holds them (a negative zero a double; json beyond 38 digits); Binary and bytes binary;
 * ISO strings timestamps or dates.
 */
export function typeOfValue(value: unknown): FieldShape | undefined {
	if (value === null || value === undefined) return undefined;
	if (typeof value === 'boolean') return { type: 'boolean' };
	if (typeof value === 'bigint') {
		if (value >= MIN_LONG && value <= MAX_LONG) return { type: 'long' };
		return decimalShape(value.toString()) ?? { type: 'json' };
	}
	if (typeof value === 'number') {
		if (!Number.isInteger(value) || Object.is(value, -0)) return { type: 'double' };
		if (Math.abs(value) <= 2147483647) return { type: 'int' };
		return { type: Number.isSafeInteger(value) ? 'long' : 'double' };
	}
	if (value instanceof ExactNumber) {
		if (Object.is(value.valueOf(), -0) || /^-0*(\.0*)?([eE][+-]?\d+)?$/.test(value.text)) return { type: 'double' };
		return decimalShape(value.text) ?? { type: 'json' };
	}
	if (value instanceof Binary || value instanceof Uint8Array) return { type: 'binary' };
	if (value instanceof Date) return { type: 'timestamp' };
	if (typeof value === 'string') {
		// only real calendar dates and clock times: `2026-02-30` is text, not a date that fails later
		if (ISO_TIMESTAMP.test(value) && realDateTime(value)) return { type: 'timestamp' };
		if (ISO_DATE.test(value) && realDateTime(value)) return { type: 'date' };
		return { type: 'string' };
	}
	if (Array.isArray(value)) {
		let items: FieldShape | undefined;
		for (const v of value) items = mergeTypes(items, typeOfValue(v));
		return { type: 'array', items: items ?? { type: 'string' } };
	}
	if (typeof value === 'object') {
		const fields: Field[] = [];
		for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
			// a null says nothing about the type: it is settled by other records (or becomes string)
			fields.push({ name, ...(typeOfValue(v) ?? UNKNOWN) });
		}
		return { type: 'object', fields };
	}
	return { type: 'json' };
}

const NUMERIC: FieldType[] = ['int', 'long', 'double', 'decimal'];
/** Digits before the point each integer type needs as a decimal. */
const INTEGER_DIGITS: Partial<Record<FieldType, number>> = { int: 10, long: 19 };
/** Placeholder type of a field seen only as null so far. */
const UNKNOWN = { type: 'unknown' as FieldType };

/** The narrower of two numeric types' common type: int < long < double; decimals widen to hold both, exact. */
function widenNumeric(a: FieldShape, b: FieldShape): FieldShape {
	if (a.type === 'decimal' || b.type === 'decimal') {
		if (a.type === 'double' || b.type === 'double') return { type: 'json' }; // neither holds the other's values exactly
		const digits = (f: FieldShape) => (f.type === 'decimal' ? (f.precision ?? 38) - (f.scale ?? 0) : INTEGER_DIGITS[f.type]!);
		const scale = Math.max(a.type === 'decimal' ? (a.scale ?? 0) : 0, b.type === 'decimal' ? (b.scale ?? 0) : 0);
		const precision = Math.max(digits(a), digits(b)) + scale;
		return precision <= 38 ? { type: 'decimal', precision, scale } : { type: 'json' };
	}
	return { type: a.type === 'double' || b.type === 'double' ? 'double' : 'long' };
}

/**
 * The narrowest type that holds the values of both types: objects merge their fields, arrays
 * their items; numbers widen (int → long → double; decimals to the precision and scale that hold
 * both); string, timestamp and date become string; anything else json. Undefined (or a field
 * seen only as null) gives the other.
 */
export function widenType(a: FieldShape | undefined, b: FieldShape | undefined): FieldShape | undefined {
	return mergeTypes(a, b);
}

function mergeTypes(a: FieldShape | undefined, b: FieldShape | undefined): FieldShape | undefined {
	if (!a || a.type === UNKNOWN.type) return b ?? a;
	if (!b || b.type === UNKNOWN.type) return a;
	if (a.type === b.type) {
		if (a.type === 'object') return { type: 'object', fields: mergeFields(a.fields ?? [], b.fields ?? []) };
		if (a.type === 'array') return { type: 'array', items: mergeTypes(a.items, b.items) ?? { type: 'string' } };
		if (a.type === 'decimal' && (a.precision !== b.precision || a.scale !== b.scale)) return widenNumeric(a, b);
		return a;
	}
	if (NUMERIC.includes(a.type) && NUMERIC.includes(b.type)) return widenNumeric(a, b);
	const textual: FieldType[] = ['string', 'timestamp', 'date'];
	if (textual.includes(a.type) && textual.includes(b.type)) return { type: 'string' };
	return { type: 'json' };
}

function mergeFields(a: Field[], b: Field[]): Field[] {
	const out = a.map((f) => ({ ...f }));
	for (const field of b) {
		const i = out.findIndex((f) => f.name === field.name);
		if (i < 0) out.push({ ...field });
		else out[i] = { ...out[i], ...mergeTypes(out[i], field), name: field.name };
	}
	return out;
}

/** JSON of a field with sorted keys, to compare fields. */
function canonical(value: unknown): string {
	return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
}

/** A field with what sampling left open settled: seen only as null → string; an object seen only as {} → json. */
function settle(f: Field): Field {
	if (f.type === UNKNOWN.type) return { ...f, type: 'string' };
	if (f.type === 'object') return f.fields?.length ? { ...f, fields: f.fields.map(settle) } : { ...f, type: 'json', fields: undefined };
	if (f.type === 'array' && f.items) {
		const { name: _element, ...items } = settle({ ...f.items, name: 'element' });
		void _element;
		return { ...f, items };
	}
	return f;
}

/** Type-specific keys of a field, for comparing and rebuilding. */
function withShape(field: Field, shape: FieldShape): Field {
	const rest: Partial<Field> = { ...field };
	delete rest.fields;
	delete rest.items;
	delete rest.precision;
	delete rest.scale;
	return { ...rest, ...shape, name: field.name } as Field;
}

/**
 * The schema an export evolves to so that a record that did not fit can be written (the Evolve
 * choice of On Schema Mismatch), or undefined when no wider schema holds the value.
 *
 * - unknown_field: the field is added where the mismatch's path says, nullable, typed by its value
 *   (a null value: string).
 * - type: the field's type widens with the value's (widenType: numbers widen, textual types become
 *   string, anything else json); a required field that was missing becomes nullable.
 * - unrepresentable: a decimal widens to the precision and scale the value needs (up to 38
 *   digits); nothing else can be widened (nanoseconds in Parquet, a lone surrogate in UTF-8,
 *   digits a double cannot hold), so undefined.
 *
 * `record` is the record that did not fit (the mismatch's value is taken from it when absent).
 */
export function evolveSchema(schema: Schema, mismatch: Mismatch, record?: unknown): Schema | undefined {
	void record;
	const value = mismatch.value;
	/** Rebuilds `fields` with the change at `path` (relative), or undefined when there is none. */
	const change = (fields: Field[], path: string): Field[] | undefined => {
		// the child whose name the path starts with (the longest, so names with dots resolve)
		let best: Field | undefined;
		for (const f of fields) {
			if (path === f.name || path.startsWith(f.name + '.') || path.startsWith(f.name + '[]')) {
				if (!best || f.name.length > best.name.length) best = f;
			}
		}
		if (!best) {
			if (mismatch.kind !== 'unknown_field') return undefined;
			return [...fields, settle({ ...(typeOfValue(value) ?? { type: 'string' }), name: path, nullable: true })];
		}
		const rest = path.slice(best.name.length);
		const updated = changeField(best, rest);
		return updated && fields.map((f) => (f === best ? updated : f));
	};
	/** `rest` is '' (this field), '.x…' (a child) or '[]…' (the items). */
	const changeField = (field: Field, rest: string): Field | undefined => {
		if (rest.startsWith('.') && field.type === 'object') {
			const fields = change(field.fields ?? [], rest.slice(1));
			return fields && { ...field, fields };
		}
		if (rest.startsWith('[]') && field.type === 'array' && field.items) {
			const items = changeField({ ...field.items, name: field.items.name ?? 'element' } as Field, rest.slice(2));
			if (!items) return undefined;
			const { name: _n, ...shape } = items;
			void _n;
			return { ...field, items: field.items.name === undefined ? shape : items };
		}
		if (rest !== '' || mismatch.kind === 'unknown_field') return undefined;
		const shape = typeOfValue(value);
		if (mismatch.kind === 'unrepresentable') {
			if (field.type !== 'decimal' || !shape || !['decimal', 'int', 'long'].includes(shape.type)) return undefined;
			const wider = widenNumeric(field, shape);
			return wider.type === 'decimal' ? withShape(field, wider) : undefined;
		}
		if (!shape) return field.nullable === false ? { ...field, nullable: true } : undefined;
		const merged = mergeTypes(field, field.type === 'decimal' && typeof value === 'number' ? (decimalShape(String(value)) ?? shape) : shape)!;
		const next = withShape(field, settle({ ...merged, name: field.name }));
		return canonical(next) === canonical(field) ? undefined : next;
	};
	const fields = change(schema.fields, mismatch.path);
	return fields && { ...schema, fields };
}

/** Infer a schema from sample records (for plain folders that ship none). */
export function inferSchema(records: Iterable<Record<string, unknown>>): Schema {
	let fields: Field[] = [];
	for (const record of records) {
		const t = typeOfValue(record);
		if (t?.type === 'object') fields = mergeFields(fields, t.fields ?? []);
	}
	// An object seen only as {} has no known fields: its values are kept as JSON text.
	return { fields: fields.map(settle) };
}
