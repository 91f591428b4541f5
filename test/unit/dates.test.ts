/**
 * parseDate reads only dates that have one meaning, whatever the host's locale and time zone:
 * ISO 8601 / RFC 3339 strings (zone-less ones are UTC), Dates, Luxon DateTimes and epoch
 * milliseconds as numbers. Everything else is an error that quotes the value and says what to
 * write instead, and an impossible calendar date is refused, never rolled over.
 */
import assert from 'node:assert/strict';
/* eslint-disable @n8n/community-nodes/no-dangerous-functions --
   a test, not node code: it runs parseDate in child processes under other TZ settings */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parseDate } from '../../lib/export/time';

const iso = (value: unknown) => parseDate(value)?.toISOString();
const ISO_HINT = /use an ISO 8601 date such as 2026-03-04 or 2026-03-04T10:00:00Z/;

/** Strings read the same everywhere, with the instant each one is. */
const ACCEPTED: [string, number][] = [
	['2026-03-04', Date.UTC(2026, 2, 4)],
	['2026-03-04T10:00', Date.UTC(2026, 2, 4, 10)],
	['2026-03-04T10:00:00', Date.UTC(2026, 2, 4, 10)],
	['2026-03-04T00:00:00', Date.UTC(2026, 2, 4)], // n8n's date picker
	['2026-03-04T10:00:00.123', Date.UTC(2026, 2, 4, 10, 0, 0, 123)],
	['2026-03-04T10:00:00.5', Date.UTC(2026, 2, 4, 10, 0, 0, 500)],
	['2026-03-04T10:00:00.123456789Z', Date.UTC(2026, 2, 4, 10, 0, 0, 123)], // beyond ms: truncated
	['2026-03-04T10:00:00Z', Date.UTC(2026, 2, 4, 10)],
	['2026-03-04T10:00Z', Date.UTC(2026, 2, 4, 10)],
	['2026-03-04t10:00:00z', Date.UTC(2026, 2, 4, 10)], // RFC 3339: case-insensitive
	['2026-03-04 10:00:00', Date.UTC(2026, 2, 4, 10)], // RFC 3339: a space for the T
	['2026-03-04T10:00:00+01:00', Date.UTC(2026, 2, 4, 9)],
	['2026-03-04T10:00:00-05:30', Date.UTC(2026, 2, 4, 15, 30)],
	['2026-03-04T00:30:00+05:30', Date.UTC(2026, 2, 3, 19)],
	['2026-11-22T06:00:00.012+01:00', Date.UTC(2026, 10, 22, 5, 0, 0, 12)], // Schedule Trigger's timestamp
	['2026-11-22T06:00:27.512+00:00', Date.UTC(2026, 10, 22, 6, 0, 27, 512)],
	['2024-02-29', Date.UTC(2024, 1, 29)], // leap year
	['2000-02-29T23:59:59.999Z', Date.UTC(2000, 1, 29, 23, 59, 59, 999)],
	['  2026-03-04T10:00:00Z\n', Date.UTC(2026, 2, 4, 10)], // surrounding blanks (a pasted value)
];

