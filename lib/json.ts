/**
 * JSON that keeps 64-bit integers exact.
 *
 * JSON.parse turns 9007199254740993 into 9007199254740992 and JSON.stringify throws on a BigInt.
 * Datasets carry 64-bit ids, so every JSON read and write in the package goes through here:
 * integer literals outside Number's safe range parse to BigInt, and BigInt values are written
 * back as plain integer literals (what DuckDB, Spark and jq read as BIGINT).
 *
 * Both directions stay on V8's native JSON code (no per-value reviver or replacer callbacks):
 * big literals are found with a regex, quoted with a marker before parsing and turned into
 * BigInts by a walk that stops when all are found; on the way out BigInts serialise to the
 * marker through a temporary toJSON, and one regex pass turns markers back into literals.
 */
import { attempt } from './errors';

const MARK = '\u0000n8nbig:';
const MARK_JSON = '\\u0000n8nbig:';
const MARKED_JSON = /"\\u0000n8nbig:(-?\d+)"/g;
const BIG_LITERAL = /-?\d{16,}(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** Replace marked strings by BigInts, stopping once `count` were found. */
function reviveMarked(value: unknown, remaining: { count: number }): unknown {
	if (typeof value === 'string') return value.startsWith(MARK) ? (remaining.count--, BigInt(value.slice(MARK.length))) : value;
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

/** Any run of 16+ digits may be an unsafe integer; shorter ones never are. */
const DIGIT_RUN = /\d{16,}/g;

function isJsonSpace(c: number): boolean {
	return c === 32 || c === 10 || c === 13 || c === 9;
}

/**
 * JSON.parse that returns BigInt for integers outside Number's safe range.
 *
 * Fast path: each run of 16+ digits that stands where a JSON number can (after `:`, `,`, `[` or
 * at the start; before `,`, `]`, `}` or the end) and is an unsafe integer is quoted with the
 * marker, with no string tracking. A run that was really inside a string gets a `"` inserted
 * into that string, which closes it and leaves the marker's `\` outside any string: always a
 * syntax error, so such input (and malformed input) falls back to the careful path.
 */
export function parseJson(text: string): unknown {
	DIGIT_RUN.lastIndex = 0;
	let match = DIGIT_RUN.exec(text);
	if (!match) return JSON.parse(text);
	let out = '';
	let last = 0;
	let count = 0;
	for (; match; match = DIGIT_RUN.exec(text)) {
		let start = match.index;
		const end = start + match[0].length;
		if (text.charCodeAt(start - 1) === 45) start--; // minus sign
		let p = start - 1;
		while (p >= 0 && isJsonSpace(text.charCodeAt(p))) p--;
		const before = p < 0 ? 58 : text.charCodeAt(p);
		if (before !== 58 && before !== 44 && before !== 91) continue; // : , [
		let q = end;
		while (q < text.length && isJsonSpace(text.charCodeAt(q))) q++;
		const after = q >= text.length ? 125 : text.charCodeAt(q);
		if (after !== 44 && after !== 93 && after !== 125) continue; // , ] }
		const literal = text.slice(start, end);
		if (Number.isSafeInteger(Number(literal))) continue;
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
	BIG_LITERAL.lastIndex = 0;
	for (let match = BIG_LITERAL.exec(text); match; match = BIG_LITERAL.exec(text)) {
		const start = match.index;
		for (let q = text.indexOf('"', scanned); q >= 0 && q < start; q = text.indexOf('"', scanned)) {
			let backslashes = 0;
			while (text.charCodeAt(q - 1 - backslashes) === 92) backslashes++;
			if (backslashes % 2 === 0) inString = !inString;
			scanned = q + 1;
		}
		if (inString) continue;
		const literal = match[0];
		const before = text.charCodeAt(start - 1);
		const partOfNumber = (before >= 48 && before <= 57) || before === 46 || before === 101 || before === 69 || before === 43;
		if (partOfNumber || /[.eE]/.test(literal) || Number.isSafeInteger(Number(literal))) continue;
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

/** Run JSON.stringify with BigInts serialising as markers (restoring BigInt.prototype after). */
function withBigIntMarks<T>(fn: () => T): T {
	const previous = Object.getOwnPropertyDescriptor(bigintProto, 'toJSON');
	Object.defineProperty(bigintProto, 'toJSON', { value: markBigInt, configurable: true, writable: true });
	try {
		return fn();
	} finally {
		if (previous) Object.defineProperty(bigintProto, 'toJSON', previous);
		else delete bigintProto.toJSON;
	}
}

const unmark = (text: string) => (text.includes(MARK_JSON) ? text.replace(MARKED_JSON, '$1') : text);

/** JSON.stringify that writes BigInt values as integer literals. */
export function stringifyJson(value: unknown, space?: number): string {
	const plain = attempt(() => JSON.stringify(value, null, space));
	if (plain.ok) return plain.value;
	// BigInts need marking; any other problem (a cycle) throws again from here
	return unmark(withBigIntMarks(() => JSON.stringify(value, null, space)));
}

/** NDJSON text for records (one line each, newline-terminated), BigInts as integer literals. */
export function stringifyLines(records: readonly unknown[]): string {
	return unmark(
		withBigIntMarks(() => {
			let text = '';
			for (let i = 0; i < records.length; i++) text += JSON.stringify(records[i]) + '\n';
			return text;
		}),
	);
}
