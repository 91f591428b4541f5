import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { ORIGIN } from '../../lib/mismatch';
import { readFile, readJsonArray, readNdjson } from '../../lib/source/readers';
import { RAW_JSON, type DatasetRecord, type RecordChunk } from '../../lib/source/types';
import { tempDir } from '../helpers/fixtures';

async function collect(iterable: AsyncIterable<DatasetRecord[]>): Promise<DatasetRecord[]> {
	const out: DatasetRecord[] = [];
	for await (const chunk of iterable) out.push(...chunk);
	return out;
}

describe('lake readers', () => {
	const dir = tempDir('readers');

	it('NDJSON: plain and gzip (detected from bytes), CRLF, blank lines, chunking', async () => {
		const lines = Array.from({ length: 5001 }, (_, i) => JSON.stringify({ i, s: 'Zoë 李' + i }));
		const text = lines.join('\r\n') + '\r\n\r\n';
		writeFileSync(join(dir, 'a.ndjson'), text);
		writeFileSync(join(dir, 'b.json'), gzipSync(text)); // gzip without a .gz suffix
		for (const name of ['a.ndjson', 'b.json']) {
			const chunks: number[] = [];
			for await (const chunk of readNdjson(join(dir, name), 2000)) chunks.push(chunk.length);
			assert.deepEqual(chunks, [2000, 2000, 1001], name);
		}
		const records = await collect(readNdjson(join(dir, 'a.ndjson'), 100));
		assert.equal(records[4321].s, 'Zoë 李4321');
	});

	it('NDJSON: a malformed line names the file and line number', async () => {
		writeFileSync(join(dir, 'bad.ndjson'), '{"a":1}\n{"a":2}\n{"a":\n{"a":4}\n');
		await assert.rejects(collect(readNdjson(join(dir, 'bad.ndjson'), 10)), /malformed record in .*bad\.ndjson at line 3/);
		writeFileSync(join(dir, 'scalar.ndjson'), '{"a":1}\n[1,2]\n');
		await assert.rejects(collect(readNdjson(join(dir, 'scalar.ndjson'), 10)), /line 2: expected a JSON object, got an array/);
	});

	it('JSON arrays stream element by element across 1 MiB chunk boundaries', async () => {
		const records = Array.from({ length: 30000 }, (_, i) => ({ i, nested: { list: [i, '}]"\\'], text: 'x'.repeat(i % 50) } }));
		writeFileSync(join(dir, 'arr.json'), JSON.stringify(records, null, 1));
		const read = await collect(readJsonArray(join(dir, 'arr.json'), 1000));
		assert.equal(read.length, records.length);
		assert.deepEqual(read[29999], records[29999]);
		assert.deepEqual(read[12345], records[12345]);
	});

	it('JSON arrays: unclosed or non-array documents are malformed', async () => {
		writeFileSync(join(dir, 'open.json'), '[{"a":1},{"a":2}');
		await assert.rejects(collect(readJsonArray(join(dir, 'open.json'), 10)), /not closed/);
		writeFileSync(join(dir, 'obj.json'), '{"a":1');
		await assert.rejects(collect(readJsonArray(join(dir, 'obj.json'), 10)), /one array of records/);
	});
});

