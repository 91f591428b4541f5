/**
 * fast-check arbitraries for the property-based round trip (test/property.test.ts): random
 * nested dataset schemas over every field type (decimals with random precision and scale, lists
 * of structs, lists of lists, maps as json) and random records for them, with nulls and the
 * edges of every type:
 *
 * - int: ±2^31 bounds; long: ±2^63 bounds, 2^53 ± 1 (carried as BigInt, written as bare literals)
 * - double: any finite double (5e-324, ±1.797e308, 1e21), -0.0 (as ExactNumber('-0.0'))
 * - decimal(p,s), 1 ≤ p ≤ 38, 0 ≤ s ≤ p: unscaled values up to ±(10^p − 1), written as the exact
 *   literal (all s digits, or trailing zeros trimmed)
 * - timestamp: any microsecond whose UTC instant lies in 0001-01-01T00:00:00Z …
 *   9999-12-31T23:59:59.999999Z (the range a 4-digit ISO year and Parquet TIMESTAMP(MICROS)
 *   both hold), written with Z, an offset (local time also within years 0001–9999) or no zone
 *   (UTC by the value contract), 0–6 fraction digits or 9 with zero nanoseconds, `T` or ` `
 * - date: 0001-01-01 … 9999-12-31
 * - string: any well-formed Unicode (astral characters, NUL, U+2028, a BOM; never a lone
 *   surrogate: that is an error, tested elsewhere; never a leading BOM: see startsWithBom), empty
 *   strings, text that looks like a number, date or timestamp
 * - binary: random bytes, empty (never a backslash before `x`: see spellsEscape)
 * - json: any JSON value: 64-bit and longer integers, decimals with more digits than a double
 *   holds, unicode keys, empty objects and lists (maps are json)
 *
 * Field names are unique case-insensitively (DuckDB's columns and struct fields are
 * case-insensitive). Objects always have at least one field (Parquet has no empty groups).
 */
import fc from 'fast-check';
import type { Field, FieldShape, Schema } from '../../lib/schema';
import { Binary, ExactNumber } from '../../lib/values';

export interface PropertyCase {
	schema: Schema;
	records: Record<string, unknown>[];
}

export const MIN_INT32 = -(2 ** 31);
export const MAX_INT32 = 2 ** 31 - 1;
export const MIN_INT64 = -(2n ** 63n);
export const MAX_INT64 = 2n ** 63n - 1n;

const DAY_US = 86_400_000_000n;
/** 0001-01-01T00:00:00Z in µs since the epoch. */
export const MIN_MICROS = -62_135_596_800_000_000n;
/** 9999-12-31T23:59:59.999999Z in µs since the epoch. */
export const MAX_MICROS = 253_402_300_799_999_999n;
const MIN_DAY = Number(MIN_MICROS / DAY_US);
const MAX_DAY = Number((MAX_MICROS + 1n) / DAY_US) - 1;

export interface ArbitraryOptions {
	/** Deepest nesting of objects and arrays (default 3). */
	maxDepth?: number;
	/** Most top-level fields (default 6). */
	maxFields?: number;
	/** Most records per dataset (default 6). */
	maxRecords?: number;
}

// ---------------------------------------------------------------- schemas

const SIMPLE_NAME = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);
const ODD_NAMES = ['with space', 'dash-name', 'é_ü', '名前', '𝄞clef', 'Über', 'x1', '_under', 'select', 'order', 'null', 'value', 'key', 'element', 'list', 'item', 'array'];
const FIELD_NAME = fc.oneof({ arbitrary: SIMPLE_NAME, weight: 5 }, { arbitrary: fc.constantFrom(...ODD_NAMES), weight: 1 });

const LEAF_TYPES = ['string', 'int', 'long', 'double', 'boolean', 'timestamp', 'date', 'decimal', 'binary', 'json'] as const;

const decimalShape: fc.Arbitrary<FieldShape> = fc
	.oneof(fc.integer({ min: 1, max: 38 }), fc.constantFrom(38, 38, 18, 19, 9, 10, 1))
	.chain((precision) => fc.oneof(fc.integer({ min: 0, max: precision }), fc.constant(precision), fc.constant(0)).map((scale) => ({ type: 'decimal' as const, precision, scale })));

const nullable = fc.oneof({ arbitrary: fc.constant(undefined), weight: 6 }, { arbitrary: fc.constant(false), weight: 1 }, { arbitrary: fc.constant(true), weight: 1 });

function withNullable<T extends FieldShape>(shape: fc.Arbitrary<T>): fc.Arbitrary<T> {
	return fc.tuple(shape, nullable).map(([s, n]) => (n === undefined ? s : { ...s, nullable: n }));
}

