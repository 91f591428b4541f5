/**
 * The end-to-end test's second half, started by scripts/e2e.sh (read it first; docs/e2e.md says
 * what this proves). The package is already installed in $N8N_USER_FOLDER/.n8n/nodes and the lake
 * generated in $E2E_HOME/dataset-lake. This imports credentials and the three examples UNCHANGED
 * into a real n8n, runs them with `n8n execute --id`, and checks n8n's output and the bytes at each
 * destination, then breaks the S3 credential and checks that the alert branch fires and nothing is
 * committed. Every n8n command runs with a time limit; on failure n8n's log and stderr are printed
 * with secrets masked.
 */
/* eslint-disable @n8n/community-nodes/no-dangerous-functions, @n8n/community-nodes/require-node-api-error --
   a test script, not node code: it has to start n8n, and it fails with its own errors */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

// ---------------------------------------------------------------- set-up handed over by e2e.sh

function required(name: string): string {
	const value = process.env[name];
	if (!value) throw new Error(`${name} is not set: run this through scripts/e2e.sh`);
	return value;
}

const repo = resolve(__dirname, '..', '..');
const tmp = required('E2E_TMP');
const home = required('E2E_HOME');
const userFolder = required('N8N_USER_FOLDER');
const node24 = required('E2E_NODE24');
const n8nBin = required('E2E_N8N');
const logFile = join(tmp, 'logs', 'n8n.log');
const COMMAND_TIMEOUT_MS = Number(process.env.E2E_COMMAND_TIMEOUT_MS ?? 180_000);

const EXAMPLES = {
	scheduled: { file: 'examples/scheduled-export.json', id: 'dsxExportEvery6h' },
	full: { file: 'examples/one-time-full-export.json', id: 'dsxFullExportS3x' },
	sftp: { file: 'examples/daily-sftp-backup.json', id: 'dsxDailySftpBkup' },
} as const;
/** The bucket example (b) writes to (its Export Dataset node's Bucket). */
const BUCKET = (() => {
	const workflow = JSON.parse(readFileSync(join(repo, EXAMPLES.full.file), 'utf8')) as { nodes: { type: string; parameters: { bucket?: string } }[] };
	const bucket = workflow.nodes.find((n) => n.type === 'n8n-nodes-dataset-export.exportDataset')?.parameters.bucket;
	if (!bucket) throw new Error(`${EXAMPLES.full.file}: Export Dataset has no Bucket`);
	return bucket;
})();

interface SftpServer {
	host: string;
	port: number;
	username: string;
	password: string;
	hostFingerprint: string;
	home: string;
	uid: number;
	gid: number;
}
interface S3Server {
	endpoint: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
}

/** Connection details of a test server (scripts/servers/<name>.sh), or of the file in envVar. */
function server<T>(name: string, envVar: string): T {
	const file = process.env[envVar] || join(repo, '.tmp', 'servers', name, 'env.json');
	if (!existsSync(file)) throw new Error(`the ${name} test server is not running (${file} is missing): scripts/test.sh starts it`);
	return JSON.parse(readFileSync(file, 'utf8')) as T;
}

const sftp = server<SftpServer>('sftp', 'E2E_SFTP_ENV');
const s3server = server<S3Server>('ceph', 'E2E_S3_ENV');
const WRONG_SECRET = `wrong-${randomUUID()}`;
const secrets = [sftp.password, s3server.secretAccessKey, WRONG_SECRET].filter((s) => s.length >= 4);

function mask(text: string): string {
	let out = text;
	for (const secret of secrets) out = out.split(secret).join('***');
	return out;
}

// ---------------------------------------------------------------- running n8n

/**
 * n8n's file-access settings for the runs (n8n 2 allows only ~/.n8n-files by default): the
 * examples' lake and export folder, as a user of the examples sets it. The file-access check
 * overrides it per command.
 */
const ALLOWED_FOLDERS = '~/dataset-lake;~/dataset-exports';

