import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RequestError } from '../../lib/errors';
import { runExport, type ExportRequest } from '../../lib/export/run';
import { readState, statePaths } from '../../lib/export/state';
import { addBatch, generateLake } from '../../scripts/sample/generator';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { LocalFolderStore } from '../../lib/storage/local';
import { filesUnder, tempDir } from '../helpers/fixtures';

const DS = 'journey_step_events';
const MARKER = 'exports/_dataset_export/destination.json';

async function setup(label: string, records = 900) {
	const lake = tempDir(`${label}-lake`);
	const out = tempDir(`${label}-out`);
	await generateLake({ dir: lake, records, seed: label, batches: 3, datasets: [DS, 'ajo_surfaces_dataset', 'journeys'] });
	return { lake, out, source: new LocalLakeSource(lake), store: new LocalFolderStore(out) };
}

const base = (over: Partial<ExportRequest> = {}): ExportRequest => ({
	datasetId: DS,
	mode: 'incremental',
	fileType: 'json',
	codec: 'gzip',
	folderPath: 'exports',
	...over,
});

describe('export engine', () => {
	it('incremental: backfill, then only new batches, then a visible empty run; manifest written last', async () => {
		const { lake, out, source, store } = await setup('inc');
		const first = await runExport(source, store, base({ exportTime: '2026-11-22T00:00:30Z' }));
		assert.equal(first.status, 'committed');
		assert.equal(first.window.from, '2026-01-01T00:00:00.000Z', 'the earliest batch exported');
		assert.equal(first.window.to, '2026-01-01T12:00:00.000Z', 'the latest batch exported');
		assert.equal(first.window.batches, 3);
		assert.equal(first.totals.records, 900);
		assert.equal(first.folder, 'exports/journey_step_events/exportTime=202611220000');
		assert.match(String(first.manifestPath), new RegExp(`^exports/journey_step_events/exportTime=202611220000/manifest-${first.destination.instanceId}-[0-9a-f-]{36}\\.json$`));
		assert.match(first.files[0].name, new RegExp(`^part-00000-${first.runId}\\.json\\.gz$`), 'data files carry the run id');
		assert.deepEqual(first.commit, { sequence: 1, path: 'exports/journey_step_events/_dataset_export/journey_step_events/commits/00000000000000000001.json' });
		assert.equal(readFileSync(join(out, first.commit!.path), 'utf8'), readFileSync(join(out, first.manifestPath!), 'utf8'), 'the manifest file is its commit record');
		const manifest = JSON.parse(readFileSync(join(out, first.manifestPath!), 'utf8'));
		assert.equal(manifest.flowRunId, first.runId);
		assert.equal(manifest.scheduledTime, '2026-11-22T00:00:00Z');
		assert.deepEqual(Object.keys(manifest.exportResults[0]), ['sinkPath', 'name', 'size', 'records', 'sha256']);
		assert.equal(manifest.exportResults[0].sinkPath, '/exports/journey_step_events/exportTime=202611220000');
		assert.equal(manifest.totals.records, 900);
		assert.ok(Date.parse(manifest.completedAt) >= Math.max(...first.files.map(() => Date.parse(manifest.startedAt))));

		await addBatch({ dir: lake, datasetId: DS, records: 77, ingestedAt: new Date('2026-02-01T00:00:00Z'), seed: 'new', firstIndex: 10_000 });
		const second = await runExport(source, store, base({ exportTime: '2026-11-22T06:00:00Z' }));
		assert.equal(second.status, 'committed');
		assert.deepEqual(second.window.batchIds.length, 1, 'only the batch no committed export holds');
		assert.equal(second.window.from, '2026-02-01T00:00:00.000Z');
		assert.equal(second.totals.records, 77);
		assert.equal(second.previousManifestPath, first.manifestPath);

		const third = await runExport(source, store, base({ exportTime: '2026-11-22T12:00:00Z' }));
		assert.equal(third.status, 'nothing-new');
		assert.equal(third.totals.files, 0);
		assert.equal(third.window.from, null);
		assert.equal(third.window.to, null);
		assert.ok(third.manifestPath, 'an empty run still commits a manifest (holding no batch), so it is visible and verifiable');
		assert.equal(third.commit?.sequence, 3);
	});

	it('a wiped destination gets a fresh backfill; full mode does not mark batches as exported', async () => {
		const { out, source, store } = await setup('wipe', 300);
		await runExport(source, store, base());
		const full = await runExport(source, store, base({ mode: 'full', folderPath: 'exports' }));
		assert.equal(full.totals.records, 300);
		const again = await runExport(source, store, base());
		assert.equal(again.status, 'nothing-new', 'full export did not disturb the incremental chain');
		rmSync(join(out, 'exports'), { recursive: true });
		const backfill = await runExport(source, store, base());
		assert.equal(backfill.totals.records, 300);
		assert.equal(backfill.commit?.sequence, 1);
	});

	it('full mode exports a complete snapshot on every run; start/end dates and lookback select batches', async () => {
		const { source, store } = await setup('full', 600);
		const a = await runExport(source, store, base({ mode: 'full' }));
		const b = await runExport(source, store, base({ mode: 'full' }));
		assert.equal(a.totals.records, 600);
		assert.equal(b.totals.records, 600);
		// batches are ingested at 00:00, 06:00 and 12:00 on 2026-01-01
		const middle = await runExport(source, store, base({ mode: 'full', startDate: '2026-01-01T00:00:00Z', endDate: '2026-01-01T06:00:00Z' }));
		assert.deepEqual(middle.window.batchIds, ['batch-0002']);
		assert.equal(middle.window.from, '2026-01-01T06:00:00.000Z');
		const lookback = await runExport(source, store, base({ mode: 'full', lookbackDays: 1, now: () => new Date('2026-01-02T03:00:00Z') }));
		assert.deepEqual(lookback.window.batchIds, ['batch-0002', 'batch-0003'], 'ingested after 2026-01-01T03:00');
		const shorter = await runExport(source, store, base({ mode: 'full', lookbackDays: 0.5, now: () => new Date('2026-01-01T18:00:00Z') }));
		assert.deepEqual(shorter.window.batchIds, ['batch-0003'], 'ingested after 2026-01-01T06:00');
	});

	it('splits files by record count and by size', async () => {
		const { source, store } = await setup('split', 900);
		const byRecords = await runExport(source, store, base({ mode: 'full', maxRecordsPerFile: 250 }));
		assert.deepEqual(
			byRecords.files.map((f) => f.records),
			[250, 250, 250, 150],
		);
		assert.deepEqual(
			byRecords.files.map((f) => f.name.slice(0, 10)),
			['part-00000', 'part-00001', 'part-00002', 'part-00003'],
		);
		const names = new Set(byRecords.files.map((f) => f.name));
		assert.equal(names.size, 4);
		for (const fileType of ['json', 'parquet'] as const) {
			const limit = 40_000;
			const bySize = await runExport(source, store, base({ mode: 'full', fileType, codec: fileType === 'json' ? 'none' : 'snappy', maxBytesPerFile: limit, rowGroupRows: 100 }));
			assert.ok(bySize.files.length >= 3, `${fileType}: ${bySize.files.length} files`);
			assert.equal(
				bySize.files.reduce((n, f) => n + f.records, 0),
				900,
			);
			for (const f of bySize.files.slice(1, -1)) assert.ok(f.size <= limit * 1.1 && f.size > limit * 0.5, `${fileType} file of ${f.size} bytes`);
		}
	});

	it('full mode without a manifest writes the files only, and reports it', async () => {
		const { out, source, store } = await setup('nomanifest', 120);
		const report = await runExport(source, store, base({ mode: 'full', includeManifest: false }));
		assert.equal(report.status, 'written-without-manifest');
		assert.equal(report.manifestPath, null);
		assert.equal(report.totals.records, 120);
		assert.deepEqual(
			filesUnder(out).filter((p) => p.includes('manifest-')),
			[],
		);
	});

	it('an empty dataset commits an empty export', async () => {
		const { source, store } = await setup('empty', 30);
		const report = await runExport(source, store, base({ datasetId: 'ajo_surfaces_dataset' }));
		assert.equal(report.totals.files, 0);
		assert.ok(report.manifestPath);
	});

	const head = async (store: LocalFolderStore) => (await readState(store, statePaths('exports/journey_step_events', DS), DS)).headRun?.manifestPath;

	describe('bad parameters: a clear error naming the parameter, nothing written, state unchanged', async () => {
		const { out, source, store } = await setup('bad', 90);
		const committed = await runExport(source, store, base({ exportTime: '2026-11-22T00:00:00Z' }));
		const before = filesUnder(out);
		const cases: Array<[string, Partial<ExportRequest>, string, RegExp]> = [
			['empty dataset id', { datasetId: '  ' }, 'datasetId', /Dataset is empty/],
			['unknown dataset id', { datasetId: 'no_such_dataset' }, 'datasetId', /dataset "no_such_dataset" does not exist/],
			['dataset id with a path', { datasetId: '../x' }, 'datasetId', /not a valid dataset id/],
			['folder path with ..', { folderPath: 'exports/../../etc' }, 'folderPath', /Folder Path .* must not contain "\.\."/],
			['unknown macro', { folderTemplate: '%DATASET_ID%/%NOPE%' }, 'folderTemplate', /unknown macro %NOPE%/],
			['zero max records', { maxRecordsPerFile: 0 }, 'maxRecordsPerFile', /Max Records per File must be a whole number above 0 \(remove the option for no limit\), not 0/],
			['negative max records', { maxRecordsPerFile: -5 }, 'maxRecordsPerFile', /Max Records per File must be a whole number above 0/],
			['zero max size', { maxBytesPerFile: 0 }, 'maxBytesPerFile', /Max File Size must be above 0/],
			['zero lookback', { lookbackDays: 0 }, 'lookbackDays', /Lookback Days must be above 0/],
			['fractional max records', { maxRecordsPerFile: 2.5 }, 'maxRecordsPerFile', /whole number/],
			['negative max size', { maxBytesPerFile: -1 }, 'maxBytesPerFile', /Max File Size must be above 0/],
			['end before start', { startDate: '2026-02-01', endDate: '2026-01-01' }, 'endDate', /End Date .* is before Start Date/],
			['bad date', { startDate: 'yesterday-ish' }, 'startDate', /Start Date: "yesterday-ish" is not a valid date/],
			['codec of another format', { fileType: 'json', codec: 'snappy' }, 'codec', /not available for JSON/],
			['unknown mode', { mode: 'sometimes' as never }, 'mode', /Mode must be/],
			['incremental without manifest', { includeManifest: false }, 'includeManifest', /Include Manifest must be on/],
			['negative lookback', { lookbackDays: -3 }, 'lookbackDays', /Lookback Days must be above 0/],
		];
		for (const [label, over, parameter, message] of cases) {
			it(label, async () => {
				await assert.rejects(runExport(source, store, base(over)), (error: unknown) => {
					assert.ok(error instanceof RequestError, `RequestError, got ${(error as Error).name}: ${(error as Error).message}`);
					assert.equal(error.field, parameter);
					assert.match(error.message, message);
					return true;
				});
				assert.deepEqual(filesUnder(out), before, 'nothing was written');
				assert.equal(await head(store), committed.manifestPath, 'state unchanged');
			});
		}
	});

	describe('failures while streaming leave nothing committed', async () => {
		it('a malformed record line in a later batch: no manifest, no data files, watermark unchanged', async () => {
			const { lake, out, source, store } = await setup('midfail', 3000);
			const committed = await runExport(source, store, base({ exportTime: '2026-11-22T00:00:00Z' }));
			const before = filesUnder(out);
			await addBatch({ dir: lake, datasetId: DS, records: 5000, ingestedAt: new Date('2026-03-01T00:00:00Z'), seed: 'ok', format: 'ndjson' });
			const bad = join(lake, DS, 'batches', 'zz-bad');
			mkdirSync(bad);
			writeFileSync(join(bad, 'batch.json'), JSON.stringify({ id: 'zz-bad', ingestedAt: '2026-03-02T00:00:00Z' }));
			writeFileSync(join(bad, 'part-0000.ndjson'), '{"_id":"a","timestamp":"2026-03-02T00:00:00Z"}\n{"_id": oops}\n');
			await assert.rejects(runExport(source, store, base({ exportTime: '2026-11-22T06:00:00Z', maxRecordsPerFile: 1000 })), (error: RequestError) => {
				assert.equal(error.field, 'datasetId');
				assert.match(error.message, /malformed record in .*zz-bad\/part-0000\.ndjson at line 2/);
				return true;
			});
			assert.deepEqual(filesUnder(out), before, 'the five files written before the failure (and its intent) were removed');
			assert.equal(await head(store), committed.manifestPath);
		});

		it('an unreadable lake file (corrupt gzip) fails the same way', async () => {
			const { lake, out, source, store } = await setup('gzfail', 60);
			const dir = join(lake, DS, 'batches', 'zz-corrupt');
			mkdirSync(dir);
			writeFileSync(join(dir, 'part.ndjson.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5]));
			await assert.rejects(runExport(source, store, base()), /cannot read lake file .*part\.ndjson\.gz/);
			assert.deepEqual(filesUnder(out), [MARKER], 'only the destination marker written at the first contact');
		});

		it('a record that does not fit the declared schema names the field', async () => {
			const { lake, out, source, store } = await setup('schemafail', 60);
			appendFileSync(join(lake, DS, 'batches', 'batch-0003', 'part-0000.ndjson'), '{"_id":"x","timestamp":"2026-01-01T11:00:00Z","profileId":"not-a-number"}\n');
			await assert.rejects(runExport(source, store, base({ fileType: 'parquet', codec: 'snappy' })), /field "profileId": expected a 64-bit integer, got "not-a-number"/);
			assert.deepEqual(filesUnder(out), [MARKER]);
		});

		it('a destination folder that does not exist is refused before anything is read', async () => {
			const { source } = await setup('nodest', 30);
			await assert.rejects(runExport(source, new LocalFolderStore('/nonexistent/exports'), base()), /destination folder \/nonexistent\/exports does not exist/);
		});

		it('an aborted run (cancelled execution) commits nothing', async () => {
			const { out, source, store } = await setup('abort', 3000);
			const controller = new AbortController();
			await assert.rejects(runExport(source, store, base({ signal: controller.signal, onProgress: ({ records }) => records >= 1000 && controller.abort() })), /abort/i);
			assert.deepEqual(filesUnder(out), [MARKER]);
		});
	});
});
