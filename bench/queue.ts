/**
 * npm run bench:queue [-- --datasets 20] [-- --records 50000] [-- --configs 1x1,2x1,1x2]
 *
 * Queue mode throughput (docs/queue-mode.md): DATASETS datasets of RECORDS records each, exported by
 * the dispatcher and per-dataset examples on a real n8n cluster (scripts/queue.sh), once per
 * configuration WORKERSxSLOTS (workers × --concurrency). For each: wall time (first execution
 * created → last one stopped, from n8n's executions table), rows/s, one execution's mean time and
 * how many ran at once on average, executions per worker (their logs), and per worker process its
 * resident memory when idle and its peak (VmHWM) at the end. First, the same exports one after
 * another in this process without n8n (`runExport` then `verifyExport`, what each execution runs):
 * the floor n8n's queue adds to.
 * A benchmark, not a test: it reports what it sees and asserts only that every export succeeded.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runExport } from '../lib/export/run';
import { LocalLakeSource } from '../lib/source/local-lake';
import { openStore } from '../lib/storage';
import { verifyExport } from '../lib/verify/verify';
import { generateLake } from '../scripts/sample/generator';
import { lastExecutionId, memoryOf, n8nCli, pidOf, queueScript, repo, runDataOf, tokenFile, waitForExecutions, workersByExecution } from '../test/queue/cluster';
import { DISPATCH, ONE } from '../test/queue/workflows';

const { values } = parseArgs({
	options: {
		datasets: { type: 'string', default: '20' },
		records: { type: 'string', default: '50000' },
		configs: { type: 'string', default: '1x1,2x1,1x2' },
	},
});
const datasets = Number(values.datasets);
const records = Number(values.records);
const configs = values.configs!.split(',').map((c) => {
	const [workers, slots] = c.split('x').map(Number);
	if (!(workers >= 1 && slots >= 1)) throw new Error(`--configs: "${c}" is not WORKERSxSLOTS, e.g. 2x1`);
	return { workers, slots };
});

const root = join(repo, '.tmp', 'queue-bench');
const lake = join(root, 'lake');
const MiB = 1024 * 1024;

async function main() {
	rmSync(root, { recursive: true, force: true });
	const t = Date.now();
	const generated = await generateLake({ dir: lake, records, seed: 'queue-bench', batches: 3, datasets: ['journey_step_events'], copies: datasets });
	console.error(`bench:queue: lake of ${datasets} × ${records} records in ${((Date.now() - t) / 1000).toFixed(1)} s`);
	const results = join(root, 'results.jsonl');
	const rows: string[] = [];
	{
		mkdirSync(join(root, 'exports-no-n8n'), { recursive: true });
		const store = openStore({ type: 'localFolder', path: join(root, 'exports-no-n8n') });
		const source = new LocalLakeSource(lake);
		const started = Date.now();
		let exported = 0;
		for (const d of generated) {
			const report = await runExport(source, store, { datasetId: d.id, mode: 'incremental', fileType: 'parquet', codec: 'snappy', folderPath: 'exports' });
			// what each execution also does: Verify Export with its defaults (checksums, Parquet decoded)
			const verdict = await verifyExport(store, { manifestPath: report.manifestPath! });
			if (!verdict.ok) throw new Error(`${d.id}: ${verdict.problems.join('; ')}`);
			exported += report.totals.records;
		}
		await store.close();
		const wallMs = Date.now() - started;
		const result = { workers: 0, slots: 1, datasets, records: exported, wallMs, rowsPerSecond: Math.round(exported / (wallMs / 1000)), node: process.version };
		appendFileSync(results, JSON.stringify(result) + '\n');
		rows.push(
			`| no n8n: export + verify in one process, ${process.version} | ${exported.toLocaleString('en')} | ${(wallMs / 1000).toFixed(1)} s | ${result.rowsPerSecond.toLocaleString('en')} | ${(wallMs / datasets / 1000).toFixed(2)} s, 1 at once | – | – |`,
		);
	}
	for (const { workers, slots } of configs) {
		const exportsDir = join(root, `exports-${workers}x${slots}`);
		mkdirSync(exportsDir, { recursive: true });
		const names = Array.from({ length: workers }, (_, i) => `worker${i + 1}`);
		try {
			await queueScript('start', {
				QUEUE_WORKERS: String(workers),
				QUEUE_CONCURRENCY: String(slots),
				QUEUE_PREPARE: 'node --import tsx test/queue/prepare.ts',
				QUEUE_FILE_ACCESS: `${lake};${exportsDir}`,
				QUEUE_TEST_LAKE: lake,
				QUEUE_TEST_EXPORTS: exportsDir,
				QUEUE_TEST_TOKEN_FILE: tokenFile(root, randomUUID()),
			});
			const idle = Object.fromEntries(names.map((n) => [n, memoryOf(pidOf(n), 'VmRSS')]));
			const first = await lastExecutionId();
			await n8nCli(['execute', `--id=${DISPATCH.id}`]);
			const executions = await waitForExecutions(ONE.id, first, datasets, 60 * 60_000);
			const failed = executions.filter((e) => e.status !== 'success');
			if (failed.length) throw new Error(`${failed.length} executions did not succeed: ${failed.map((e) => `#${e.id} ${e.status}`).join(', ')}`);
			let exported = 0;
			for (const e of executions) {
				const [report] = (await runDataOf(e.id)).output('Export Dataset') as Array<{ status: string; totals: { records: number } }>;
				if (report?.status !== 'committed') throw new Error(`execution #${e.id}: ${report?.status ?? 'no report'}`);
				exported += report.totals.records;
			}
			const wallMs = Math.max(...executions.map((e) => e.stoppedAt!)) - Math.min(...executions.map((e) => e.createdAt));
			// one execution's own time on its worker (started → stopped), and how many ran at once on average
			const durations = executions.map((e) => e.stoppedAt! - e.startedAt!);
			const meanExecutionMs = Math.round(durations.reduce((a, b) => a + b, 0) / durations.length);
			const overlap = durations.reduce((a, b) => a + b, 0) / wallMs;
			const byWorker = workersByExecution();
			const perWorker = Object.fromEntries(names.map((n) => [n, executions.filter((e) => byWorker.get(e.id)?.[0] === n).length]));
			const peak = Object.fromEntries(names.map((n) => [n, memoryOf(pidOf(n), 'VmHWM')]));
			const result = {
				workers,
				slots,
				datasets,
				records: exported,
				wallMs,
				rowsPerSecond: Math.round(exported / (wallMs / 1000)),
				meanExecutionMs,
				overlap,
				perWorker,
				idleRss: idle,
				peakRss: peak,
				cores: cpus().length,
			};
			appendFileSync(results, JSON.stringify(result) + '\n');
			const mb = (b: number) => `${Math.round(b / MiB)}`;
			rows.push(
				`| ${workers} × ${slots} | ${exported.toLocaleString('en')} | ${(wallMs / 1000).toFixed(1)} s | ${result.rowsPerSecond.toLocaleString('en')} | ${(meanExecutionMs / 1000).toFixed(2)} s, ${overlap.toFixed(1)} at once | ${names.map((n) => perWorker[n]).join(' / ')} | ${names.map((n) => `${mb(idle[n])} → ${mb(peak[n])}`).join(' / ')} |`,
			);
		} finally {
			await queueScript('stop');
		}
	}
	console.log(`\nqueue mode, ${datasets} datasets × ${records.toLocaleString('en')} records, Parquet/Snappy to a local folder, ${cpus().length} cores (results: ${results})\n`);
	console.log('| workers × slots | records | wall | rows/s | one execution (mean), exports at once | executions per worker | RSS idle → peak per worker (MiB) |');
	console.log('|---|---|---|---|---|---|---|');
	for (const row of rows) console.log(row);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
