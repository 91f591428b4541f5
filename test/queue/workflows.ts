/** The workflows the queue test and bench run: the two examples, and one test-only copy. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(__dirname, '..', '..');

interface WorkflowFile {
	id: string;
	name: string;
	nodes: Array<{ type: string; name: string; webhookId?: string; parameters: Record<string, unknown> }>;
}

function example(file: string): WorkflowFile {
	return JSON.parse(readFileSync(join(repo, 'examples', file), 'utf8')) as WorkflowFile;
}

const node = (workflow: WorkflowFile, type: string) => {
	const found = workflow.nodes.find((n) => n.type === type);
	if (!found) throw new Error(`${workflow.id} has no ${type} node`);
	return found;
};

const one = example('queue-export-one-dataset.json');

/** examples/queue-dispatch.json: List Eligible Datasets → one POST per dataset. */
export const DISPATCH = { id: example('queue-dispatch.json').id };

/** examples/queue-export-one-dataset.json: Webhook → Export Dataset → Verify Export → alert. */
export const ONE = { id: one.id, path: String(node(one, 'n8n-nodes-base.webhook').parameters.path) };

/** The header the test's Header Auth credential names. */
export const TOKEN_HEADER = 'X-Dataset-Export-Token';

/**
 * For the killed-worker test: the per-dataset example with its own webhook path, Remove Leftovers
 * After 0 hours (so the next run may remove what the killed run left at once, instead of 24 hours
 * later) and files of 20,000 records (so files land before the commit, and the kill finds some).
 */
export const KILL_TEST = {
	id: 'dsxQueueKillTest',
	path: 'dataset-export-kill-test',
	derive(workflow: WorkflowFile): WorkflowFile {
		const copy = structuredClone(workflow);
		copy.id = KILL_TEST.id;
		copy.name = `${workflow.name} (killed-worker test)`;
		const webhook = node(copy, 'n8n-nodes-base.webhook');
		webhook.parameters.path = KILL_TEST.path;
		webhook.webhookId = '7c2b9e40-4f1d-4c63-8e0a-00000000d0ff';
		const exporter = node(copy, 'n8n-nodes-dataset-export.exportDataset');
		exporter.parameters.options = { ...(exporter.parameters.options as object), cleanupAfterHours: 0, maxRecordsPerFile: 20_000 };
		return copy;
	},
};
