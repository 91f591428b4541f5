/**
 * The commit protocol on a local folder: state by batch (late batches, future start dates),
 * one winner among concurrent runs, lost and ambiguous commit replies, runs that die, cleanup,
 * the destination's identity through another spelling, checkpoints, and exports made before the
 * commit log. Faults are injected at the Store interface (test/helpers/faulty-store.ts); the
 * network versions of these faults run against real servers in test/faults.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RequestError } from '../../lib/errors';
import { runExport, type ExportReport, type ExportRequest } from '../../lib/export/run';
import { CHECKPOINT_EVERY, cleanLeftovers, commit, readState, runIdIn, statePaths, writeIntent } from '../../lib/export/state';
import { addBatch, generateLake } from '../../scripts/sample/generator';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { LocalFolderStore } from '../../lib/storage/local';
import { StoreError } from '../../lib/storage/types';
import { verifyExport } from '../../lib/verify/verify';
import { FaultyStore, timeoutError } from '../helpers/faulty-store';
import { filesUnder, tempDir } from '../helpers/fixtures';
import { committedLedger, lakeIds, reconcile } from '../helpers/ledger';

const DS = 'journey_step_events';
const PREFIX = `exports/${DS}`;
const FAST = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, maxRetryMs: 2_000 };

async function setup(label: string, records = 600, batches = 3) {
	const lake = tempDir(`${label}-lake`);
	const out = tempDir(`${label}-out`);
	await generateLake({ dir: lake, records, seed: label, batches, datasets: [DS] });
	return { lake, out, source: new LocalLakeSource(lake), store: new LocalFolderStore(out) };
}

const base = (over: Partial<ExportRequest> = {}): ExportRequest => ({
	datasetId: DS,
	mode: 'incremental',
	fileType: 'json',
	codec: 'gzip',
	folderPath: 'exports',
	retry: FAST,
	...over,
});

/** The lake and the committed exports hold the same records, each once, and every committed file is whole. */
async function assertExactlyOnce(source: LocalLakeSource, store: LocalFolderStore | FaultyStore, prefix = PREFIX) {
	const ledger = await committedLedger(store, prefix, DS);
	assert.deepEqual(ledger.incomplete, [], 'every committed file is complete');
	assert.deepEqual(reconcile(await lakeIds(source, DS), ledger), { missing: 0, duplicated: 0, foreign: 0 });
	return ledger;
}

const dataFiles = (out: string) => filesUnder(out).filter((p) => /\/part-\d{5}-/.test(p));