describe('lake readers: UTF-8, origins, bounded messages', () => {
	const dir = tempDir('text');
	const bom = Buffer.from([0xef, 0xbb, 0xbf]);

	/** Records and each record's [file, line] from ORIGIN. */
	async function withOrigins(iterable: AsyncIterable<DatasetRecord[]>) {
		const records: DatasetRecord[] = [];
		const at: [string, number][] = [];
		for await (const chunk of iterable as AsyncIterable<RecordChunk>) {
			const origin = chunk[ORIGIN]!;
			chunk.forEach((_, i) => at.push([origin.file, origin.lines?.[i] ?? origin.firstLine! + i]));
			records.push(...chunk);
		}
		return { records, at };
	}

	it('a UTF-8 byte order mark at the start is read: NDJSON, JSON array, plain and gzip, .json sniffing', async () => {
		const ndjson = Buffer.concat([bom, Buffer.from('{"a":"Zoë"}\n{"a":2}\n')]);
		const array = Buffer.concat([bom, Buffer.from('[{"a":"Zoë"},\n{"a":2}]')]);
		writeFileSync(join(dir, 'bom.ndjson'), ndjson);
		writeFileSync(join(dir, 'bom.ndjson.gz'), gzipSync(ndjson));
		writeFileSync(join(dir, 'bom-lines.json'), ndjson);
		writeFileSync(join(dir, 'bom-array.json'), array);
		writeFileSync(join(dir, 'bom-array.json.gz'), gzipSync(array));
		for (const name of ['bom.ndjson', 'bom.ndjson.gz']) {
			assert.deepEqual(await collect(readNdjson(join(dir, name), 10)), [{ a: 'Zoë' }, { a: 2 }], name);
		}
		for (const name of ['bom-lines.json', 'bom-array.json', 'bom-array.json.gz']) {
			assert.deepEqual(await collect(readFile(join(dir, name), 'json', undefined, 10)), [{ a: 'Zoë' }, { a: 2 }], name);
		}
		// the raw text handed to JSON encoders has no BOM either
		for await (const chunk of readNdjson(join(dir, 'bom.ndjson'), 10, undefined, true)) {
			assert.deepEqual((chunk as RecordChunk)[RAW_JSON], ['{"a":"Zoë"}', '{"a":2}']);
		}
		// a BOM anywhere else is content, not a mark: in a JSON array it is malformed
		writeFileSync(join(dir, 'mid-bom.json'), '[{"a":1},\ufeff{"a":2}]');
		await assert.rejects(collect(readJsonArray(join(dir, 'mid-bom.json'), 10)), /malformed record/);
	});

	it('invalid UTF-8 is an error naming the file and line (NDJSON, JSON array, gzip, across chunk boundaries, at the end)', async () => {
		const bad = (before: string, bytes: number[], after = '') => Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
		const cases: [string, Buffer, RegExp][] = [
			['lone.ndjson', bad('{"a":1}\n{"a":2}\n{"a":"', [0xff], '"}\n{"a":4}\n'), /bad-lone\.ndjson at line 3: byte 0xff is not valid UTF-8/],
			['surrogate.ndjson', bad('{"a":1}\n{"a":"', [0xed, 0xa0, 0x80], '"}\n'), /at line 2: byte 0xed is not valid UTF-8/],
			['overlong.ndjson', bad('\n\n{"a":"', [0xc0, 0xaf], '"}\n'), /at line 3: byte 0xc0/],
			['truncated.ndjson', bad('{"a":1}\n{"a":"x', [0xe2, 0x82]), /at line 2: the file ends inside a UTF-8 character/],
			['array.json', bad('[\n{"a":1},\n{"a":"', [0xfe], '"}]'), /bad-array\.json at line 3: byte 0xfe/],
		];
		for (const [name, bytes, expected] of cases) {
			writeFileSync(join(dir, `bad-${name}`), bytes);
			writeFileSync(join(dir, `bad-${name}.gz`), gzipSync(bytes));
			const format = name.endsWith('.json') ? 'json' : 'ndjson';
			await assert.rejects(collect(readFile(join(dir, `bad-${name}`), format, undefined, 10)), expected, name);
			await assert.rejects(collect(readFile(join(dir, `bad-${name}.gz`), format, undefined, 10)), /is not valid UTF-8|ends inside a UTF-8/, `${name}.gz`);
		}
		// a four-byte character split by the 1 MiB read boundary is fine; a broken one there is named by its line
		const filler = '{"p":"' + 'x'.repeat(1000) + '"}\n';
		const head = filler.repeat(Math.floor((1 << 20) / filler.length));
		const pad = '{"p":"' + 'y'.repeat((1 << 20) - head.length - 17) + '"}\n';
		const lead = Buffer.from(head + pad + '{"e":"');
		assert.equal(lead.length, (1 << 20) - 2);
		const emoji = Buffer.from('😀');
		writeFileSync(join(dir, 'split-ok.ndjson'), Buffer.concat([lead, emoji, Buffer.from('"}\n')]));
		const good = await collect(readNdjson(join(dir, 'split-ok.ndjson'), 5000));
		assert.equal(good.at(-1)!.e, '😀');
		const line = head.split('\n').length + 1;
		writeFileSync(join(dir, 'split-bad.ndjson'), Buffer.concat([lead, emoji.subarray(0, 3), Buffer.from('"}\n')]));
		await assert.rejects(collect(readNdjson(join(dir, 'split-bad.ndjson'), 5000)), new RegExp(`at line ${line}: byte 0xf0 is not valid UTF-8`));
		// U+FFFD written as such is valid text
		writeFileSync(join(dir, 'fffd.ndjson'), '{"a":"\ufffd"}\n');
		assert.deepEqual(await collect(readNdjson(join(dir, 'fffd.ndjson'), 10)), [{ a: '\ufffd' }]);
	});

	it('each record carries its file (as given) and 1-based line: NDJSON with blank lines, JSON arrays by element start', async () => {
		const ndjson = join(dir, 'lines.ndjson');
		writeFileSync(ndjson, '{"i":1}\r\n\r\n{"i":2}\n   \n{"i":3}\n{"i":4}');
		const a = await withOrigins(readNdjson(ndjson, 2));
		assert.deepEqual(
			a.records.map((r) => r.i),
			[1, 2, 3, 4],
		);
		assert.deepEqual(a.at, [
			[ndjson, 1],
			[ndjson, 3],
			[ndjson, 5],
			[ndjson, 6],
		]);
		const jsonText = await withOrigins(readNdjson(ndjson, 3, undefined, true));
		assert.deepEqual(
			jsonText.at.map(([, l]) => l),
			[1, 3, 5, 6],
		);
		const array = join(dir, 'lines.json');
		writeFileSync(array, '[\n  {"i": 1},\n  {\n    "i": 2\n  }, {"i": 3},\n\n  {"i": 4}\n]\n');
		const b = await withOrigins(readJsonArray(array, 3));
		assert.deepEqual(
			b.records.map((r) => r.i),
			[1, 2, 3, 4],
		);
		assert.deepEqual(b.at, [
			[array, 2],
			[array, 3],
			[array, 5],
			[array, 7],
		]);
		const sniffed = await withOrigins(readFile(array, 'json', undefined, 10));
		assert.deepEqual(
			sniffed.at.map(([, l]) => l),
			[2, 3, 5, 7],
		);
	});

	it('a malformed record shows a short, bounded excerpt of itself only', async () => {
		const secret = 'S'.repeat(10_000);
		writeFileSync(join(dir, 'long.ndjson'), `{"a":1}\n{"a":"${secret}", oops}\n`);
		writeFileSync(join(dir, 'long-token.ndjson'), `{"a":1}\n{"b": ${'x'.repeat(10_000)}}\n`);
		writeFileSync(join(dir, 'long.json'), `[{"a":1},\n{"a":"${secret}" oops}]`);
		for (const [name, format] of [
			['long.ndjson', 'ndjson'],
			['long-token.ndjson', 'ndjson'],
			['long.json', 'json'],
		] as const) {
			for (const jsonText of [false, true]) {
				await assert.rejects(collect(readFile(join(dir, name), format, undefined, 10, undefined, jsonText)), (error: Error) => {
					assert.match(error.message, /at line 2: /, name);
					const quoted = error.message.match(/[SX]+/gi) ?? [];
					assert.ok(Math.max(0, ...quoted.map((q) => q.length)) <= 60, `${name}: ${error.message}`);
					assert.ok(error.message.length < 400, `${name}: ${error.message.length} characters`);
					return true;
				});
			}
		}
	});
});

