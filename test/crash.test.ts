/**
 * Crash safety: a process exporting again and again is SIGKILLed at random moments (while it
 * reads the state, streams files, claims and writes its commit, writes the manifest or cleans up),
 * with batches added between kills. Then a clean run: every committed export is complete, and the
 * union of committed exports equals the lake, each record once. On the local folder and on S3.
 */
/* eslint-disable @n8n/community-nodes/no-dangerous-functions --
   the test starts the exporting process it kills; test code, never shipped */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runExport } from '../lib/export/run';
import { rng, addBatch, generateLake } from '../scripts/sample/generator';
import { LocalLakeSource } from '../lib/source/local-lake';
import { openStore, type DestinationConfig } from '../lib/storage';
import { verifyExport } from '../lib/verify/verify';
import { tempDir } from './helpers/fixtures';
import { committedLedger, lakeIds, reconcile } from './helpers/ledger';
import { freshBucket, s3Server } from './helpers/servers';

const DS = 'journey_step_events';

/** Start the exporting child and SIGKILL it a random time (up to `withinMs`) after its first run started. */
function killSoon(args: object, random: () => number, withinMs: number): Promise<{ lines: string[]; killedAfterMs: number }> {
	return new Promise((resolve, reject) => {
		const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'helpers', 'crash-child.ts'), JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
		const lines: string[] = [];
		let started = 0;
		let timer: NodeJS.Timeout | undefined;
		const limit = setTimeout(() => child.kill('SIGKILL'), 60_000);
		const target = 1;
		child.stdout.setEncoding('utf8').on('data', (text: string) => {
			for (const line of text.split('\n').filter(Boolean)) {
				lines.push(line);
				if (line.startsWith('start ') && ++started === target && !timer) {
					const delay = Math.floor(random() * withinMs);
					const at = Date.now();
					timer = setTimeout(() => {
						child.kill('SIGKILL');
						resolve({ lines, killedAfterMs: Date.now() - at });
					}, delay);
				}
			}
		});
		child.stderr.resume();
		child.once('error', reject);
		child.once('exit', (code, signal) => {
			clearTimeout(limit);
			if (signal !== 'SIGKILL') reject(new Error(`the child exited by itself (${code}): ${lines.join(' / ')}`));
		});
	});
}

async function crashSequence(label: string, destination: DestinationConfig, kills: number, withinMs: number) {
	const lake = tempDir(`crash-${label}-lake`);
	await generateLake({ dir: lake, records: 1500, seed: `crash-${label}`, batches: 3, datasets: [DS] });
	const random = rng(`crash-${label}`);
	const ends = new Map<string, number>();
	for (let k = 0; k < kills; k++) {
		// a new batch before every kill, so the first run after the start has files to write
		await addBatch({ dir: lake, datasetId: DS, records: 150 + ((k * 37) % 250), ingestedAt: new Date(Date.UTC(2026, 0, 15) + (k % 3 ? 1 : -1) * k * 3_600_000), seed: `k${k}`, batchId: `k-${k}` });
		const { lines } = await killSoon({ lake, datasetId: DS, destination }, random, withinMs);
		for (const line of lines.filter((l) => l.startsWith('end '))) {
			const status = line.split(' ').slice(2).join(' ').replace(/:.*/, '');
			ends.set(status, (ends.get(status) ?? 0) + 1);
		}
	}
	const store = openStore(destination);
	const source = new LocalLakeSource(lake);
	// a run killed after claiming its commit is left alone until its commit window has closed
	await new Promise((resolve) => setTimeout(resolve, 4_500));
	const clean = await runExport(source, store, { datasetId: DS, mode: 'incremental', fileType: 'json', codec: 'gzip', folderPath: 'exports', cleanupAfterMs: 0 });
	console.log(
		`${label}: ${kills} kills; runs that ended before a kill: ${JSON.stringify(Object.fromEntries(ends))}; clean run ${clean.status} with ${clean.totals.records} records, removed ${clean.cleanup.runs} dead runs (${clean.cleanup.files} files, ${clean.cleanup.unfinished} unfinished), completed ${clean.cleanup.completed}`,
	);
	const ledger = await committedLedger(store, `exports/${DS}`, DS);
	assert.deepEqual(ledger.incomplete, [], 'no committed export is incomplete');
	assert.deepEqual(reconcile(await lakeIds(source, DS), ledger), { missing: 0, duplicated: 0, foreign: 0 });
	const verdict = await verifyExport(store, { manifestPath: clean.manifestPath! });
	assert.deepEqual(verdict.problems, [], 'no unlisted file, temporary file or unfinished upload is left');
	await store.close();
}

describe('SIGKILL at random moments', () => {
	it('local folder: 24 kills', { timeout: 10 * 60_000 }, async () => {
		await crashSequence('local', { type: 'localFolder', path: tempDir('crash-local-out') }, Number(process.env.CRASH_KILLS ?? 24), 250);
	});

	it('S3 (Ceph): 12 kills', { timeout: 10 * 60_000 }, async () => {
		const s3 = s3Server();
		await crashSequence(
			's3',
			{ type: 'amazonS3', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, bucket: await freshBucket('crash') },
			12,
			1200,
		);
	});
});
