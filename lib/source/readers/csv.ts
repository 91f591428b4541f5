/**
 * CSV with a header row. Cells are text: with a schema each is parsed strictly by its field's
 * type, and a cell that does not fit is reported on the chunk (MISMATCHES, kind `type`, the cell's
 * text kept in the record) for the export engine to apply On Schema Mismatch; a column the schema
 * does not list is reported the same way (`unknown_field`). Without a schema, each column's type
 * is inferred from its cells' look (see `inferColumn`). An empty cell is null.
 *
 * The strict rules, by field type (the value is what the record carries, lib/values.ts):
 * - int: canonical decimal integer text (`0`, `-12`; no `+`, leading zeros, point, exponent,
 *   spaces, `-0`) within 32 bits → number.
 * - long: the same within 64 bits → number when safe, else bigint.
 * - double: a JSON number literal (`-1.5e-7`; no `+`, leading zeros, `.5`, `5.`, hex) → number, or
 *   ExactNumber when a double does not give the literal back (`-0`, `0.10000000000000000555`,
 *   `1e400`; the encoder then decides). `NaN`, `Infinity`, `-Infinity` (also `inf`, any case) are
 *   the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, as from Parquet sources.
 * - decimal: a JSON number literal → ExactNumber of the text (precision and scale are the encoder's).
 * - boolean: `true` / `false`, any case. Not `1`/`0`, `yes`/`no`, `t`/`f`: too ambiguous to guess.
 * - timestamp: ISO 8601 date-time, `YYYY-MM-DD[T ]HH:MM[:SS[.fraction]][Z|±HH[:MM]]` (`T`/`Z` any
 *   case, `,` as decimal mark), a real calendar date and time (seconds 0–59) → the text as written.
 * - date: `YYYY-MM-DD`, a real calendar date → the text.
 * - binary: base64, standard alphabet (`+/`), padding optional, no whitespace; text that does not
 *   decode to bytes giving the same base64 back is a mismatch → Binary.
 * - json: JSON text (lib/json parseJson: numbers exact); object: a JSON object; array: a JSON array
 *   (`null` is null for all three).
 * - string: the cell.
 */
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import { attempt, attemptAsync } from '../../errors';
import { isInexactLiteral, parseJson } from '../../json';
import { MISMATCHES, ORIGIN, type Mismatch } from '../../mismatch';
import type { Field, Schema } from '../../schema';
import { Binary, ExactNumber } from '../../values';
import { SourceError, type DatasetRecord, type RecordChunk } from '../types';
import { InvalidUtf8, Utf8Check, invalidUtf8, malformed, nameOf, openText, unreadable, type LakeInput } from './common';

/** A cell that does not fit its field's type (with why, when the expected type alone does not say). */
class Rejected {
	constructor(readonly detail?: string) {}
}
const REJECTED = new Rejected();

interface Caster {
	/** What the field expects, in words (the mismatch's `expected`). */
	expected: string;
	/** The value, or Rejected. */
	cast: (text: string) => unknown;
}

const INTEGER = /^(?:0|-?[1-9]\d*)$/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const SPECIAL_DOUBLE = /^(?:nan|[+-]?inf(?:inity)?)$/i;
const BOOLEAN = /^(?:true|false)$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(?:[Zz]|[+-](\d{2})(?::?(\d{2}))?)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_INT32 = 2147483647;
const MIN_INT32 = -2147483648;
const MAX_INT64 = 2n ** 63n - 1n;
const MIN_INT64 = -(2n ** 63n);

function validDate(y: number, m: number, d: number): boolean {
	if (m < 1 || m > 12 || d < 1) return false;
	const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
	return d <= [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];
}

/**
 * Whether a number literal is surely exact as a double, without a closer look: under 16
 * characters (so at most 15 significant digits, which a double round-trips), no exponent, not a
 * negative zero.
 */
function surelyExact(text: string): boolean {
	return text.length < 16 && text.indexOf('e') < 0 && text.indexOf('E') < 0 && !(text.charCodeAt(0) === 45 && text.charCodeAt(1) === 48);
}

/** A number literal as the value contract carries it: exact when a double does not give it back. */
function numberValue(text: string): unknown {
	if (surelyExact(text) || !isInexactLiteral(text)) return Number(text);
	return INTEGER.test(text) ? BigInt(text) : new ExactNumber(text);
}