describe('commit protocol: state by batch', () => {
	it('exports a batch that arrives late with an old ingestion time', async () => {
		const { lake, source, store } = await setup('late');
		const first = await runExport(source, store, base());
		assert.equal(first.window.batches, 3);
		// ingested before every committed batch: a time watermark would skip it for ever
		await addBatch({ dir: lake, datasetId: DS, records: 40, ingestedAt: new Date('2025-06-01T00:00:00Z'), seed: 'late' });
		const second = await runExport(source, store, base({ exportTime: '2026-11-22T06:00:00Z' }));
		assert.equal(second.status, 'committed');
		assert.deepEqual(second.window.batchIds.length, 1);
		assert.equal(second.totals.records, 40);
		assert.equal(second.window.from, '2025-06-01T00:00:00.000Z');
		await assertExactlyOnce(source, store);
		assert.equal((await verifyExport(store, { manifestPath: second.manifestPath! })).ok, true);
	});

	it('exports a file copied into a plain-folder lake with its old modification time', async () => {
		const lake = tempDir('plain-lake');
		const store = new LocalFolderStore(tempDir('plain-out'));
		mkdirSync(join(lake, 'events'));
		const line = (id: string) => JSON.stringify({ _id: id, n: 1 }) + '\n';
		writeFileSync(join(lake, 'events', 'a.ndjson'), line('a1') + line('a2'));
		utimesSync(join(lake, 'events', 'a.ndjson'), new Date('2026-03-01T00:00:00Z'), new Date('2026-03-01T00:00:00Z'));
		const source = new LocalLakeSource(lake);
		const req = base({ datasetId: 'events' });
		assert.equal((await runExport(source, store, req)).totals.records, 2);
		writeFileSync(join(lake, 'events', 'old.ndjson'), line('o1'));
		utimesSync(join(lake, 'events', 'old.ndjson'), new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'));
		const second = await runExport(source, store, req);
		assert.deepEqual(second.window.batchIds, ['old.ndjson']);
		assert.equal(second.totals.records, 1);
	});

	it('a Start Date in the future exports nothing and hides nothing', async () => {
		const { source, store } = await setup('future');
		const empty = await runExport(source, store, base({ startDate: '2099-01-01T00:00:00Z' }));
		assert.equal(empty.status, 'nothing-new');
		assert.equal(empty.totals.records, 0);
		const later = await runExport(source, store, base());
		assert.equal(later.totals.records, 600, 'every batch is still exported');
		await assertExactlyOnce(source, store);
	});

	it('a date it cannot read unambiguously is an error naming the field', async () => {
		const { out, source, store } = await setup('dates', 60);
		for (const [field, parameter] of [
			['startDate', 'startDate'],
			['endDate', 'endDate'],
			['exportTime', 'exportTime'],
		] as const) {
			await assert.rejects(runExport(source, store, base({ [field]: '03/04/2026' })), (error: unknown) => {
				assert.ok(error instanceof RequestError);
				assert.equal(error.field, parameter);
				assert.match(error.message, /03\/04\/2026/);
				return true;
			});
		}
		assert.deepEqual(filesUnder(out), []);
	});

	it('notes committed batches that changed in the lake afterwards, without exporting them again', async () => {
		const { lake, source, store } = await setup('changed', 90);
		await runExport(source, store, base());
		const batchJson = join(lake, DS, 'batches', 'batch-0002', 'batch.json');
		const meta = JSON.parse(readFileSync(batchJson, 'utf8'));
		writeFileSync(batchJson, JSON.stringify({ ...meta, ingestedAt: '2026-05-05T00:00:00.000Z' }));
		const again = await runExport(source, store, base());
		assert.equal(again.status, 'nothing-new');
		assert.deepEqual(again.changedBatches, ['batch-0002']);
		assert.match(again.warnings.join('\n'), /changed in the lake after they were exported/);
	});
});

describe('commit protocol: one winner', () => {
	it('4 runs at once: each batch committed exactly once, the others superseded and cleaned up', async () => {
		const { source, store, out } = await setup('race4', 2000, 4);
		const reports = await Promise.all([0, 1, 2, 3].map(() => runExport(source, store, base({ maxRecordsPerFile: 300 }))));
		const committed = reports.filter((r) => r.status === 'committed');
		const superseded = reports.filter((r) => r.status === 'superseded');
		assert.equal(committed.length, 1, reports.map((r) => r.status).join(', '));
		assert.equal(superseded.length, 3);
		for (const r of superseded) {
			assert.equal(r.supersededBy?.runId, committed[0].runId);
			assert.equal(r.manifestPath, committed[0].manifestPath, "the winner's manifest, for Verify");
			assert.deepEqual(r.files, []);
		}
		await assertExactlyOnce(source, store);
		assert.deepEqual(dataFiles(out).sort(), committed[0].files.map((f) => f.path).sort(), "no loser's file stays");
		// the winner's intent and done marker stay until the safety age (then the next run sweeps its late
		// uploads and removes them); commit claims stay a week, so no slower run can abandon a committed one
		const runs = filesUnder(join(out, PREFIX, '_dataset_export', DS, 'runs'));
		const winner = committed[0].runId;
		assert.deepEqual(runs.filter((n) => !n.endsWith('.fate.json')).sort(), [`${winner}.done.json`, `${winner}.json`], "no loser's intent stays");
		assert.deepEqual(runs.filter((n) => n.endsWith('.fate.json')).length, 4, 'every run claimed its commit');
		assert.equal((await verifyExport(store, { manifestPath: committed[0].manifestPath! })).ok, true);
	});

	it('a retry started while the first run is still going: one commits, the other is superseded', async () => {
		const { source, store } = await setup('retry-overlap', 1500);
		const slow = new FaultyStore(store, { write: (path) => (/part-/.test(path) ? { kind: 'delay', ms: 30 } : undefined) });
		const first = runExport(source, slow, base({ maxRecordsPerFile: 200 }));
		await new Promise((resolve) => setTimeout(resolve, 40));
		const retry = await runExport(source, store, base({ maxRecordsPerFile: 200 }));
		const statuses = [(await first).status, retry.status].sort();
		assert.deepEqual(statuses, ['committed', 'superseded']);
		await assertExactlyOnce(source, store);
	});

	it('runs whose batches do not overlap both commit, one after the other', async () => {
		const { lake, source, store } = await setup('disjoint', 300);
		await runExport(source, store, base());
		await addBatch({ dir: lake, datasetId: DS, records: 10, ingestedAt: new Date('2026-04-01T00:00:00Z'), seed: 'x', batchId: 'batch-x' });
		// one run plans on the head, then another run commits an empty export first: no batch in common
		const paths = statePaths(PREFIX, DS);
		const state = await readState(store, paths, DS);
		const planned = state.head;
		const report = await runExport(source, store, base({ now: () => new Date('2026-04-02T00:00:00Z') }));
		assert.equal(report.commit?.sequence, planned + 1);
		const head = JSON.parse(readFileSync(join(store.root, paths.commit(state.head)), 'utf8'));
		const empty = {
			...head,
			flowRunId: '01900000-0000-7000-8000-000000000001',
			exportResults: [],
			batches: [],
			window: { from: null, to: null, batches: [] },
			totals: { files: 0, records: 0, bytes: 0 },
		};
		const outcome = await commit(store, paths, state, empty, (r, seq) => (r.commit = { protocol: 1, sequence: seq, path: paths.commit(seq), manifestPath: null }), FAST);
		assert.equal(outcome.status, 'committed');
		assert.equal(outcome.status === 'committed' && outcome.rebased, 1, 'it saw the other commit and went after it');
		assert.equal(outcome.status === 'committed' && outcome.sequence, planned + 2);
		await assertExactlyOnce(source, store);
	});
});

describe('commit protocol: lost and ambiguous replies', () => {
	it('a lost reply to the commit is a success: files kept, state moved, Verify passes', async () => {
		const { source, store } = await setup('lostreply');
		let lost = 0;
		const faulty = new FaultyStore(store, { write: (path) => (/\/commits\//.test(path) && lost++ === 0 ? { kind: 'lose-reply' } : undefined) });
		const report = await runExport(source, faulty, base());
		assert.equal(report.status, 'committed');
		assert.equal(report.retries.commit, 1);
		assert.ok(faulty.injected.some((f) => f.kind === 'lose-reply'));
		await assertExactlyOnce(source, store);
		assert.equal((await verifyExport(store, { manifestPath: report.manifestPath! })).ok, true);
		assert.equal((await runExport(source, store, base())).status, 'nothing-new');
	});

	it('a lost reply to the manifest file is a success (the commit holds it)', async () => {
		const { source, store } = await setup('lostmanifest');
		const faulty = new FaultyStore(store, { write: (path) => (/manifest-/.test(path) ? { kind: 'lose-reply' } : undefined) });
		const report = await runExport(source, faulty, base());
		assert.equal(report.status, 'committed');
		assert.deepEqual(report.warnings, []);
		assert.equal((await verifyExport(store, { manifestPath: report.manifestPath! })).ok, true);
	});

	it('a commit refused outright removes the files and commits nothing', async () => {
		const { out, source, store } = await setup('refused');
		const faulty = new FaultyStore(store, { write: (path) => (/\/commits\//.test(path) ? { kind: 'fail', error: new StoreError('access denied while writing', 'auth') } : undefined) });
		await assert.rejects(runExport(source, faulty, base()), /access denied/);
		assert.deepEqual(dataFiles(out), []);
		assert.equal((await readState(store, statePaths(PREFIX, DS), DS)).head, 0);
	});

	it('a commit whose outcome cannot be read back keeps its files; the next run settles it either way', async () => {
		for (const landed of [true, false]) {
			const { out, source, store } = await setup(`unknown-${landed}`);
			let committing = false;
			const faulty = new FaultyStore(store, {
				write: (path) => {
					if (!/\/commits\//.test(path)) return undefined;
					committing = true;
					return landed ? { kind: 'lose-reply' } : { kind: 'fail', error: timeoutError(path) };
				},
				// once the commit was tried, the commit log cannot be read either
				read: (path) => (committing && /\/commits\//.test(path) ? timeoutError(path) : undefined),
			});
			await assert.rejects(runExport(source, faulty, base()), (error: Error) => {
				assert.match(error.message, /may or may not have landed .* its files are kept/);
				return true;
			});
			assert.ok(dataFiles(out).length > 0, 'files kept: a landed commit lists them');
			// the next run, with the store healthy again and no safety age
			const next = await runExport(source, store, base({ cleanupAfterMs: 0 }));
			if (landed) {
				assert.equal(next.status, 'nothing-new', 'the landed commit holds the batches');
				assert.equal(next.cleanup.completed, 1, 'it wrote the manifest the dead run could not');
			} else {
				assert.equal(next.status, 'committed');
				// it had claimed its commit: its files stay until its commit window has closed by the
				// destination's clock (here: its claim's modification time set 2.5 hours back)
				assert.equal(next.cleanup.runs, 0, 'its commit might still land');
				const runsDir = join(out, PREFIX, '_dataset_export', DS, 'runs');
				const dead = readdirSync(runsDir).filter((n) => /^[^.]+\.json$/.test(n) && n !== `${next.runId}.json`);
				assert.equal(dead.length, 1);
				const past = new Date(Date.now() - 2.5 * 3_600_000);
				utimesSync(join(runsDir, dead[0].replace('.json', '.fate.json')), past, past);
				const later = await runExport(source, store, base({ cleanupAfterMs: 0, exportTime: '2026-11-23T00:00:00Z' }));
				assert.equal(later.cleanup.runs, 1, "the dead run's files were removed");
			}
			await assertExactlyOnce(source, store);
			assert.equal((await verifyExport(store, { datasetId: DS, folderPath: 'exports' })).ok, true);
		}
	});

	it('a file upload that fails transiently is written again from its first record', async () => {
		const { source, store } = await setup('fileretry', 1200);
		let failures = 0;
		const faulty = new FaultyStore(store, {
			write: (path) => (/part-00001-[0-9a-f-]+\.json\.gz$/.test(path) && failures++ < 2 ? (failures === 1 ? { kind: 'fail', error: timeoutError(path) } : { kind: 'lose-reply' }) : undefined),
		});
		const report = await runExport(source, faulty, base({ maxRecordsPerFile: 500 }));
		assert.equal(report.status, 'committed');
		assert.equal(report.retries.files, 2);
		assert.deepEqual(
			report.files.map((f) => f.records),
			[500, 500, 200],
		);
		assert.match(report.files[1].name, /-3\.json\.gz$/, 'the third try has a new name');
		const ledger = await assertExactlyOnce(source, store);
		assert.equal(ledger.commits.length, 1);
		// the second try landed despite its lost reply: the sweep before the commit removed it
		assert.equal((await verifyExport(store, { manifestPath: report.manifestPath! })).ok, true);
	});

	it('retries are bounded: a store that always times out fails the run and leaves nothing', async () => {
		const { out, source, store } = await setup('bounded');
		const faulty = new FaultyStore(store, { write: (path) => (/part-/.test(path) ? { kind: 'fail', error: timeoutError(path) } : undefined) });
		const started = Date.now();
		await assert.rejects(runExport(source, faulty, base()), /no answer within/);
		assert.ok(Date.now() - started < 5_000);
		assert.equal(faulty.injected.length, FAST.maxAttempts);
		assert.deepEqual(dataFiles(out), []);
	});
});

describe('commit protocol: runs that die, and cleanup', () => {
	/** A run that dies after writing its files: its deletes fail too, so it leaves everything. */
	async function deadRun(source: LocalLakeSource, store: LocalFolderStore) {
		const dying = new FaultyStore(store, {
			write: (path) => (/\.fate\.json$/.test(path) ? { kind: 'fail', error: new StoreError('gone', 'config') } : undefined),
			delete: () => new StoreError('gone', 'config'),
		});
		await assert.rejects(runExport(source, dying, base()), /gone/);
	}

	it('the next run removes what a dead run left, once it is older than the safety age', async () => {
		const { out, source, store } = await setup('dead');
		await deadRun(source, store);
		const left = dataFiles(out);
		assert.ok(left.length > 0);
		const young = await runExport(source, store, base());
		assert.equal(young.cleanup.pending, 1, 'too young to remove: it may still be running');
		assert.ok(left.every((p) => filesUnder(out).includes(p)));
		// it cannot be told from a run still going: Verify warns, listing them, until it is that old
		const verdict = await verifyExport(store, { manifestPath: young.manifestPath! });
		assert.equal(verdict.ok, true, verdict.problems.join('; '));
		assert.deepEqual(verdict.orphans, []);
		assert.deepEqual(verdict.inProgress.flatMap((r) => r.files).sort(), left.sort());
		assert.match(verdict.warnings.join('\n'), /has not committed and may still be running/);
		const old = await runExport(source, store, base({ cleanupAfterMs: 0 }));
		assert.equal(old.cleanup.runs, 1);
		assert.equal(old.cleanup.files, left.length);
		assert.ok(left.every((p) => !filesUnder(out).includes(p)));
		assert.equal((await verifyExport(store, { manifestPath: young.manifestPath! })).ok, true);
		await assertExactlyOnce(source, store);
	});

	it('a run declared abandoned while it was still running cannot commit afterwards', async () => {
		const { out, source, store } = await setup('abandoned', 900);
		const slow = new FaultyStore(store, { write: (path) => (/part-/.test(path) ? { kind: 'delay', ms: 150 } : undefined) });
		const running = runExport(source, slow, base({ maxRecordsPerFile: 300 }));
		await new Promise((resolve) => setTimeout(resolve, 200));
		// a second run with no safety age treats the first as dead
		const second = await runExport(source, store, base({ cleanupAfterMs: 0, maxRecordsPerFile: 300 }));
		assert.equal(second.status, 'committed');
		assert.equal(second.cleanup.runs, 1);
		await assert.rejects(running, /declared abandoned/);
		await assertExactlyOnce(source, store);
		assert.deepEqual(dataFiles(out).sort(), second.files.map((f) => f.path).sort());
	});

	it('a temporary file of a crashed write is an unfinished upload: Verify reports it, cleanup removes it', async () => {
		const { out, source, store } = await setup('temp');
		const report = await runExport(source, store, base());
		const temp = join(out, report.folder, `.incoming-part-00007-${report.runId.replace(/.$/, '0')}.json.gz-1234abcd`);
		writeFileSync(temp, 'half');
		const verdict = await verifyExport(store, { manifestPath: report.manifestPath! });
		assert.equal(verdict.ok, false);
		assert.equal(verdict.unfinished.length, 1);
	});
});

describe('commit protocol: identity, checkpoints, history', () => {
	it('the same folder through a symlink and with a trailing slash continues the same state', async () => {
		const { out, source, store } = await setup('symlink');
		const first = await runExport(source, store, base());
		const link = join(tempDir('link'), 'exports-link');
		symlinkSync(out, link);
		const viaLink = await runExport(source, new LocalFolderStore(link + '/'), base());
		assert.equal(viaLink.status, 'nothing-new');
		assert.equal(viaLink.destination.instanceId, first.destination.instanceId, 'one identity, whatever the spelling');
	});

	it(`planning reads a bounded number of objects as history grows (a checkpoint every ${CHECKPOINT_EVERY} commits)`, async () => {
		const { lake, source, store } = await setup('history', 30, 1);
		const reads: number[] = [];
		for (let i = 0; i < 2 * CHECKPOINT_EVERY + 5; i++) {
			await addBatch({ dir: lake, datasetId: DS, records: 2, ingestedAt: new Date(Date.UTC(2026, 1, 1) + i * 60_000), seed: `h${i}`, batchId: `h-${String(i).padStart(4, '0')}` });
			const report = await runExport(source, store, base({ exportTime: new Date(Date.UTC(2026, 1, 1) + i * 60_000).toISOString() }));
			assert.equal(report.window.batches, i === 0 ? 2 : 1);
			reads.push(report.stateReads);
		}
		assert.ok(Math.max(...reads) <= CHECKPOINT_EVERY + 3, `state reads ${Math.max(...reads)}`);
		const checkpoints = readdirSync(join(store.root, PREFIX, '_dataset_export', DS, 'checkpoints'));
		assert.deepEqual(checkpoints, ['00000000000000000025.json', '00000000000000000050.json']);
		await assertExactlyOnce(source, store);
	});

	/** The destination as version 0.1 left it: one v1 manifest, no commit log. */
	async function legacyDestination(label: string) {
		const { lake, out, source, store } = await setup(label, 300);
		const report = await runExport(source, store, base());
		const manifestFile = join(out, report.manifestPath!);
		const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
		delete manifest.commit;
		delete manifest.batches;
		manifest.manifestVersion = 1;
		writeFileSync(manifestFile, JSON.stringify(manifest));
		rmSync(join(out, PREFIX, '_dataset_export'), { recursive: true });
		return { lake, out, source, store, report };
	}

	it('adopts what exports made before the commit log held, and exports only the rest', async () => {
		const { lake, source, store } = await legacyDestination('legacy');
		await addBatch({ dir: lake, datasetId: DS, records: 25, ingestedAt: new Date('2026-02-01T00:00:00Z'), seed: 'after' });
		const upgraded: ExportReport = await runExport(source, store, base({ exportTime: '2026-11-23T00:00:00Z' }));
		assert.equal(upgraded.totals.records, 25, 'only the batch the old manifests did not hold');
		const state = await readState(store, statePaths(PREFIX, DS), DS);
		assert.equal(state.batches.size, 4);
		assert.equal((await runExport(source, store, base())).status, 'nothing-new');
	});

	it('a full export committed before the first incremental one does not stop the adoption (nothing exported twice)', async () => {
		const { source, store } = await legacyDestination('legacy-full');
		const full = await runExport(source, store, base({ mode: 'full', exportTime: '2026-11-23T00:00:00Z' }));
		assert.equal(full.totals.records, 300);
		const incremental = await runExport(source, store, base({ exportTime: '2026-11-24T00:00:00Z' }));
		assert.equal(incremental.status, 'nothing-new', 'the v1 export already holds every batch');
		assert.equal(incremental.totals.records, 0);
	});

	it('a v1 manifest listing a file that is gone is not adopted: its batches are exported again, with a warning', async () => {
		const { out, source, store, report } = await legacyDestination('legacy-missing');
		rmSync(join(out, report.files[0].path));
		const again = await runExport(source, store, base({ exportTime: '2026-11-23T00:00:00Z' }));
		assert.equal(again.totals.records, 300, 'exported again rather than lost');
		assert.ok(
			again.warnings.some((w) => /version 1 manifest\(s\) list files that are missing/.test(w)),
			again.warnings.join('; '),
		);
	});
});

describe('commit protocol: what a review found', () => {
	it("cleanup on a state read before another run committed never removes that run's files", async () => {
		const { source, store } = await setup('stale-state');
		const paths = statePaths(PREFIX, DS);
		const stale = await readState(store, paths, DS);
		const winner = await runExport(source, store, base());
		assert.equal(winner.status, 'committed');
		// a run that read the state before the winner committed settles leftovers with no safety age
		const self = '01a20000-0000-7000-8000-000000000001';
		await writeIntent(store, paths, { protocol: 1, runId: self, datasetId: DS, folder: 'x', mode: 'incremental', exportTime: '', base: 0, startedAt: new Date().toISOString() }, FAST);
		const report = await cleanLeftovers(store, paths, stale, { safetyAgeMs: 0, now: new Date(), selfRunId: self, policy: FAST, rollForward: async () => undefined });
		assert.equal(report.runs, 0, 'no run declared dead');
		assert.equal(report.files, 0);
		await assertExactlyOnce(source, store);
	});

	it("a run that claimed its commit is left alone until its commit window has closed, by the destination's clock", async () => {
		const { out, source, store } = await setup('claimed');
		// a run that dies after claiming its commit, before the commit lands
		const dying = new FaultyStore(store, {
			write: (path) => (/\/commits\//.test(path) ? { kind: 'fail', error: new StoreError('gone', 'config') } : undefined),
			delete: () => new StoreError('gone', 'config'),
		});
		await assert.rejects(runExport(source, dying, base()), /gone/);
		const left = dataFiles(out);
		assert.ok(left.length > 0);
		const next = await runExport(source, store, base({ cleanupAfterMs: 0, exportTime: '2026-11-23T00:00:00Z' }));
		assert.equal(next.cleanup.runs, 0, 'its commit might still land: its files stay');
		assert.ok(left.every((p) => filesUnder(out).includes(p)));
		// two hours later by the destination's clock (the claim's modification time), the window has closed
		const fates = readdirSync(join(out, PREFIX, '_dataset_export', DS, 'runs')).filter((n) => n.endsWith('.fate.json') && left.some((p) => p.includes(n.slice(0, 36))));
		assert.equal(fates.length, 1);
		const past = new Date(Date.now() - 2.5 * 3_600_000);
		utimesSync(join(out, PREFIX, '_dataset_export', DS, 'runs', fates[0]), past, past);
		const later = await runExport(source, store, base({ cleanupAfterMs: 0, exportTime: '2026-11-24T00:00:00Z' }));
		assert.equal(later.cleanup.runs, 1);
		assert.ok(left.every((p) => !filesUnder(out).includes(p)));
		await assertExactlyOnce(source, store);
	});

	it('cancelled while retrying a commit whose outcome is unknown: the files are kept (it may still land)', async () => {
		const { out, source, store } = await setup('cancel-commit');
		const controller = new AbortController();
		const faulty = new FaultyStore(store, {
			write: (path) => {
				if (!/\/commits\//.test(path)) return undefined;
				setImmediate(() => controller.abort(new Error('the workflow timed out')));
				return { kind: 'fail', error: timeoutError(path) };
			},
		});
		await assert.rejects(runExport(source, faulty, base({ signal: controller.signal, retry: { ...FAST, baseDelayMs: 200, maxDelayMs: 400 } })), /may or may not have landed/);
		assert.ok(dataFiles(out).length > 0, 'files kept');
		const next = await runExport(source, store, base({ exportTime: '2026-11-23T00:00:00Z' }));
		assert.equal(next.status, 'committed');
		await assertExactlyOnce(source, store);
	});

	it('a destination that refuses deletes does not stop later runs (cleanup is best effort, with a warning)', async () => {
		const { lake, source, store } = await setup('nodelete');
		const noDelete = new FaultyStore(store, { delete: () => new StoreError('deleting is not allowed', 'auth') });
		assert.equal((await runExport(source, noDelete, base())).status, 'committed');
		await addBatch({ dir: lake, datasetId: DS, records: 30, ingestedAt: new Date('2026-02-01T00:00:00Z'), seed: 'nd' });
		const second = await runExport(source, noDelete, base({ cleanupAfterMs: 0, exportTime: '2026-11-23T00:00:00Z' }));
		assert.equal(second.status, 'committed');
		assert.equal(second.totals.records, 30);
		assert.ok(
			second.warnings.some((w) => /needs permission to delete/.test(w)),
			second.warnings.join('; '),
		);
	});

	it('a commit retried after its read-back failed writes the same JSON: the manifest file equals the commit record', async () => {
		const { out, source, store } = await setup('restamp');
		let lost = 0;
		let reads = 0;
		const faulty = new FaultyStore(store, {
			write: (path) => (/\/commits\//.test(path) && lost++ === 0 ? { kind: 'lose-reply' } : undefined),
			// the read-back right after the lost reply fails too: the commit is tried again, and finds its own record
			read: (path) => (/\/commits\//.test(path) && lost > 0 && reads++ === 0 ? timeoutError(path) : undefined),
		});
		const report = await runExport(source, faulty, base({ retry: { ...FAST, baseDelayMs: 30, maxDelayMs: 40 } }));
		assert.equal(report.status, 'committed');
		assert.equal(readFileSync(join(out, report.commit!.path), 'utf8'), readFileSync(join(out, report.manifestPath!), 'utf8'));
	});

	it("a full export without a manifest file is committed to the log: its files are never taken for a dead run's", async () => {
		const { out, source, store } = await setup('nomanifest');
		const report = await runExport(source, store, base({ mode: 'full', includeManifest: false }));
		assert.equal(report.status, 'written-without-manifest');
		assert.equal(report.manifestPath, null);
		assert.ok(report.commit, 'in the commit log');
		assert.equal(filesUnder(join(out, report.folder)).filter((n) => n.startsWith('manifest-')).length, 0, 'no manifest file');
		const files = dataFiles(out);
		const later = await runExport(source, store, base({ mode: 'full', includeManifest: false, cleanupAfterMs: 0, exportTime: '2026-11-23T00:00:00Z' }));
		assert.equal(later.cleanup.runs, 0);
		assert.ok(files.every((p) => filesUnder(out).includes(p)));
		const verdict = await verifyExport(store, { datasetId: DS, folderPath: 'exports' });
		assert.equal(verdict.ok, true, JSON.stringify(verdict).slice(0, 1500));
	});

	it('a File Name Prefix holding a UUID does not confuse whose file is whose', async () => {
		const { out, source, store } = await setup('uuidprefix');
		const prefix = 'part-0190a000-0000-7000-8000-000000000000';
		const report = await runExport(source, store, base({ fileNamePrefix: prefix, cleanupAfterMs: 0 }));
		const again = await runExport(source, store, base({ fileNamePrefix: prefix, cleanupAfterMs: 0, mode: 'full', exportTime: '2026-11-23T00:00:00Z' }));
		assert.equal(again.cleanup.files, 0);
		assert.ok(report.files.every((f) => filesUnder(out).includes(f.path)));
		assert.equal(runIdIn(report.files[0].name), report.runId);
	});
});
