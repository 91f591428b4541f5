/**
 * JSON that keeps numbers exact (the value contract of lib/values.ts).
 *
 * JSON.parse turns 9007199254740993 into 9007199254740992 and `12345678901234.5678` into
 * 12345678901234.568; JSON.stringify throws on a BigInt, or (once n8n-workflow has set
 * `BigInt.prototype.toJSON`) writes it as a quoted string, and writes -0 as 0. Datasets carry
 * 64-bit ids and exact decimals, so every JSON read and write in the package goes through here:
 *
 * - parse: integer literals outside Number's safe range → BigInt; other literals whose value a
 *   double does not give back (more significant digits than a double round-trips, exponents out
 *   of a double's range, and `-0`/`-0.0`) → ExactNumber holding the literal's text. Every other
 *   literal is a plain number.
 * - stringify: BigInt → bare integer literal (whatever BigInt.prototype.toJSON says at the time),
 *   ExactNumber → its bare literal, Binary → base64 string (its toJSON). A plain number -0 is
 *   written `0` (JSON.stringify's rule; readers carry a negative zero as ExactNumber).
 *
 * Both directions stay on V8's native JSON code (no per-value reviver or replacer callbacks):
 * candidate literals are found with a regex, quoted with a marker before parsing and revived by a
 * walk that stops when all are found; on the way out BigInts serialise to the marker through a
 * temporary toJSON (ExactNumber's own toJSON writes the marker), and one regex pass turns
 * markers back into literals.
 */
import { attempt } from './errors';
import { ExactNumber, NUMBER_MARK } from './values';

const MARK = NUMBER_MARK;
const MARK_JSON = '\\u0000n8nbig:';
const MARKED_JSON = /"\\u0000n8nbig:(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"/g;
const INTEGER = /^-?\d+$/;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** The value a marked literal stands for. */
function revive(literal: string): unknown {
	return INTEGER.test(literal) && !/^-0+$/.test(literal) ? BigInt(literal) : new ExactNumber(literal);
}

/** Replace marked strings by BigInts / ExactNumbers, stopping once `count` were found. */
function reviveMarked(value: unknown, remaining: { count: number }): unknown {
	if (typeof value === 'string') return value.startsWith(MARK) ? (remaining.count--, revive(value.slice(MARK.length))) : value;
	if (value === null || typeof value !== 'object') return value;
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length && remaining.count > 0; i++) value[i] = reviveMarked(value[i], remaining);
		return value;
	}
	const record = value as Record<string, unknown>;
	for (const key in record) {
		if (remaining.count <= 0) break;
		const v = record[key];
		if (typeof v === 'string' ? v.startsWith(MARK) : v !== null && typeof v === 'object') record[key] = reviveMarked(v, remaining);
	}
	return value;
}

/**
 * Places where a literal a double may not hold can start: 16+ digits and points (≥ 16
 * significant digits are needed to lose any: a double round-trips every 15-digit decimal), an
 * exponent of 3+ digits (beyond a double's range), or a negative zero. Shorter literals never
 * need a look. A candidate starts only where a number can (not inside a word or a digit run), so
 * each digit run is tried once.
 */
const CANDIDATE = /(?<![\w.+-])-?\d(?:[\d.]{15,}(?:[eE][+-]?\d+)?|[\d.]*[eE][+-]?\d{3,}|(?<=-0)(?:\.0+)?(?:[eE][+-]?\d+)?(?![\d.eE]))/g;

/** Normal form of a decimal literal's value: sign, significant digits, exponent of the last digit. */
function decimalKey(literal: string): string {
	let text = literal;
	let sign = '';
	if (text[0] === '-') {
		sign = '-';
		text = text.slice(1);
	}
	let exponent = 0;
	const e = text.search(/[eE]/);
	if (e >= 0) {
		exponent = Number(text.slice(e + 1));
		text = text.slice(0, e);
	}
	const point = text.indexOf('.');
	if (point >= 0) {
		exponent -= text.length - point - 1;
		text = text.slice(0, point) + text.slice(point + 1);
	}
	text = text.replace(/^0+/, '');
	if (!text) return sign + '0';
	const trimmed = text.replace(/0+$/, '');
	exponent += text.length - trimmed.length;
	return `${sign}${trimmed}e${exponent}`;
}

/** Whether a JSON number literal would lose its value as a plain number (needs BigInt or ExactNumber). */
export function isInexactLiteral(literal: string): boolean {
	// not JSON's grammar (leading zeros): left for JSON.parse to reject
	if (!JSON_NUMBER.test(literal)) return false;
	const n = Number(literal);
	if (INTEGER.test(literal)) return !Number.isSafeInteger(n) || (n === 0 && literal[0] === '-');
	if (!Number.isFinite(n)) return true;
	if (n === 0) return literal[0] === '-' || decimalKey(literal) !== '0';
	return decimalKey(String(n)) !== decimalKey(literal);
}

