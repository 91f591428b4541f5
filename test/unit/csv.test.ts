/**
 * CSV reader: strict casts by declared type (a cell that does not fit is a mismatch on the chunk,
 * its text kept), unknown columns, inference without a schema (consistent with inferSchema),
 * origins, UTF-8.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { MISMATCHES, ORIGIN, type Mismatch } from '../../lib/mismatch';
import { inferSchema, type Field, type Schema } from '../../lib/schema';
import { inferColumn } from '../../lib/source/readers/csv';
import { readCsv } from '../../lib/source/readers';
import type { DatasetRecord, RecordChunk } from '../../lib/source/types';
import { Binary, ExactNumber } from '../../lib/values';
import { tempDir } from '../helpers/fixtures';

const dir = tempDir('csv');
let n = 0;

/** Write a CSV and read it whole: records, mismatches (indices made file-wide), lines. */
async function read(text: string | Buffer, schema?: Schema, chunkSize = 1000) {
	const path = join(dir, `f${n++}.csv`);
	writeFileSync(path, text);
	const records: DatasetRecord[] = [];
	const mismatches: Mismatch[] = [];
	const lines: number[] = [];
	const files = new Set<string>();
	for await (const chunk of readCsv(path, schema, chunkSize) as AsyncIterable<RecordChunk>) {
		for (const m of chunk[MISMATCHES] ?? []) mismatches.push({ ...m, index: m.index + records.length });
		const origin = chunk[ORIGIN]!;
		files.add(origin.file);
		lines.push(...origin.lines!);
		records.push(...chunk);
	}
	return { path, records, mismatches, lines, files };
}

/** One column of a type, the cells given: the values and the mismatching cells. */
async function column(field: Omit<Field, 'name'>, cells: string[]) {
	const { records, mismatches } = await read(['v', ...cells.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c))].join('\n') + '\n', {
		fields: [{ name: 'v', ...field } as Field],
	});
	return { values: records.map((r) => r.v), bad: mismatches.map((m) => cells[m.index]), mismatches };
}

