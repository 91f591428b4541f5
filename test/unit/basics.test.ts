import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExactNumber } from '../../lib/values';
import { eligibility, filterDatasets } from '../../lib/eligibility';
import { renderFolder, stablePrefix, validateTemplate, type TemplateValues } from '../../lib/export/template';
import { exportTimeStamp, floorToMinute, formatDateTime, parseDate, uuidv7 } from '../../lib/export/time';
import { parseJson, stringifyJson, stringifyLines } from '../../lib/json';
import { inferSchema, parquetProblem, validateSchema } from '../../lib/schema';
import type { DatasetInfo } from '../../lib/source/types';
import { cleanPath } from '../../lib/storage/common';

describe('lossless JSON', () => {
	it('keeps integers beyond 2^53 exact both ways', () => {
		const text = '{"id":9223372036854775807,"small":42,"neg":-9007199254740993,"f":1.5e+300,"s":"12345678901234567890"}';
		const value = parseJson(text) as Record<string, unknown>;
		assert.equal(value.id, 9223372036854775807n);
		assert.equal(value.neg, -9007199254740993n);
		assert.equal(value.small, 42);
		assert.equal(value.f, 1.5e300);
		assert.equal(value.s, '12345678901234567890', 'digits inside strings stay strings');
		assert.equal(stringifyJson(value), text);
	});

	it('does not touch digits inside strings with escapes', () => {
		const text = '{"a":"x\\"9223372036854775807\\"","b":[1,9223372036854775807]}';
		const value = parseJson(text) as { a: string; b: unknown[] };
		assert.equal(value.a, 'x"9223372036854775807"');
		assert.deepEqual(value.b, [1, 9223372036854775807n]);
	});

	it('NDJSON lines write BigInts as literals and leave BigInt.prototype as it was', () => {
		assert.equal(stringifyLines([{ a: 1 }, { a: 2n ** 63n - 1n, b: [3n] }, { a: 'x' }]), '{"a":1}\n{"a":9223372036854775807,"b":[3]}\n{"a":"x"}\n');
		assert.equal((BigInt.prototype as { toJSON?: unknown }).toJSON, undefined);
		assert.throws(() => JSON.stringify({ a: 1n }), /BigInt/);
	});

	it('finds big literals after escaped quotes and inside nested arrays', () => {
		const text = '{"q":"say \\"hi\\" 12345678901234567890","n":[[-9223372036854775808]],"x":"\\\\","y":18446744073709551615,"f":12345678901234567.5}';
		const value = parseJson(text) as Record<string, unknown>;
		assert.equal(value.q, 'say "hi" 12345678901234567890');
		assert.deepEqual(value.n, [[-9223372036854775808n]]);
		assert.equal(value.x, '\\');
		assert.equal(value.y, 18446744073709551615n);
		assert.ok(value.f instanceof ExactNumber, 'a literal a double cannot give back is kept as its text');
		assert.equal(String(value.f), '12345678901234567.5');
	});

	it('leaves digit runs alone inside strings that look like JSON around them', () => {
		const text = '{"a":"x:12345678901234567890,","b":"[9223372036854775807]","c" : 9223372036854775807 ,"d":[ -9223372036854775808 ],"e":"9223372036854775807"}';
		const value = parseJson(text) as Record<string, unknown>;
		assert.equal(value.a, 'x:12345678901234567890,');
		assert.equal(value.b, '[9223372036854775807]');
		assert.equal(value.c, 9223372036854775807n);
		assert.deepEqual(value.d, [-9223372036854775808n]);
		assert.equal(value.e, '9223372036854775807');
		assert.equal(parseJson('18446744073709551615'), 18446744073709551615n, 'a bare number document');
		assert.equal(parseJson(' 9007199254740991 '), 9007199254740991, 'safe 16-digit integers stay numbers');
	});

	it('round-trips random documents: big integers, digit runs in strings, nesting, whitespace', () => {
		let seed = 7;
		const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
		const pick = <T>(items: T[]) => items[Math.floor(next() * items.length)];
		const bigint = () => (next() < 0.5 ? -1n : 1n) * (2n ** 53n + BigInt(Math.floor(next() * 2 ** 40)) * 1_000_003n);
		const str = () => pick(['', 'plain', 'é☃𝄞']) + pick([':', ',', '[', ' ', '\\"', '\\\\', '']) + (next() < 0.6 ? String(bigint()) : '') + pick([',', ']', '}', ' ', '"', '']);
		const value = (depth: number): unknown => {
			const r = next();
			if (depth > 3 || r < 0.35) return pick([bigint, () => Math.floor(next() * 1e6), str, () => null, () => true, () => 1.25])();
			if (r < 0.65) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
			return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, (_, i) => [`k${i}${pick(['', ':1', '"'])}`, value(depth + 1)]));
		};
		for (let i = 0; i < 2000; i++) {
			const doc = { id: bigint(), body: value(0) };
			for (const space of [undefined, 1]) {
				const text = stringifyJson(doc, space);
				assert.deepEqual(parseJson(text), doc, text);
			}
		}
	});

	it('reports malformed JSON whether or not it holds big integers', () => {
		assert.throws(() => parseJson('{"a":9223372036854775807,'), SyntaxError);
		assert.throws(() => parseJson('{"a":"12345678901234567890}'), SyntaxError);
		assert.throws(() => parseJson('{"a":1,}'), SyntaxError);
	});

	it('still raises genuine errors (cycles)', () => {
		const cyclic: Record<string, unknown> = {};
		cyclic.self = cyclic;
		assert.throws(() => stringifyJson(cyclic), /circular/i);
	});
});

