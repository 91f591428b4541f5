/**
 * The value contract (lib/values.ts) through lib/json and the Parquet encoder and reader, with
 * n8n-workflow loaded (its BigInt.prototype.toJSON active), read back by DuckDB exactly: 64-bit
 * integers at any depth, microseconds to year 9999, zone-less timestamps independent of the host's
 * zone, DECIMAL(18,4) and DECIMAL(38,10), BLOB bytes, null keys, -0.0, lone surrogates, unknown
 * fields, and the record-level rollback of a mismatch.
 */
/* eslint-disable @n8n/community-nodes/no-dangerous-functions -- a test, not node code: it runs a child Node with TZ=America/New_York */
import 'n8n-workflow'; // sets BigInt.prototype.toJSON, as inside n8n
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { parseJson, stringifyJson, stringifyLines } from '../../lib/json';
import { ndjsonEncoder } from '../../lib/format/ndjson';
import { isoMicros, parquetEncoder } from '../../lib/format/parquet';
import { ValueMismatch } from '../../lib/mismatch';
import { evolveSchema, inferSchema, typeOfValue, widenType, type Schema } from '../../lib/schema';
import { parquetFileSchema, readParquet } from '../../lib/source/readers/parquet';
import type { DatasetRecord } from '../../lib/source/types';
import { Binary, ExactNumber } from '../../lib/values';
import { canonicalRecords, queryExact, readFiles } from '../helpers/duckdb';
import { tempDir } from '../helpers/fixtures';

const dir = tempDir('values');

async function writeParquet(name: string, schema: Schema, rows: DatasetRecord[]): Promise<string> {
	const path = join(dir, name);
	const file = parquetEncoder(schema, 'snappy').open(createWriteStream(path));
	await file.write(rows);
	await file.finish();
	return path;
}

async function writeNdjson(name: string, rows: DatasetRecord[]): Promise<string> {
	const path = join(dir, name);
	const file = ndjsonEncoder('none').open(createWriteStream(path));
	await file.write(rows);
	await file.finish();
	return path;
}

describe('lib/json with n8n-workflow loaded', () => {
	it('n8n-workflow really patches BigInt.prototype.toJSON', () => {
		assert.equal(JSON.stringify({ big: 9223372036854775807n }), '{"big":"9223372036854775807"}');
	});

	it('writes BigInts, ExactNumbers and Binary exactly, at any depth, and leaves the patch in place', () => {
		const value = {
			big: 9223372036854775807n,
			deep: [{ x: [-(2n ** 63n)] }],
			d: new ExactNumber('12345678901234.5678'),
			z: new ExactNumber('-0.0'),
			b: new Binary(Uint8Array.from([0, 255, 128, 97, 98, 99])),
		};
		const text = '{"big":9223372036854775807,"deep":[{"x":[-9223372036854775808]}],"d":12345678901234.5678,"z":-0.0,"b":"AP+AYWJj"}';
		assert.equal(stringifyJson(value), text);
		assert.equal(stringifyLines([value, { n: null }]), text + '\n{"n":null}\n');
		assert.equal(JSON.stringify(1n), '"1"', "n8n's toJSON is back");
	});

	it('parses unsafe integers to BigInt and literals a double cannot give back to ExactNumber', () => {
		const value = parseJson('{"a":12345678901234.5678,"b":0.1,"c":-0.0,"d":-0,"e":9223372036854775807,"f":1e400,"g":"12345678901234.5678","h":[1234567890123456789012345678.0123456789]}') as Record<
			string,
			unknown
		>;
		assert.deepEqual(value.a, new ExactNumber('12345678901234.5678'));
		assert.equal(value.b, 0.1);
		assert.deepEqual(value.c, new ExactNumber('-0.0'));
		assert.deepEqual(value.d, new ExactNumber('-0'));
		assert.equal(value.e, 9223372036854775807n);
		assert.deepEqual(value.f, new ExactNumber('1e400'));
		assert.equal(value.g, '12345678901234.5678');
		assert.deepEqual(value.h, [new ExactNumber('1234567890123456789012345678.0123456789')]);
		assert.equal(parseJson('1234567890.1234567'), 1234567890.1234567, 'a 17-digit literal a double gives back stays a number');
		assert.throws(() => parseJson('{"a":0012345678901234567}'), SyntaxError, 'leading zeros are still malformed');
	});

	it('round-trips text with inexact literals byte for byte', () => {
		const text = '{"a":[12345678901234.5678,-0.0,9223372036854775807,{"x":-1e-400}],"s":"\\"[-0]\\"","n":1.5}';
		assert.equal(stringifyJson(parseJson(text)), text);
	});
});

