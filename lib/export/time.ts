/** Export time helpers: UTC, floored to the minute, formatted the way Adobe's folders are. */

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function floorToMinute(date: Date): Date {
	return new Date(Math.floor(date.getTime() / 60_000) * 60_000);
}

/** `YYYYMMDDHHMM` in UTC, Adobe's `exportTime=` folder value. */
export function exportTimeStamp(date: Date): string {
	return (
		pad(date.getUTCFullYear(), 4) +
		pad(date.getUTCMonth() + 1) +
		pad(date.getUTCDate()) +
		pad(date.getUTCHours()) +
		pad(date.getUTCMinutes())
	);
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

/** Parse a user-given date/time; returns undefined for empty input, throws for garbage. */
export function parseDate(value: unknown): Date | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	if (value instanceof Date) {
		if (Number.isNaN(value.getTime())) throw new Error('is not a valid date');
		return value;
	}
	if (typeof value === 'object' && typeof (value as { toISO?: () => string }).toISO === 'function') {
		return parseDate((value as { toISO: () => string }).toISO()); // a Luxon DateTime from an expression
	}
	if (typeof value === 'number') return parseDate(new Date(value));
	const date = new Date(String(value));
	if (Number.isNaN(date.getTime())) throw new Error(`"${String(value)}" is not a valid date`);
	return date;
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