/** n8n's environment: everything below the temp dir, nothing phoning home, loopback only. */
function n8nEnv(): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (/^(N8N_|AWS_|DB_|EXECUTIONS_|QUEUE_|GENERIC_TIMEZONE$|NODE_OPTIONS$)/.test(key)) continue;
		env[key] = value;
	}
	return {
		...env,
		HOME: home,
		N8N_USER_FOLDER: userFolder,
		PATH: `${dirname(node24)}:${process.env.PATH ?? ''}`,
		// logs to a file (JSON lines), so stdout holds only `execute`'s result
		N8N_LOG_OUTPUT: 'file',
		N8N_LOG_FORMAT: 'json',
		N8N_LOG_LEVEL: 'info',
		N8N_LOG_FILE_LOCATION: logFile,
		// nothing phones home
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_VERIFIED_PACKAGES_ENABLED: 'false',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_REINSTALL_MISSING_PACKAGES: 'false',
		N8N_DYNAMIC_BANNERS_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
		// anything that listens does so on 127.0.0.1, on unusual ports
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_PORT: process.env.E2E_N8N_PORT ?? '5790',
		N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
		N8N_RUNNERS_BROKER_PORT: process.env.E2E_RUNNERS_BROKER_PORT ?? '5791',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
		DB_TYPE: 'sqlite',
		GENERIC_TIMEZONE: 'UTC',
		N8N_RESTRICT_FILE_ACCESS_TO: ALLOWED_FOLDERS,
	};
}

interface Result {
	command: string;
	code: number | null;
	stdout: string;
	stderr: string;
	logFrom: number;
}

/** Runs `n8n <args>` on Node 24, bounded: TERM after the limit, KILL 10 s later (whole group). */
function n8n(...args: string[]): Promise<Result> {
	return n8nWith({}, ...args);
}