describe('Parquet encoder: exact values, read back by DuckDB', () => {
	const schema: Schema = {
		fields: [
			{ name: 'id', type: 'long' },
			{ name: 'ts', type: 'timestamp' },
			{ name: 'd18', type: 'decimal', precision: 18, scale: 4 },
			{ name: 'd38', type: 'decimal', precision: 38, scale: 10 },
			{ name: 'd9', type: 'decimal', precision: 9, scale: 2 },
			{ name: 'blob', type: 'binary' },
			{ name: 'x', type: 'double' },
			{ name: 'doc', type: 'json' },
			{
				name: 'o',
				type: 'object',
				fields: [
					{ name: 'n', type: 'long' },
					{ name: 'tags', type: 'array', items: { type: 'long' } },
				],
			},
		],
	};
	const rows: DatasetRecord[] = [
		{
			id: 9223372036854775807n,
			ts: '2024-03-10T12:34:00.123456Z',
			d18: new ExactNumber('12345678901234.5678'),
			d38: new ExactNumber('1234567890123456789012345678.0123456789'),
			d9: 1.5,
			blob: new Binary(Uint8Array.from(Buffer.from('00ff80616263', 'hex'))),
			x: -0,
			doc: { big: 9223372036854775807n, d: new ExactNumber('12345678901234.5678') },
			o: { n: -(2n ** 63n), tags: [2n ** 62n, null] },
		},
		{ id: 1, ts: '9999-12-31T23:59:59.999999Z', d18: '-0.0001', d38: -1n, d9: '1234567.00', blob: 'AP+AYWJj', x: new ExactNumber('-0.0'), doc: null, o: null },
		{ id: null, ts: '2024-03-10T12:34:56', d18: null, d38: null, d9: null, blob: null, x: null, doc: [1], o: { n: null, tags: [] } },
	];

	it('writes 64-bit ints, µs timestamps, decimals, bytes, -0 and JSON exactly', async () => {
		const path = await writeParquet('exact.parquet', schema, rows);
		const back = await queryExact(`SELECT id, ts, d18::VARCHAR d18, d38::VARCHAR d38, d9::VARCHAR d9, hex(blob) blob, x, doc, o FROM read_parquet('${path}')`);
		assert.deepEqual(back[0], {
			id: '9223372036854775807',
			ts: '2024-03-10 12:34:00.123456+00',
			d18: '12345678901234.5678',
			d38: '1234567890123456789012345678.0123456789',
			d9: '1.50',
			blob: '00FF80616263',
			x: -0,
			doc: '{"big":9223372036854775807,"d":12345678901234.5678}',
			o: { n: '-9223372036854775808', tags: ['4611686018427387904', null] },
		});
		assert.equal(back[1].ts, '9999-12-31 23:59:59.999999+00');
		assert.equal(back[1].d18, '-0.0001');
		assert.equal(back[1].d38, '-1.0000000000');
		assert.ok(Object.is(back[1].x, -0), '-0.0 kept');
		assert.equal(back[2].ts, '2024-03-10 12:34:56+00', 'zone-less is UTC');
		const types = await queryExact(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${path}'))`);
		assert.deepEqual(Object.fromEntries(types.map((t) => [t.column_name, t.column_type])), {
			id: 'BIGINT',
			ts: 'TIMESTAMP WITH TIME ZONE',
			d18: 'DECIMAL(18,4)',
			d38: 'DECIMAL(38,10)',
			d9: 'DECIMAL(9,2)',
			blob: 'BLOB',
			x: 'DOUBLE',
			doc: 'JSON',
			o: 'STRUCT(n BIGINT, tags BIGINT[])',
		});
		const physical = await queryExact(`SELECT name, type FROM parquet_schema('${path}') WHERE name LIKE 'd%'`);
		assert.deepEqual(Object.fromEntries(physical.map((p) => [p.name, p.type])), { d18: 'INT64', d38: 'FIXED_LEN_BYTE_ARRAY', d9: 'INT32', doc: 'BYTE_ARRAY' });
	});

	it('zone-less timestamps never depend on the host zone (TZ=America/New_York in a child process)', () => {
		const script = `const { isoMicros } = require(${JSON.stringify(join(__dirname, '../../lib/format/parquet'))}); console.log(String(isoMicros('2024-03-10T12:34:56')), String(isoMicros('2024-03-10T12:34:56-05:00')), new Date(2024, 2, 10, 12).getTimezoneOffset())`;
		const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { env: { ...process.env, TZ: 'America/New_York' }, encoding: 'utf8' })
			.trim()
			.split(' ');
		assert.equal(out[2], '240', 'the child really runs in New York time');
		assert.equal(out[0], String(isoMicros('2024-03-10T12:34:56Z')));
		assert.equal(out[0], '1710074096000000');
		assert.equal(out[1], String(1710074096000000n + 5n * 3600n * 1_000_000n), 'offsets are applied');
	});

	it('parses ISO timestamps exactly, refusing digits past microseconds', () => {
		assert.equal(isoMicros('9999-12-31T23:59:59.999999Z'), 253402300799999999n);
		assert.equal(isoMicros('1969-12-31T23:59:59.999999Z'), -1n);
		assert.equal(isoMicros('2024-01-01T00:00:00.123456000Z'), 1704067200123456n, 'zeros past µs are fine');
		assert.equal(isoMicros('2024-01-01T00:00:00.123456789Z'), 'nanos');
		assert.equal(isoMicros('2024-02-30T00:00:00Z'), 'type');
	});

	async function mismatchOf(s: Schema, records: DatasetRecord[]): Promise<{ error: ValueMismatch; path: string }> {
		const path = join(dir, `m-${Math.random().toString(36).slice(2)}.parquet`);
		const file = parquetEncoder(s, 'none').open(createWriteStream(path));
		let error: unknown;
		try {
			await file.write(records);
		} catch (e) {
			error = e;
		}
		assert.ok(error instanceof ValueMismatch, `a ValueMismatch, got ${String(error)}`);
		// the records before it are written, nothing of the failing one: finish and read back
		await file.finish();
		return { error, path };
	}

	it('mismatches: unrepresentable nanos, decimal digits, lone surrogate; type for out-of-range ints; unknown fields at any depth', async () => {
		const cases: Array<[Schema, unknown, string, string, RegExp]> = [
			[{ fields: [{ name: 't', type: 'timestamp' }] }, { t: '2024-01-01T00:00:00.123456789Z' }, 'unrepresentable', 't', /Parquet keeps microseconds \(NDJSON keeps them\)/],
			[{ fields: [{ name: 'd', type: 'decimal', precision: 18, scale: 4 }] }, { d: new ExactNumber('1.23456') }, 'unrepresentable', 'd', /more than 4 digits after the point/],
			[{ fields: [{ name: 'd', type: 'decimal', precision: 18, scale: 4 }] }, { d: '123456789012345.0' }, 'unrepresentable', 'd', /more than 14 digits before the point/],
			[{ fields: [{ name: 's', type: 'string' }] }, { s: 'a\ud800b' }, 'unrepresentable', 's', /lone surrogate/],
			[{ fields: [{ name: 'i', type: 'int' }] }, { i: 2147483648 }, 'type', 'i', /32-bit/],
			[{ fields: [{ name: 'l', type: 'long' }] }, { l: 2n ** 63n }, 'type', 'l', /64-bit/],
			[{ fields: [{ name: 'a', type: 'string' }] }, { a: 'x', extra: 1 }, 'unknown_field', 'extra', /not in the schema/],
			[{ fields: [{ name: 'o', type: 'object', fields: [{ name: 'k', type: 'int' }] }] }, { o: { k: 1, new: 'v' } }, 'unknown_field', 'o.new', /"o\.new" is not in the schema/],
			[{ fields: [{ name: 'l', type: 'array', items: { type: 'object', fields: [{ name: 'k', type: 'int' }] } }] }, { l: [{ k: 1 }, { k: 2, z: null }] }, 'unknown_field', 'l[].z', /l\[\]\.z/],
		];
		for (const [s, bad, kind, field, message] of cases) {
			const good = Object.fromEntries(s.fields.map((f) => [f.name, null]));
			const { error, path } = await mismatchOf(s, [good, good, bad as DatasetRecord, good]);
			assert.equal(error.mismatch.index, 2, field);
			assert.equal(error.mismatch.kind, kind, field);
			assert.equal(error.mismatch.path, field);
			assert.match(error.message, message);
			const back = await queryExact(`SELECT count(*)::INT n FROM read_parquet('${path}')`);
			assert.equal(back[0].n, 2, `${field}: the two records before it, nothing of it`);
		}
	});

	it('rolls a failing record back across a row group boundary, keeping every earlier record', async () => {
		const s: Schema = {
			fields: [
				{ name: 'n', type: 'long' },
				{ name: 'tags', type: 'array', items: { type: 'string' } },
			],
		};
		const path = join(dir, 'rollback.parquet');
		const file = parquetEncoder(s, 'none', { rowGroupRows: 3 }).open(createWriteStream(path));
		const records = Array.from({ length: 1200 }, (_, i) => ({ n: i, tags: ['a', String(i)] })) as DatasetRecord[];
		records[1100] = { n: 1100, tags: ['ok', 'a\udc00'] }; // fails on its second tag, after its first was shredded
		await assert.rejects(file.write(records), (e: ValueMismatch) => e.mismatch.index === 1100);
		await file.write(records.slice(1101));
		await file.finish();
		const back = await queryExact(`SELECT n, tags FROM read_parquet('${path}') ORDER BY n`);
		assert.equal(back.length, 1199);
		assert.ok(back.every((r) => (r.tags as string[])[1] === String(r.n) && r.n !== '1100'));
	});
});

