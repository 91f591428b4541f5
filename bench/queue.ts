/**
 * npm run bench:queue [-- --datasets 20] [-- --records 50000] [-- --configs 1x1,2x1,1x2]
 *
 * Queue mode throughput (docs/queue-mode.md): DATASETS datasets of RECORDS records each, exported by
 * the dispatcher and per-dataset examples on a real n8n cluster (scripts/queue.sh), once per
 * configuration WORKERSxSLOTS (workers × --concurrency). For each: wall time (first execution
 * created → last one stopped, from n8n's executions table), rows/s, executions per worker (their
 * logs), and per worker process its resident memory when idle and its peak (VmHWM) at the end.
 * A benchmark, not a test: it reports what it sees and asserts only that every export succeeded.
 */
/* eslint-disable @n8n/community-nodes/no-dangerous-functions -- bench code: runs the cluster */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateLake } from '../scripts/sample/generator';
import { lastExecutionId, n8nCli, peakRss, pidOf, queueScript, repo, runDataOf, waitForExecutions, workersByExecution } from '../test/queue/cluster';
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

function rss(pid: number): number {
	const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	return match ? Number(match[1]) * 1024 : NaN;
}

async function main() {
	rmSync(root, { recursive: true, force: true });
	const t = Date.now();
	await generateLake({ dir: lake, records, seed: 'queue-bench', batches: 3, datasets: ['journey_step_events'], copies: datasets });
	console.error(`bench:queue: lake of ${datasets} × ${records} records in ${((Date.now() - t) / 1000).toFixed(1)} s`);
	const results = join(root, 'results.jsonl');
	const rows: string[] = [];
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
				QUEUE_TEST_TOKEN: randomUUID(),
			});
			const idle = Object.fromEntries(names.map((n) => [n, rss(pidOf(n))]));
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
			const byWorker = workersByExecution();
			const perWorker = Object.fromEntries(names.map((n) => [n, executions.filter((e) => byWorker.get(e.id)?.[0] === n).length]));
			const peak = Object.fromEntries(names.map((n) => [n, peakRss(pidOf(n))]));
			const result = { workers, slots, datasets, records: exported, wallMs, rowsPerSecond: Math.round(exported / (wallMs / 1000)), perWorker, idleRss: idle, peakRss: peak, cores: cpus().length };
			appendFileSync(results, JSON.stringify(result) + '\n');
			const mb = (b: number) => `${Math.round(b / MiB)}`;
			rows.push(
				`| ${workers} × ${slots} | ${exported.toLocaleString('en')} | ${(wallMs / 1000).toFixed(1)} s | ${result.rowsPerSecond.toLocaleString('en')} | ${names.map((n) => perWorker[n]).join(' / ')} | ${names.map((n) => `${mb(idle[n])} → ${mb(peak[n])}`).join(' / ')} |`,
			);
		} finally {
			await queueScript('stop');
		}
	}
	console.log(`\nqueue mode, ${datasets} datasets × ${records.toLocaleString('en')} records, Parquet/Snappy to a local folder, ${cpus().length} cores (results: ${results})\n`);
	console.log('| workers × slots | records | wall | rows/s | executions per worker | RSS idle → peak per worker (MiB) |');
	console.log('|---|---|---|---|---|---|');
	for (const row of rows) console.log(row);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
