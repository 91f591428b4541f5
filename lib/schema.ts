/**
 * The dataset schema: a small, XDM-like field tree that every source describes its records with
 * and every encoder maps to its own types.
 */

export type FieldType =
	| 'string'
	| 'int'
	| 'long'
	| 'double'
	| 'boolean'
	| 'timestamp'
	| 'date'
	| 'decimal'
	| 'binary'
	| 'object'
	| 'array'
	| 'json';

export const FIELD_TYPES: readonly FieldType[] = [
	'string',
	'int',
	'long',
	'double',
	'boolean',
	'timestamp',
	'date',
	'decimal',
	'binary',
	'object',
	'array',
	'json',
];

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
		f.type === 'array' && f.items
			? `array<${typeName(f.items)}>`
			: f.type === 'object'
				? `object{${(f.fields ?? []).map((c) => c.name).join(',')}}`
				: f.type;
	return schema.fields.map((f) => `${f.name}: ${typeName(f)}`).join(', ');
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function typeOfValue(value: unknown): Omit<Field, 'name'> | undefined {
	if (value === null || value === undefined) return undefined;
	if (typeof value === 'boolean') return { type: 'boolean' };
	if (typeof value === 'bigint') return { type: 'long' };
	if (typeof value === 'number') {
		if (!Number.isInteger(value)) return { type: 'double' };
		return { type: Math.abs(value) <= 2147483647 ? 'int' : 'long' };
	}
	if (value instanceof Date) return { type: 'timestamp' };
	if (typeof value === 'string') {
		if (ISO_TIMESTAMP.test(value)) return { type: 'timestamp' };
		if (ISO_DATE.test(value)) return { type: 'date' };
		return { type: 'string' };
	}
	if (Array.isArray(value)) {
		let items: Omit<Field, 'name'> | undefined;
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

const NUMERIC: FieldType[] = ['int', 'long', 'double'];
/** Placeholder type of a field seen only as null so far. */
const UNKNOWN = { type: 'unknown' as FieldType };

function mergeTypes(
	a: Omit<Field, 'name'> | undefined,
	b: Omit<Field, 'name'> | undefined,
): Omit<Field, 'name'> | undefined {
	if (!a || a.type === UNKNOWN.type) return b ?? a;
	if (!b || b.type === UNKNOWN.type) return a;
	if (a.type === b.type) {
		if (a.type === 'object') return { type: 'object', fields: mergeFields(a.fields ?? [], b.fields ?? []) };
		if (a.type === 'array') return { type: 'array', items: mergeTypes(a.items, b.items) ?? { type: 'string' } };
		return a;
	}
	if (NUMERIC.includes(a.type) && NUMERIC.includes(b.type)) {
		return { type: a.type === 'double' || b.type === 'double' ? 'double' : 'long' };
	}
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

/** Infer a schema from sample records (for plain folders that ship none). */
export function inferSchema(records: Iterable<Record<string, unknown>>): Schema {
	let fields: Field[] = [];
	for (const record of records) {
		const t = typeOfValue(record);
		if (t?.type === 'object') fields = mergeFields(fields, t.fields ?? []);
	}
	// An object seen only as {} has no known fields: keep its values as JSON text.
	const settle = (f: Field): Field => {
		if (f.type === UNKNOWN.type) return { ...f, type: 'string' };
		if (f.type === 'object') return f.fields?.length ? { ...f, fields: f.fields.map(settle) } : { ...f, type: 'json', fields: undefined };
		if (f.type === 'array' && f.items) {
			const { name: _element, ...items } = settle({ ...f.items, name: 'element' });
			void _element;
			return { ...f, items };
		}
		return f;
	};
	return { fields: fields.map(settle) };
}