describe('Parquet source reader: exact values', () => {
	it('reads DuckDB-written TIMESTAMP (ms/µs/ns), DECIMAL, BLOB, JSON, nulls and -0.0 exactly; NDJSON from it keeps them', async () => {
		const path = join(dir, 'source.parquet');
		await queryExact(`COPY (SELECT * FROM (VALUES
			(TIMESTAMPTZ '2024-01-01 00:00:00.123456+00', '9999-12-31 23:59:59.999999'::TIMESTAMP, '2024-01-01 00:00:00.123456789'::TIMESTAMP_NS, '2024-01-01 00:00:00.123'::TIMESTAMP_MS,
			 12345678901234.5678::DECIMAL(18,4), '1234567890123456789012345678.0123456789'::DECIMAL(38,10), '\\x00\\xff\\x80abc'::BLOB, '{"big":9223372036854775807}'::JSON,
			 9223372036854775807::BIGINT, 5::BIGINT, '-0.0'::DOUBLE, {'a': NULL, 'b': [1, NULL]}, NULL::VARCHAR, DATE '2024-02-29')
		) t(tz, ts, tns, tms, d18, d38, b, j, big, small, dz, s, v, dt)) TO '${path}' (FORMAT parquet)`);
		const records: DatasetRecord[] = [];
		for await (const chunk of readParquet(path, 100)) records.push(...chunk);
		assert.deepEqual(records, [
			{
				tz: '2024-01-01T00:00:00.123456Z',
				ts: '9999-12-31T23:59:59.999999Z',
				tns: '2024-01-01T00:00:00.123456789Z',
				tms: '2024-01-01T00:00:00.123Z',
				d18: new ExactNumber('12345678901234.5678'),
				d38: new ExactNumber('1234567890123456789012345678.0123456789'),
				b: new Binary(Uint8Array.from(Buffer.from('00ff80616263', 'hex'))),
				j: { big: 9223372036854775807n },
				big: 9223372036854775807n,
				small: 5,
				dz: new ExactNumber('-0.0'),
				s: { a: null, b: [1, null] },
				v: null,
				dt: '2024-02-29',
			},
		]);
		const ndjson = await writeNdjson('from-parquet.json', records);
		assert.equal(
			readFileSync(ndjson, 'utf8'),
			'{"tz":"2024-01-01T00:00:00.123456Z","ts":"9999-12-31T23:59:59.999999Z","tns":"2024-01-01T00:00:00.123456789Z","tms":"2024-01-01T00:00:00.123Z","d18":12345678901234.5678,"d38":1234567890123456789012345678.0123456789,"b":"AP+AYWJj","j":{"big":9223372036854775807},"big":9223372036854775807,"small":5,"dz":-0.0,"s":{"a":null,"b":[1,null]},"v":null,"dt":"2024-02-29"}\n',
		);
		const schema = await parquetFileSchema(path);
		assert.deepEqual(
			schema.fields.map((f) => [f.name, f.type, f.precision, f.scale]),
			[
				['tz', 'timestamp', undefined, undefined],
				['ts', 'timestamp', undefined, undefined],
				['tns', 'timestamp', undefined, undefined],
				['tms', 'timestamp', undefined, undefined],
				['d18', 'decimal', 18, 4],
				['d38', 'decimal', 38, 10],
				['b', 'binary', undefined, undefined],
				['j', 'json', undefined, undefined],
				['big', 'long', undefined, undefined],
				['small', 'long', undefined, undefined],
				['dz', 'double', undefined, undefined],
				['s', 'object', undefined, undefined],
				['v', 'string', undefined, undefined],
				['dt', 'date', undefined, undefined],
			],
		);
		// Parquet → Parquet with the file's own schema: every value back, exactly (the ns one is refused)
		const out = parquetEncoder(schema, 'zstd' in process.versions ? 'snappy' : 'snappy').open(new Writable({ write: (_c, _e, cb) => cb() }));
		await assert.rejects(out.write(records), (e: ValueMismatch) => e.mismatch.path === 'tns' && e.mismatch.kind === 'unrepresentable');
		const copy = await writeParquet(
			'copy.parquet',
			schema,
			records.map((r) => ({ ...r, tns: '2024-01-01T00:00:00.123456Z' })),
		);
		const [a, b] = [await readFiles([path]), await readFiles([copy])];
		a[0].tns = '2024-01-01 00:00:00.123456';
		assert.deepEqual(canonicalRecords(schema, b), canonicalRecords(schema, a));
	});
});

