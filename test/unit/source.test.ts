import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { readJsonArray, readNdjson } from '../../lib/source/readers';
import type { DatasetRecord } from '../../lib/source/types';
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
		assert.deepEqual(batches.map((b) => [b.id, b.ingestedAt]), [
			['2026-01.csv', '2026-01-31T00:00:00.000Z'],
			['2026-02.ndjson.gz', '2026-02-28T00:00:00.000Z'],
		]);
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
		await assert.rejects(new LocalLakeSource('/nonexistent/lake').listDatasets(), /cannot read the lake folder/);
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
