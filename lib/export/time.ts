/** Export time helpers: UTC, floored to the minute, formatted the way Adobe's folders are. */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function floorToMinute(date: Date): Date {
	return new Date(Math.floor(date.getTime() / 60_000) * 60_000);
}

/** `YYYYMMDDHHMM` in UTC, Adobe's `exportTime=` folder value. */
export function exportTimeStamp(date: Date): string {
	return pad(date.getUTCFullYear(), 4) + pad(date.getUTCMonth() + 1) + pad(date.getUTCDate()) + pad(date.getUTCHours()) + pad(date.getUTCMinutes());
}

/**
 * Format a UTC date with Adobe's `%DATETIME(…)%` tokens: YYYY (year), MM (month), dd or DD (day),
 * HH (hour), mm (minute), ss (second). Any other letter is an error; other characters are kept.
 */
export function formatDateTime(date: Date, pattern: string): string {
	const tokens: Record<string, string> = {
		YYYY: pad(date.getUTCFullYear(), 4),
		MM: pad(date.getUTCMonth() + 1),
		dd: pad(date.getUTCDate()),
		DD: pad(date.getUTCDate()),
		HH: pad(date.getUTCHours()),
		mm: pad(date.getUTCMinutes()),
		ss: pad(date.getUTCSeconds()),
	};
	return pattern.replace(/YYYY|MM|dd|DD|HH|mm|ss|[A-Za-z]/g, (token) => {
		const value = tokens[token];
		if (value === undefined) throw new Error(`unknown date token "${token}" in "${pattern}" (use YYYY, MM, dd, HH, mm, ss)`);
		return value;
	});
}

const ISO_EXAMPLE = 'use an ISO 8601 date such as 2026-03-04 or 2026-03-04T10:00:00Z';
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
/** Epoch numbers below this (in absolute value) are read as seconds by mistake, not milliseconds: see parseDate. */
const MIN_EPOCH_MS = 1e11;

/**
 * `YYYY-MM-DD`, optionally followed by `T` (or a space, as RFC 3339 allows) and `HH:MM`,
 * `HH:MM:SS` or `HH:MM:SS.fraction`, optionally followed by `Z` or a `±HH:MM` offset.
 */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?([Zz]|[+-]\d{2}:\d{2})?)?$/;

const shown = (value: string) => JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);

const isLeap = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysIn = (year: number, month: number) => (month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31);

/** A UTC date from calendar fields already checked to be valid (setUTCFullYear: years 0–99 stay themselves). */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): Date {
	const date = new Date(0);
	date.setUTCFullYear(year, month - 1, day);
	date.setUTCHours(hour, minute, second, ms);
	return date;
}

/** `2026-03-04T05:06:00Z` from an ISO string Date gives, without zero milliseconds. */
const isoOf = (date: Date) => date.toISOString().replace('.000Z', 'Z');

/** What a string of digits might have meant, to suggest its ISO form. */
function digitsHint(digits: string): string {
	const guesses: string[] = [];
	if (digits.length === 8 || digits.length === 12) {
		const [y, mo, d, h, mi] = [0, 4, 6, 8, 10].map((at) => Number(digits.slice(at, at + (at ? 2 : 4)) || 0));
		if (mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo) && h <= 23 && mi <= 59) {
			const iso = isoOf(utc(y, mo, d, h, mi));
			guesses.push(digits.length === 8 ? `the date ${iso.slice(0, 10)}` : `an exportTime= folder value (YYYYMMDDHHMM), ${iso}`);
		}
	}
	const n = Number(digits);
	if (digits.length >= 9 && digits.length <= 11) guesses.push(`seconds since 1970, ${isoOf(new Date(n * 1000))}`);
	if (digits.length >= 12 && digits.length <= 14) guesses.push(`milliseconds since 1970, ${isoOf(new Date(n))}`);
	return guesses.length ? ` (${guesses.join('? or ')}?)` : '';
}

/** Why a string is not one of the accepted forms, as the end of an error message quoting it. */
function whyNot(text: string): string {
	if (/^[+-]?\d+$/.test(text)) {
		return `is ambiguous: digits alone could be a date, seconds or milliseconds${digitsHint(text.replace(/^\+/, ''))}; ${ISO_EXAMPLE} (or give milliseconds since 1970 as a number, not text)`;
	}
	if (/^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(?!\d)/.test(text)) return `is ambiguous (day/month or month/day?): ${ISO_EXAMPLE}`;
	const loose = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)/.exec(text);
	if (loose && !/^\d{4}-\d{2}-\d{2}(?!\d)/.test(text)) {
		const fixed = `${loose[1]}-${loose[2].padStart(2, '0')}-${loose[3].padStart(2, '0')}`;
		return `is not a valid date: write it YYYY-MM-DD with two-digit month and day, as in ${fixed}`;
	}
	const zone = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(.+)$/.exec(text);
	if (zone) {
		return `is not a valid date: after the time give Z (UTC), an offset written ±HH:MM such as +01:00, or nothing (read as UTC), not ${JSON.stringify(zone[1])}`;
	}
	return `is not a valid date: ${ISO_EXAMPLE}`;
}