describe('parseDate', () => {
	it('reads ISO 8601 / RFC 3339 strings; zone-less ones as UTC', () => {
		for (const [text, ms] of ACCEPTED) assert.equal(parseDate(text)?.getTime(), ms, text);
		// years below 100 stay themselves (Date.UTC would make 0026 into 1926)
		assert.equal(iso('0026-03-04'), '0026-03-04T00:00:00.000Z');
	});

	it('reads zone-less strings as UTC under any host time zone (TZ=America/New_York, Asia/Kolkata)', () => {
		const texts = ACCEPTED.map(([text]) => text);
		const script = `
			const { parseDate } = require(${JSON.stringify(resolve(__dirname, '../../lib/export/time.ts'))});
			const texts = ${JSON.stringify(texts)};
			process.stdout.write(JSON.stringify({
				offset: new Date(2026, 2, 4).getTimezoneOffset(),
				builtIn: new Date('2026-03-04T10:00').getTime(),
				parsed: texts.map((t) => parseDate(t).getTime()),
			}));`;
		for (const [tz, offset] of [
			['America/New_York', 300],
			['Asia/Kolkata', -330],
			['UTC', 0],
		] as const) {
			const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' }));
			assert.equal(out.offset, offset, `the child runs in ${tz}`);
			// what `new Date(text)` did: the host's zone
			assert.equal(out.builtIn, Date.UTC(2026, 2, 4, 10) + offset * 60_000, `Date reads zone-less as local time in ${tz}`);
			assert.deepEqual(
				out.parsed,
				ACCEPTED.map(([, ms]) => ms),
				`parseDate reads the same instants in ${tz}`,
			);
		}
	});

	it('keeps empty input empty', () => {
		for (const empty of [undefined, null, '', '   ']) assert.equal(parseDate(empty), undefined, JSON.stringify(empty));
	});

	it('takes a Date, epoch milliseconds as a number, and a Luxon DateTime', () => {
		const date = new Date(Date.UTC(2026, 2, 4, 10));
		assert.equal(parseDate(date)?.getTime(), date.getTime());
		assert.notEqual(parseDate(date), date, 'a copy: the caller may change its own Date');
		assert.equal(iso(Date.UTC(2026, 2, 4, 8)), '2026-03-04T08:00:00.000Z');
		assert.equal(iso(1772611200000), '2026-03-04T08:00:00.000Z');
		assert.equal(iso({ toISO: () => '2026-03-04T10:00:00.000+01:00' }), '2026-03-04T09:00:00.000Z');

		// the Luxon n8n's expressions use ($now, $today, DateTime.fromISO(…))
		const { DateTime } = createRequire(require.resolve('n8n-workflow'))('luxon') as {
			DateTime: { fromISO(text: string, options?: { zone?: string }): unknown; fromMillis(ms: number): unknown; invalid(reason: string, explanation?: string): unknown };
		};
		assert.equal(iso(DateTime.fromISO('2026-03-04T10:00:00', { zone: 'Asia/Kolkata' })), '2026-03-04T04:30:00.000Z');
		assert.equal(iso(DateTime.fromMillis(1772611200123)), '2026-03-04T08:00:00.123Z');
		assert.throws(
			() => parseDate(DateTime.invalid('unparsable', 'the input "x" can\'t be parsed as ISO 8601')),
			/an invalid DateTime \(the input "x" can't be parsed as ISO 8601\) is not a valid date: use an ISO 8601 date/,
		);
		assert.throws(() => parseDate(new Date('garbage')), /Invalid Date: use an ISO 8601 date/);
	});

	it('refuses ambiguous and non-ISO strings, quoting them and naming the form to use', () => {
		const refused: [string, RegExp][] = [
			['03/04/2026', /^Error: "03\/04\/2026" is ambiguous \(day\/month or month\/day\?\): use an ISO 8601 date such as 2026-03-04 or 2026-03-04T10:00:00Z$/],
			['04/03/2026 10:00', /^Error: "04\/03\/2026 10:00" is ambiguous/],
			['3.4.26', /^Error: "3\.4\.26" is ambiguous/],
			['03-04-2026', /^Error: "03-04-2026" is ambiguous/],
			['2026-1-2', /^Error: "2026-1-2" is not a valid date: write it YYYY-MM-DD with two-digit month and day, as in 2026-01-02$/],
			['2026-1-2T10:00:00Z', /as in 2026-01-02/],
			['2026/03/04', /as in 2026-03-04/],
			['Tuesday', /^Error: "Tuesday" is not a valid date: use an ISO 8601 date such as/],
			['not a date', /^Error: "not a date" is not a valid date/],
			['yesterday-ish', /^Error: "yesterday-ish" is not a valid date/],
			['Wed, 04 Mar 2026 10:00:00 GMT', /^Error: "Wed, 04 Mar 2026 10:00:00 GMT" is not a valid date: use an ISO 8601/],
			['Wed Mar 04 2026 10:00:00 GMT+0100 (Central European Standard Time)', /is not a valid date: use an ISO 8601/],
			['March 4, 2026', /^Error: "March 4, 2026" is not a valid date/],
			['2026-03-04T10:00:00+0100', /not a valid date: after the time give Z \(UTC\), an offset written ±HH:MM such as \+01:00, or nothing \(read as UTC\), not "\+0100"/],
			['2026-03-04T10:00:00+01', /not "\+01"/],
			['2026-03-04T10:00:00 UTC', /not " UTC"/],
			['2026-03-04T10:00:00+24:00', /is not a valid date: \+24:00 is not a UTC offset/],
			['2026-03-04T10', ISO_HINT],
			['2026-03-04Z', ISO_HINT],
			['2026-W10-3', ISO_HINT],
			['+002026-03-04T10:00:00Z', ISO_HINT],
			['2026-03-04T10:00:00.Z', /not "\.Z"/],
		];
		for (const [text, expected] of refused) assert.throws(() => parseDate(text), expected, text);
	});

	it('refuses impossible calendar dates and times instead of rolling them over', () => {
		const refused: [string, RegExp][] = [
			['2026-02-30', /^Error: "2026-02-30" is not a valid date: February 2026 has 28 days$/],
			['2026-02-29', /February 2026 has 28 days/],
			['2100-02-29', /February 2100 has 28 days/],
			['2026-04-31T10:00:00Z', /April 2026 has 30 days/],
			['2026-13-01', /^Error: "2026-13-01" is not a valid date: there is no month 13$/],
			['2026-00-10', /there is no month 00/],
			['2026-03-00', /there is no day 00/],
			['2026-03-04T24:00', /hours run from 00 to 23/],
			['2026-03-04T10:60', /minutes run from 00 to 59/],
			['2026-03-04T10:00:60Z', /seconds run from 00 to 59/],
		];
		for (const [text, expected] of refused) assert.throws(() => parseDate(text), expected, text);
	});

	it('refuses strings of digits: seconds, milliseconds and compact dates look alike', () => {
		const refused: [string, RegExp][] = [
			[
				'1700000000',
				/^Error: "1700000000" is ambiguous: digits alone could be a date, seconds or milliseconds \(seconds since 1970, 2023-11-14T22:13:20Z\?\); use an ISO 8601 date such as 2026-03-04 or 2026-03-04T10:00:00Z \(or give milliseconds since 1970 as a number, not text\)$/,
			],
			['1772611200000', /\(milliseconds since 1970, 2026-03-04T08:00:00Z\?\)/],
			['20260304', /\(the date 2026-03-04\?\)/],
			['202603040506', /an exportTime= folder value \(YYYYMMDDHHMM\), 2026-03-04T05:06:00Z\?/],
			['2026', /^Error: "2026" is ambiguous/],
			['-1', /^Error: "-1" is ambiguous/],
			['0', /^Error: "0" is ambiguous/],
		];
		for (const [text, expected] of refused) assert.throws(() => parseDate(text), expected, text);
	});

	it('refuses numbers that are not plausible milliseconds', () => {
		assert.throws(
			() => parseDate(1_700_000_000),
			/^Error: 1700000000 is ambiguous: as milliseconds since 1970 it is 1970-01-20T16:13:20Z, but it looks like seconds \(2023-11-14T22:13:20Z: multiply by 1000\); give milliseconds or an ISO 8601 date/,
		);
		assert.throws(() => parseDate(99_999_999_999), /looks like seconds/);
		assert.throws(() => parseDate(0), /^Error: 0 is not a usable date: as milliseconds since 1970 it is 1970-01-01T00:00:00Z/);
		assert.throws(() => parseDate(NaN), /NaN is not a valid date: a number must be finite milliseconds/);
		assert.throws(() => parseDate(Infinity), /Infinity is not a valid date/);
		assert.throws(() => parseDate(9e15), /beyond the range of dates/);
		assert.equal(iso(100_000_000_000), '1973-03-03T09:46:40.000Z', 'the smallest accepted');
	});

	it('refuses other values, quoting them', () => {
		assert.throws(() => parseDate(true), /^Error: true is not a valid date: use an ISO 8601 date/);
		assert.throws(() => parseDate(12n), /^Error: 12n is not a valid date/);
		assert.throws(() => parseDate({ date: '2026-03-04' }), /^Error: \{"date":"2026-03-04"\} is not a valid date/);
		assert.throws(() => parseDate(['2026-03-04']), /is not a valid date/);
		assert.throws(
			() => parseDate('x'.repeat(200)),
			(error: Error) => error.message.length < 200 && /^"x+\.\.\." is not a valid date/.test(error.message),
		);
	});
});
