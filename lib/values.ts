/**
 * The values a record carries between a source and an encoder: the one contract every reader
 * produces and every encoder consumes (docs/types.md has the full table).
 *
 * - `null` for a missing value; a key whose value is null is kept (readers never leave `undefined`).
 * - string: a well-formed JS string (a lone surrogate is an error where the output is UTF-8).
 * - int, double: number. A negative zero is carried as ExactNumber('-0.0') (or `-0` as the source
 *   wrote it) by readers, because JSON.stringify writes the number -0 as `0`; encoders take both.
 * - long: number when safe, else bigint.
 * - decimal: ExactNumber (the exact literal, e.g. `12345678901234.5678`), or a number/bigint when
 *   the source had one. JSON readers (lib/json parseJson) give ExactNumber for any literal a
 *   double does not give back (more significant digits than a double round-trips, exponents out
 *   of its range), so no digit is lost before the schema says what the field is.
 * - timestamp: an ISO-8601 string as the source wrote it or, from typed sources, `…THH:MM:SS.ffffffZ`
 *   with the digits of the source's unit (3, 6 or 9); zone-less means UTC, never the host's zone.
 *   NDJSON keeps the text (nanoseconds included); Parquet keeps microseconds (TIMESTAMP(MICROS,
 *   UTC), exact to year 9999): non-zero digits past microseconds are an `unrepresentable`
 *   mismatch there, never rounded.
 * - date: `YYYY-MM-DD`.
 * - binary: Binary (bytes); written to JSON as base64 text (standard alphabet, padded); Parquet
 *   binary fields also take base64 text and Uint8Array.
 * - string: Parquet and NDJSON are UTF-8, so a lone surrogate is an `unrepresentable` mismatch in
 *   Parquet (JSON escapes it as `\udXXX`, which is exact).
 * - json: any JSON value (objects, arrays, bigints, ExactNumbers inside).
 *
 * ExactNumber and Binary serialise through `toJSON`, so any JSON.stringify path writes them
 * right: Binary as its base64 string, ExactNumber as a marked string that lib/json's writers turn
 * back into the bare literal.
 */

/** Marks a string that stands for a bare JSON number literal (see lib/json). */
export const NUMBER_MARK = '\u0000n8nbig:';

const NUMBER_LITERAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A number literal kept exactly as text: decimals beyond a double's digits, `-0.0`. */
export class ExactNumber {
	constructor(readonly text: string) {
		if (!NUMBER_LITERAL.test(text)) throw new TypeError(`not a JSON number literal: ${text.slice(0, 40)}`);
	}
	/** Numeric value (may round: only for types that are doubles anyway). */
	valueOf(): number {
		return Number(this.text);
	}
	toString(): string {
		return this.text;
	}
	toJSON(): string {
		return NUMBER_MARK + this.text;
	}
}

/** Bytes of a binary value. */
export class Binary {
	constructor(readonly bytes: Uint8Array) {}
	toBase64(): string {
		return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).toString('base64');
	}
	toJSON(): string {
		return this.toBase64();
	}
}