describe('time and templates', () => {
	const values: TemplateValues = {
		datasetId: 'ds1',
		destination: 'local-folder',
		destinationInstanceName: 'Archive',
		destinationInstanceId: 'abc123',
		sandboxName: 'prod',
		organizationName: 'ACME',
		exportTime: floorToMinute(new Date('2026-03-04T05:06:59.999Z')),
	};

	it('floors to the minute in UTC and formats like Adobe', () => {
		assert.equal(values.exportTime.toISOString(), '2026-03-04T05:06:00.000Z');
		assert.equal(exportTimeStamp(values.exportTime), '202603040506');
		assert.equal(formatDateTime(values.exportTime, 'YYYYMMdd_HHmmss'), '20260304_050600');
		assert.throws(() => formatDateTime(values.exportTime, 'YYYY-Q'), /unknown date token "Q"/);
	});

	it('parses Schedule Trigger timestamps with offsets and rejects garbage', () => {
		assert.equal(parseDate('2026-11-22T06:00:00.012+01:00')?.toISOString(), '2026-11-22T05:00:00.012Z');
		assert.equal(parseDate(''), undefined);
		assert.throws(() => parseDate('not a date'), /not a valid date/);
	});

	it('renders the default layout and every macro', () => {
		assert.equal(renderFolder('exports', '%DATASET_ID%/exportTime=%EXPORT_TIME%', values), 'exports/ds1/exportTime=202603040506');
		assert.equal(
			renderFolder('/x/', '%ORGANIZATION_NAME%/%SANDBOX_NAME%/%DESTINATION%/%DESTINATION_INSTANCE_NAME%/%DESTINATION_INSTANCE_ID%/%DATASET_ID%/%DATETIME(YYYYMMdd_HHmmss)%', values),
			'x/ACME/prod/local-folder/Archive/abc123/ds1/20260304_050600',
		);
	});

	it('finds the folder that is stable across export times', () => {
		assert.equal(stablePrefix('exports', '%DATASET_ID%/exportTime=%EXPORT_TIME%', values), 'exports/ds1');
		assert.equal(stablePrefix('exports', '%DATASET_ID%/d=%DATETIME(YYYYMMdd)%/h=%DATETIME(HH)%', values), 'exports/ds1');
		assert.equal(stablePrefix('', '%DATASET_ID%', values), 'ds1');
	});

	it('rejects unknown macros, stray % and ..', () => {
		assert.throws(() => validateTemplate('%DATASET%/x'), /unknown macro %DATASET%/);
		assert.throws(() => validateTemplate('50%/x'), /does not open a known macro/);
		assert.throws(() => validateTemplate('%DATASET_ID%/../up'), /\.\./);
		assert.throws(() => validateTemplate('%DATETIME()%'), /needs a format/);
		assert.throws(() => cleanPath('a/../b'), /must not contain/);
	});

	it('run ids are UUIDv7 and sort by time', () => {
		const a = uuidv7(1_700_000_000_000);
		const b = uuidv7(1_700_000_000_001);
		assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		assert.ok(a < b);
	});
});