describe('local lake', () => {
	it('reads a plain folder of files: sub-folder = dataset, file = batch, mtime = ingestion time', async () => {
		const lake = tempDir('plain');
		mkdirSync(join(lake, 'orders'));
		writeFileSync(join(lake, 'orders', '2026-01.csv'), 'id,amount,when,note\n1,9.5,2026-01-01T00:00:00Z,"a, b"\n2,,2026-01-02T00:00:00Z,\n');
		writeFileSync(join(lake, 'orders', '2026-02.ndjson.gz'), gzipSync('{"id":3,"amount":1.25,"when":"2026-02-01T00:00:00Z","note":"ünï"}\n'));
		writeFileSync(join(lake, 'orders', 'README.txt'), 'not data');
		utimesSync(join(lake, 'orders', '2026-01.csv'), new Date('2026-01-31T00:00:00Z'), new Date('2026-01-31T00:00:00Z'));
		utimesSync(join(lake, 'orders', '2026-02.ndjson.gz'), new Date('2026-02-28T00:00:00Z'), new Date('2026-02-28T00:00:00Z'));
		const source = new LocalLakeSource(lake);
		const [dataset] = await source.listDatasets();
		assert.equal(dataset.id, 'orders');
		assert.equal(dataset.batchCount, 2);
		assert.equal(dataset.schemaSource, 'inferred');
		assert.deepEqual(
			dataset.schema?.fields.map((f) => `${f.name}:${f.type}`),
			['id:int', 'amount:double', 'when:timestamp', 'note:string'],
		);
		const batches = await source.listBatches('orders');
		assert.deepEqual(
			batches.map((b) => [b.id, b.ingestedAt]),
			[
				['2026-01.csv', '2026-01-31T00:00:00.000Z'],
				['2026-02.ndjson.gz', '2026-02-28T00:00:00.000Z'],
			],
		);
		const records = await collect(source.readBatch(dataset, batches[0]));
		assert.deepEqual(records, [
			{ id: 1, amount: 9.5, when: '2026-01-01T00:00:00Z', note: 'a, b' },
			{ id: 2, amount: null, when: '2026-01-02T00:00:00Z', note: null },
		]);
	});

	it('unknown and invalid dataset ids are clear errors', async () => {
		const source = new LocalLakeSource(tempDir('empty'));
		await assert.rejects(source.getDataset('nope'), /dataset "nope" does not exist/);
		await assert.rejects(source.getDataset('../etc'), /not a valid dataset id/);
		await assert.rejects(new LocalLakeSource('/nonexistent/lake').listDatasets(), /Lake Path: the folder \/nonexistent\/lake does not exist/);
	});

	it('a broken dataset.json makes the dataset ineligible, not the listing fail', async () => {
		const lake = tempDir('broken');
		mkdirSync(join(lake, 'bad', 'batches', 'b1'), { recursive: true });
		writeFileSync(join(lake, 'bad', 'dataset.json'), '{"schema": {"fields": [{"name": "x", "type": "nope"}]}}');
		writeFileSync(join(lake, 'bad', 'batches', 'b1', 'p.ndjson'), '{"x":1}\n');
		const [dataset] = await new LocalLakeSource(lake).listDatasets();
		assert.match(String(dataset.problem), /unknown type "nope"/);
	});
});