function integerCaster(bits: 32 | 64): Caster {
	const expected = `a ${bits}-bit integer`;
	const range = new Rejected(`out of the ${bits}-bit range`);
	const notInteger = new Rejected('not a plain decimal integer');
	if (bits === 32) {
		return {
			expected,
			cast: (t) => {
				if (!INTEGER.test(t)) return notInteger;
				if (t.length > 11) return range;
				const n = Number(t);
				return n > MAX_INT32 || n < MIN_INT32 ? range : n;
			},
		};
	}
	return {
		expected,
		cast: (t) => {
			if (!INTEGER.test(t)) return notInteger;
			if (t.length <= 15) return Number(t);
			if (t.length > 20) return range;
			const n = BigInt(t);
			if (n > MAX_INT64 || n < MIN_INT64) return range;
			return Number.isSafeInteger(Number(t)) ? Number(t) : n;
		},
	};
}

/** The strict caster of a declared field's cells. */
function strictCaster(field: Field): Caster {
	switch (field.type) {
		case 'string':
			return { expected: 'a string', cast: (t) => t };
		case 'int':
			return integerCaster(32);
		case 'long':
			return integerCaster(64);
		case 'double':
			return {
				expected: 'a number',
				cast: (t) => {
					if (NUMBER.test(t)) return surelyExact(t) || !isInexactLiteral(t) ? Number(t) : new ExactNumber(t);
					if (SPECIAL_DOUBLE.test(t)) return /^n/i.test(t) ? 'NaN' : t[0] === '-' ? '-Infinity' : 'Infinity';
					return REJECTED;
				},
			};
		case 'decimal': {
			const expected = `a decimal(${field.precision},${field.scale ?? 0})`;
			return { expected, cast: (t) => (NUMBER.test(t) ? new ExactNumber(t) : REJECTED) };
		}
		case 'boolean':
			return {
				expected: 'a boolean',
				cast: (t) => (BOOLEAN.test(t) ? t.length === 4 : new Rejected('write true or false')),
			};
		case 'date':
			return {
				expected: 'a date (YYYY-MM-DD)',
				cast: (t) => {
					const m = DATE.exec(t);
					if (!m) return REJECTED;
					return validDate(Number(m[1]), Number(m[2]), Number(m[3])) ? t : new Rejected('no such calendar date');
				},
			};
		case 'timestamp':
			return {
				expected: 'a timestamp (ISO 8601)',
				cast: (t) => {
					const m = TIMESTAMP.exec(t);
					if (!m) return REJECTED;
					if (!validDate(Number(m[1]), Number(m[2]), Number(m[3]))) return new Rejected('no such calendar date');
					// two-digit groups: compared as text, no numbers needed
					if (m[4] > '23' || m[5] > '59' || (m[6] !== undefined && m[6] > '59') || (m[7] !== undefined && m[7] > '23') || (m[8] !== undefined && m[8] > '59')) {
						return new Rejected('no such time of day or offset');
					}
					return t;
				},
			};
		case 'binary':
			return {
				expected: 'binary (base64 text)',
				cast: (t) => {
					if (!BASE64.test(t) || t.length % 4 === 1) return REJECTED;
					const bytes = Buffer.from(t, 'base64');
					const again = bytes.toString('base64');
					// padding is optional; anything else must come back as written
					if (again !== t && again.replace(/=+$/, '') !== t) return REJECTED;
					return new Binary(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
				},
			};
		case 'json':
		case 'object':
		case 'array': {
			const expected = field.type === 'json' ? 'JSON text' : field.type === 'object' ? 'a JSON object' : 'a JSON array';
			return {
				expected,
				cast: (t) => {
					const parsed = attempt(() => parseJson(t));
					if (!parsed.ok) return new Rejected('not valid JSON');
					const v = parsed.value;
					if (v === null || field.type === 'json') return v;
					if (field.type === 'array') return Array.isArray(v) ? v : REJECTED;
					return typeof v === 'object' && !Array.isArray(v) ? v : REJECTED;
				},
			};
		}
	}
}

/**
 * Values of one column's cells (text, or null for an empty cell) when the dataset declares no
 * schema. A column is typed as a whole, as lib/schema inferSchema will type it from these values,
 * so that the same text read strictly by the inferred type gives the same values and no mismatch:
 * - every cell `true` / `false` (any case): booleans;
 * - every cell a JSON number literal: numbers, exact as in JSON (lib/json): an integer beyond
 *   2^53 a bigint, a literal a double does not give back (`-0`, `0.10000000000000000555`) an
 *   ExactNumber. When every value is a whole number but some are written with a point or an
 *   exponent (`10.00`, `1e5`), those are ExactNumbers (a decimal, not an int that `10.00` would
 *   not fit);
 * - otherwise every cell stays text, so digit strings that are not canonical numbers stay text
 *   and keep their column text: leading zeros (`02134`, `0012345678901234567`), `+5`, `0x10`,
 *   `.5`, `1,000`, `NaN`, `Infinity`, and a column of ZIP codes holding `02134` and `10001`.
 * Readers type a column over one chunk (the local lake samples one chunk for inference).
 */
export function inferColumn(cells: readonly (string | null)[]): unknown[] {
	let booleans = true;
	let numbers = true;
	let integersOnly = true;
	let wholeValues = true;
	for (const t of cells) {
		if (t === null) continue;
		if (booleans && !BOOLEAN.test(t)) booleans = false;
		if (numbers) {
			if (!NUMBER.test(t)) numbers = false;
			else if (!INTEGER.test(t)) {
				integersOnly = false;
				if (wholeValues && !isWholeLiteral(t)) wholeValues = false;
			}
		}
		if (!booleans && !numbers) return cells.slice();
	}
	if (booleans) return cells.map((t) => (t === null ? null : t.length === 4));
	if (integersOnly || !wholeValues) return cells.map((t) => (t === null ? null : numberValue(t)));
	return cells.map((t) => (t === null ? null : INTEGER.test(t) ? numberValue(t) : new ExactNumber(t)));
}

/** Whether a number literal's value is a whole number (`10.00`, `1e5`, `-0.0`), exactly. */
function isWholeLiteral(text: string): boolean {
	const m = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)!;
	const fraction = (m[2] ?? '').replace(/0+$/, '');
	const exponent = Number(m[3] ?? 0);
	if (!fraction) return exponent >= 0 || /^0+$/.test(m[1]) || m[1].replace(/0+$/, '').length <= m[1].length + exponent;
	return exponent >= fraction.length;
}