describe('strings from Parquet sources', () => {
	it("keep a leading U+FEFF (hyparquet's default decoder drops it)", async () => {
		const schema: Schema = { fields: [{ name: 's', type: 'string' }] };
		const rows: DatasetRecord[] = [];
		for await (const chunk of readParquet(await writeParquet('bom.parquet', schema, [{ s: '\ufeffbom' }, { s: 'x\ufeff' }]), 100)) rows.push(...chunk);
		assert.deepEqual(rows, [{ s: '\ufeffbom' }, { s: 'x\ufeff' }]);
	});
});

describe('doubles JSON has no number for', () => {
	it('NaN and ±Infinity from a Parquet source travel as "NaN", "Infinity", "-Infinity": NDJSON says so, Parquet gets the doubles back', async () => {
		const schema: Schema = { fields: [{ name: 'x', type: 'double' }] };
		const source = await writeParquet('nan.parquet', schema, [{ x: NaN }, { x: Infinity }, { x: -Infinity }, { x: 1.5 }]);
		const rows: DatasetRecord[] = [];
		for await (const chunk of readParquet(source, 100)) rows.push(...chunk);
		assert.deepEqual(rows, [{ x: 'NaN' }, { x: 'Infinity' }, { x: '-Infinity' }, { x: 1.5 }]);
		const ndjson = readFileSync(await writeNdjson('nan.ndjson', rows), 'utf8');
		assert.equal(ndjson, '{"x":"NaN"}\n{"x":"Infinity"}\n{"x":"-Infinity"}\n{"x":1.5}\n', 'never a silent null');
		const again: DatasetRecord[] = [];
		for await (const chunk of readParquet(await writeParquet('nan-again.parquet', schema, rows), 100)) again.push(...chunk);
		assert.deepEqual(again, rows);
	});
});