function leafShape(): fc.Arbitrary<FieldShape> {
	return fc.oneof(
		fc.constantFrom(...LEAF_TYPES.filter((t) => t !== 'decimal')).map((type) => ({ type }) as FieldShape),
		decimalShape,
	);
}

function fieldsArb(depth: number, maxFields: number, minFields = 1): fc.Arbitrary<Field[]> {
	return fc
		.uniqueArray(fc.tuple(FIELD_NAME, shapeArb(depth)), { minLength: minFields, maxLength: maxFields, selector: ([name]) => name.toLowerCase() })
		.map((pairs) => pairs.map(([name, shape]) => ({ name, ...shape }) as Field));
}

/** A field's shape (no name), nested at most `depth` more levels. */
export function shapeArb(depth: number): fc.Arbitrary<FieldShape> {
	if (depth <= 0) return withNullable(leafShape());
	return withNullable(
		fc.oneof(
			{ arbitrary: leafShape(), weight: 6 },
			{
				arbitrary: fc
					.constant(null)
					.chain(() => fieldsArb(depth - 1, 4))
					.map((fields) => ({ type: 'object' as const, fields })),
				weight: 2,
			},
			{
				arbitrary: fc
					.constant(null)
					.chain(() => shapeArb(depth - 1))
					.map((items) => ({ type: 'array' as const, items })),
				weight: 2,
			},
		),
	);
}

export function schemaArb(options: ArbitraryOptions = {}): fc.Arbitrary<Schema> {
	return fieldsArb(options.maxDepth ?? 3, options.maxFields ?? 6).map((fields) => ({ fields }));
}

// ---------------------------------------------------------------- values

const pad = (n: number | bigint, width: number) => String(n).padStart(width, '0');

/**
 * The date text of days since the epoch, by JavaScript's own calendar (years 0001–9999 print as
 * four digits): an oracle independent of the product's own day arithmetic.
 */
export function dateText(days: number): string {
	return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

const dayArb = fc.oneof(fc.integer({ min: MIN_DAY, max: MAX_DAY }), fc.constantFrom(MIN_DAY, MAX_DAY, 0, -1, 11016 /* 2000-02-29 */, -25508 /* 1900-03-01 */));

const OFFSETS = [0, 60, -60, 330, 345, -480, 840, -720, -570];

interface TimestampParts {
	micros: bigint;
	/** Offset of the written local time from UTC, minutes; undefined: `Z`; null: no zone. */
	offset: number | null | undefined;
	digits: 0 | 1 | 3 | 6 | 9 | 'trim';
	separator: 'T' | ' ';
	seconds: boolean;
}

export function timestampText(p: TimestampParts): string {
	let micros = p.micros;
	// the digits written must carry the whole value: drop what they cannot show
	const keep = p.digits === 0 ? 1_000_000n : p.digits === 1 ? 100_000n : p.digits === 3 ? 1_000n : 1n;
	if (!p.seconds) micros -= ((micros % 60_000_000n) + 60_000_000n) % 60_000_000n;
	micros -= ((micros % keep) + keep) % keep;
	let offset = p.offset;
	let local = micros;
	if (typeof offset === 'number') {
		local = micros + BigInt(offset) * 60_000_000n;
		// the local time needs a 4-digit year too: else written in UTC
		if (local < MIN_MICROS || local > MAX_MICROS) [local, offset] = [micros, undefined];
	}
	const days = local >= 0n ? local / DAY_US : -((-local + DAY_US - 1n) / DAY_US);
	const inDay = local - days * DAY_US;
	const second = inDay / 1_000_000n;
	const fraction = pad(inDay % 1_000_000n, 6);
	let text = `${dateText(Number(days))}${p.separator}${pad(second / 3600n, 2)}:${pad((second / 60n) % 60n, 2)}`;
	if (p.seconds) {
		text += `:${pad(second % 60n, 2)}`;
		if (p.digits === 'trim') {
			const trimmed = fraction.replace(/0+$/, '');
			if (trimmed) text += `.${trimmed}`;
		} else if (p.digits === 9) text += `.${fraction}000`;
		else if (p.digits) text += `.${fraction.slice(0, p.digits)}`;
	}
	if (offset === undefined) return text + 'Z';
	if (offset === null) return text;
	const a = Math.abs(offset);
	return `${text}${offset < 0 ? '-' : '+'}${pad(Math.floor(a / 60), 2)}:${pad(a % 60, 2)}`;
}

const microsArb = fc.oneof(
	{ arbitrary: fc.bigInt({ min: MIN_MICROS, max: MAX_MICROS }), weight: 4 },
	{ arbitrary: fc.bigInt({ min: 0n, max: 2_000_000_000_000_000n }), weight: 2 },
	{ arbitrary: fc.constantFrom(MIN_MICROS, MAX_MICROS, MIN_MICROS + 1n, MAX_MICROS - 1n, 0n, -1n, 1n, 1_710_074_040_123_456n), weight: 2 },
);

const timestampArb: fc.Arbitrary<string> = fc
	.record({
		micros: microsArb,
		offset: fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.constant(null), weight: 2 }, { arbitrary: fc.constantFrom(...OFFSETS), weight: 2 }),
		digits: fc.oneof({ arbitrary: fc.constant(6 as const), weight: 4 }, { arbitrary: fc.constantFrom(0 as const, 1 as const, 3 as const, 9 as const, 'trim' as const), weight: 2 }),
		separator: fc.oneof({ arbitrary: fc.constant('T' as const), weight: 6 }, { arbitrary: fc.constant(' ' as const), weight: 1 }),
		seconds: fc.oneof({ arbitrary: fc.constant(true), weight: 9 }, { arbitrary: fc.constant(false), weight: 1 }),
	})
	.map(timestampText);