describe('schema', () => {
	it('validates shapes and names the offending field', () => {
		assert.throws(() => validateSchema({ fields: [{ name: 'a', type: 'wat' }] }), /field "\(root\)\.a" has unknown type "wat"/);
		assert.throws(() => validateSchema({ fields: [{ name: 'o', type: 'object' }] }), /has no "fields"/);
		assert.throws(() => validateSchema({}), /"fields" array/);
	});

	it('infers types from sample records, widening where needed', () => {
		const schema = inferSchema([
			{ id: 1, at: '2026-01-01T00:00:00Z', day: '2026-01-01', n: 1, tags: ['a'], o: { x: true }, big: 9007199254740993n, e: {} },
			{ id: 2, at: '2026-01-02T00:00:00Z', day: '2026-01-02', n: 1.5, tags: [], o: { x: false, y: 'z' }, extra: null, e: {} },
		]);
		const byName = Object.fromEntries(schema.fields.map((f) => [f.name, f]));
		assert.equal(byName.id.type, 'int');
		assert.equal(byName.at.type, 'timestamp');
		assert.equal(byName.day.type, 'date');
		assert.equal(byName.n.type, 'double');
		assert.equal(byName.big.type, 'long');
		assert.deepEqual(byName.tags.items, { type: 'string' });
		assert.deepEqual(
			byName.o.fields?.map((f) => f.name),
			['x', 'y'],
		);
		assert.equal(byName.e.type, 'json', 'an always-empty object is kept as JSON');
		assert.equal(parquetProblem(schema), undefined);
		assert.match(String(parquetProblem({ fields: [{ name: 'e', type: 'object', fields: [] }] })), /no fields/);
	});
});

describe('eligibility', () => {
	const base: DatasetInfo = {
		id: 'a',
		name: 'A events',
		description: '',
		kind: 'event',
		tier: 'Prime',
		tags: ['email'],
		enabled: true,
		schema: { fields: [{ name: 'x', type: 'string' }] },
		schemaSource: 'declared',
		recordCount: 5,
		sizeBytes: 10,
		batchCount: 1,
		lastIngestedAt: null,
	};
	it('gives the reason a dataset is not eligible', () => {
		const prime = { entitledTier: 'Prime' as const, fileType: 'parquet' as const };
		assert.equal(eligibility(base, prime).eligible, true);
		assert.match(String(eligibility({ ...base, tier: 'Ultimate' }, prime).reason), /tier not entitled/);
		assert.equal(eligibility({ ...base, tier: 'Ultimate' }, { ...prime, entitledTier: 'Ultimate' }).eligible, true);
		assert.match(String(eligibility({ ...base, batchCount: 0, recordCount: 0 }, prime).reason), /empty/);
		assert.match(String(eligibility({ ...base, enabled: false }, prime).reason), /disabled/);
		assert.match(String(eligibility({ ...base, schema: { fields: [{ name: 'o', type: 'object', fields: [] }] } }, prime).reason), /not representable as Parquet/);
		assert.equal(eligibility({ ...base, schema: { fields: [{ name: 'o', type: 'object', fields: [] }] } }, { ...prime, fileType: 'json' }).eligible, true);
	});
	it('filters by name, tag (with wildcards) and kind', () => {
		const list = [base, { ...base, id: 'b', name: 'B profiles', kind: 'profile' as const, tags: ['push'] }];
		assert.deepEqual(
			filterDatasets(list, { entitledTier: 'Prime', match: 'push' }).map((d) => d.id),
			['b'],
		);
		assert.deepEqual(
			filterDatasets(list, { entitledTier: 'Prime', match: '*events' }).map((d) => d.id),
			['a'],
		);
		assert.deepEqual(
			filterDatasets(list, { entitledTier: 'Prime', kinds: ['profile'] }).map((d) => d.id),
			['b'],
		);
	});
});