describe('CSV: strict casts by declared type', () => {
	it('int: canonical decimal integers within 32 bits', async () => {
		const { values, bad, mismatches } = await column({ type: 'int' }, ['0', '-12', '2147483647', '-2147483648', '2147483648', '0x10', '+5', '02134', '1.0', '1e3', ' 7', 'abc', '-0']);
		assert.deepEqual(values.slice(0, 4), [0, -12, 2147483647, -2147483648]);
		assert.deepEqual(bad, ['2147483648', '0x10', '+5', '02134', '1.0', '1e3', ' 7', 'abc', '-0']);
		assert.deepEqual(values.slice(4), bad, 'a mismatching cell keeps its text');
		assert.equal(mismatches[0].expected, 'a 32-bit integer');
		assert.equal(mismatches[0].detail, 'out of the 32-bit range');
		assert.equal(mismatches[0].kind, 'type');
		assert.equal(mismatches[0].path, 'v');
	});

	it('long: within 64 bits, bigint beyond 2^53', async () => {
		const { values, bad } = await column({ type: 'long' }, [
			'9007199254740991',
			'9007199254740993',
			'9223372036854775807',
			'-9223372036854775808',
			'9223372036854775808',
			'0012345678901234567',
			'1e18',
		]);
		assert.deepEqual(values.slice(0, 4), [9007199254740991, 9007199254740993n, 9223372036854775807n, -9223372036854775808n]);
		assert.deepEqual(bad, ['9223372036854775808', '0012345678901234567', '1e18']);
	});

	it('double: JSON number literals, exact where a double is not; NaN and infinities as the contract strings', async () => {
		const { values, bad } = await column({ type: 'double' }, ['1.5', '-2e-7', '3', '-0', '0.10000000000000000555', 'NaN', 'inf', '-Infinity', 'abc', '0x10', '+5', '.5', '5.', '1,5', '01.5']);
		assert.deepEqual(values.slice(0, 3), [1.5, -2e-7, 3]);
		assert.deepEqual(values[3], new ExactNumber('-0'));
		assert.deepEqual(values[4], new ExactNumber('0.10000000000000000555'));
		assert.deepEqual(values.slice(5, 8), ['NaN', 'Infinity', '-Infinity']);
		assert.deepEqual(bad, ['abc', '0x10', '+5', '.5', '5.', '1,5', '01.5']);
	});

	it('decimal: the exact literal', async () => {
		const { values, bad, mismatches } = await column({ type: 'decimal', precision: 18, scale: 4 }, ['12345678901234.5678', '-0.5', '1e3', '12,5', '$5']);
		assert.deepEqual(values.slice(0, 3), [new ExactNumber('12345678901234.5678'), new ExactNumber('-0.5'), new ExactNumber('1e3')]);
		assert.deepEqual(bad, ['12,5', '$5']);
		assert.equal(mismatches[0].expected, 'a decimal(18,4)');
	});

	it('boolean: true/false in any case; maybe, 1/0, yes/no are mismatches', async () => {
		const { values, bad, mismatches } = await column({ type: 'boolean' }, ['true', 'FALSE', 'True', 'maybe', '1', '0', 'yes', 'no', 't']);
		assert.deepEqual(values.slice(0, 3), [true, false, true]);
		assert.deepEqual(bad, ['maybe', '1', '0', 'yes', 'no', 't']);
		assert.equal(mismatches[0].expected, 'a boolean');
	});

	it('timestamp: a valid ISO 8601 date-time, kept as written', async () => {
		const good = [
			'2024-03-10T12:34:56',
			'2024-03-10T12:34:56.123456789Z',
			'2024-03-10 12:34',
			'2024-02-29T00:00:00+05:30',
			'2024-03-10t12:34:56,5z',
			'2024-03-10T12:34:56-0800',
			'2024-03-10T12:34:56+01',
		];
		const { values, bad } = await column({ type: 'timestamp' }, [
			...good,
			'2024-03-10',
			'2023-02-29T00:00:00Z',
			'2024-03-10T24:00:00Z',
			'2024-03-10T12:60:00Z',
			'2024-03-10T12:00:60Z',
			'2024-03-10T12:00:00+24:00',
			'1710000000',
			'yesterday',
			'2024-3-10T12:00:00Z',
		]);
		assert.deepEqual(values.slice(0, good.length), good);
		assert.deepEqual(bad, [
			'2024-03-10',
			'2023-02-29T00:00:00Z',
			'2024-03-10T24:00:00Z',
			'2024-03-10T12:60:00Z',
			'2024-03-10T12:00:60Z',
			'2024-03-10T12:00:00+24:00',
			'1710000000',
			'yesterday',
			'2024-3-10T12:00:00Z',
		]);
	});

	it('date: YYYY-MM-DD, a real calendar date', async () => {
		const { values, bad, mismatches } = await column({ type: 'date' }, ['2024-02-29', '2000-02-29', '2023-02-29', '1900-02-29', '2024-13-01', '2024-04-31', '2024-03-10T00:00:00Z', '20240310']);
		assert.deepEqual(values.slice(0, 2), ['2024-02-29', '2000-02-29']);
		assert.deepEqual(bad, ['2023-02-29', '1900-02-29', '2024-13-01', '2024-04-31', '2024-03-10T00:00:00Z', '20240310']);
		assert.equal(mismatches[0].detail, 'no such calendar date');
	});

	it('binary: base64 (padding optional) to bytes; anything else a mismatch', async () => {
		const { values, bad } = await column({ type: 'binary' }, ['AP+AYWJj', 'AA==', 'AA', 'YWJjZA==', 'not base64!', 'AB==', 'A', 'AP-AYWJj', 'YW Jj']);
		assert.ok(values[0] instanceof Binary);
		assert.equal(Buffer.from((values[0] as Binary).bytes).toString('hex'), '00ff80616263');
		assert.equal((values[1] as Binary).toBase64(), 'AA==');
		assert.equal((values[2] as Binary).toBase64(), 'AA==');
		assert.equal((values[3] as Binary).toBase64(), 'YWJjZA==');
		// AB== has bits past its byte (it would come back as AA==); url-safe and spaced text is not base64
		assert.deepEqual(bad, ['not base64!', 'AB==', 'A', 'AP-AYWJj', 'YW Jj']);
	});

	it('json, object, array: parsed exactly; malformed or of the wrong shape a mismatch', async () => {
		const json = await column({ type: 'json' }, ['{"big":9223372036854775807}', '[1,2]', '"s"', '12.50', 'null', '{bad']);
		assert.deepEqual(json.values.slice(0, 5), [{ big: 9223372036854775807n }, [1, 2], 's', 12.5, null]);
		assert.deepEqual(json.bad, ['{bad']);
		assert.equal(json.mismatches[0].detail, 'not valid JSON');
		const object = await column({ type: 'object', fields: [{ name: 'a', type: 'int' }] }, ['{"a":1}', '[1]', '5', '{"a":']);
		assert.deepEqual(object.values[0], { a: 1 });
		assert.deepEqual(object.bad, ['[1]', '5', '{"a":']);
		const array = await column({ type: 'array', items: { type: 'string' } }, ['["x","y"]', '{"a":1}', 'x']);
		assert.deepEqual(array.values[0], ['x', 'y']);
		assert.deepEqual(array.bad, ['{"a":1}', 'x']);
	});

	it('string: the cell as it is; an empty cell is null for every type', async () => {
		const { values } = await column({ type: 'string' }, ['02134', ' padded ', 'a, "quoted"\nline']);
		assert.deepEqual(values, ['02134', ' padded ', 'a, "quoted"\nline']);
		const { records, mismatches } = await read('i,b,t,d\n,,,\n', {
			fields: [
				{ name: 'i', type: 'int' },
				{ name: 'b', type: 'boolean' },
				{ name: 't', type: 'timestamp' },
				{ name: 'd', type: 'decimal', precision: 5, scale: 2 },
			],
		});
		assert.deepEqual(records, [{ i: null, b: null, t: null, d: null }]);
		assert.deepEqual(mismatches, []);
	});

	it("the issue's examples: maybe, abc, 0x10 are mismatches, not false, null/NaN, 16", async () => {
		const { records, mismatches } = await read('flag,count,amount,code\nmaybe,abc,abc,0x10\ntrue,1,2.5,16\n', {
			fields: [
				{ name: 'flag', type: 'boolean' },
				{ name: 'count', type: 'int' },
				{ name: 'amount', type: 'double' },
				{ name: 'code', type: 'long' },
			],
		});
		assert.deepEqual(records, [
			{ flag: 'maybe', count: 'abc', amount: 'abc', code: '0x10' },
			{ flag: true, count: 1, amount: 2.5, code: 16 },
		]);
		assert.deepEqual(
			mismatches.map((m) => [m.index, m.kind, m.path, m.expected, m.value]),
			[
				[0, 'type', 'flag', 'a boolean', 'maybe'],
				[0, 'type', 'count', 'a 32-bit integer', 'abc'],
				[0, 'type', 'amount', 'a number', 'abc'],
				[0, 'type', 'code', 'a 64-bit integer', '0x10'],
			],
		);
	});

	it('a column the schema does not list is an unknown_field mismatch on every record, its cells kept', async () => {
		const { records, mismatches } = await read('id,extra\n1,hello\n2,\n', { fields: [{ name: 'id', type: 'int' }] });
		assert.deepEqual(records, [
			{ id: 1, extra: 'hello' },
			{ id: 2, extra: null },
		]);
		assert.deepEqual(mismatches, [
			{ index: 0, kind: 'unknown_field', path: 'extra', expected: 'no field of this name', value: 'hello' },
			{ index: 1, kind: 'unknown_field', path: 'extra', expected: 'no field of this name', value: null },
		]);
	});

	it('mismatch indices are per chunk, in step with the records', async () => {
		const rows = Array.from({ length: 25 }, (_, i) => (i % 7 === 3 ? 'x' : String(i)));
		const path = join(dir, 'chunks.csv');
		writeFileSync(path, 'v\n' + rows.join('\n') + '\n');
		const seen: [number, number, unknown][] = [];
		let chunkNo = 0;
		for await (const chunk of readCsv(path, { fields: [{ name: 'v', type: 'int' }] }, 10) as AsyncIterable<RecordChunk>) {
			for (const m of chunk[MISMATCHES] ?? []) {
				assert.equal(chunk[m.index].v, 'x');
				seen.push([chunkNo, m.index, chunk[ORIGIN]!.lines![m.index]]);
			}
			chunkNo++;
		}
		// rows 3, 10, 17, 24 → lines 5, 12, 19, 26
		assert.deepEqual(seen, [
			[0, 3, 5],
			[1, 0, 12],
			[1, 7, 19],
			[2, 4, 26],
		]);
	});
});

