/**
 * Driving the queue-mode cluster of scripts/queue.sh (docs/queue-mode.md) from the queue test and
 * the queue bench: starting and stopping it, n8n's CLI in the cluster's environment, webhook calls,
 * n8n's own records (the executions tables in PostgreSQL, run data parsed the way n8n stores it)
 * and the workers' JSON logs (which worker ran which execution: n8n has no column for it).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseFlatted } from 'flatted';

export const repo = resolve(__dirname, '..', '..');
export const queueDir = join(repo, '.tmp', 'queue');
/** n8n's own default port, which the dispatcher example's URL names. */
export const MAIN_PORT = 5678;

const exec = promisify(execFile);
const MiB = 1024 * 1024;

function sleep(ms: number) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `bash scripts/queue.sh <command>` with extra environment; output goes to this process's stderr. Bounded. */
export function queueScript(command: 'start' | 'stop', env: Record<string, string> = {}, timeoutMs = 15 * 60_000): Promise<void> {
	return new Promise((resolve, reject) => {
		const child = spawn('bash', ['scripts/queue.sh', command], { cwd: repo, env: { ...process.env, QUEUE_MAIN_PORT: String(MAIN_PORT), ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
		const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
		child.once('error', reject);
		child.once('exit', (code, signal) => {
			clearTimeout(timer);
			if (code === 0) resolve();
			else reject(new Error(`scripts/queue.sh ${command} failed (${signal ?? `exit ${code}`})`));
		});
	});
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** An n8n CLI command with the cluster's environment and the `cli` user folder (or another), its log on stdout. */
export async function n8nCli(args: string[], options: { as?: string; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
	// its log on stdout (the cluster's processes log to files), where `n8n execute` says how the run went
	const command = `. ${quote(join(queueDir, 'env.sh'))} && as ${options.as ?? 'cli'} && export N8N_LOG_OUTPUT=console N8N_LOG_FORMAT=text && exec "$NODE24" "$N8N_BIN" ${args.map(quote).join(' ')}`;
	return exec('bash', ['-c', command], { cwd: repo, timeout: options.timeoutMs ?? 240_000, killSignal: 'SIGKILL', maxBuffer: 64 * MiB });
}

interface PgEnv {
	port: number;
	user: string;
	password: string;
	database: string;
}

/** One SQL statement through psql (PostgreSQL's own client), rows as arrays of text. */
export async function sql(statement: string): Promise<string[][]> {
	const pg = JSON.parse(readFileSync(join(repo, '.tmp', 'servers', 'postgres', 'env.json'), 'utf8')) as PgEnv;
	const { stdout } = await exec('psql', ['-h', '127.0.0.1', '-p', String(pg.port), '-U', pg.user, '-d', pg.database, '-X', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', statement], {
		env: { ...process.env, PGPASSWORD: pg.password, PGCONNECT_TIMEOUT: '10' },
		timeout: 60_000,
		killSignal: 'SIGKILL',
		maxBuffer: 512 * MiB,
	});
	return stdout
		.split('\n')
		.filter((line) => line.length)
		.map((line) => line.split('\t'));
}

export interface Execution {
	id: number;
	status: string;
	mode: string;
	createdAt: number;
	startedAt: number | null;
	stoppedAt: number | null;
}

const FINAL = new Set(['success', 'error', 'crashed', 'canceled']);

/** The newest execution id so far (0 if none): executions after it are the ones a step started. */
export async function lastExecutionId(): Promise<number> {
	const [[id]] = await sql('select coalesce(max(id), 0) from execution_entity');
	return Number(id);
}

/** A workflow's executions after an id, from n8n's executions table. */
export async function executionsOf(workflowId: string, afterId: number): Promise<Execution[]> {
	if (!/^[A-Za-z0-9]+$/.test(workflowId)) throw new Error(`not a workflow id: ${workflowId}`);
	const ms = (column: string) => `round(extract(epoch from "${column}") * 1000)`;
	const rows = await sql(
		`select id, status, mode, ${ms('createdAt')}, ${ms('startedAt')}, ${ms('stoppedAt')} from execution_entity where "workflowId" = '${workflowId}' and id > ${Number(afterId)} order by id`,
	);
	const time = (text: string) => (text === '' ? null : Number(text));
	return rows.map(([id, status, mode, createdAt, startedAt, stoppedAt]) => ({ id: Number(id), status, mode, createdAt: Number(createdAt), startedAt: time(startedAt), stoppedAt: time(stoppedAt) }));
}

/** Wait (bounded) until a workflow has `count` executions after an id, all finished. */
export async function waitForExecutions(workflowId: string, afterId: number, count: number, timeoutMs: number): Promise<Execution[]> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const found = await executionsOf(workflowId, afterId);
		if (found.length >= count && found.every((e) => FINAL.has(e.status))) return found;
		if (Date.now() > deadline) {
			throw new Error(
				`${workflowId}: ${found.length} of ${count} executions after #${afterId} within ${timeoutMs / 1000} s; statuses: ${found.map((e) => `#${e.id} ${e.status}`).join(', ') || 'none'}`,
			);
		}
		await sleep(1000);
	}
}

/** Wait (bounded) until one execution reaches a status in `statuses`. */
export async function waitForStatus(workflowId: string, executionId: number, statuses: string[], timeoutMs: number): Promise<Execution> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const found = (await executionsOf(workflowId, executionId - 1)).find((e) => e.id === executionId);
		if (found && statuses.includes(found.status)) return found;
		if (Date.now() > deadline) throw new Error(`execution #${executionId} did not become ${statuses.join(' or ')} within ${timeoutMs / 1000} s (it is ${found?.status ?? 'not found'})`);
		await sleep(1000);
	}
}

interface NodeRun {
	data?: { main?: Array<Array<{ json: Record<string, unknown> }> | null> };
	error?: { message?: string };
}

export interface RunData {
	/** Items of a node's output (its last run): main output 0 unless told. */
	output(node: string, index?: number): Record<string, unknown>[];
	/** The execution's error message, if it failed. */
	error: string | undefined;
	nodes: string[];
}

/** An execution's run data as n8n stored it (execution_data.data, in n8n's `flatted` form). */
export async function runDataOf(executionId: number): Promise<RunData> {
	const [row] = await sql(`select data from execution_data where "executionId" = ${Number(executionId)}`);
	if (!row) throw new Error(`execution #${executionId} has no data`);
	const data = parseFlatted(row[0]) as { resultData: { runData?: Record<string, NodeRun[]>; error?: { message?: string } } };
	const runData = data.resultData.runData ?? {};
	return {
		output(node, index = 0) {
			const runs = runData[node];
			if (!runs?.length) return [];
			return (runs[runs.length - 1].data?.main?.[index] ?? []).map((item) => item.json);
		},
		error: data.resultData.error?.message,
		nodes: Object.keys(runData),
	};
}

/** Which worker started which execution, from each worker's JSON log ("Worker started execution <id>"). */
export function workersByExecution(): Map<number, string[]> {
	const out = new Map<number, string[]>();
	for (const name of readdirSync(queueDir).filter((n) => n.startsWith('worker'))) {
		const log = join(queueDir, name, 'n8n.log');
		if (!existsSync(log)) continue;
		for (const line of readFileSync(log, 'utf8').split('\n')) {
			const match = /"message":"Worker started execution (\d+) /.exec(line);
			if (!match) continue;
			const id = Number(match[1]);
			out.set(id, [...(out.get(id) ?? []), name]);
		}
	}
	return out;
}

/** The PID of a cluster process (main, worker1, …), as scripts/queue.sh recorded it. */
export function pidOf(name: string): number {
	return Number(readFileSync(join(queueDir, name, 'n8n.pid'), 'utf8').trim());
}

/** A process's resident memory in bytes: now (VmRSS) or its peak so far (VmHWM). */
export function memoryOf(pid: number, field: 'VmRSS' | 'VmHWM'): number {
	const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	if (!match) throw new Error(`no ${field} for process ${pid}`);
	return Number(match[1]) * 1024;
}

/** POST a JSON body to one of main's production webhooks. */
export async function postWebhook(path: string, body: object, headers: Record<string, string>): Promise<{ status: number; text: string }> {
	const response = await fetch(`http://127.0.0.1:${MAIN_PORT}/webhook/${path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: JSON.stringify(body),
		signal: AbortSignal.timeout(30_000),
	});
	return { status: response.status, text: await response.text() };
}

/** The webhook's header value, in a file only this user can read (the cluster's processes get its path). */
export function tokenFile(dir: string, token: string): string {
	const file = join(dir, 'webhook-token');
	writeFileSync(file, token, { mode: 0o600 });
	return file;
}

/** Wait (bounded) until a URL answers 200. */
export async function waitHttp(url: string, timeoutMs: number): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const ok = await fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
			(r) => r.ok,
			() => false,
		);
		if (ok) return;
		if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s`);
		await sleep(1000);
	}
}