describe('schema: types of exact values, widening, evolving', () => {
	it('types ExactNumber, Binary and big integers', () => {
		assert.deepEqual(typeOfValue(new ExactNumber('12345678901234.5678')), { type: 'decimal', precision: 18, scale: 4 });
		assert.deepEqual(typeOfValue(new ExactNumber('-0.0')), { type: 'double' });
		assert.deepEqual(typeOfValue(new Binary(new Uint8Array(1))), { type: 'binary' });
		assert.deepEqual(typeOfValue(2n ** 64n), { type: 'decimal', precision: 20, scale: 0 });
		assert.deepEqual(widenType({ type: 'decimal', precision: 18, scale: 4 }, { type: 'long' }), { type: 'decimal', precision: 23, scale: 4 });
		assert.deepEqual(widenType({ type: 'int' }, { type: 'double' }), { type: 'double' });
		assert.deepEqual(widenType({ type: 'timestamp' }, { type: 'string' }), { type: 'string' });
		assert.deepEqual(widenType({ type: 'boolean' }, { type: 'string' }), { type: 'json' });
		assert.deepEqual(inferSchema([{ a: new ExactNumber('1.5'), b: null }, { a: 2 }]).fields, [
			{ name: 'a', type: 'decimal', precision: 11, scale: 1 },
			{ name: 'b', type: 'string' },
		]);
	});

	it('evolves: new nullable fields at their path, conflicting types widened, unrepresentable refused', () => {
		const schema: Schema = {
			fields: [
				{ name: 'id', type: 'int' },
				{ name: 'o', type: 'object', fields: [{ name: 'k', type: 'string' }] },
				{ name: 'l', type: 'array', items: { type: 'object', fields: [{ name: 'x', type: 'boolean' }] } },
				{ name: 'd', type: 'decimal', precision: 5, scale: 2 },
				{ name: 't', type: 'timestamp' },
			],
		};
		const at = (kind: 'type' | 'unknown_field' | 'unrepresentable', path: string, value: unknown) => evolveSchema(schema, { index: 0, kind, path, expected: '', value });
		assert.deepEqual(at('unknown_field', 'extra', 5)?.fields.at(-1), { name: 'extra', type: 'int', nullable: true });
		assert.deepEqual(at('unknown_field', 'o.new', 'x')?.fields[1].fields, [
			{ name: 'k', type: 'string' },
			{ name: 'new', type: 'string', nullable: true },
		]);
		assert.deepEqual(at('unknown_field', 'l[].y', null)?.fields[2].items?.fields?.at(-1), { name: 'y', type: 'string', nullable: true });
		assert.deepEqual(at('type', 'id', 2n ** 40n)?.fields[0], { name: 'id', type: 'long' });
		assert.deepEqual(at('type', 'l[].x', 'maybe')?.fields[2].items?.fields?.[0], { name: 'x', type: 'json' });
		assert.deepEqual(at('unrepresentable', 'd', new ExactNumber('1234.567'))?.fields[3], { name: 'd', type: 'decimal', precision: 7, scale: 3 });
		assert.equal(at('unrepresentable', 't', '2024-01-01T00:00:00.123456789Z'), undefined);
		assert.equal(at('type', 'o.k', 'fine'), undefined, 'no wider schema: nothing to change');
	});
});