describe('CSV: inference without a schema', () => {
	it('only canonical numbers become numbers; leading zeros, 0x, + and the like stay text', () => {
		const one = (text: string) => inferColumn([text])[0];
		for (const text of ['02134', '0012345678901234567', '0x10', '+5', '.5', '5.', '1,000', 'NaN', 'Infinity', '-', '12abc', ' 1', 'yes', '2024-03-10T12:00:00Z']) {
			assert.equal(one(text), text, text);
		}
		assert.equal(one('0'), 0);
		assert.equal(one('-12'), -12);
		assert.equal(one('2.5'), 2.5);
		assert.equal(one('1.5e-7'), 1.5e-7);
		assert.equal(one('12345678901234567890'), 12345678901234567890n);
		assert.deepEqual(one('-0'), new ExactNumber('-0'));
		assert.deepEqual(one('0.10000000000000000555'), new ExactNumber('0.10000000000000000555'));
		assert.equal(one('true'), true);
		assert.equal(one('FALSE'), false);
	});

	it('a column is typed as a whole: one cell that is not a number keeps the column text', () => {
		assert.deepEqual(inferColumn(['02134', '10001', null]), ['02134', '10001', null]);
		assert.deepEqual(inferColumn(['1', 'N/A']), ['1', 'N/A']);
		assert.deepEqual(inferColumn(['true', '1']), ['true', '1']);
		assert.deepEqual(inferColumn(['1', null, '2.5']), [1, null, 2.5]);
		assert.deepEqual(inferColumn(['true', null, 'False']), [true, null, false]);
		// whole numbers written with a point or exponent are exact decimals, not ints `10.00` would not fit
		assert.deepEqual(inferColumn(['10.00', '5', '1e2']), [new ExactNumber('10.00'), 5, new ExactNumber('1e2')]);
		assert.deepEqual(inferColumn(['10.00', '5.5']), [10, 5.5]);
	});

	it('the inferred schema reads the same file back with no mismatch and the same values', async () => {
		const text = [
			'zip,id,big,huge,ratio,tiny,neg0,flag,when,day,note,hex,price',
			'02134,1,9007199254740993,123456789012345678901234567890,0.5,1.5e-7,-0,true,2024-03-10T12:00:00Z,2024-03-10,hi,0x10,10.00',
			'0012345678901234567,2147483648,1,1,2,2e-8,0,FALSE,2024-03-11 08:00:00,2024-03-11,"a, b",0x1F,20.00',
			'10,3,-9223372036854775808,-5,-1.25,3,1,false,,2024-02-29,,,5',
			'20001,4,5,6,7,8,9,true,2024-03-12T00:00:00.5+01:00,2024-03-12,x,0,0.0',
		].join('\n');
		const first = await read(text);
		assert.deepEqual(first.mismatches, []);
		assert.deepEqual(first.records[0].zip, '02134');
		assert.deepEqual(first.records[1].zip, '0012345678901234567');
		assert.equal(first.records[0].big, 9007199254740993n);
		const schema = inferSchema(first.records);
		assert.deepEqual(Object.fromEntries(schema.fields.map((f) => [f.name, f.type === 'decimal' ? `decimal(${f.precision},${f.scale})` : f.type])), {
			zip: 'string',
			id: 'long',
			big: 'long',
			huge: 'decimal(30,0)',
			ratio: 'double',
			tiny: 'double',
			neg0: 'double',
			flag: 'boolean',
			when: 'timestamp',
			day: 'date',
			note: 'string',
			hex: 'string',
			price: 'decimal(12,2)',
		});
		const again = await read(text, schema);
		assert.deepEqual(again.mismatches, []);
		assert.equal(again.records[0].zip, '02134');
		assert.equal(again.records[1].id, 2147483648);
		assert.equal(again.records[0].big, 9007199254740993n);
		assert.deepEqual(again.records[0].huge, new ExactNumber('123456789012345678901234567890'));
		assert.deepEqual(again.records[0].neg0, new ExactNumber('-0'));
		assert.equal(again.records[1].flag, false);
		assert.deepEqual(again.records[0].price, new ExactNumber('10.00'));
		assert.deepEqual(again.records[2].price, new ExactNumber('5'));
	});
});

