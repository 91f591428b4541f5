/**
 * The Parquet encoder's own record shredder (one walk per record, see lib/format/parquet.ts)
 * against hyparquet-writer's Dremel encoder, byte for byte, on a schema made of the awkward
 * cases: lists of lists, lists of objects holding lists, required fields under optional parents,
 * null and empty lists, null list elements, nulls at every level, several row groups.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { parquetEncoder, parquetSchema, type ParquetOptions } from '../../lib/format/parquet';
import type { Schema } from '../../lib/schema';
import type { DatasetRecord } from '../../lib/source/types';

const schema: Schema = {
	fields: [
		{ name: 'id', type: 'long', nullable: false },
		{ name: 'name', type: 'string' },
		{ name: 'matrix', type: 'array', items: { type: 'array', items: { type: 'int' } } },
		{
			name: 'owner',
			type: 'object',
			fields: [
				{ name: 'key', type: 'string', nullable: false },
				{ name: 'score', type: 'double' },
				{
					name: 'contacts',
					type: 'array',
					items: {
						type: 'object',
						fields: [
							{ name: 'kind', type: 'string', nullable: false },
							{ name: 'flags', type: 'array', items: { type: 'boolean', nullable: false } },
						],
					},
				},
			],
		},
		{ name: 'tags', type: 'array', nullable: false, items: { type: 'string' } },
	],
};

/** Deterministic records that visit every null / empty / present combination. */
function records(count: number): DatasetRecord[] {
	const out: DatasetRecord[] = [];
	for (let i = 0; i < count; i++) {
		const pick = <T>(options: T[]) => options[(i * 7 + options.length) % options.length];
		out.push({
			id: 2n ** 62n + BigInt(i),
			name: pick(['ä', null, '', 'name ' + i, '𝄞']),
			matrix: pick([null, [], [[]], [[1, 2], null, [3]], [null, [i]], [[-2147483648, 2147483647]]]),
			owner: pick([
				null,
				{ key: 'k' + i, score: null, contacts: null },
				{ key: 'k', score: i / 3, contacts: [] },
				{ key: 'k', score: -0.5, contacts: [null, { kind: 'email', flags: null }, { kind: 'sms', flags: [true, false] }] },
				{ key: 'k', contacts: [{ kind: 'push', flags: [] }] },
			]),
			tags: pick([[], ['a'], [null, 'b', null], ['x', 'y', 'z', 'w']]),
		});
	}
	return out;
}

/** The encoder's file for `rows`, written 5 records at a time. */
async function encodeWith(schemaOf: Schema, rows: DatasetRecord[], codec: 'none' | 'snappy', options: ParquetOptions = {}): Promise<Buffer> {
	const parts: Buffer[] = [];
	const sink = new Writable({
		write(chunk: Buffer, _e, cb) {
			parts.push(chunk);
			cb();
		},
	});
	const file = parquetEncoder(schemaOf, codec, options).open(sink);
	for (let i = 0; i < rows.length; i += 5) await file.write(rows.slice(i, i + 5));
	await file.finish();
	return Buffer.concat(parts);
}

const encode = (rows: DatasetRecord[], rowGroupRows: number) => encodeWith(schema, rows, 'none', { rowGroupRows, createdBy: 'test' });

/** A whole file as the ArrayBuffer hyparquet reads. */
const arrayBuffer = (bytes: Buffer): ArrayBuffer => new Uint8Array(bytes).buffer;