/** The reader's decisions for one column: how to cast it, and whether the schema lacks it. */
interface Column {
	caster: Caster;
	unknown: boolean;
}

/** Strict UTF-8, checked as the bytes pass (csv-parse decodes them), counting lines so invalid bytes are named by line. */
class CheckUtf8 extends Transform {
	private readonly utf8 = new Utf8Check();
	private line = 1;
	constructor(private readonly path: string) {
		super();
	}
	override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
		const checked = attempt(() => this.utf8.check(chunk));
		if (!checked.ok) return callback(this.fail(checked.error));
		for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) this.line++;
		callback(null, chunk);
	}
	override _flush(callback: TransformCallback): void {
		const checked = attempt(() => this.utf8.end());
		callback(checked.ok ? null : this.fail(checked.error));
	}
	private fail(error: Error): Error {
		return error instanceof InvalidUtf8 ? invalidUtf8(this.path, this.line + error.newlines, error) : error;
	}
}

/** Without a schema: each column of the chunk (text cells) typed as a whole (inferColumn). */
function inferTypes(chunk: DatasetRecord[]): void {
	const keys = new Set<string>();
	for (const record of chunk) for (const key in record) keys.add(key);
	for (const key of keys) {
		const values = inferColumn(chunk.map((record) => (record[key] ?? null) as string | null));
		for (let i = 0; i < chunk.length; i++) if (key in chunk[i]) chunk[i][key] = values[i];
	}
}

/**
 * Line breaks in a cell as csv-parse counts them (every CR and every LF) and as a person does
 * (CRLF is one): csv-parse's line numbers run ahead by one for each CRLF inside a quoted cell.
 */
function lineBreaks(text: string): [counted: number, crlf: number] {
	let counted = 0;
	let crlf = 0;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c === 10) counted++;
		else if (c === 13) {
			counted++;
			if (text.charCodeAt(i + 1) === 10) crlf++;
		}
	}
	return [counted, crlf];
}

/**
 * CSV with a header row; empty cells are null, cells are typed by the dataset schema (strictly:
 * see the header) or inferred without one. Chunks carry ORIGIN (the file as given, each record's
 * first line) and MISMATCHES.
 */