describe('CSV: origins and text', () => {
	it('each record names the file as given and its first line (multi-line cells and blank lines counted)', async () => {
		const { records, lines, files, path } = await read('a,b\n1,2\n\n3,"x\ny\nz"\n4,5\n\n\n6,"p\nq"\n');
		assert.deepEqual(
			records.map((r) => r.a),
			[1, 3, 4, 6],
		);
		assert.deepEqual(lines, [2, 4, 7, 10]);
		assert.deepEqual([...files], [path]);
		// CRLF files, CRLF inside quoted cells (csv-parse counts CR and LF apart: corrected)
		for (const eol of ['\n', '\r\n']) {
			const crlf = await read(`a,b${eol}1,2${eol}${eol}3,"x\r\ny"${eol}4,5${eol}6,"p\nq\r\n\r\nr"${eol}7,8${eol}`);
			assert.deepEqual(crlf.lines, [2, 4, 6, 7, 11], JSON.stringify(eol));
		}
	});

	it('a UTF-8 byte order mark is read, plain and gzip', async () => {
		const text = '\ufeffid,name\n1,Zoë\n';
		for (const bytes of [Buffer.from(text), gzipSync(text)]) {
			const { records } = await read(bytes, {
				fields: [
					{ name: 'id', type: 'int' },
					{ name: 'name', type: 'string' },
				],
			});
			assert.deepEqual(records, [{ id: 1, name: 'Zoë' }]);
		}
	});

	it('invalid UTF-8 is an error naming the file and line, not U+FFFD', async () => {
		const bytes = Buffer.concat([Buffer.from('a,b\n1,x\n2,'), Buffer.from([0xff, 0x41]), Buffer.from('\n3,y\n')]);
		await assert.rejects(read(bytes), (error: Error) => {
			assert.match(error.message, /malformed record in .*\.csv at line 3: byte 0xff is not valid UTF-8/);
			return true;
		});
	});

	it('UTF-8 checked across 1 MiB reads and gzip: a split character is fine, a broken one named by its line, a truncated end too', async () => {
		const row = 'x'.repeat(99) + '\n';
		const rows = Math.floor(((1 << 20) - 2) / row.length);
		const pad = 'y'.repeat((1 << 20) - 2 - 2 - rows * row.length - 1) + '\n';
		const lead = Buffer.from('v\n' + row.repeat(rows) + pad);
		assert.equal(lead.length, (1 << 20) - 2);
		const line = rows + 3;
		const ok = await read(Buffer.concat([lead, Buffer.from('😀\nend\n')]));
		assert.equal(ok.records.at(-2)!.v, '😀');
		assert.equal(ok.lines.at(-2), line);
		const broken = Buffer.concat([lead, Buffer.from('😀').subarray(0, 2), Buffer.from('\nend\n')]);
		await assert.rejects(read(broken), new RegExp(`at line ${line}: byte 0xf0 is not valid UTF-8`));
		await assert.rejects(read(gzipSync(broken)), new RegExp(`at line ${line}: byte 0xf0 is not valid UTF-8`));
		await assert.rejects(read(Buffer.concat([Buffer.from('v\n1\n'), Buffer.from('€').subarray(0, 2)])), /at line 3: the file ends inside a UTF-8 character/);
		await assert.rejects(read(Buffer.concat([Buffer.from('v\n1\n'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('\n')])), /at line 3: byte 0xed is not valid UTF-8/);
	});

	it('structure errors name the line and quote at most a bounded excerpt', async () => {
		await assert.rejects(read('a,b\n1,2\n3,4,5\n'), /at line 3: .*Invalid Record Length/);
		await assert.rejects(read('a,a\n1,2\n'), /at line 1: column "a" appears twice in the header/);
		const long = 'y'.repeat(5000);
		await assert.rejects(read(`a,b\n1,2\n3,x"${long}\n`), (error: Error) => {
			assert.match(error.message, /at line 3/);
			assert.ok(error.message.length < 400, `message of ${error.message.length} characters`);
			return true;
		});
	});
});
