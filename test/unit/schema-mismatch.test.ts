/**
 * On Schema Mismatch through the real engine, the real local lake and the real Parquet encoder:
 * Fail names where and what and commits nothing; Skip Record leaves out exactly the records that
 * do not fit and counts them; Evolve writes every record, widening the schema file by file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { RequestError } from '../../lib/errors';
import { runExport, type ExportRequest } from '../../lib/export/run';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { LocalFolderStore } from '../../lib/storage/local';
import { FaultyStore, timeoutError } from '../helpers/faulty-store';
import { filesUnder, tempDir } from '../helpers/fixtures';

const SCHEMA = {
	fields: [
		{ name: 'id', type: 'long' },
		{ name: 'ok', type: 'boolean' },
		{ name: 'n', type: 'int' },
		{ name: 'tags', type: 'array', items: { type: 'string' } },
	],
};

/** A lake with one dataset `ds` declaring SCHEMA, one batch per entry of `batches` (NDJSON lines). */
function lake(label: string, batches: string[][], files: 'ndjson' | 'csv' = 'ndjson') {
	const dir = tempDir(`${label}-lake`);
	const ds = join(dir, 'ds');
	mkdirSync(ds, { recursive: true });
	writeFileSync(join(ds, 'dataset.json'), JSON.stringify({ name: 'ds', kind: 'event', schema: SCHEMA }));
	batches.forEach((lines, i) => {
		const batch = join(ds, 'batches', `b${i + 1}`);
		mkdirSync(batch, { recursive: true });
		writeFileSync(join(batch, 'batch.json'), JSON.stringify({ id: `b${i + 1}`, ingestedAt: `2026-01-0${i + 1}T00:00:00Z`, recordCount: lines.length - (files === 'csv' ? 1 : 0) }));
		writeFileSync(join(batch, `part.${files}`), lines.join('\n') + '\n');
	});
	return dir;
}

const good = (id: number) => JSON.stringify({ id, ok: id % 2 === 0, n: id, tags: [`t${id}`] });

const request = (over: Partial<ExportRequest> = {}): ExportRequest => ({
	datasetId: 'ds',
	mode: 'incremental',
	fileType: 'parquet',
	codec: 'snappy',
	folderPath: 'out',
	...over,
});

async function readParquet(path: string) {
	const bytes = readFileSync(path);
	const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
	const metadata = await parquetMetadataAsync(file);
	const columns = parquetSchema(metadata).children.map((c) => c.element.name);
	const rows = (await parquetReadObjects({ file, metadata })) as Record<string, unknown>[];
	return { columns, rows };
}

const dataFiles = (out: string) =>
	filesUnder(out)
		.filter((f) => f.endsWith('.parquet'))
		.map((f) => join(out, f));

