/**
 * Queue mode end to end (docs/queue-mode.md): a real n8n 2.41.1 cluster (scripts/queue.sh: Redis,
 * PostgreSQL, main + 2 workers with --concurrency=1, the packed package installed in each process's
 * user folder) runs the two queue-mode examples unchanged, the dispatcher through `n8n execute` and
 * the per-dataset workflow through its production webhook. Everything is asserted on n8n's own
 * records (execution_entity and the run data in execution_data), the workers' logs (which worker
 * ran which execution) and the bytes at the destination (every committed file read back against
 * the lake: 0 missing, 0 duplicated).
 *
 * Run by `npm run test:queue` (scripts/test-queue.sh). QUEUE_KEEP=1 leaves the cluster running.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExportReport } from '../../lib/export/run';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { openStore } from '../../lib/storage';
import { manifestPathOf, runIdIn } from '../../lib/export/state';
import { verifyExport } from '../../lib/verify/verify';
import { addBatch, generateLake } from '../../scripts/sample/generator';
import { committedLedger, lakeIds, reconcile } from '../helpers/ledger';
import { DISPATCH, KILL_TEST, ONE, TOKEN_HEADER } from './workflows';
import {
	executionsOf,
	lastExecutionId,
	MAIN_PORT,
	n8nCli,
	pidOf,
	postWebhook,
	queueScript,
	repo,
	runDataOf,
	tokenFile,
	waitForExecutions,
	waitForStatus,
	waitHttp,
	workersByExecution,
	type Execution,
} from './cluster';

const SAMPLE = 'journey_step_events';
const DATASETS = 20;
const RECORDS = Number(process.env.QUEUE_TEST_RECORDS ?? 20_000);
const root = join(repo, '.tmp', 'queue-test');
const lake = join(root, 'lake');
const exportsDir = join(root, 'exports');
const token = randomUUID();
const auth = { [TOKEN_HEADER]: token };
const WORKERS = ['worker1', 'worker2'];

let ids: string[] = [];
/** Each dataset's export prefix, from its first report. */
const prefixes = new Map<string, string>();

interface Outcome {
	execution: Execution;
	report: ExportReport;
	verdict: { ok: boolean; problems: string[]; warnings: string[]; inProgress: Array<{ runId: string; files: string[] }> } | undefined;
	worker: string | undefined;
}

/** Each execution's Export Dataset report, Verify Export verdict and worker, from n8n's records. */
async function outcomes(executions: Execution[]): Promise<Outcome[]> {
	const workers = workersByExecution();
	const out: Outcome[] = [];
	for (const execution of executions) {
		const data = await runDataOf(execution.id);
		const [report] = data.output('Export Dataset') as unknown as ExportReport[];
		assert.ok(report, `execution #${execution.id} (${execution.status}) has an Export Dataset report; error: ${data.error ?? 'none'}; nodes run: ${data.nodes.join(', ')}`);
		const [verdict] = data.output('Verify Export') as unknown as Array<Outcome['verdict']>;
		const ran = workers.get(execution.id) ?? [];
		assert.ok(ran.length <= 1, `execution #${execution.id} was started by one worker, not ${ran.join(' and ')}`);
		out.push({ execution, report, verdict, worker: ran[0] });
	}
	return out;
}

function assertSucceeded(runs: Outcome[]) {
	for (const run of runs) {
		assert.equal(run.execution.status, 'success', `execution #${run.execution.id} (${run.report.datasetId}) is ${run.execution.status}`);
		assert.ok(run.verdict?.ok, `execution #${run.execution.id}: Verify Export passed ${run.report.datasetId}: ${run.verdict?.problems.join('; ')}`);
		assert.ok(run.worker, `execution #${run.execution.id} ran on a worker`);
	}
}

/** The union of every committed export of the dataset equals the lake, each record once, every file whole. */
async function assertExactlyOnce(datasetId: string) {
	const store = openStore({ type: 'localFolder', path: exportsDir });
	try {
		const ledger = await committedLedger(store, prefixes.get(datasetId)!, datasetId);
		assert.deepEqual(ledger.incomplete, [], `${datasetId}: every committed file is whole`);
		assert.deepEqual(reconcile(await lakeIds(new LocalLakeSource(lake), datasetId), ledger), { missing: 0, duplicated: 0, foreign: 0 }, `${datasetId}: lake = union of exports`);
		const last = ledger.commits[ledger.commits.length - 1];
		const verdict = await verifyExport(store, { manifestPath: manifestPathOf(last) ?? undefined });
		assert.deepEqual(verdict.problems, [], `${datasetId}: no file is left that no commit lists`);
	} finally {
		await store.close();
	}
}