const STRING_EDGES = [
	'',
	' ',
	'\u0000',
	'a\u0000b',
	'\u2028\u2029',
	'𝄞',
	'😀👍🏽',
	'a\uFEFFb',
	'"\\/\n\r\t\b\f',
	'é',
	'e\u0301',
	'0012',
	'-0.0',
	'9223372036854775808',
	'2024-03-10',
	'2024-03-10T12:34:56Z',
	'null',
	'true',
	'\u007f\u0080\u00ff',
	'\uffff',
	'\u{10ffff}',
	'\\x41',
];

/**
 * A string never starts with U+FEFF: @duckdb/node-api decodes each VARCHAR with a TextDecoder
 * that drops a leading BOM, so the read-back could not see it (a reader limit, reported;
 * test/property.test.ts checks such strings with DuckDB's hex() instead).
 */
export const startsWithBom = (s: string) => s.startsWith('\uFEFF');

const stringArb = fc
	.oneof(
		{ arbitrary: fc.string({ unit: 'binary', maxLength: 10 }), weight: 4 },
		{ arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }), weight: 1 },
		{ arbitrary: fc.constantFrom(...STRING_EDGES), weight: 2 },
	)
	.filter((s) => !startsWithBom(s));

const intArb = fc.oneof({ arbitrary: fc.integer({ min: MIN_INT32, max: MAX_INT32 }), weight: 3 }, { arbitrary: fc.constantFrom(MIN_INT32, MAX_INT32, 0, -1, 1), weight: 1 });

const longArb: fc.Arbitrary<bigint | number> = fc.oneof(
	{ arbitrary: fc.bigInt({ min: MIN_INT64, max: MAX_INT64 }), weight: 3 },
	{ arbitrary: fc.integer({ min: MIN_INT32, max: MAX_INT32 }), weight: 1 },
	{ arbitrary: fc.constantFrom(MIN_INT64, MAX_INT64, MIN_INT64 + 1n, MAX_INT64 - 1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 53n, 0n), weight: 2 },
);

const NEGATIVE_ZERO = new ExactNumber('-0.0');

const doubleArb: fc.Arbitrary<number | ExactNumber> = fc
	.oneof(
		{ arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }), weight: 4 },
		{ arbitrary: fc.constantFrom(-0, 0, 5e-324, -5e-324, Number.MAX_VALUE, -Number.MAX_VALUE, 1e21, 0.1, 2 ** 53 + 2, 1.5, -1, 2.2250738585072014e-308), weight: 2 },
	)
	.map((n) => (Object.is(n, -0) ? NEGATIVE_ZERO : n));

/** The literal of unscaled / 10^scale, with all `scale` digits or trailing zeros trimmed. */
export function decimalText(unscaled: bigint, scale: number, trim: boolean): string {
	const negative = unscaled < 0n;
	const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
	let integer = digits.slice(0, digits.length - scale);
	let fraction = digits.slice(digits.length - scale);
	if (trim) fraction = fraction.replace(/0+$/, '');
	integer = integer.replace(/^0+(?=\d)/, '');
	return `${negative ? '-' : ''}${integer}${fraction ? `.${fraction}` : ''}`;
}

