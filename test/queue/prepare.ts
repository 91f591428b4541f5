/**
 * QUEUE_PREPARE for the queue test and bench (run by scripts/queue.sh after the package is installed
 * and before main starts, with the cluster's environment, `as main`):
 *
 * - the lake and the local-folder destination "mounted" on every process: `~/dataset-lake` and
 *   `~/dataset-exports` in each process's home link to one lake and one exports folder, as a
 *   volume mounted at the same path on every machine would be;
 * - the credentials the examples name (local folder; Header Auth for the webhook);
 * - the two queue-mode examples imported UNCHANGED, and one test-only copy of the per-dataset
 *   workflow (its own webhook path, smaller files, Remove Leftovers After from the request) for
 *   the killed-worker test;
 * - the per-dataset workflows published, so main registers their webhooks when it starts.
 *
 * Environment: QUEUE_TEST_LAKE, QUEUE_TEST_EXPORTS, QUEUE_TEST_TOKEN_FILE (a file holding the
 * webhook's header value: the n8n processes inherit this environment, not the secret).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queueDir, repo } from './cluster';
import { KILL_TEST, TOKEN_HEADER } from './workflows';

function required(name: string): string {
	const value = process.env[name];
	if (!value) throw new Error(`${name} is not set`);
	return value;
}

const lake = required('QUEUE_TEST_LAKE');
const exportsDir = required('QUEUE_TEST_EXPORTS');
const token = readFileSync(required('QUEUE_TEST_TOKEN_FILE'), 'utf8').trim();
const n8n = (...args: string[]) => execFileSync(required('NODE24'), [required('N8N_BIN'), ...args], { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'inherit'] });

for (const name of readdirSync(queueDir)) {
	const home = join(queueDir, name, 'home');
	if (!existsSync(home)) continue;
	symlinkSync(lake, join(home, 'dataset-lake'));
	symlinkSync(exportsDir, join(home, 'dataset-exports'));
}

const tmp = mkdtempSync(join(tmpdir(), 'dsx-queue-prepare-'));
try {
	const credentials = join(tmp, 'credentials.json');
	writeFileSync(
		credentials,
		JSON.stringify([
			{ id: 'local-exports', name: 'Local exports', type: 'datasetExportLocalFolderApi', data: { rootPath: '~/dataset-exports' } },
			{ id: 'dataset-export-webhook', name: 'Dataset export webhook', type: 'httpHeaderAuth', data: { name: TOKEN_HEADER, value: token } },
		]),
		{ mode: 0o600 },
	);
	console.log(n8n('import:credentials', `--input=${credentials}`).trim());
	rmSync(credentials);

	const one = JSON.parse(readFileSync(join(repo, 'examples', 'queue-export-one-dataset.json'), 'utf8'));
	const killTest = join(tmp, 'kill-test.json');
	writeFileSync(killTest, JSON.stringify(KILL_TEST.derive(one)));
	for (const file of [join(repo, 'examples', 'queue-dispatch.json'), join(repo, 'examples', 'queue-export-one-dataset.json'), killTest]) {
		console.log(n8n('import:workflow', `--input=${file}`).trim());
	}
	for (const id of [one.id as string, KILL_TEST.id]) console.log(n8n('publish:workflow', `--id=${id}`).trim());
} finally {
	rmSync(tmp, { recursive: true, force: true });
}
