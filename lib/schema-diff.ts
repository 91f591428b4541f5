/** What changed between two schemas, in words: fields added, removed, or of another type (by path). */
import type { Field, Schema } from './schema';

export interface SchemaDiff {
	added: string[];
	removed: string[];
	/** `path: old → new`. */
	changed: string[];
}

/** A field's type in words: `long`, `decimal(18,4)`, `array<string>`, `object`. */
export function typeName(field: Omit<Field, 'name'>): string {
	if (field.type === 'decimal') return `decimal(${field.precision},${field.scale ?? 0})`;
	if (field.type === 'array') return `array<${field.items ? typeName(field.items) : 'json'}>`;
	return field.type;
}

function flatten(fields: readonly Field[], prefix: string, out: Map<string, string>): Map<string, string> {
	for (const f of fields) {
		const path = prefix ? `${prefix}.${f.name}` : f.name;
		if (f.type === 'object') {
			out.set(path, 'object');
			flatten(f.fields ?? [], path, out);
		} else if (f.type === 'array' && f.items?.type === 'object') {
			out.set(path, 'array<object>');
			flatten(f.items.fields ?? [], `${path}[]`, out);
		} else out.set(path, typeName(f));
	}
	return out;
}

export function diffSchemas(before: Schema | null | undefined, after: Schema | null | undefined): SchemaDiff {
	const a = flatten(before?.fields ?? [], '', new Map());
	const b = flatten(after?.fields ?? [], '', new Map());
	const diff: SchemaDiff = { added: [], removed: [], changed: [] };
	for (const [path, type] of b) {
		const old = a.get(path);
		if (old === undefined) diff.added.push(`${path}: ${type}`);
		else if (old !== type) diff.changed.push(`${path}: ${old} → ${type}`);
	}
	for (const path of a.keys()) if (!b.has(path)) diff.removed.push(path);
	return diff;
}

/** The diff as one list of phrases (`added a: string`, `b: int → long`, `removed c`). */
export function describeDiff(diff: SchemaDiff): string[] {
	return [...diff.added.map((f) => `added ${f}`), ...diff.changed, ...diff.removed.map((f) => `removed ${f}`)];
}
