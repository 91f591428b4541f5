/**
 * Verify Export through n8n's engine: Reconcile With Lake (the lake's fields as Export Dataset
 * shows them), a damaged Parquet footer named in words, and warnings as execution hints.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { INode, NodeOperationError } from 'n8n-workflow';
import { generateLake } from '../scripts/sample/generator';
import { tempDir } from './helpers/fixtures';
import { runWorkflow, setTriggerTime, type WorkflowJson } from './harness/engine';

const EXAMPLE = JSON.parse(readFileSync(join(__dirname, '..', 'examples', 'scheduled-export.json'), 'utf8')) as WorkflowJson;
const CREDENTIAL = 'local-exports';
const verifyNode = EXAMPLE.nodes.find((n) => n.name === 'Verify Export') as INode;

function verifyAlone(manifestPath: string, parameters: Record<string, unknown>): WorkflowJson {
	return {
		nodes: [
			{ id: '1', name: 'Items', type: 'test.items', typeVersion: 1, position: [0, 0], parameters: { items: JSON.stringify([{ manifestPath }]) } },
			{ ...verifyNode, position: [200, 0], parameters: { ...verifyNode.parameters, ...parameters } as INode['parameters'] },
		],
		connections: { Items: { main: [[{ node: 'Verify Export', type: 'main', index: 0 }]] } },
	};
}

describe('Verify Export node', () => {
	const lake = tempDir('vn-lake');
	const out = tempDir('vn-out');
	const credentials = { [CREDENTIAL]: { rootPath: out } };
	let report: { files: Array<{ path: string; name: string }>; manifestPath: string; window: { batchIds: string[] } };

	before(async () => {
		await generateLake({ dir: lake, records: 300, seed: 'verify-node', batches: 2, datasets: ['journeys'] });
		const workflow = structuredClone(EXAMPLE);
		for (const node of workflow.nodes) if ('lakePath' in node.parameters) node.parameters.lakePath = lake;
		setTriggerTime(workflow, '2026-11-22T00:00:00Z');
		const first = await runWorkflow(workflow, credentials);
		report = first.output('Export Dataset')[0] as typeof report;
	});

	it('Reconcile With Lake compares every batch with the lake and passes when they agree', async () => {
		const result = await runWorkflow(verifyAlone(report.manifestPath, { reconcile: true, source: 'localLake', lakePath: lake }), credentials);
		assert.deepEqual(result.errors('Verify Export'), []);
		const [verdict] = result.output('Verify Export') as Array<{ ok: boolean; reconciliation: { checked: boolean; matched: number; batches: unknown[] } }>;
		assert.equal(verdict.ok, true);
		assert.equal(verdict.reconciliation.checked, true);
		assert.equal(verdict.reconciliation.matched, report.window.batchIds.length);
	});

	it('a batch whose lake count differs fails verification; a Lake Path that evaluates to nothing is blamed on Lake Path (an empty one is refused by n8n itself)', async () => {
		const batch = report.window.batchIds[0];
		const meta = join(lake, 'journeys', 'batches', batch, 'batch.json');
		const original = readFileSync(meta, 'utf8');
		writeFileSync(meta, JSON.stringify({ ...JSON.parse(original), recordCount: 1 }));
		try {
			const result = await runWorkflow(verifyAlone(report.manifestPath, { reconcile: true, source: 'localLake', lakePath: lake }), credentials);
			const [failed] = result.errors('Verify Export');
			assert.match(String((failed.error as NodeOperationError).description), new RegExp(`batch ${batch} does not reconcile with the lake: the lake holds 1 records`));
		} finally {
			writeFileSync(meta, original);
		}
		const empty = await runWorkflow(verifyAlone(report.manifestPath, { reconcile: true, source: 'localLake', lakePath: '={{ "" }}' }), credentials);
		const [failed] = empty.errors('Verify Export');
		assert.match(String(failed.json.error), /Lake Path is empty/);
	});

	it('a damaged Parquet footer is named in words (Verify Checksums off)', async () => {
		const path = join(out, report.files[0].path);
		const original = readFileSync(path);
		const bytes = Buffer.from(original);
		const footerStart = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
		bytes.fill(0xff, footerStart, footerStart + 16);
		writeFileSync(path, bytes);
		try {
			const result = await runWorkflow(verifyAlone(report.manifestPath, { options: { checksums: false } }), credentials);
			const [failed] = result.errors('Verify Export');
			assert.match(String(failed.json.error), new RegExp(`failed verification: ${report.files[0].name.replace(/\./g, '\\.')}: not a readable Parquet file: the footer is damaged`));
			assert.doesNotMatch(String(failed.json.error), /Cannot read properties/);
		} finally {
			writeFileSync(path, original);
		}
	});
});
