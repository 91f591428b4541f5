import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Manifest } from '../../lib/export/manifest';
import { runExport, type ExportReport, type ExportRequest } from '../../lib/export/run';
import { statePaths } from '../../lib/export/state';
import { addBatch, generateLake } from '../../scripts/sample/generator';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { LocalFolderStore } from '../../lib/storage/local';
import { verifyExport } from '../../lib/verify/verify';
import { tempDir } from '../helpers/fixtures';

const DS = 'ajo_message_feedback_event_dataset';

async function exported(label: string, over: Partial<ExportRequest> = {}) {
	const lake = tempDir(`${label}-lake`);
	const out = tempDir(`${label}-out`);
	await generateLake({ dir: lake, records: 600, seed: label, batches: 3, datasets: [DS] });
	const source = new LocalLakeSource(lake);
	const store = new LocalFolderStore(out);
	const request: ExportRequest = { datasetId: DS, mode: 'incremental', fileType: 'json', codec: 'gzip', folderPath: 'x', maxRecordsPerFile: 250, ...over };
	const report = await runExport(source, store, request);
	return { lake, out, source, store, report, request };
}

const editManifest = (out: string, report: ExportReport, edit: (m: Manifest) => void) => {
	const path = join(out, report.manifestPath!);
	const manifest = JSON.parse(readFileSync(path, 'utf8'));
	edit(manifest);
	writeFileSync(path, JSON.stringify(manifest));
};

/** The intent a run of the export's dataset writes when it starts now, in the export's folder (a run in progress). */
const runIntent = (report: ExportReport, runId: string, over: object = {}) => ({
	protocol: 1,
	runId,
	datasetId: DS,
	folder: report.folder,
	mode: 'incremental',
	exportTime: report.exportTime,
	base: 1,
	startedAt: new Date().toISOString(),
	...over,
});