export async function* readCsv(lakeInput: LakeInput, schema: Schema | undefined, chunkSize: number, signal?: AbortSignal): AsyncGenerator<RecordChunk> {
	const path = nameOf(lakeInput);
	const byName = new Map((schema?.fields ?? []).map((f) => [f.name, f]));
	const columns = new Map<string, Column>();
	const columnOf = (key: string): Column => {
		let column = columns.get(key);
		if (!column) {
			const field = byName.get(key);
			column = field ? { caster: strictCaster(field), unknown: false } : { caster: strictCaster({ name: key, type: 'string' }), unknown: !!schema };
			columns.set(key, column);
		}
		return column;
	};
	const parser = parseCsv({
		columns: (header: string[]) => {
			const seen = new Set<string>();
			for (const name of header) {
				if (seen.has(name)) throw malformed(path, 1, `column ${JSON.stringify(name.slice(0, 60))} appears twice in the header`);
				seen.add(name);
			}
			return header;
		},
		bom: true,
		skip_empty_lines: true,
		relax_quotes: false,
	});
	// Each record with the line it ends on: csv-parse pushes a record the moment it is complete, so
	// its live `info.lines` is that line (its `info: true` option, a copy of all counters per
	// record, costs more than the parsing)
	const push = parser.push.bind(parser);
	parser.push = (record: unknown) => push(record === null ? null : [record, parser.info.lines]);
	let input: NodeJS.ReadableStream;
	try {
		input = await openText(lakeInput);
	} catch (error) {
		throw unreadable(path, error);
	}
	// pipeline owns the streams' errors and closes them all when the consumer stops early
	pipeline(input, new CheckUtf8(path), parser, () => undefined);
	const rows = (parser as AsyncIterable<[Record<string, string>, number]>)[Symbol.asyncIterator]();
	let chunk: RecordChunk = [];
	let lineNos: number[] = [];
	let found: Mismatch[] = [];
	const finish = () => {
		if (!schema) inferTypes(chunk);
		chunk[ORIGIN] = { file: path, lines: lineNos };
		if (found.length) chunk[MISMATCHES] = found;
		return chunk;
	};
	/** csv-parse's line of the previous record's end, and how far its count runs ahead of the real one. */
	let previousEnd = 1;
	let ahead = 0;
	try {
		for (;;) {
			signal?.throwIfAborted();
			const next = await attemptAsync(() => rows.next());
			if (!next.ok) {
				const error = next.error;
				if (error instanceof SourceError) throw error;
				const line = (error as { lines?: number }).lines;
				throw line !== undefined ? malformed(path, line, error.message) : unreadable(path, error);
			}
			if (next.value.done) break;
			const [row, lastLine] = next.value.value;
			// a record longer than one line (or after skipped blank lines) starts where its cells' line breaks say
			let line = lastLine - ahead;
			if (lastLine - previousEnd > 1) {
				for (const key in row) {
					const [counted, crlf] = lineBreaks(row[key]);
					line -= counted;
					ahead += crlf;
				}
			}
			previousEnd = lastLine;
			const index = chunk.length;
			const record: DatasetRecord = {};
			for (const key in row) {
				const text = row[key];
				if (!schema) {
					// typed column by column when the chunk is complete
					record[key] = text === '' ? null : text;
					continue;
				}
				const column = columnOf(key);
				if (text === '') {
					record[key] = null;
					if (column.unknown) found.push({ index, kind: 'unknown_field', path: key, expected: 'no field of this name', value: null });
					continue;
				}
				if (column.unknown) {
					record[key] = text;
					found.push({ index, kind: 'unknown_field', path: key, expected: 'no field of this name', value: text });
					continue;
				}
				const value = column.caster.cast(text);
				if (value instanceof Rejected) {
					record[key] = text;
					const mismatch: Mismatch = { index, kind: 'type', path: key, expected: column.caster.expected, value: text };
					if (value.detail) mismatch.detail = value.detail;
					found.push(mismatch);
				} else {
					record[key] = value;
				}
			}
			chunk.push(record);
			lineNos.push(line);
			if (chunk.length >= chunkSize) {
				yield finish();
				chunk = [];
				lineNos = [];
				found = [];
			}
		}
		if (chunk.length) yield finish();
	} finally {
		// the consumer may stop early (schema inference reads 500 records): close the file or the request
		parser.destroy();
		(input as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
	}
}