const count = (values: Array<string | undefined>) => values.reduce((m, v) => m.set(String(v), (m.get(String(v)) ?? 0) + 1), new Map<string, number>());

/** Data files (not temporary ones) below a dataset's export prefix. */
function dataFiles(datasetId: string): string[] {
	const dir = join(exportsDir, prefixes.get(datasetId)!);
	if (!existsSync(dir)) return [];
	const out: string[] = [];
	const walk = (d: string) => {
		for (const entry of readdirSync(d, { withFileTypes: true })) {
			if (entry.isDirectory()) walk(join(d, entry.name));
			else if (entry.name.endsWith('.parquet') && !entry.name.startsWith('.')) out.push(join(d, entry.name));
		}
	};
	walk(dir);
	return out;
}

describe('queue mode: a real n8n cluster, 2 workers', { timeout: 60 * 60_000 }, () => {
	before(async () => {
		rmSync(root, { recursive: true, force: true });
		mkdirSync(exportsDir, { recursive: true });
		const generated = await generateLake({ dir: lake, records: RECORDS, seed: 'queue', batches: 3, datasets: [SAMPLE], copies: DATASETS });
		ids = generated.map((d) => d.id);
		await queueScript('start', {
			QUEUE_WORKERS: '2',
			QUEUE_CONCURRENCY: '1',
			QUEUE_PREPARE: 'node --import tsx test/queue/prepare.ts',
			QUEUE_FILE_ACCESS: `${lake};${exportsDir}`,
			QUEUE_TEST_LAKE: lake,
			QUEUE_TEST_EXPORTS: exportsDir,
			QUEUE_TEST_TOKEN_FILE: tokenFile(root, token),
			// a killed worker's job is noticed in about 15 + 5 + 30 s instead of 60 + 30 + 30 s
			QUEUE_WORKER_LOCK_DURATION: '15000',
			QUEUE_WORKER_LOCK_RENEW_TIME: '3000',
			QUEUE_WORKER_STALLED_INTERVAL: '5000',
		});
	});

	after(async () => {
		if (process.env.QUEUE_KEEP !== '1') await queueScript('stop');
	});

	it(`${DATASETS} datasets dispatched: ${DATASETS} executions over both workers, each verified, the union equals the lake`, async () => {
		const first = await lastExecutionId();
		const dispatched = await n8nCli(['execute', `--id=${DISPATCH.id}`]);
		assert.match(dispatched.stdout, /Execution was successful/, 'the dispatcher ran');
		const runs = await outcomes(await waitForExecutions(ONE.id, first, DATASETS, 10 * 60_000));
		assert.equal(runs.length, DATASETS, 'one execution per dataset');
		assertSucceeded(runs);
		assert.deepEqual(runs.map((r) => r.report.datasetId).sort(), [...ids].sort(), 'every dataset once');
		for (const run of runs) {
			assert.equal(run.report.status, 'committed', `${run.report.datasetId}: committed`);
			assert.equal(run.report.window.batches, 3, `${run.report.datasetId}: all 3 batches`);
			prefixes.set(run.report.datasetId, run.report.statePrefix);
		}
		const perWorker = count(runs.map((r) => r.worker));
		console.log(`queue: ${DATASETS} executions per worker: ${JSON.stringify(Object.fromEntries(perWorker))}`);
		for (const worker of WORKERS) assert.ok((perWorker.get(worker) ?? 0) > 0, `${worker} ran some exports`);
		for (const id of ids) await assertExactlyOnce(id);
	});

	it('the same dataset started twice at the same moment: each worker runs one, one commits, the other is superseded', async () => {
		const id = ids[0];
		await addBatch({ dir: lake, datasetId: SAMPLE, as: id, records: 150_000, ingestedAt: new Date('2026-02-01T00:00:00Z'), seed: 'race', batchId: 'race-1', firstIndex: 1_000_000 });
		const first = await lastExecutionId();
		const answers = await Promise.all([postWebhook(ONE.path, { id }, auth), postWebhook(ONE.path, { id }, auth)]);
		for (const answer of answers) assert.equal(answer.status, 200, `the webhook took the request: ${answer.text}`);
		const runs = await outcomes(await waitForExecutions(ONE.id, first, 2, 5 * 60_000));
		assertSucceeded(runs);
		assert.notEqual(runs[0].worker, runs[1].worker, 'the two executions ran on different workers');
		const byStatus = new Map(runs.map((r) => [r.report.status, r.report]));
		assert.deepEqual([...byStatus.keys()].sort(), ['committed', 'superseded'], `statuses: ${runs.map((r) => r.report.status).join(', ')}`);
		const winner = byStatus.get('committed')!;
		const loser = byStatus.get('superseded')!;
		assert.deepEqual(winner.window.batchIds, ['race-1'], 'the winner committed the new batch');
		assert.equal(loser.supersededBy?.runId, winner.runId, 'the loser names the winner');
		assert.equal(loser.manifestPath, winner.manifestPath, "the loser reports the winner's manifest");
		assert.deepEqual(loser.files, [], 'the loser reports no file of its own (it removed them)');
		const winnerVerdict = runs.find((r) => r.report.status === 'committed')!.verdict!;
		console.log(
			`queue: race on ${id}: ${runs.map((r) => `${r.worker} ${r.report.status}`).join(', ')}; the loser says: ${loser.warnings.join(' | ')}; the winner's Verify saw ${winnerVerdict.inProgress.length} run(s) in progress`,
		);
		await assertExactlyOnce(id);
	});

	it('Redis restarted between two scheduled runs: the next run works and the state continues', async () => {
		execFileSync('bash', ['scripts/servers/redis.sh', 'start'], { cwd: repo, stdio: 'inherit', timeout: 120_000 });
		await waitHttp(`http://127.0.0.1:${MAIN_PORT}/healthz/readiness`, 60_000);
		for (let n = 1; n <= WORKERS.length; n++) await waitHttp(`http://127.0.0.1:${5700 + n}/healthz/readiness`, 60_000);
		for (const worker of ['main', ...WORKERS]) assert.doesNotThrow(() => process.kill(pidOf(worker), 0), `${worker} is still running after the Redis restart`);
		const grown = ids.slice(1, 6);
		for (const id of grown) {
			await addBatch({ dir: lake, datasetId: SAMPLE, as: id, records: 5_000, ingestedAt: new Date('2026-02-02T00:00:00Z'), seed: 'after-redis', batchId: 'after-redis', firstIndex: 2_000_000 });
		}
		const first = await lastExecutionId();
		const dispatched = await n8nCli(['execute', `--id=${DISPATCH.id}`]);
		assert.match(dispatched.stdout, /Execution was successful/, 'the dispatcher ran');
		const runs = await outcomes(await waitForExecutions(ONE.id, first, DATASETS, 10 * 60_000));
		assertSucceeded(runs);
		for (const run of runs) {
			const id = run.report.datasetId;
			if (grown.includes(id)) {
				assert.equal(run.report.status, 'committed', `${id}: the new batch committed`);
				assert.deepEqual(run.report.window.batchIds, ['after-redis'], `${id}: only the new batch (the state continued)`);
				assert.ok(run.report.previousManifestPath, `${id}: the run found the previous export`);
			} else {
				assert.equal(run.report.status, 'nothing-new', `${id}: nothing new`);
			}
		}
		const perWorker = count(runs.map((r) => r.worker));
		console.log(`queue: after the Redis restart, executions per worker: ${JSON.stringify(Object.fromEntries(perWorker))}`);
		for (const id of ids) await assertExactlyOnce(id);
	});

	it('a worker SIGKILLed in the middle of an export: n8n marks the execution failed, the next run exports the batch again and verifies, its leftovers are removed', async () => {
		const id = ids[6];
		await addBatch({ dir: lake, datasetId: SAMPLE, as: id, records: 400_000, ingestedAt: new Date('2026-02-03T00:00:00Z'), seed: 'kill', batchId: 'kill-1', firstIndex: 3_000_000 });
		const before = new Set(dataFiles(id));
		const first = await lastExecutionId();
		const answer = await postWebhook(KILL_TEST.path, { id }, auth);
		assert.equal(answer.status, 200, answer.text);
		// wait until a worker runs it and has landed at least 2 files of it (not yet committed)
		const deadline = Date.now() + 180_000;
		let execution: Execution | undefined;
		let worker: string | undefined;
		let landed: string[] = [];
		while (Date.now() < deadline) {
			execution = (await executionsOf(KILL_TEST.id, first))[0];
			worker = execution && workersByExecution().get(execution.id)?.[0];
			landed = dataFiles(id).filter((f) => !before.has(f));
			if (worker && landed.length >= 2) break;
			await sleep(100);
		}
		assert.ok(execution && worker && landed.length >= 2, `the export started on a worker and landed files (execution ${execution?.id}, worker ${worker}, ${landed.length} files)`);
		assert.equal(execution.status, 'running', 'the export is still running when the worker is killed');
		const killedAt = Date.now();
		process.kill(-pidOf(worker), 'SIGKILL');
		console.log(`queue: killed ${worker} (process group ${pidOf(worker)}) during execution #${execution.id}, after ${landed.length} files landed`);
		const failed = await waitForStatus(KILL_TEST.id, execution.id, ['error', 'crashed'], 5 * 60_000);
		const failure = await runDataOf(failed.id).then(
			(d) => d.error,
			() => undefined,
		);
		console.log(`queue: n8n marked execution #${failed.id} ${failed.status} ${Math.round((Date.now() - killedAt) / 1000)} s after the kill: ${failure ?? '(no message)'}`);
		// what the killed run left: every data file of its own (more may have landed after the last look)
		const stillThere = dataFiles(id).filter((f) => !before.has(f));
		assert.ok(stillThere.length >= 2, "the killed run's files are still at the destination");

		const killedRun = runIdIn(basename(stillThere[0]));
		const survivor = WORKERS.find((w) => w !== worker);

		// the next run, as a user's (Remove Leftovers After: the default 24 hours): the batch again, on
		// the other worker; the killed run cannot be told from one still running, so its files wait
		// and Verify passes with a warning naming them
		const again = await lastExecutionId();
		assert.equal((await postWebhook(KILL_TEST.path, { id }, auth)).status, 200);
		const [next] = await outcomes(await waitForExecutions(KILL_TEST.id, again, 1, 5 * 60_000));
		assertSucceeded([next]);
		assert.equal(next.worker, survivor, 'the surviving worker ran the next export');
		assert.equal(next.report.status, 'committed');
		assert.deepEqual(next.report.window.batchIds, ['kill-1'], 'the next run exported the same batch again');
		assert.equal(next.report.cleanup.runs, 0, 'nothing removed before Remove Leftovers After');
		assert.ok(next.report.cleanup.pending >= 1, `the killed run is counted as pending (${JSON.stringify(next.report.cleanup)})`);
		for (const file of stillThere) assert.ok(existsSync(file), `${file} (the killed run's) is kept until then`);
		assert.deepEqual(
			next.verdict!.inProgress.map((r) => r.runId),
			[killedRun],
			'Verify lists the killed run as in progress',
		);
		assert.deepEqual(next.verdict!.inProgress[0].files.map((f) => basename(f)).sort(), stillThere.map((f) => basename(f)).sort());
		assert.match(next.verdict!.warnings.join('\n'), /has not committed and may still be running/);

		// a run with Remove Leftovers After 0 hours removes them, and exports nothing twice
		const third = await lastExecutionId();
		assert.equal((await postWebhook(KILL_TEST.path, { id, cleanupAfterHours: 0 }, auth)).status, 200);
		const [clean] = await outcomes(await waitForExecutions(KILL_TEST.id, third, 1, 5 * 60_000));
		assertSucceeded([clean]);
		assert.equal(clean.report.status, 'nothing-new');
		assert.ok(clean.report.cleanup.runs >= 1, `the killed run's leftovers removed (${JSON.stringify(clean.report.cleanup)})`);
		for (const file of stillThere) assert.ok(!existsSync(file), `${file} (the killed run's) was removed`);
		assert.deepEqual(clean.verdict!.inProgress, []);
		console.log(
			`queue: next run on ${next.worker}: ${next.report.totals.records} records, the killed run pending (Verify warned); then a run with Remove Leftovers After 0 removed ${clean.report.cleanup.runs} dead run(s), ${clean.report.cleanup.files} files, ${clean.report.cleanup.unfinished} unfinished`,
		);
		await assertExactlyOnce(id);
	});
});