describe('Verify Export engine', () => {
	for (const fileType of ['json', 'parquet'] as const) {
		it(`a good ${fileType} export passes every check`, async () => {
			const { store, report } = await exported(`ok-${fileType}`, { fileType, codec: fileType === 'json' ? 'gzip' : 'snappy' });
			const verdict = await verifyExport(store, { manifestPath: report.manifestPath! });
			assert.deepEqual(verdict.problems, []);
			assert.equal(verdict.ok, true);
			assert.equal(verdict.files.length, 3);
			for (const f of verdict.files) {
				assert.equal(f.readable, true);
				assert.equal(f.sha256.source, 'streamed');
				assert.equal(f.sha256.actual, f.sha256.expected);
				assert.equal(f.records.actual, f.records.expected);
			}
			assert.equal(verdict.totals.records, 600);
			assert.equal(verdict.continuity.checked, true);
		});
	}

	it('finds a missing file, a changed size, changed bytes and a wrong record count', async () => {
		const { out, store, report } = await exported('broken');
		const [a, b, c] = report.files;
		rmSync(join(out, a.path));
		writeFileSync(join(out, b.path), Buffer.concat([readFileSync(join(out, b.path)), Buffer.from('extra')]));
		const bytes = readFileSync(join(out, c.path));
		bytes[bytes.length - 12] ^= 0xff; // same size, different content
		writeFileSync(join(out, c.path), bytes);
		const verdict = await verifyExport(store, { manifestPath: report.manifestPath! });
		assert.equal(verdict.ok, false);
		const byName = Object.fromEntries(verdict.files.map((f) => [f.name, f]));
		assert.deepEqual(byName[a.name].problems, ['file is missing']);
		assert.ok(byName[b.name].problems.some((p) => /size is \d+ bytes, the manifest says/.test(p)));
		assert.ok(byName[c.name].problems.some((p) => /SHA-256 is [0-9a-f]{64}, the manifest says/.test(p)));
		assert.ok(
			byName[c.name].problems.some((p) => /not a readable NDJSON file: the gzip/.test(p)),
			byName[c.name].problems.join('; '),
		);
	});

	it('finds a record count that does not match', async () => {
		const { out, store, report } = await exported('count');
		editManifest(out, report, (m) => (m.exportResults[1].records += 1));
		const verdict = await verifyExport(store, { manifestPath: report.manifestPath! });
		assert.ok(
			verdict.problems.some((p) => /holds 250 records, the manifest says 251/.test(p)),
			verdict.problems.join('\n'),
		);
		assert.ok(verdict.problems.some((p) => /totals\.records is 600, the files add up to 601/.test(p)));
	});

	it('finds a truncated Parquet file and a codec other than the manifest says', async () => {
		const { out, store, report } = await exported('pq', { fileType: 'parquet', codec: 'snappy' });
		truncateSync(join(out, report.files[0].path), report.files[0].size - 10);
		editManifest(out, report, (m) => (m.format.codec = 'gzip'));
		const verdict = await verifyExport(store, { manifestPath: report.manifestPath!, checksums: false });
		assert.ok(
			verdict.files[0].problems.some((p) => /not a readable Parquet file: it does not end with the Parquet magic bytes/.test(p)),
			verdict.files[0].problems.join('; '),
		);
		assert.ok(verdict.files[1].problems.some((p) => /Parquet codec is SNAPPY, the manifest says GZIP/.test(p)));
		assert.equal(verdict.files[1].sha256.source, 'skipped');
	});

	it('reports files no manifest lists (left by a failed run)', async () => {
		const { out, store, report } = await exported('orphan');
		writeFileSync(join(out, report.folder, 'part-00000-deadbeef.json.gz'), 'half a file');
		const verdict = await verifyExport(store, { manifestPath: report.manifestPath! });
		assert.deepEqual(verdict.orphans, [`${report.folder}/part-00000-deadbeef.json.gz`]);
		assert.equal(verdict.ok, false);
		assert.equal((await verifyExport(store, { manifestPath: report.manifestPath!, checkOrphans: false })).ok, true);
	});

	it('files of a run that may still be running are in progress (a warning) until its own Remove Leftovers After; then, or once abandoned or done, left behind (a problem)', async () => {
		const { out, store, report } = await exported('in-progress');
		const paths = statePaths(report.statePrefix, DS);
		const runId = '0190a0a0-0000-7000-8000-0000000000aa';
		const file = `${report.folder}/part-00000-${runId}.json.gz`;
		writeFileSync(join(out, file), 'half a file');
		const intent = runIntent(report, runId, { cleanupAfterMs: 3_600_000 });
		const writeIntent = (body: object) => writeFileSync(join(out, paths.intent(runId)), JSON.stringify(body));
		const verify = () => verifyExport(store, { manifestPath: report.manifestPath! });
		writeIntent(intent);
		let verdict = await verify();
		assert.equal(verdict.ok, true, verdict.problems.join('; '));
		assert.deepEqual(
			verdict.inProgress.map((r) => [r.runId, r.files]),
			[[runId, [file]]],
		);
		assert.deepEqual(verdict.orphans, []);
		assert.match(verdict.warnings.join('\n'), new RegExp(`run ${runId} \\(started .*\\) has not committed and may still be running: its 1 file\\(s\\)`));

		// older than its own Remove Leftovers After: left behind
		writeIntent({ ...intent, cleanupAfterMs: 0 });
		verdict = await verify();
		assert.equal(verdict.ok, false);
		assert.deepEqual(verdict.orphans, [file]);
		assert.match(verdict.unlisted[0].why, /never committed/);
		assert.deepEqual(verdict.inProgress, []);

		// an intent from before the age was recorded: the 24-hour default
		writeIntent({ ...intent, cleanupAfterMs: undefined });
		assert.equal((await verify()).ok, true);

		// abandoned by a later run, or finished (done marker) without committing: left behind
		writeFileSync(join(out, paths.fate(runId)), JSON.stringify({ decision: 'abandon', by: '0190a0a0-0000-7000-8000-0000000000bb', at: new Date().toISOString() }));
		assert.deepEqual((await verify()).orphans, [file]);
		rmSync(join(out, paths.fate(runId)));
		writeFileSync(join(out, paths.done(runId)), '{}');
		assert.deepEqual((await verify()).orphans, [file]);
		rmSync(join(out, paths.done(runId)));

		// a committed run's own files are never "in progress": one its commit does not list is left behind
		assert.equal((await verify()).ok, true);
		const committedStray = `${report.folder}/part-00009-${report.runId}.json.gz`;
		writeFileSync(join(out, committedStray), 'not listed');
		verdict = await verify();
		assert.deepEqual(verdict.orphans, [committedStray]);
	});

	it("a run in progress covers only its own dataset's files in its own folder", async () => {
		const { out, store, report } = await exported('in-progress-scope');
		const paths = statePaths(report.statePrefix, DS);
		const runId = '0190a0a0-0000-7000-8000-0000000000cc';
		const intent = runIntent(report, runId, { cleanupAfterMs: 3_600_000 });
		writeFileSync(join(out, paths.intent(runId)), JSON.stringify(intent));
		const own = `${report.folder}/part-00000-${runId}.json.gz`;
		const elsewhere = `${report.statePrefix}/elsewhere/part-00000-${runId}.json.gz`;
		mkdirSync(join(out, report.statePrefix, 'elsewhere'), { recursive: true });
		writeFileSync(join(out, own), 'half a file');
		writeFileSync(join(out, elsewhere), 'a copy outside its folder');
		let verdict = await verifyExport(store, { manifestPath: report.manifestPath! });
		assert.deepEqual(verdict.inProgress[0]?.files, [own]);
		assert.deepEqual(verdict.orphans, [elsewhere], "outside the run's folder: cleanup would never remove it");
		// an intent naming another dataset does not make the files in progress
		writeFileSync(join(out, paths.intent(runId)), JSON.stringify({ ...intent, datasetId: 'another_dataset' }));
		verdict = await verifyExport(store, { manifestPath: report.manifestPath! });
		assert.deepEqual(verdict.inProgress, []);
		assert.deepEqual(verdict.orphans.sort(), [elsewhere, own].sort());
	});

	it('a run that removes its files, or writes more, while Verify looks is neither left behind nor missed', async () => {
		const { out, store, report } = await exported('in-progress-moving');
		const paths = statePaths(report.statePrefix, DS);
		const leaving = '0190a0a0-0000-7000-8000-0000000000dd';
		const writing = '0190a0a0-0000-7000-8000-0000000000ee';
		for (const runId of [leaving, writing]) writeFileSync(join(out, paths.intent(runId)), JSON.stringify(runIntent(report, runId)));
		const gone = `${report.folder}/part-00000-${leaving}.json.gz`;
		const late = `${report.folder}/part-00001-${writing}.json.gz`;
		writeFileSync(join(out, gone), 'superseded: removed while Verify looks');
		// a store on which, once listed, the first run removes its file and intent (as a superseded run
		// does), and the second writes one more file (after the listings, before the folder walk)
		const moving = Object.create(store) as LocalFolderStore;
		moving.read = async (path, range) => {
			if (path === paths.intent(leaving)) {
				rmSync(join(out, gone), { force: true });
				rmSync(join(out, paths.intent(leaving)), { force: true });
			}
			return store.read(path, range);
		};
		moving.listUnfinished = (prefix) => {
			writeFileSync(join(out, late), 'written after the listing');
			return store.listUnfinished(prefix);
		};
		const verdict = await verifyExport(moving, { manifestPath: report.manifestPath! });
		assert.deepEqual(verdict.orphans, [], verdict.problems.join('; '));
		assert.deepEqual(
			verdict.inProgress.map((r) => [r.runId, r.files]),
			[[writing, [late]]],
		);
		assert.equal(verdict.ok, true);
	});

	it('a missing or malformed manifest is a clear error', async () => {
		const { out, store, report } = await exported('nomanifest');
		await assert.rejects(verifyExport(store, { manifestPath: `${report.folder}/manifest-x-0190a0a0-0000-7000-8000-000000000000.json` }), /does not exist: the export was never committed/);
		writeFileSync(join(out, report.manifestPath!), '{"flowRunId": 1}');
		await assert.rejects(verifyExport(store, { manifestPath: report.manifestPath! }), /missing or has malformed fields: flowRunId, datasetId, exportResults, window, mode/);
		await assert.rejects(verifyExport(store, {}), /either a Manifest Path or a Dataset/);
		await assert.rejects(verifyExport(store, { datasetId: 'other', folderPath: 'x' }), /no committed export of dataset "other"/);
	});

	it('finds exports by dataset and time, and a batch committed twice only on the exports involved', async () => {
		const { lake, out, source, store, report: first, request } = await exported('chain');
		await addBatch({ dir: lake, datasetId: DS, records: 10, ingestedAt: new Date('2026-02-01T00:00:00Z'), seed: 'b4' });
		const second = await runExport(source, store, { ...request, exportTime: '2026-11-22T06:00:00Z' });
		await addBatch({ dir: lake, datasetId: DS, records: 10, ingestedAt: new Date('2026-03-01T00:00:00Z'), seed: 'b5' });
		const third = await runExport(source, store, { ...request, exportTime: '2026-11-22T12:00:00Z' });

		const good = await verifyExport(store, { datasetId: DS, folderPath: 'x' });
		assert.equal(good.manifestPath, third.manifestPath, 'latest export found from the dataset id');
		assert.deepEqual(good.problems, []);
		assert.equal(good.committed, true);
		assert.deepEqual(good.commit, third.commit);
		const atTime = await verifyExport(store, { datasetId: DS, folderPath: 'x', exportTime: '2026-11-22T06:00:40Z' });
		assert.equal(atTime.manifestPath, second.manifestPath, 'export found from its export time');

		// a history written by hand (or by an old version): commit 4 holds a batch commit 1 holds
		const paths = statePaths('x/' + DS, DS);
		const record = JSON.parse(readFileSync(join(out, first.commit!.path), 'utf8'));
		record.flowRunId = '01900000-0000-7000-8000-0000000000aa';
		record.exportResults = [];
		record.batches = record.batches.slice(0, 1);
		record.window.batches = [record.batches[0].id];
		record.commit = { ...record.commit, sequence: 4, path: paths.commit(4), manifestPath: null };
		writeFileSync(join(out, paths.commit(4)), JSON.stringify(record));
		const involved = await verifyExport(store, { manifestPath: first.manifestPath! });
		assert.equal(involved.ok, false);
		assert.deepEqual(involved.continuity.problems, [`batch ${record.batches[0].id} is in more than one committed export (commits 1, 4)`]);
		assert.deepEqual((await verifyExport(store, { manifestPath: second.manifestPath! })).problems, [], 'an export not involved still passes');
	});

	it('an edited manifest differs from its commit record; a manifest no commit holds is not committed', async () => {
		const { out, store, report } = await exported('edited');
		editManifest(out, report, (m) => (m.datasetName = 'renamed'));
		assert.ok((await verifyExport(store, { manifestPath: report.manifestPath! })).problems.some((p) => /differs from its commit record/.test(p)));
		rmSync(join(out, report.commit!.path));
		const uncommitted = await verifyExport(store, { manifestPath: report.manifestPath! });
		assert.equal(uncommitted.committed, false);
		assert.ok(
			uncommitted.problems.some((p) => /not committed: its commit record .* does not exist/.test(p)),
			uncommitted.problems.join('\n'),
		);
	});
});