describe('On Schema Mismatch', () => {
	const batches = () => [
		[good(1), good(2), JSON.stringify({ id: 3, ok: 'maybe', n: 3, tags: [] }), good(4)],
		[good(5), JSON.stringify({ id: 6, ok: true, n: 6, tags: [], extra: 'new' }), good(7)],
	];

	it('Fail (the default): the error names dataset, batch, file, line, field, value and expected type; nothing is committed', async () => {
		const out = tempDir('mm-fail-out');
		const source = new LocalLakeSource(lake('mm-fail', batches()));
		const failed = await runExport(source, new LocalFolderStore(out), request()).then(
			() => assert.fail('the run should fail'),
			(error: unknown) => error,
		);
		assert.ok(failed instanceof RequestError, String(failed));
		assert.equal(failed.field, 'schemaMismatch');
		for (const part of ['"ds"', '"b1"', 'part.ndjson', 'line 3', '"ok"', 'a boolean', '"maybe"', 'Skip Record']) {
			assert.ok(failed.message.includes(part), `the message names ${part}: ${failed.message}`);
		}
		assert.deepEqual(dataFiles(out), [], 'no data file is left');
		assert.deepEqual(
			filesUnder(out).filter((f) => f.includes('/commits/')),
			[],
			'nothing committed',
		);
	});

	it('Skip Record: leaves out exactly the records that do not fit, counted in the report and the manifest, and the next run exports nothing again', async () => {
		const out = tempDir('mm-skip-out');
		const source = new LocalLakeSource(lake('mm-skip', batches()));
		const store = new LocalFolderStore(out);
		const report = await runExport(source, store, request({ schemaMismatch: 'skip', maxRecordsPerFile: 2 }));
		assert.equal(report.status, 'committed');
		assert.equal(report.totals.records, 5);
		assert.equal(report.skipped.records, 2);
		assert.deepEqual(
			report.skipped.examples.map((e) => [e.batch, e.line, e.field, e.kind, e.value]),
			[
				['b1', 3, 'ok', 'type', '"maybe"'],
				['b2', 2, 'extra', 'unknown_field', '"new"'],
			],
		);
		assert.ok(report.warnings.some((w) => w.includes('2 record(s) did not fit the schema')));
		const manifest = JSON.parse(readFileSync(join(out, report.manifestPath!), 'utf8'));
		assert.equal(manifest.skipped.records, 2);
		assert.deepEqual(
			manifest.batches.map((b: { id: string; exported: number; skipped?: number }) => [b.id, b.exported, b.skipped]),
			[
				['b1', 3, 1],
				['b2', 2, 1],
			],
		);
		const ids: bigint[] = [];
		for (const f of dataFiles(out)) for (const row of (await readParquet(f)).rows) ids.push(row.id as bigint);
		assert.deepEqual(ids.map(Number).sort(), [1, 2, 4, 5, 7]);
		const again = await runExport(source, store, request({ schemaMismatch: 'skip' }));
		assert.equal(again.status, 'nothing-new', 'skipped records are a decision, not a backlog');
	});

	it('Evolve: every record is written; a new field becomes a new nullable column, a conflicting type is widened; the manifest has the widest schema', async () => {
		const out = tempDir('mm-evolve-out');
		const source = new LocalLakeSource(lake('mm-evolve', batches()));
		const report = await runExport(source, new LocalFolderStore(out), request({ schemaMismatch: 'evolve' }));
		assert.equal(report.status, 'committed');
		assert.equal(report.totals.records, 7);
		assert.equal(report.skipped.records, 0);
		assert.equal(report.schemaEvolution.length, 2, JSON.stringify(report.schemaEvolution));
		assert.match(report.schemaEvolution[0].changes.join(';'), /ok: boolean → /);
		assert.match(report.schemaEvolution[1].changes.join(';'), /added extra: string/);
		const manifest = JSON.parse(readFileSync(join(out, report.manifestPath!), 'utf8'));
		const fields = manifest.schema.fields.map((f: { name: string; type: string }) => `${f.name}:${f.type}`);
		assert.ok(fields.includes('extra:string'), fields.join(','));
		assert.ok(!fields.includes('ok:boolean'), 'ok was widened');
		assert.equal(manifest.exportResults.length, 3, 'a new file from each schema change on');
		const rows: Record<string, unknown>[] = [];
		const columnsByFile: string[][] = [];
		for (const entry of manifest.exportResults as { name: string }[]) {
			const read = await readParquet(join(out, report.folder, entry.name));
			columnsByFile.push(read.columns);
			rows.push(...read.rows);
		}
		assert.deepEqual(columnsByFile[0], ['id', 'ok', 'n', 'tags']);
		assert.deepEqual(columnsByFile[2], ['id', 'ok', 'n', 'tags', 'extra']);
		assert.deepEqual(
			rows.map((r) => Number(r.id)),
			[1, 2, 3, 4, 5, 6, 7],
		);
		const three = rows.find((r) => Number(r.id) === 3)!;
		assert.ok(JSON.stringify(three.ok).includes('maybe'), `the value is kept: ${JSON.stringify(three.ok)}`);
		assert.equal(rows.find((r) => Number(r.id) === 6)!.extra, 'new');
	});

	it('a plain-folder lake: a CSV cell that does not fit the inferred type names the file relative to Lake Path and its line', async () => {
		const dir = tempDir('mm-plain-lake');
		mkdirSync(join(dir, 'plain'), { recursive: true });
		const rows = ['id,ok', ...Array.from({ length: 600 }, (_, i) => `${i},${i === 549 ? 'maybe' : i % 2 === 0}`)];
		writeFileSync(join(dir, 'plain', 'data.csv'), rows.join('\n') + '\n');
		const out = tempDir('mm-plain-out');
		const failed = await runExport(new LocalLakeSource(dir), new LocalFolderStore(out), request({ datasetId: 'plain' })).then(
			() => assert.fail('the run should fail'),
			(error: unknown) => error as Error,
		);
		assert.match(failed.message, /file "plain\/data\.csv" line 551\): field "ok": expected a boolean, got "maybe"/);
		assert.ok(!failed.message.includes(dir), 'no host path in the message');
		const skipped = await runExport(new LocalLakeSource(dir), new LocalFolderStore(out), request({ datasetId: 'plain', schemaMismatch: 'skip' }));
		assert.equal(skipped.totals.records, 599);
		assert.deepEqual(
			skipped.skipped.examples.map((e) => [e.file, e.line, e.field]),
			[['plain/data.csv', 551, 'ok']],
		);
	});

	it('NDJSON output imposes no schema: records are written as they are, nothing is a mismatch', async () => {
		const out = tempDir('mm-json-out');
		const source = new LocalLakeSource(lake('mm-json', batches()));
		const report = await runExport(source, new LocalFolderStore(out), request({ fileType: 'json', codec: 'none' }));
		assert.equal(report.totals.records, 7);
		const text = filesUnder(out)
			.filter((f) => f.endsWith('.json') && !f.includes('manifest') && !f.includes('_dataset_export'))
			.map((f) => readFileSync(join(out, f), 'utf8'))
			.join('');
		assert.ok(text.includes('"ok":"maybe"') && text.includes('"extra":"new"'));
	});

	for (const policy of ['skip', 'evolve'] as const) {
		it(`${policy}: a file written again after a failed upload meets the same records once (counts and schema changes are not doubled)`, async () => {
			const out = tempDir(`mm-retry-${policy}-out`);
			const source = new LocalLakeSource(lake(`mm-retry-${policy}`, batches()));
			// every data file's first upload times out: each is written again from its first record
			const seen = new Set<string>();
			const store = new FaultyStore(new LocalFolderStore(out), {
				write: (path) => {
					const file = /part-(\d+)/.exec(path)?.[1];
					if (!file || seen.has(file)) return undefined;
					seen.add(file);
					return { kind: 'fail', error: timeoutError(path) };
				},
			});
			const report = await runExport(source, store, request({ schemaMismatch: policy, maxRecordsPerFile: 3, retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 10 } }));
			assert.ok(report.retries.files >= 2, `files were retried: ${JSON.stringify(report.retries)}`);
			if (policy === 'skip') {
				assert.equal(report.skipped.records, 2);
				assert.equal(report.totals.records, 5);
			} else {
				assert.equal(report.schemaEvolution.length, 2, JSON.stringify(report.schemaEvolution));
				assert.equal(report.totals.records, 7);
			}
			const listed = new Set(report.files.map((f) => f.name));
			assert.deepEqual(
				readdirSync(join(out, report.folder))
					.filter((f) => f.endsWith('.parquet'))
					.sort(),
				[...listed].sort(),
				'only listed files remain',
			);
		});
	}
});