describe('Parquet shredding', () => {
	it('writes the same bytes as hyparquet-writer, over several row groups', async () => {
		const rows = records(60);
		const rowGroupRows = 7;
		const ours = await encode(rows, rowGroupRows);

		const writer = new ByteWriter();
		const reference = new ParquetWriter({ writer, schema: parquetSchema(schema), codec: 'UNCOMPRESSED', statistics: true, createdBy: 'test' });
		await reference.write({ columnData: schema.fields.map((f) => ({ name: f.name, data: rows.map((r) => r[f.name] ?? null) })) as never, rowGroupSize: rowGroupRows });
		await reference.finish();
		const theirs = Buffer.from(writer.getBytes());

		assert.equal(ours.length, theirs.length);
		assert.ok(ours.equals(theirs), 'byte-identical to hyparquet-writer');
	});

	it('reads back as the records it was given (hyparquet)', async () => {
		const rows = records(23);
		const buffer = arrayBuffer(await encode(rows, 4));
		// hyparquet reads a nested null as undefined
		const nulls = (v: unknown): unknown =>
			v === undefined ? null : Array.isArray(v) ? v.map(nulls) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, nulls(x)])) : v;
		const back = nulls(await parquetReadObjects({ file: buffer })) as DatasetRecord[];
		assert.equal(back.length, rows.length);
		// a missing optional field reads back as null
		const expected = rows.map((r) => ({ ...r, owner: r.owner && { score: null, ...(r.owner as object) } }));
		assert.deepEqual(back, expected);
	});

	it('writes json fields once as exact JSON text, annotated JSON', async () => {
		const jsonSchema: Schema = {
			fields: [
				{ name: 'doc', type: 'json' },
				{ name: 'list', type: 'array' },
			],
		};
		const rows = [
			{ doc: { a: 1, big: 2n ** 63n - 1n, s: 'é"' }, list: [{ x: [1] }, 'y'] },
			{ doc: null, list: null },
			{ doc: 'text', list: [] },
		];
		const bytes = await encodeWith(jsonSchema, rows, 'none');
		const file = arrayBuffer(bytes);
		assert.ok(bytes.includes('{"a":1,"big":9223372036854775807,"s":"é\\""}'), 'the JSON text, 64-bit exact');
		assert.ok(!bytes.includes('"{\\"a\\"'), 'not encoded twice');
		const metadata = await parquetMetadataAsync(file);
		assert.deepEqual(
			metadata.schema.filter((e) => e.logical_type?.type === 'JSON').map((e) => e.name),
			['doc', 'element'],
		);
		// hyparquet parses JSON columns back (its parse makes 64-bit numbers doubles)
		const back = await parquetReadObjects({ file });
		assert.deepEqual(back[0].doc, { a: 1, big: Number(2n ** 63n - 1n), s: 'é"' });
		assert.deepEqual(back[0].list, [{ x: [1] }, 'y']);
		assert.equal(back[1].doc, null);
		assert.equal(back[2].doc, 'text');
	});

	it('refuses a long outside 64 bits, naming the field', async () => {
		const longSchema: Schema = { fields: [{ name: 'n', type: 'long' }] };
		await assert.rejects(encodeWith(longSchema, [{ n: '9223372036854775808' }], 'snappy'), /field "n": expected a 64-bit integer, got "9223372036854775808"/);
		await assert.rejects(encodeWith(longSchema, [{ n: -(2n ** 63n) - 1n }], 'snappy'), /field "n": expected a 64-bit integer/);
		assert.ok((await encodeWith(longSchema, [{ n: '-9223372036854775808' }, { n: 2n ** 63n - 1n }], 'snappy')).length > 0);
	});

	it('names the field of a missing required value, unless an optional parent is null', async () => {
		const [good] = records(1);
		await assert.rejects(encode([{ ...good, owner: { score: 1 } }], 10), /field "owner\.key": expected a value \(the field is required\), got null/);
		await assert.rejects(encode([{ ...good, tags: null }], 10), /field "tags": expected a value \(the field is required\), got null/);
		await assert.rejects(
			encode([{ ...good, owner: { key: 'k', contacts: [{ kind: 'a', flags: [true, null] }] } }], 10),
			/field "owner\.contacts\[\]\.flags\[\]": expected a value \(the field is required\), got null/,
		);
		await assert.rejects(encode([{ ...good, matrix: [1] }], 10), /field "matrix\[\]": expected a list, got 1/);
		await assert.rejects(encode([{ ...good, owner: [] }], 10), /field "owner": expected an object/);
		assert.ok((await encode([{ ...good, owner: null, tags: [] }], 10)).length > 0, 'a null parent carries no required children');
	});
});