/** `n8n <args>` with some of n8n's environment changed. */
function n8nWith(envOverride: NodeJS.ProcessEnv, ...args: string[]): Promise<Result> {
	const command = `${Object.entries(envOverride)
		.map(([k, v]) => `${k}=${JSON.stringify(v)} `)
		.join('')}n8n ${args.join(' ')}`;
	const logFrom = existsSync(logFile) ? statSync(logFile).size : 0;
	return new Promise((resolvePromise, reject) => {
		const child = spawn(node24, [n8nBin, ...args], { cwd: tmp, env: { ...n8nEnv(), ...envOverride }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
		child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
		const kill = (signal: NodeJS.Signals) => {
			try {
				process.kill(-child.pid!, signal);
			} catch {
				// already gone
			}
		};
		let timedOut = false;
		const term = setTimeout(() => {
			timedOut = true;
			kill('SIGTERM');
		}, COMMAND_TIMEOUT_MS);
		const killer = setTimeout(() => kill('SIGKILL'), COMMAND_TIMEOUT_MS + 10_000);
		child.on('error', reject);
		child.on('close', (code) => {
			clearTimeout(term);
			clearTimeout(killer);
			kill('SIGKILL'); // a task runner left behind, if any
			const result = { command: timedOut ? `${command} (stopped after ${COMMAND_TIMEOUT_MS / 1000} s)` : command, code, stdout, stderr, logFrom };
			if (timedOut) reject(new E2eError(`${command} did not finish within ${COMMAND_TIMEOUT_MS / 1000} s`, result));
			else resolvePromise(result);
		});
	});
}

class E2eError extends Error {
	constructor(
		message: string,
		readonly result?: Result,
	) {
		super(message);
	}
}

interface LogLine {
	level: string;
	message: string;
}

function logLines(result: Result): LogLine[] {
	if (!existsSync(logFile)) return [];
	const text = readFileSync(logFile, 'utf8').slice(result.logFrom);
	return text
		.split('\n')
		.filter((l) => l.trim())
		.map((l) => {
			try {
				return JSON.parse(l) as LogLine;
			} catch {
				return { level: '?', message: l };
			}
		});
}

/** What a command said: its stdout and its log lines (n8n's logger writes to the log file). */
function said(result: Result): string {
	return `${result.stdout}\n${logLines(result)
		.map((l) => l.message)
		.join('\n')}`;
}

function describeFailure(result: Result): string {
	const log = logLines(result)
		.map((l) => `  [${l.level}] ${l.message.length > 4000 ? `${l.message.slice(0, 4000)} …` : l.message}`)
		.slice(-60)
		.join('\n');
	const out = result.stdout.length > 4000 ? `${result.stdout.slice(0, 4000)} …` : result.stdout;
	return mask(`$ ${result.command} → exit ${result.code}\n--- n8n log (this command) ---\n${log}\n--- stderr ---\n${result.stderr.trim()}\n--- stdout ---\n${out.trim()}`);
}

function check(condition: unknown, message: string, result?: Result): asserts condition {
	if (!condition) throw new E2eError(message, result);
}

async function ok(...args: string[]): Promise<Result> {
	const result = await n8n(...args);
	check(result.code === 0, `${result.command} failed`, result);
	return result;
}

// ---------------------------------------------------------------- n8n's execution data

/** The fields of our nodes' (and the alert's) output items that the assertions read. */
interface ItemJson {
	[key: string]: unknown;
	id?: string;
	eligible?: boolean;
	recordCount?: number;
	datasetId?: string;
	status?: string;
	files?: { path: string; size: number; records: number }[];
	totals?: { files: number; records: number; bytes: number };
	manifestPath?: string;
	previousManifestPath?: string | null;
	ok?: boolean;
	error?: string;
	alert?: string;
	datasets?: string[];
}
interface Item {
	json: ItemJson;
}
interface NodeRun {
	executionStatus?: string;
	data?: { main?: (Item[] | null)[] };
}
interface Run {
	status?: string;
	mode?: string;
	data: { resultData: { runData: Record<string, NodeRun[]>; error?: { message?: string; node?: { name?: string } } } };
}

/**
 * `execute` hands the run (JSON) to n8n's logger: on success as its result (`--rawOutput` leaves out
 * the header), on failure after "Execution was NOT successful". The logger writes JSON lines to
 * the log file here, so the run is the one info message that is a JSON object with `resultData`.
 */
function runOf(result: Result): Run {
	const line = logLines(result).find((l) => l.message.startsWith('{') && l.message.includes('"resultData"'));
	check(line, `${result.command}: the run's data is not in n8n's log`, result);
	try {
		return JSON.parse(line.message) as Run;
	} catch (error) {
		throw new E2eError(`${result.command}: the run's data is not JSON (${(error as Error).message})`, result);
	}
}

function items(run: Run, node: string, output = 0): Item[] {
	const runs = run.data.resultData.runData[node];
	if (!runs?.length) return [];
	return runs[runs.length - 1].data?.main?.[output] ?? [];
}

function ran(run: Run, node: string): boolean {
	return (run.data.resultData.runData[node]?.length ?? 0) > 0;
}

async function execute(example: { id: string; file: string }, envOverride: NodeJS.ProcessEnv = {}): Promise<{ run: Run; result: Result }> {
	const started = Date.now();
	const result = await n8nWith(envOverride, 'execute', `--id=${example.id}`, '--rawOutput');
	console.log(`e2e: n8n execute --id=${example.id} (${example.file}) → exit ${result.code} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
	return { result, run: runOf(result) };
}

// ---------------------------------------------------------------- assertions on a successful run

interface Exported {
	datasetId: string;
	manifestPath: string;
	files: { path: string; size: number; records: number }[];
	records: number;
}

/** List gave datasets (if the example lists), Export committed each, Verify passed each, no alert. */
function assertExportedAndVerified(run: Run, result: Result, expectListed: boolean): Exported[] {
	check(run.status === 'success', `execution status ${run.status}`, result);
	check(!run.data.resultData.error, `execution error: ${run.data.resultData.error?.message}`, result);
	const expectedRecords = new Map<string, number>();
	if (expectListed) {
		const listed = items(run, 'List Eligible Datasets');
		check(listed.length > 0, 'List Eligible Datasets gave no datasets', result);
		for (const { json } of listed) {
			check(json.eligible === true && typeof json.id === 'string' && typeof json.recordCount === 'number', `listed dataset not eligible: ${JSON.stringify(json)}`, result);
			expectedRecords.set(json.id, json.recordCount);
		}
		console.log(`e2e:   List Eligible Datasets: ${listed.length} eligible (${[...expectedRecords.keys()].join(', ')})`);
	}
	const exportErrors = items(run, 'Export Dataset', 1);
	check(exportErrors.length === 0, `Export Dataset error output: ${JSON.stringify(exportErrors.map((i) => i.json))}`, result);
	const exported = items(run, 'Export Dataset');
	check(exported.length > 0, 'Export Dataset gave no items', result);
	if (expectListed) check(exported.length === expectedRecords.size, `exported ${exported.length} of ${expectedRecords.size} listed datasets`, result);
	const out: Exported[] = [];
	for (const { json } of exported) {
		const { datasetId, status, files, totals, manifestPath } = json;
		const what = `Export Dataset › ${datasetId}`;
		check(typeof datasetId === 'string', `${what}: no datasetId`, result);
		check(status === 'committed', `${what}: status ${status}`, result);
		check(Array.isArray(files) && files.length > 0, `${what}: no files`, result);
		check(totals && totals.records > 0 && totals.files === files.length, `${what}: totals ${JSON.stringify(totals)}`, result);
		check(typeof manifestPath === 'string' && manifestPath.length > 0, `${what}: no manifestPath`, result);
		if (expectedRecords.has(datasetId)) {
			check(totals.records === expectedRecords.get(datasetId), `${what}: ${totals.records} records exported, the lake lists ${expectedRecords.get(datasetId)}`, result);
		}
		out.push({ datasetId, manifestPath, files, records: totals.records });
	}
	const verifyErrors = items(run, 'Verify Export', 1);
	check(verifyErrors.length === 0, `Verify Export error output: ${JSON.stringify(verifyErrors.map((i) => i.json))}`, result);
	const verified = items(run, 'Verify Export');
	check(verified.length === exported.length, `Verify Export gave ${verified.length} items for ${exported.length} exports`, result);
	for (const { json } of verified) {
		check(json.ok === true, `Verify Export: not ok: ${JSON.stringify(json).slice(0, 2000)}`, result);
		check(
			out.some((e) => e.manifestPath === json.manifestPath),
			`Verify Export checked an unknown manifest ${json.manifestPath}`,
			result,
		);
	}
	check(!ran(run, 'Compose alert') && !ran(run, 'Raise alert'), 'the alert branch ran on a successful run', result);
	const total = out.reduce((n, e) => n + e.records, 0);
	console.log(`e2e:   Export Dataset: ${out.length} committed, ${total} records; Verify Export: ${verified.length} ok`);
	return out;
}

interface StoredFile {
	size: number;
	text?: string;
}

/** The manifest and every file it lists are where the node said, with the sizes it said. */
async function assertLanded(where: string, exported: Exported[], stat: (path: string, read: boolean) => Promise<StoredFile | undefined>): Promise<void> {
	let files = 0;
	for (const e of exported) {
		const manifest = await stat(e.manifestPath, true);
		check(manifest?.text, `${where}: manifest ${e.manifestPath} is not there`);
		const parsed = JSON.parse(manifest.text) as Record<string, unknown>;
		check(JSON.stringify(parsed).includes(e.datasetId), `${where}: manifest ${e.manifestPath} does not name ${e.datasetId}`);
		for (const f of e.files) {
			const found = await stat(f.path, false);
			check(found, `${where}: ${f.path} is not there`);
			check(found.size === f.size, `${where}: ${f.path} is ${found.size} bytes, the export said ${f.size}`);
			files++;
		}
	}
	console.log(`e2e:   ${where}: ${exported.length} manifests and ${files} data files are there, sizes match`);
}

function localStat(root: string) {
	return async (path: string, read: boolean): Promise<StoredFile | undefined> => {
		const full = join(root, path);
		if (!existsSync(full)) return undefined;
		return { size: statSync(full).size, text: read ? readFileSync(full, 'utf8') : undefined };
	};
}

// ---------------------------------------------------------------- S3 (Ceph) helpers

const s3 = new S3Client({
	region: s3server.region,
	endpoint: s3server.endpoint,
	forcePathStyle: true,
	credentials: { accessKeyId: s3server.accessKeyId, secretAccessKey: s3server.secretAccessKey },
});

async function s3Stat(key: string, read: boolean): Promise<StoredFile | undefined> {
	try {
		if (!read) {
			const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
			return { size: head.ContentLength ?? -1 };
		}
		const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
		const text = (await got.Body?.transformToString('utf8')) ?? '';
		return { size: Buffer.byteLength(text), text };
	} catch (error) {
		if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
		throw error;
	}
}

async function s3Keys(prefix: string): Promise<string[]> {
	const keys: string[] = [];
	let token: string | undefined;
	do {
		const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
		for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
		token = page.IsTruncated ? page.NextContinuationToken : undefined;
	} while (token);
	return keys.sort();
}

function reachable(host: string, port: number): Promise<boolean> {
	return new Promise((done) => {
		const socket = connect({ host, port, timeout: 3000 });
		socket.once('connect', () => {
			socket.destroy();
			done(true);
		});
		socket.once('error', () => done(false));
		socket.once('timeout', () => {
			socket.destroy();
			done(false);
		});
	});
}

// ---------------------------------------------------------------- the test

/** `n8n import:credentials` from a file that exists (mode 600) only while the command runs. */
async function importCredentials(credentials: object[]): Promise<Result> {
	const file = join(tmp, 'credentials.json');
	writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
	try {
		const result = await ok('import:credentials', `--input=${file}`);
		const count = credentials.length === 1 ? '1 credential' : `${credentials.length} credentials`;
		check(said(result).includes(`Successfully imported ${count}.`), `import:credentials did not report ${count}`, result);
		return result;
	} finally {
		rmSync(file, { force: true });
	}
}

/** Every file below a folder (relative paths), to show nothing was written. */
function filesBelow(dir: string, rel = ''): string[] {
	if (!existsSync(join(dir, rel))) return [];
	const out: string[] = [];
	for (const name of readdirSync(join(dir, rel)).sort()) {
		const path = rel ? `${rel}/${name}` : name;
		if (statSync(join(dir, path)).isDirectory()) out.push(...filesBelow(dir, path));
		else out.push(path);
	}
	return out;
}

/**
 * n8n's file-access settings, as n8n's Read/Write Files node follows them: with n8n 2's default
 * (only ~/.n8n-files) the lake is refused, naming Lake Path; with the lake allowed and the export
 * folder not, Export Dataset's error output carries the refusal naming the Local Folder
 * credential; nothing is written either time. Then a lake inside n8n's own folder
 * (N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES, on by default) is refused although the restriction allows it.
 */
async function fileAccessChecks(localRoot: string): Promise<void> {
	const before = filesBelow(localRoot);
	let { run, result: r } = await execute(EXAMPLES.scheduled, { N8N_RESTRICT_FILE_ACCESS_TO: '~/.n8n-files' });
	check(r.code !== 0 && run.status === 'error', `with N8N_RESTRICT_FILE_ACCESS_TO=~/.n8n-files the run should fail, status ${run.status}`, r);
	const refused = run.data.resultData.error;
	check(refused?.node?.name === 'List Eligible Datasets', `the run failed in ${refused?.node?.name ?? 'no node'}, not in List Eligible Datasets`, r);
	check(
		/^Lake Path: access to the folder .*dataset-lake is not allowed by n8n's file access settings/.test(String(refused.message)),
		`List Eligible Datasets' error does not name Lake Path and the file-access settings: ${refused.message}`,
		r,
	);
	check(!ran(run, 'Export Dataset'), 'Export Dataset ran although the lake was refused', r);
	check(JSON.stringify(filesBelow(localRoot)) === JSON.stringify(before), 'something was written while the lake was refused', r);
	console.log(`e2e:   N8N_RESTRICT_FILE_ACCESS_TO=~/.n8n-files (n8n 2's default): List Eligible Datasets refused with "${String(refused.message).slice(0, 90)}…"; nothing written`);

	({ run, result: r } = await execute(EXAMPLES.scheduled, { N8N_RESTRICT_FILE_ACCESS_TO: '~/dataset-lake' }));
	check(r.code !== 0 && run.status === 'error', `with only the lake allowed the run should fail (Raise alert), status ${run.status}`, r);
	check(items(run, 'List Eligible Datasets').length > 0, 'List Eligible Datasets listed nothing although the lake is allowed', r);
	check(items(run, 'Export Dataset').length === 0, 'Export Dataset committed something to a folder n8n refuses', r);
	const failures = items(run, 'Export Dataset', 1);
	check(failures.length === items(run, 'List Eligible Datasets').length, `Export Dataset error output has ${failures.length} items`, r);
	const message = String(failures[0].json.error ?? '');
	check(
		/Local Folder credential: access to the folder .*dataset-exports is not allowed by n8n's file access settings/.test(message),
		`the error item does not name the credential and the file-access settings: ${message}`,
		r,
	);
	check(ran(run, 'Compose alert'), 'the alert branch did not run', r);
	check(JSON.stringify(filesBelow(localRoot)) === JSON.stringify(before), 'something was written to a folder n8n refuses', r);
	console.log(`e2e:   N8N_RESTRICT_FILE_ACCESS_TO=~/dataset-lake: ${failures.length} items on Export's error output ("${message.slice(0, 80)}…"); nothing written`);

	// a lake inside n8n's own folder, allowed by the restriction: still refused (N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES)
	const n8nLake = join(userFolder, '.n8n', 'dataset-lake');
	mkdirSync(n8nLake, { recursive: true });
	try {
		// HOME moved into n8n's folder, so the example's ~/dataset-lake is there
		({ run, result: r } = await execute(EXAMPLES.scheduled, { N8N_RESTRICT_FILE_ACCESS_TO: join(userFolder, '.n8n'), HOME: join(userFolder, '.n8n') }));
		const blocked = run.data.resultData.error;
		check(
			blocked?.node?.name === 'List Eligible Datasets' && /^Lake Path: access to the folder .* is not allowed by n8n's file access settings/.test(String(blocked.message)),
			`a lake in n8n's own folder was not refused: ${blocked?.message ?? run.status}`,
			r,
		);
		console.log("e2e:   a lake inside n8n's own folder, allowed by N8N_RESTRICT_FILE_ACCESS_TO: refused (N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES)");
	} finally {
		rmSync(n8nLake, { recursive: true, force: true });
	}
}

async function main(): Promise<void> {
	if (process.env.E2E_ONLY === 'file-access') {
		// the checks that need no test server (scripts/e2e.sh with E2E_ONLY=file-access)
		const localRoot = join(home, 'dataset-exports');
		mkdirSync(localRoot, { recursive: true });
		await importCredentials([{ id: 'local-exports', name: 'Local exports', type: 'datasetExportLocalFolderApi', data: { rootPath: '~/dataset-exports' } }]);
		await ok('import:workflow', `--input=${join(repo, EXAMPLES.scheduled.file)}`);
		await fileAccessChecks(localRoot);
		const { run, result: r } = await execute(EXAMPLES.scheduled);
		check(r.code === 0, 'scheduled-export failed with the lake and export folder allowed', r);
		await assertLanded(`local folder ${localRoot}`, assertExportedAndVerified(run, r, true), localStat(localRoot));
		return;
	}
	const s3url = new URL(s3server.endpoint);
	check(await reachable(sftp.host, sftp.port), `the SFTP test server does not answer on ${sftp.host}:${sftp.port} (scripts/servers/sftp.sh start)`);
	check(await reachable(s3url.hostname, Number(s3url.port || 80)), `the S3 test server does not answer at ${s3server.endpoint} (scripts/servers/ceph.sh start)`);

	// destinations: a folder in the temp HOME, a fresh folder on the SFTP server, the examples' bucket
	const localRoot = join(home, 'dataset-exports');
	mkdirSync(localRoot, { recursive: true });
	const sftpRoot = join(sftp.home, `e2e-${randomUUID().slice(0, 8)}`);
	mkdirSync(sftpRoot);
	chownSync(sftpRoot, sftp.uid, sftp.gid);
	const written: string[] = [];
	try {
		try {
			await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
		} catch (error) {
			const name = (error as Error).name;
			if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
		}

		// credentials, with the ids and types the examples name
		const credentials = [
			{ id: 'local-exports', name: 'Local exports', type: 'datasetExportLocalFolderApi', data: { rootPath: '~/dataset-exports' } },
			{
				id: 's3-exports',
				name: 'S3 exports',
				type: 'datasetExportS3Api',
				data: {
					accessKeyId: s3server.accessKeyId,
					secretAccessKey: s3server.secretAccessKey,
					region: s3server.region,
					endpoint: s3server.endpoint,
					forcePathStyle: true,
				},
			},
			{
				id: 'sftp-backup',
				name: 'SFTP backup',
				type: 'datasetExportSftpApi',
				data: {
					host: sftp.host,
					port: sftp.port,
					username: sftp.username,
					password: sftp.password,
					hostFingerprint: sftp.hostFingerprint,
					rootPath: sftpRoot,
				},
			},
		];
		await importCredentials(credentials);
		let result: Result;

		// the examples, straight from examples/ (unchanged)
		for (const example of Object.values(EXAMPLES)) {
			result = await ok('import:workflow', `--input=${join(repo, example.file)}`);
			check(/Successfully imported 1 workflow/.test(said(result)), `import:workflow ${example.file} did not report success`, result);
		}
		result = await ok('list:workflow');
		for (const example of Object.values(EXAMPLES)) check(said(result).includes(`${example.id}|`), `${example.id} is not listed after import`, result);
		console.log('e2e: imported 3 credentials and the 3 examples');

		// n8n's file-access settings, before anything is exported
		await fileAccessChecks(localRoot);

		// (a) every 6 hours: incremental Parquet to the local folder (~ = the temp HOME)
		let { run, result: r } = await execute(EXAMPLES.scheduled);
		check(r.code === 0, 'scheduled-export failed', r);
		const local = assertExportedAndVerified(run, r, true);
		await assertLanded(`local folder ${localRoot}`, local, localStat(localRoot));
		check(
			local.every((e) => e.manifestPath.startsWith('exports/')),
			'local manifests are not below the example\'s Folder Path "exports"',
			r,
		);

		// (a) again, in a new n8n process: the watermark is read back from the destination
		({ run, result: r } = await execute(EXAMPLES.scheduled));
		check(r.code === 0 && run.status === 'success', 'the second scheduled-export run failed', r);
		const again = items(run, 'Export Dataset');
		check(again.length === local.length, `second run exported ${again.length} datasets, the first ${local.length}`, r);
		for (const { json } of again) {
			check(json.status === 'nothing-new' && json.totals?.records === 0, `second incremental run of ${json.datasetId}: ${json.status}, ${json.totals?.records} records`, r);
			const first = local.find((e) => e.datasetId === json.datasetId);
			check(first && json.previousManifestPath === first.manifestPath, `second run of ${json.datasetId} did not continue from the first run's manifest`, r);
		}
		check(
			items(run, 'Verify Export').every((i) => i.json.ok === true),
			'Verify Export failed on the second run',
			r,
		);
		console.log(`e2e:   second run: ${again.length} × nothing-new, continuing from the first run's manifests; verified`);

		// (b) one-time full export of chosen datasets to S3
		({ run, result: r } = await execute(EXAMPLES.full));
		check(r.code === 0, 'one-time-full-export failed', r);
		const chosen = (items(run, 'Chosen datasets')[0]?.json.datasets ?? []) as string[];
		check(chosen.length > 0, 'Chosen datasets gave no dataset ids', r);
		const full = assertExportedAndVerified(run, r, false);
		check(JSON.stringify(full.map((e) => e.datasetId).sort()) === JSON.stringify([...chosen].sort()), `exported ${full.map((e) => e.datasetId)} but the example chose ${chosen}`, r);
		for (const e of full) written.push(e.manifestPath, ...e.files.map((f) => f.path));
		await assertLanded(`S3 bucket ${BUCKET}`, full, s3Stat);

		// (c) daily NDJSON.gz backup to SFTP
		({ run, result: r } = await execute(EXAMPLES.sftp));
		check(r.code === 0, 'daily-sftp-backup failed', r);
		const backup = assertExportedAndVerified(run, r, true);
		check(
			backup.every((e) => e.files.every((f) => f.path.endsWith('.json.gz'))),
			'the SFTP backup did not write .json.gz files',
			r,
		);
		await assertLanded(`SFTP server ${sftpRoot}`, backup, localStat(sftpRoot));

		// the broken credential: same id, wrong secret → the alert branch fires, nothing is committed
		const manifestsBefore = (await s3Keys('')).filter((k) => /\/manifest-[^/]*\.json$/.test(k));
		const broken = [{ ...credentials[1], data: { ...credentials[1].data, secretAccessKey: WRONG_SECRET } }];
		await importCredentials(broken);
		({ run, result: r } = await execute(EXAMPLES.full));
		check(r.code !== 0, 'with a wrong S3 secret the execution should fail (Raise alert), but it exited 0', r);
		check(run.status === 'error', `status ${run.status} with a wrong S3 secret`, r);
		check(items(run, 'Export Dataset').length === 0, 'Export Dataset committed something with a wrong S3 secret', r);
		const failures = items(run, 'Export Dataset', 1);
		check(failures.length === chosen.length, `Export Dataset error output has ${failures.length} items for ${chosen.length} datasets`, r);
		const credentialError = String(failures[0].json.error ?? '');
		check(/S3 credential|access denied|secret access key/i.test(credentialError), `the error item does not name the credential problem: ${credentialError}`, r);
		check(!ran(run, 'Verify Export'), 'Verify Export ran although nothing was exported', r);
		const alerts = items(run, 'Compose alert');
		check(alerts.length === failures.length, `Compose alert ran for ${alerts.length} of ${failures.length} failures`, r);
		check(String(alerts[0].json.alert).includes(credentialError), 'Compose alert does not carry the credential error', r);
		const raised = run.data.resultData.error;
		check(raised?.node?.name === 'Raise alert', `the execution failed in ${raised?.node?.name ?? 'no node'}, not in Raise alert`, r);
		check(
			String(raised.message).startsWith('Dataset export failed in "One-time full export') && String(raised.message).includes(credentialError),
			`Raise alert's message does not carry the credential error: ${raised.message}`,
			r,
		);
		const manifestsAfter = (await s3Keys('')).filter((k) => /\/manifest-[^/]*\.json$/.test(k));
		const added = manifestsAfter.filter((k) => !manifestsBefore.includes(k));
		check(added.length === 0, `a manifest was committed with a wrong S3 secret: ${added.join(', ')}`, r);
		console.log(`e2e:   wrong S3 secret: ${failures.length} items on Export's error output → Compose alert → Raise alert failed the execution with "${mask(String(raised.message))}"; no new manifest`);
	} finally {
		rmSync(sftpRoot, { recursive: true, force: true });
		if (written.length) await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: written.map((Key) => ({ Key })) } })).catch(() => undefined);
		s3.destroy();
	}
}

main().then(
	() => console.log('e2e: all assertions passed'),
	(error: unknown) => {
		console.error(`\ne2e: FAILED: ${mask(error instanceof Error ? error.message : String(error))}`);
		if (error instanceof E2eError) {
			if (error.result) console.error(describeFailure(error.result));
		} else if (error instanceof Error && error.stack) console.error(mask(error.stack));
		process.exitCode = 1;
	},
);