function isJsonSpace(c: number): boolean {
	return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * JSON.parse with exact numbers: BigInt for integers outside Number's safe range, ExactNumber for
 * literals a double does not give back (see the header).
 *
 * Fast path: each candidate literal that stands where a JSON number can (after `:`, `,`, `[` or
 * at the start; before `,`, `]`, `}` or the end) and is inexact is quoted with the marker, with
 * no string tracking. A candidate that was really inside a string gets a `"` inserted into that
 * string, which closes it and leaves the marker's `\` outside any string: always a syntax error,
 * so such input (and malformed input) falls back to the careful path.
 */
export function parseJson(text: string): unknown {
	CANDIDATE.lastIndex = 0;
	let match = CANDIDATE.exec(text);
	if (!match) return JSON.parse(text);
	let out = '';
	let last = 0;
	let count = 0;
	for (; match; match = CANDIDATE.exec(text)) {
		const start = match.index;
		const end = start + match[0].length;
		let p = start - 1;
		while (p >= 0 && isJsonSpace(text.charCodeAt(p))) p--;
		const before = p < 0 ? 58 : text.charCodeAt(p);
		if (before !== 58 && before !== 44 && before !== 91) continue; // : , [
		let q = end;
		while (q < text.length && isJsonSpace(text.charCodeAt(q))) q++;
		const after = q >= text.length ? 125 : text.charCodeAt(q);
		if (after !== 44 && after !== 93 && after !== 125) continue; // , ] }
		const literal = match[0];
		if (!isInexactLiteral(literal)) continue;
		out += text.slice(last, start) + '"' + MARK_JSON + literal + '"';
		last = end;
		count++;
	}
	if (!count) return JSON.parse(text);
	let value: unknown;
	try {
		value = JSON.parse(out + text.slice(last));
	} catch {
		return parseJsonCareful(text);
	}
	return reviveMarked(value, { count });
}

const NUMBER_LITERAL = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * The careful path: tracks string state quote by quote up to each candidate, so digits inside
 * strings are never touched. Also the path that reports malformed JSON.
 */
function parseJsonCareful(text: string): unknown {
	let out = '';
	let last = 0;
	let count = 0;
	// string state, advanced quote by quote with indexOf (native) up to each candidate
	let scanned = 0;
	let inString = false;
	CANDIDATE.lastIndex = 0;
	for (let match = CANDIDATE.exec(text); match; match = CANDIDATE.exec(text)) {
		const start = match.index;
		for (let q = text.indexOf('"', scanned); q >= 0 && q < start; q = text.indexOf('"', scanned)) {
			let backslashes = 0;
			while (text.charCodeAt(q - 1 - backslashes) === 92) backslashes++;
			if (backslashes % 2 === 0) inString = !inString;
			scanned = q + 1;
		}
		if (inString) continue;
		const before = text.charCodeAt(start - 1);
		const partOfNumber = (before >= 48 && before <= 57) || before === 46 || before === 101 || before === 69 || before === 43 || before === 45;
		if (partOfNumber) continue;
		// the whole literal (the candidate regex is looser than JSON's grammar)
		NUMBER_LITERAL.lastIndex = start;
		const whole = NUMBER_LITERAL.exec(text);
		if (!whole || whole.index !== start) continue;
		const literal = whole[0];
		CANDIDATE.lastIndex = start + literal.length;
		if (!isInexactLiteral(literal)) continue;
		out += text.slice(last, start) + '"' + MARK_JSON + literal + '"';
		last = start + literal.length;
		count++;
	}
	if (!count) return JSON.parse(text);
	return reviveMarked(JSON.parse(out + text.slice(last)), { count });
}

const bigintProto = BigInt.prototype as unknown as { toJSON?: () => string };

function markBigInt(this: bigint): string {
	return MARK + this.toString();
}

const MARK_DESCRIPTOR: PropertyDescriptor = { value: markBigInt, configurable: true, writable: true };

/**
 * Run JSON.stringify with BigInts serialising as markers, whatever BigInt.prototype.toJSON was
 * (n8n-workflow sets one that returns a string), and restore it after.
 */
function withBigIntMarks<T>(fn: () => T): T {
	const previous = Object.getOwnPropertyDescriptor(bigintProto, 'toJSON');
	Object.defineProperty(bigintProto, 'toJSON', MARK_DESCRIPTOR);
	try {
		return fn();
	} finally {
		if (previous) Object.defineProperty(bigintProto, 'toJSON', previous);
		else delete bigintProto.toJSON;
	}
}

const unmark = (text: string) => (text.includes(MARK_JSON) ? text.replace(MARKED_JSON, '$1') : text);

/** JSON.stringify with exact numbers: BigInts and ExactNumbers as bare literals, Binary as base64. */
export function stringifyJson(value: unknown, space?: number): string {
	// With no BigInt toJSON a BigInt throws, so a plain success has none; any other problem (a
	// cycle) throws again below. With one set (n8n), BigInts must be marked every time.
	if (bigintProto.toJSON === undefined) {
		const plain = attempt(() => JSON.stringify(value, null, space));
		if (plain.ok) return plain.value === undefined ? plain.value : unmark(plain.value);
	}
	const text = withBigIntMarks(() => JSON.stringify(value, null, space));
	return text === undefined ? text : unmark(text);
}

/** NDJSON text for records (one line each, newline-terminated), numbers exact as in stringifyJson. */
export function stringifyLines(records: readonly unknown[]): string {
	return unmark(
		withBigIntMarks(() => {
			let text = '';
			for (let i = 0; i < records.length; i++) text += JSON.stringify(records[i]) + '\n';
			return text;
		}),
	);
}
