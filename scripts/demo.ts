/**
 * npm run demo: build the sample lake, run the example workflow (examples/scheduled-export.json:
 * Every 6 hours → List Eligible Datasets → Export Dataset → Verify Export; the alert branch runs in real n8n only) through n8n's
 * execution engine into ./demo-output/, then add a batch and run again: the second export of
 * that dataset holds only the new batch.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { addBatch, generateLake } from './sample/generator';
import { runWorkflow, type WorkflowJson } from '../test/harness/engine';

const root = resolve('demo-output');
const lake = join(root, 'lake');
const exports = join(root, 'exports');
const records = Number(process.env.DEMO_RECORDS ?? 20000);

function workflowAt(time: Date): WorkflowJson {
	const workflow = JSON.parse(readFileSync(resolve('examples/scheduled-export.json'), 'utf8')) as WorkflowJson;
	for (const node of workflow.nodes) {
		if ('lakePath' in node.parameters) node.parameters.lakePath = lake;
		if (node.type === 'n8n-nodes-base.scheduleTrigger') node.parameters.testTime = time.toISOString();
	}
	return workflow;
}

type Row = Record<string, unknown>;

function table(title: string, reports: Row[], verdicts: Row[], failures: Row[]) {
	const verified = new Map(verdicts.map((v) => [v.datasetId, v.ok ? 'yes' : 'NO']));
	const rows = reports.map((r) => {
		const totals = r.totals as { files: number; records: number; bytes: number };
		return [
			String(r.datasetId),
			`${r.mode}${r.status === 'nothing-new' ? ' (nothing new)' : ''}`,
			String(totals.files),
			String(totals.records),
			String(totals.bytes),
			verified.get(r.datasetId) ?? '-',
		];
	});
	const header = ['dataset', 'mode', 'files', 'records', 'bytes', 'verified'];
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
	const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
	console.log(`\n${title}`);
	console.log(line(header));
	console.log(widths.map((w) => '-'.repeat(w)).join('  '));
	for (const row of rows) console.log(line(row));
	for (const f of failures) console.log(`FAILED: ${String(f.error)}`);
}

async function run(title: string, time: Date) {
	// the credential's root is ./demo-output; the workflow's Folder Path "exports" puts files in ./demo-output/exports
	const result = await runWorkflow(workflowAt(time), { 'local-exports': { rootPath: root } });
	if (result.error) throw result.error;
	const failures = [...result.errors('Export Dataset'), ...result.errors('Verify Export')].map((i) => i.json);
	table(title, result.output('Export Dataset'), result.output('Verify Export'), failures);
	return failures.length;
}

async function main() {
	rmSync(root, { recursive: true, force: true });
	mkdirSync(exports, { recursive: true });
	console.log(`Generating the sample lake (${records} records per event dataset) in ${lake} …`);
	await generateLake({ dir: lake, records, seed: 'demo', batches: 3 });
	const first = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
	let failed = await run(`Run 1 at ${first.toISOString()}: first incremental export (backfill)`, first);

	const batch = await addBatch({ dir: lake, datasetId: 'ajo_message_feedback_event_dataset', records: 1234, ingestedAt: new Date(), seed: 'demo-new', firstIndex: records });
	console.log(`\nAdded batch ${batch.batchId} (${batch.records} records) to ajo_message_feedback_event_dataset.`);
	const second = new Date(first.getTime() + 6 * 3_600_000);
	failed += await run(`Run 2 at ${second.toISOString()}: incremental, only what is new`, second);

	console.log(`\nExports and manifests are in ${exports}`);
	if (failed) process.exit(1);
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