function decimalArb(precision: number, scale: number): fc.Arbitrary<ExactNumber> {
	const max = 10n ** BigInt(precision) - 1n;
	return fc
		.tuple(fc.oneof({ arbitrary: fc.bigInt({ min: -max, max }), weight: 3 }, { arbitrary: fc.constantFrom(max, -max, 0n, 1n, -1n), weight: 2 }), fc.boolean())
		.map(([unscaled, trim]) => new ExactNumber(decimalText(unscaled, scale, trim)));
}

/**
 * A backslash before `x` is left out: DuckDB's text form of a BLOB does not escape a backslash,
 * so test/helpers/duckdb.ts reads the bytes `\\x41` as the one byte 0x41 (a helper limit, reported;
 * test/property.test.ts checks such bytes with hex() instead).
 */
export const spellsEscape = (bytes: Uint8Array) => /\\x/.test(Buffer.from(bytes).toString('latin1'));

const binaryArb = fc
	.oneof(
		{ arbitrary: fc.uint8Array({ maxLength: 12 }), weight: 4 },
		{ arbitrary: fc.constantFrom(new Uint8Array(), Uint8Array.from([0, 255, 128, 97, 98, 99]), Uint8Array.from([92, 65, 0, 92])), weight: 1 },
	)
	.filter((bytes) => !spellsEscape(bytes))
	.map((bytes) => new Binary(bytes));

const JSON_KEYS = fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.constantFrom('', 'big', 'a.b', 'é', '𝄞', ' ', 'null'));

/** Any JSON value, with exact numbers a double cannot hold (BigInt, ExactNumber). */
export const jsonArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
	value: fc.oneof(
		{ depthSize: 'small', withCrossShrink: true },
		fc.constant(null),
		fc.boolean(),
		stringArb,
		fc.integer(),
		fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
		fc.constantFrom(MAX_INT64, MIN_INT64, 10n ** 30n, -(10n ** 40n) + 7n, 2n ** 53n + 1n),
		fc.constantFrom('12345678901234.5678', '1234567890123456789012345678.0123456789', '0.1000000000000000055511151231257827', '1e400', '-1E-400', '1.5e+300').map((t) => new ExactNumber(t)),
		fc.array(tie('value'), { maxLength: 4 }),
		fc.dictionary(JSON_KEYS, tie('value'), { maxKeys: 4, noNullPrototype: true }),
	),
})).value;

/** A value of a field's shape (null where it is nullable). */
export function valueArb(shape: FieldShape): fc.Arbitrary<unknown> {
	const value = nonNullArb(shape);
	return shape.nullable === false ? value : fc.oneof({ arbitrary: fc.constant(null), weight: 1 }, { arbitrary: value, weight: 4 });
}

function nonNullArb(shape: FieldShape): fc.Arbitrary<unknown> {
	switch (shape.type) {
		case 'string':
			return stringArb;
		case 'int':
			return intArb;
		case 'long':
			return longArb;
		case 'double':
			return doubleArb;
		case 'boolean':
			return fc.boolean();
		case 'timestamp':
			return timestampArb;
		case 'date':
			return dayArb.map(dateText);
		case 'decimal':
			return decimalArb(shape.precision ?? 38, shape.scale ?? 0);
		case 'binary':
			return binaryArb;
		case 'json':
			// a JSON null in a required field is the field missing (the value contract's null)
			return shape.nullable === false ? jsonArb.filter((v) => v !== null) : jsonArb;
		case 'object':
			return objectArb(shape.fields ?? []);
		case 'array':
			return fc.array(valueArb(shape.items ?? { type: 'string' }), { maxLength: 4 });
		default:
			throw new Error(`no arbitrary for ${shape.type}`);
	}
}

/** A record of `fields`: each key holds a value (null where nullable); nullable keys are sometimes left out. */
function objectArb(fields: Field[]): fc.Arbitrary<Record<string, unknown>> {
	const entries = fields.map((f) => (f.nullable === false ? valueArb(f) : fc.oneof({ arbitrary: valueArb(f), weight: 12 }, { arbitrary: fc.constant(MISSING), weight: 1 })));
	return fc.tuple(...entries).map((values) => {
		const out: Record<string, unknown> = {};
		fields.forEach((f, i) => {
			if (values[i] !== MISSING) out[f.name] = values[i];
		});
		return out;
	});
}

/** A key left out of a record (read as null). */
const MISSING = Symbol('missing');

export function caseArb(options: ArbitraryOptions = {}): fc.Arbitrary<PropertyCase> {
	return schemaArb(options).chain((schema) => fc.array(objectArb(schema.fields), { minLength: 0, maxLength: options.maxRecords ?? 6 }).map((records) => ({ schema, records })));
}
