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
 * For the killed-worker test: the per-dataset example with its own webhook path, files of 20,000
 * records (so files land before the commit, and the kill finds some) and Remove Leftovers After
 * taken from the request (`cleanupAfterHours`, else the default 24), so the test can run the next
 * export as a user would (the killed run's files wait) and then one that removes them at once.
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
		exporter.parameters.options = { ...(exporter.parameters.options as object), cleanupAfterHours: '={{ $json.body.cleanupAfterHours ?? 24 }}', maxRecordsPerFile: 20_000 };
		return copy;
	},
};
