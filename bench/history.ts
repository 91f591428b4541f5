/**
 * The cost of planning after a long history: build a dataset with N past exports (default 10,000;
 * each a commit holding one batch, written the way committers write them, with their checkpoints),
 * then time the next run: the state read alone, and a whole incremental export of one new batch.
 *   node --import tsx bench/history.ts [exports] [local|s3]
 * Prints a JSON line per measurement (state reads, milliseconds).
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { runExport } from '../lib/export/run';
import { checkpointIfDue, commit, fold, readState, statePaths } from '../lib/export/state';
import type { Manifest } from '../lib/export/manifest';
import { addBatch, generateLake } from '../scripts/sample/generator';
import { LocalLakeSource } from '../lib/source/local-lake';
import { openStore, readText } from '../lib/storage';
import type { Store } from '../lib/storage/types';
import { DEFAULT_NETWORK_POLICY } from '../lib/storage/types';

const DS = 'journey_step_events';
const exports = Number(process.argv[2] ?? 10_000);
const where = process.argv[3] ?? 'local';

async function destination(): Promise<Store> {
	if (where === 's3') {
		const env = JSON.parse(readFileSync('.tmp/servers/ceph/env.json', 'utf8')) as { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
		const bucket = `history-${process.pid}`;
		const admin = new S3Client({ region: env.region, endpoint: env.endpoint, forcePathStyle: true, credentials: env });
		await admin.send(new CreateBucketCommand({ Bucket: bucket }));
		admin.destroy();
		return openStore({ type: 'amazonS3', ...env, forcePathStyle: true, bucket });
	}
	const dir = resolve('.tmp/bench/history-out');
	rmSync(dir, { recursive: true, force: true });
	mkdirSync(dir, { recursive: true });
	return openStore({ type: 'localFolder', path: dir });
}

async function main() {
	const lake = resolve('.tmp/bench/history-lake');
	rmSync(lake, { recursive: true, force: true });
	await generateLake({ dir: lake, records: 30, seed: 'history', batches: 1, datasets: [DS] });
	const source = new LocalLakeSource(lake);
	const store = await destination();
	// the first export, then its record as the template of N - 1 more, each with one batch of its own
	const first = await runExport(source, store, { datasetId: DS, mode: 'incremental', fileType: 'json', codec: 'gzip', folderPath: 'exports' });
	const paths = statePaths(first.statePrefix, DS);
	const template = JSON.parse(await readText(store, paths.commit(1))) as Manifest;
	const state = await readState(store, paths, DS);
	const built = Date.now();
	for (let i = 2; i <= exports; i++) {
		const id = `past-${String(i).padStart(6, '0')}`;
		const record: Manifest = {
			...template,
			flowRunId: `01900000-0000-7000-8000-${String(i).padStart(12, '0')}`,
			batches: [{ id, ingestedAt: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(), sizeBytes: 1000, records: 10 }],
			window: { from: null, to: null, batches: [id] },
		};
		const outcome = await commit(store, paths, state, record, (r, seq) => (r.commit = { protocol: 1, sequence: seq, path: paths.commit(seq), manifestPath: null }), DEFAULT_NETWORK_POLICY);
		if (outcome.status !== 'committed') throw new Error(`commit ${i}: ${outcome.status}`);
		fold(state, outcome.sequence, record);
		await checkpointIfDue(store, paths, state);
	}
	console.error(`built ${exports} exports in ${((Date.now() - built) / 1000).toFixed(1)} s`);
	for (let round = 0; round < 3; round++) {
		const started = process.hrtime.bigint();
		const read = await readState(store, paths, DS);
		const ms = Number(process.hrtime.bigint() - started) / 1e6;
		console.log(JSON.stringify({ measurement: 'state read', where, exports: read.head, batches: read.batches.size, reads: read.reads, ms: Math.round(ms) }));
	}
	await addBatch({ dir: lake, datasetId: DS, records: 50, ingestedAt: new Date('2026-06-01T00:00:00Z'), seed: 'next', batchId: 'next' });
	const report = await runExport(source, store, { datasetId: DS, mode: 'incremental', fileType: 'json', codec: 'gzip', folderPath: 'exports' });
	console.log(
		JSON.stringify({
			measurement: 'next export (plan, write one batch, commit)',
			where,
			exports: report.commit?.sequence,
			records: report.totals.records,
			reads: report.stateReads,
			protocolMs: report.protocolMs,
			ms: report.durationMs,
		}),
	);
	await store.close();
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
