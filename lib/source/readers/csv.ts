/** CSV with a header row, typed by the dataset schema. */
import { parse as parseCsv } from 'csv-parse';
import { attempt, attemptAsync } from '../../errors';
import { parseJson } from '../../json';
import type { Field, Schema } from '../../schema';
import type { DatasetRecord } from '../types';
import { malformed, openText, unreadable } from './common';

type Caster = (text: string) => unknown;

function casterFor(field: Field | undefined): Caster {
	const type = field?.type;
	if (type === 'int' || type === 'double') return (t) => Number(t);
	if (type === 'long') {
		return (t) => {
			const n = Number(t);
			return Number.isSafeInteger(n) || !/^-?\d+$/.test(t) ? n : BigInt(t);
		};
	}
	if (type === 'boolean') return (t) => /^(true|1|yes)$/i.test(t);
	if (type === 'object' || type === 'array' || type === 'json') return (t) => parseJson(t);
	if (type) return (t) => t;
	// no schema: numbers and booleans by their look, the rest as text
	return (t) => {
		if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t)) {
			const n = Number(t);
			return Number.isInteger(n) && !Number.isSafeInteger(n) && /^-?\d+$/.test(t) ? BigInt(t) : n;
		}
		if (t === 'true' || t === 'false') return t === 'true';
		return t;
	};
}

/** CSV with a header row; empty cells are null, cells are typed by the dataset schema. */
export async function* readCsv(path: string, schema: Schema | undefined, chunkSize: number, signal?: AbortSignal): AsyncGenerator<DatasetRecord[]> {
	const byName = new Map((schema?.fields ?? []).map((f) => [f.name, f]));
	const casters = new Map<string, Caster>();
	const parser = parseCsv({ columns: true, bom: true, skip_empty_lines: true, relax_quotes: false });
	let chunk: DatasetRecord[] = [];
	let input: NodeJS.ReadableStream;
	try {
		input = await openText(path);
	} catch (error) {
		throw unreadable(path, error);
	}
	input.on('error', (error) => parser.destroy(error));
	input.pipe(parser);
	const rows = (parser as AsyncIterable<Record<string, string>>)[Symbol.asyncIterator]();
	for (;;) {
		signal?.throwIfAborted();
		const next = await attemptAsync(() => rows.next());
		if (!next.ok) {
			const line = (next.error as { lines?: number }).lines;
			throw line !== undefined ? malformed(path, line, next.error.message) : unreadable(path, next.error);
		}
		if (next.value.done) break;
		const row = next.value.value;
		const record: DatasetRecord = {};
		for (const key in row) {
			const text = row[key];
			let cast = casters.get(key);
			if (!cast) casters.set(key, (cast = casterFor(schema ? byName.get(key) ?? { name: key, type: 'string' } : undefined)));
			const value = text === '' ? { ok: true as const, value: null } : attempt(() => cast(text));
			if (!value.ok) throw malformed(path, parser.info.lines, `column "${key}": ${value.error.message}`);
			record[key] = value.value;
		}
		chunk.push(record);
		if (chunk.length >= chunkSize) {
			yield chunk;
			chunk = [];
		}
	}
	if (chunk.length) yield chunk;
}

