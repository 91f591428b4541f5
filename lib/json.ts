/**
 * JSON that keeps 64-bit integers exact.
 *
 * JSON.parse turns 9007199254740993 into 9007199254740992 and JSON.stringify throws on a BigInt.
 * Datasets carry 64-bit ids, so every JSON read and write in the package goes through here:
 * integer literals outside Number's safe range parse to BigInt, and BigInt values are written
 * back as plain integer literals (what DuckDB, Spark and jq read as BIGINT).
 */

 import { attempt } from './errors';

const SENTINEL = '\u0000n8nbig:';
const SENTINEL_JSON = /"\\u0000n8nbig:(-?\d+)"/g;
/** Any run of 16+ digits may be an unsafe integer; shorter ones never are. */
const MAYBE_BIG = /\d{16}/;

type SourceReviver = (key: string, value: unknown, context?: { source?: string }) => unknown;

const supportsSourceText = (() => {
	let seen = false;
	JSON.parse('1', ((_k: string, v: unknown, ctx?: { source?: string }) => {
		seen = typeof ctx?.source === 'string';
		return v;
	}) as SourceReviver as never);
	return seen;
})();

function isUnsafeIntegerLiteral(literal: string): boolean {
	return !/[.eE]/.test(literal) && !Number.isSafeInteger(Number(literal));
}

const sourceReviver: SourceReviver = (_key, value, context) => {
	if (typeof value === 'number' && context?.source && isUnsafeIntegerLiteral(context.source)) {
		return BigInt(context.source);
	}
	return value;
};

const sentinelReviver = (_key: string, value: unknown) =>
	typeof value === 'string' && value.startsWith(SENTINEL) ? BigInt(value.slice(SENTINEL.length)) : value;

/** Quote unsafe integer literals (outside strings) so JSON.parse keeps their digits. */
function quoteBigIntegers(text: string): string {
	let out = '';
	let last = 0;
	let inString = false;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (inString) {
			if (c === 92 /* \ */) i++;
			else if (c === 34 /* " */) inString = false;
			continue;
		}
		if (c === 34) {
			inString = true;
			continue;
		}
		if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
			let j = i + 1;
			while (j < text.length && /[0-9.eE+-]/.test(text[j])) j++;
			const literal = text.slice(i, j);
			if (literal.length >= 16 && isUnsafeIntegerLiteral(literal) && /^-?\d+$/.test(literal)) {
				out += text.slice(last, i) + '"\\u0000n8nbig:' + literal + '"'; // the escaped form of SENTINEL
				last = j;
			}
			i = j - 1;
		}
	}
	return last === 0 ? text : out + text.slice(last);
}

/** JSON.parse that returns BigInt for integers outside Number's safe range. */
export function parseJson(text: string): unknown {
	if (!MAYBE_BIG.test(text)) return JSON.parse(text);
	if (supportsSourceText) return JSON.parse(text, sourceReviver as never);
	const quoted = quoteBigIntegers(text);
	return quoted === text ? JSON.parse(text) : JSON.parse(quoted, sentinelReviver);
}

const bigintReplacer = (_key: string, value: unknown) =>
	typeof value === 'bigint' ? SENTINEL + value.toString() : value;

/** JSON.stringify that writes BigInt values as integer literals. */
export function stringifyJson(value: unknown, space?: number): string {
	const plain = attempt(() => JSON.stringify(value, null, space));
	if (plain.ok) return plain.value;
	// BigInts need the replacer; any other problem (a cycle) throws again from here
	return JSON.stringify(value, bigintReplacer, space).replace(SENTINEL_JSON, '$1');
}

/**
 * Serialiser for a stream of records that may hold BigInts: once one record needed the slow
 * path, later ones go straight to it instead of throwing first.
 */
export function makeRecordStringifier(): (record: unknown) => string {
	let sawBigInt = false;
	return (record) => {
		if (!sawBigInt) {
			const plain = attempt(() => JSON.stringify(record));
			if (plain.ok) return plain.value;
			sawBigInt = plain.error instanceof TypeError && /BigInt/i.test(plain.error.message);
		}
		return JSON.stringify(record, bigintReplacer).replace(SENTINEL_JSON, '$1');
	};
}
