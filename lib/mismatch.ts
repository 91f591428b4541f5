/**
 * Schema mismatches: a value that does not fit the type the schema gives its field, or a field the
 * schema does not have. Neither readers nor encoders decide what happens: they report, and the
 * export engine applies the user's On Schema Mismatch choice (fail, evolve the schema, or skip the
 * record and count it).
 *
 * - An encoder reports by throwing ValueMismatch from `EncodedFile.write(records)`, after it has
 *   written every record before `index` and nothing of record `index` (so the engine can go on
 *   with the rest of the chunk, or start a new file with a wider schema).
 * - A reader reports out of band, on the chunk (`chunk[MISMATCHES]`): the record keeps the source's
 *   text for that field, and the engine decides before any encoder sees the record.
 */
export type MismatchKind =
	/** The value is not of the field's type (e.g. `maybe` in a boolean column). */
	| 'type'
	/** The record has a field (at `path`) the schema does not list. */
	| 'unknown_field'
	/** The value is of the right kind but the output cannot hold it exactly (nanoseconds in Parquet, a lone surrogate in UTF-8, an integer beyond 64 bits, a decimal beyond its precision). */
	| 'unrepresentable';

export interface Mismatch {
	/** Record index within the chunk. */
	index: number;
	kind: MismatchKind;
	/** Field path as the user sees it: `a.b`, `tags[]`. */
	path: string;
	/** What the schema expects, in words: `a boolean`, `a decimal(18,4)`, `no field of this name`. */
	expected: string;
	/** The offending value (encoders/readers keep it as is; messages show a bounded excerpt). */
	value: unknown;
	/** Why, when the kind alone does not say (e.g. `has nanoseconds; Parquet keeps microseconds`). */
	detail?: string;
}

export class ValueMismatch extends Error {
	constructor(readonly mismatch: Mismatch) {
		super(describeMismatch(mismatch));
		this.name = 'ValueMismatch';
	}
}

/** Mismatches a reader found in a chunk, in record order. */
export const MISMATCHES = Symbol('mismatches');

/** Where a chunk's records come from, so a mismatch can name the file and line. */
export const ORIGIN = Symbol('origin');
export interface ChunkOrigin {
	/** Source-relative file the chunk's records were read from. */
	file: string;
	/** 1-based line (text formats) or row (Parquet) of each record, in order. */
	lines?: number[];
	/** 1-based line or row of the chunk's first record, when `lines` is absent (one record per line/row). */
	firstLine?: number;
}

/** A short, bounded excerpt of a value for messages (never more than `max` characters). */
export function excerpt(value: unknown, max = 40): string {
	let text: string;
	if (typeof value === 'string') text = JSON.stringify(value.length > max ? value.slice(0, max) : value);
	else if (typeof value === 'bigint') text = value.toString();
	else if (value instanceof Uint8Array) text = `<${value.byteLength} bytes>`;
	else {
		try {
			text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
		} catch {
			text = String(value);
		}
	}
	return text.length > max + 2 ? text.slice(0, max) + '…' : text;
}

export function describeMismatch(m: Mismatch): string {
	if (m.kind === 'unknown_field') return `field "${m.path}" is not in the schema (value ${excerpt(m.value)})`;
	const why = m.detail ? `: ${m.detail}` : '';
	return `field "${m.path}": expected ${m.expected}, got ${excerpt(m.value)}${why}`;
}