/** An ISO 8601 / RFC 3339 string as a Date (see parseDate for the forms); throws saying what to write instead. */
function parseIsoString(value: string): Date {
	const text = value.trim();
	const m = ISO_DATE_TIME.exec(text);
	if (!m) throw new Error(`${shown(value)} ${whyNot(text)}`);
	const [year, month, day] = [m[1], m[2], m[3]].map(Number);
	const invalid = (why: string) => new Error(`${shown(value)} is not a valid date: ${why}`);
	if (month < 1 || month > 12) throw invalid(`there is no month ${m[2]}`);
	if (day < 1) throw invalid(`there is no day ${m[3]}`);
	if (day > daysIn(year, month)) throw invalid(`${MONTH_NAMES[month - 1]} ${m[1]} has ${daysIn(year, month)} days`);
	const [hour, minute, second] = [m[4], m[5], m[6]].map((part) => Number(part ?? 0));
	if (hour > 23) throw invalid('hours run from 00 to 23');
	if (minute > 59) throw invalid('minutes run from 00 to 59');
	if (second > 59) throw invalid('seconds run from 00 to 59');
	const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0; // beyond milliseconds: truncated, as Date does
	let offsetMinutes = 0;
	const zone = m[8];
	if (zone && zone !== 'Z' && zone !== 'z') {
		const hours = Number(zone.slice(1, 3));
		const minutes = Number(zone.slice(4, 6));
		if (hours > 23 || minutes > 59) throw invalid(`${zone} is not a UTC offset`);
		offsetMinutes = (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
	}
	return new Date(utc(year, month, day, hour, minute, second, ms).getTime() - offsetMinutes * 60_000);
}

/**
 * Parse a user-given date/time, accepting only forms that have one reading whatever the host's
 * locale and time zone. Returns undefined for empty input (undefined, null, or a blank string)
 * and throws an Error that quotes the value and says what to write instead for anything else:
 *
 * - an ISO 8601 / RFC 3339 string: `2026-03-04T10:00:00Z`, `2026-03-04T10:00:00.123+01:00`,
 *   `2026-03-04T10:00`, `2026-03-04 10:00:00` (RFC 3339's space), `2026-03-04`. Zone: `Z` or
 *   `±HH:MM`. **A date or date-time without a zone is UTC** (never the host's zone): the nodes
 *   document their dates as UTC, and n8n's date picker gives zone-less values such as
 *   `2026-03-04T00:00:00`. The calendar is checked: `2026-02-30` or `2026-13-01` is an error,
 *   never rolled over. Rejected: `03/04/2026` (day or month first?), `2026-1-2`, `Tuesday`,
 *   RFC 2822 (`Wed, 04 Mar 2026 …`), offsets not written `±HH:MM`;
 * - a valid Date;
 * - a Luxon DateTime (or anything with `toISO()`), as n8n expressions give (`$now`);
 * - a finite number: milliseconds since 1970-01-01T00:00:00Z, JavaScript's unit (`Date.now()`,
 *   `$now.toMillis()`). Numbers of magnitude below 1e11 (before 1973-03-03 as milliseconds) are
 *   refused: no export window starts then, and every Unix time in *seconds* until the year 5138
 *   falls there (1700000000 is 2023 in seconds, January 1970 in milliseconds).
 *
 * Strings of digits are refused: `1700000000` (seconds?), `1772611200000` (milliseconds?),
 * `20260304` (a compact date?) and `202603040506` (the `exportTime=` folder value,
 * YYYYMMDDHHMM) all look alike; the error suggests the ISO forms. Milliseconds can still be given
 * as a number from an expression.
 */
export function parseDate(value: unknown): Date | undefined {
	if (value === undefined || value === null) return undefined;
	if (typeof value === 'string') return value.trim() === '' ? undefined : parseIsoString(value);
	if (value instanceof Date) {
		if (Number.isNaN(value.getTime())) throw new Error(`the Date given is an Invalid Date: ${ISO_EXAMPLE}`);
		return new Date(value.getTime());
	}
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) throw new Error(`${value} is not a valid date: a number must be finite milliseconds since 1970-01-01T00:00:00Z`);
		if (Math.abs(value) < MIN_EPOCH_MS) {
			const asMs = `as milliseconds since 1970 it is ${isoOf(new Date(value))}`;
			const give = `give milliseconds or ${ISO_EXAMPLE.slice('use '.length)}`;
			if (Math.abs(value) < 1e8) throw new Error(`${value} is not a usable date: ${asMs}, before any export; ${give}`);
			throw new Error(`${value} is ambiguous: ${asMs}, but it looks like seconds (${isoOf(new Date(value * 1000))}: multiply by 1000); ${give}`);
		}
		const date = new Date(value);
		if (Number.isNaN(date.getTime())) throw new Error(`${value} is not a valid date: milliseconds since 1970 beyond the range of dates (±8.64e15)`);
		return date;
	}
	if (typeof value === 'object' && typeof (value as { toISO?: unknown }).toISO === 'function') {
		// a Luxon DateTime from an expression; an invalid one gives null
		const luxon = value as { toISO: () => unknown; invalidExplanation?: unknown; invalidReason?: unknown };
		const iso = luxon.toISO();
		if (typeof iso !== 'string') {
			const why = luxon.invalidExplanation ?? luxon.invalidReason;
			throw new Error(`an invalid DateTime${why ? ` (${String(why)})` : ''} is not a valid date: ${ISO_EXAMPLE}`);
		}
		return parseIsoString(iso);
	}
	let text: string;
	try {
		text = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
	} catch {
		text = String(value);
	}
	throw new Error(`${text.length > 60 ? text.slice(0, 57) + '...' : text} is not a valid date: ${ISO_EXAMPLE}`);
}

/** A time-ordered UUID (version 7): names built on it sort by creation time. */
export function uuidv7(now = Date.now()): string {
	const bytes = new Uint8Array(16);
	globalThis.crypto.getRandomValues(bytes);
	let ms = now;
	for (let i = 5; i >= 0; i--) {
		bytes[i] = ms % 256;
		ms = Math.floor(ms / 256);
	}
	bytes[6] = (bytes[6] & 0x0f) | 0x70;
	bytes[8] = (bytes[8] & 0x3f) | 0x80;
	const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
