/**
 * The commit protocol: what makes every batch land in exactly one committed export per
 * destination, whatever runs overlap and whatever replies are lost.
 *
 * The state of a dataset at a destination is a log of commit records kept at the destination,
 * below the dataset's export prefix (the part of the folder that every export time shares):
 *
 *   <prefix>/_dataset_export/<datasetId>/commits/00000000000000000001.json   commit 1 (the manifest of one export)
 *   <prefix>/_dataset_export/<datasetId>/checkpoints/00000000000000000025.json every batch and run committed up to 25
 *   <prefix>/_dataset_export/<datasetId>/runs/<runId>.json                   a run in progress (its intent)
 *   <prefix>/_dataset_export/<datasetId>/runs/<runId>.fate.json              commit or abandon: decided once
 *
 * A run reads the state (the newest checkpoint, then the commits after it), exports the batches no
 * incremental commit holds, and commits by creating `commits/<head + 1>` with an atomic
 * create-if-absent. Two runs built on the same head race for the same name and exactly one wins;
 * the other reads the winner's record: if the winner took none of its batches it commits after it,
 * otherwise it is superseded. Time ranges are for people; batch ids are the truth.
 *
 * Names start with `_`, which Spark, Hive, DuckDB globbing and most lake tools skip, as they skip
 * Delta Lake's `_delta_log`.
 */
import { createHash } from 'node:crypto';
import { attemptAsync } from '../errors';
import { parseJson, stringifyJson } from '../json';
import { nextRetry, sleep, type RetryPolicy } from '../retry';
import { baseName, cleanPath, joinPath, parentOf, readText, writeText } from '../storage/common';
import { StoreError, type Store } from '../storage/types';
import { parseManifest, type Manifest, type ManifestBatch } from './manifest';
import type { BatchPosition } from '../source/types';

export const STATE_DIR = '_dataset_export';
/** A checkpoint every this many commits bounds what planning reads. */
export const CHECKPOINT_EVERY = 25;
/** Checkpoints kept (each holds everything before it; older ones are deleted). */
const KEEP_CHECKPOINTS = 2;
const PROTOCOL = 1;
/**
 * How long an abandon decision is kept. A run that has been going for longer than MAX_RUN_MS (less
 * than this) gives up before it claims its commit, so no run can outlive the decision about it.
 */
export const FATE_RETENTION_MS = 7 * 86_400_000;
export const MAX_RUN_MS = FATE_RETENTION_MS - 86_400_000;
/**
 * A run that claimed its commit stops trying to commit this long after the claim (by its own
 * clocks, wall and monotonic: whichever says more). A later run removes the files of a run that
 * claimed its commit and never committed only once the claim is older than this plus
 * LANDING_MARGIN_MS, by the destination's clock (the claim's and its own intent's modification
 * times), so no clock of any machine running exports decides it.
 */
export const COMMIT_WINDOW_MS = 3_600_000;
/** Time for a write sent before the commit window closed to land, if it ever does. */
export const LANDING_MARGIN_MS = 3_600_000;
const SEQ_DIGITS = 20;
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SEQ_NAME = /^(\d{20})\.json$/;
/** A UUID (the run ids are version 7) anywhere in a name: data files carry their run's. */
const RUN_IDS = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

export const pad = (seq: number) => String(seq).padStart(SEQ_DIGITS, '0');

/** The run id a file name carries (data files, manifests and their temporary names), if any. */
export function runIdIn(name: string): string | undefined {
	// the last one: names end with the run id (and a try number, an extension, a temp suffix), while a
	// File Name Prefix chosen by the user may hold a UUID of its own
	const found = baseName(name).match(RUN_IDS);
	return found?.[found.length - 1];
}

/** Milliseconds since the epoch in a UUIDv7 run id (the time its run started, by its own clock). */
export function runIdTime(runId: string): number {
	const ms = parseInt(runId.slice(0, 8) + runId.slice(9, 13), 16);
	return Number.isFinite(ms) ? ms : NaN;
}

/** A lost race, a broken rule of the protocol, or a state that cannot be read: never guessed past. */
export class StateError extends Error {
	constructor(
		message: string,
		readonly code: 'unreadable' | 'abandoned' | 'unknown_outcome' | 'contention' | 'deadline',
	) {
		super(message);
		this.name = 'StateError';
	}
}

export interface StatePaths {
	root: string;
	commitsDir: string;
	checkpointsDir: string;
	runsDir: string;
	commit(seq: number): string;
	checkpoint(seq: number): string;
	intent(runId: string): string;
	fate(runId: string): string;
	/** Written by a run that committed and finished up (its manifest file is there). */
	done(runId: string): string;
}

export function statePaths(statePrefix: string, datasetId: string): StatePaths {
	const segment = SAFE_SEGMENT.test(datasetId) ? datasetId : encodeURIComponent(datasetId);
	const root = joinPath(statePrefix, STATE_DIR, segment);
	return {
		root,
		commitsDir: joinPath(root, 'commits'),
		checkpointsDir: joinPath(root, 'checkpoints'),
		runsDir: joinPath(root, 'runs'),
		commit: (seq) => joinPath(root, 'commits', `${pad(seq)}.json`),
		checkpoint: (seq) => joinPath(root, 'checkpoints', `${pad(seq)}.json`),
		intent: (runId) => joinPath(root, 'runs', `${runId}.json`),
		fate: (runId) => joinPath(root, 'runs', `${runId}.fate.json`),
		done: (runId) => joinPath(root, 'runs', `${runId}.done.json`),
	};
}

/** Where a batch was committed, and what it looked like then (to notice a batch changed afterwards). */
export interface BatchMark {
	seq: number;
	ingestedAt: string;
	sizeBytes: number | null;
}

export interface DatasetState {
	datasetId: string;
	/** Sequence of the newest commit (0: none). */
	head: number;
	/** The newest commit's run and manifest. */
	headRun?: { runId: string; manifestPath: string | null; mode: 'incremental' | 'full'; exportTime: string };
	/** Batches held by incremental commits. */
	batches: Map<string, BatchMark>;
	/** Committed run ids → their commit's sequence. */
	runs: Map<string, number>;
	/** Batches found in more than one incremental commit (only legacy or hand-edited histories). */
	duplicates: Array<{ batchId: string; sequences: number[] }>;
	/** Objects listed or read to build this state (planning cost). */
	reads: number;
	/** The checkpoint it started from (0: none). */
	checkpoint: number;
	/** Whether any incremental export has committed (the first one adopts version 1 exports). */
	incremental: boolean;
	/** The newest committed range of a source that keeps a cursor: the next incremental run starts after it. */
	position?: BatchPosition;
}

interface CheckpointJson {
	protocol: number;
	datasetId: string;
	sequence: number;
	headRun: DatasetState['headRun'] | null;
	/** batch id → [sequence, ingestedAt, sizeBytes] */
	batches: Record<string, [number, string, number | null]>;
	runs: Record<string, number>;
	duplicates: DatasetState['duplicates'];
	incremental?: boolean;
	position?: BatchPosition;
}

function emptyState(datasetId: string): DatasetState {
	return { datasetId, head: 0, batches: new Map(), runs: new Map(), duplicates: [], reads: 0, checkpoint: 0, incremental: false };
}

/** The commit's manifest path (where the manifest file of the export is, or should be). */
export function manifestPathOf(record: Manifest): string | null {
	return record.commit?.manifestPath ?? null;
}

/** The batches a commit record holds, with their fingerprints where it has them. */
export function batchesOf(record: Manifest): ManifestBatch[] {
	if (Array.isArray(record.batches)) return record.batches;
	return (record.window?.batches ?? []).map((id) => ({ id, ingestedAt: '', sizeBytes: null, records: null }));
}

/** Fold one commit record into the state. */
export function fold(state: DatasetState, seq: number, record: Manifest): void {
	state.head = seq;
	state.headRun = { runId: record.flowRunId, manifestPath: manifestPathOf(record), mode: record.mode, exportTime: record.exportTime };
	state.runs.set(record.flowRunId, seq);
	if (record.mode !== 'incremental') return;
	state.incremental = true;
	for (const batch of [...(record.adopted?.batches ?? []), ...batchesOf(record)]) {
		const seen = state.batches.get(batch.id);
		if (seen) {
			const dup = state.duplicates.find((d) => d.batchId === batch.id);
			if (dup) dup.sequences.push(seq);
			else state.duplicates.push({ batchId: batch.id, sequences: [seen.seq, seq] });
			continue;
		}
		state.batches.set(batch.id, { seq, ingestedAt: batch.ingestedAt, sizeBytes: batch.sizeBytes });
		if (batch.position) state.position = batch.position;
	}
}

function toCheckpoint(state: DatasetState): CheckpointJson {
	const batches: CheckpointJson['batches'] = {};
	for (const [id, mark] of state.batches) batches[id] = [mark.seq, mark.ingestedAt, mark.sizeBytes];
	return {
		protocol: PROTOCOL,
		datasetId: state.datasetId,
		sequence: state.head,
		headRun: state.headRun ?? null,
		batches,
		runs: Object.fromEntries(state.runs),
		duplicates: state.duplicates,
		incremental: state.incremental,
		...(state.position ? { position: state.position } : {}),
	};
}

function fromCheckpoint(json: CheckpointJson, path: string): DatasetState {
	if (!json || typeof json !== 'object' || typeof json.sequence !== 'number' || !json.batches || !json.runs) {
		throw new StateError(`checkpoint ${path} is malformed`, 'unreadable');
	}
	const state = emptyState(json.datasetId);
	state.head = json.sequence;
	state.checkpoint = json.sequence;
	state.headRun = json.headRun ?? undefined;
	for (const [id, [seq, ingestedAt, sizeBytes]] of Object.entries(json.batches)) state.batches.set(id, { seq, ingestedAt, sizeBytes });
	for (const [runId, seq] of Object.entries(json.runs)) state.runs.set(runId, seq);
	state.duplicates = json.duplicates ?? [];
	// checkpoints from before the flag: 25 commits in, the first incremental one (if any) has adopted
	state.incremental = json.incremental ?? true;
	if (json.position) state.position = json.position;
	return state;
}

/** Read an object as text, or null when it does not exist. */
async function readIfExists(store: Store, path: string): Promise<string | null> {
	const read = await attemptAsync(() => readText(store, path));
	if (read.ok) return read.value;
	if (read.error instanceof StoreError && read.error.code === 'not_found') return null;
	throw read.error;
}

export async function readCommit(store: Store, paths: StatePaths, seq: number): Promise<Manifest | null> {
	const path = paths.commit(seq);
	const text = await readIfExists(store, path);
	if (text === null) return null;
	const parsed = await attemptAsync(async () => parseManifest(text, path));
	if (!parsed.ok) throw new StateError(`commit record ${path} cannot be read: ${parsed.error.message}`, 'unreadable');
	return parsed.value;
}

/** Sequence numbers of the objects in a state folder, ascending. */
async function sequencesIn(store: Store, folder: string): Promise<number[]> {
	const found: number[] = [];
	for await (const object of store.list(`${folder}/`)) {
		const match = SEQ_NAME.exec(baseName(object.path));
		if (match && object.path === joinPath(folder, match[0])) found.push(Number(match[1]));
	}
	return found.sort((a, b) => a - b);
}

/**
 * The state of a dataset at a destination: the newest checkpoint, then every commit after it, read
 * one by one until the first that does not exist. Cost: one listing of the checkpoints folder (at
 * most KEEP_CHECKPOINTS + 1 names), one checkpoint, and at most CHECKPOINT_EVERY commits (more only
 * if a committer died before writing its checkpoint, which the reader then writes). A checkpoint
 * that falls due while reading is written here, so the next reader starts from it.
 */
export async function readState(store: Store, paths: StatePaths, datasetId: string, options: { readOnly?: boolean } = {}): Promise<DatasetState> {
	let checkpoints: number[] = [];
	let state = emptyState(datasetId);
	let reads = 0;
	let newest: number | undefined;
	// a checkpoint listed here can be deleted before it is read, once two newer ones exist: list again
	for (let tries = 0; ; tries++) {
		checkpoints = await sequencesIn(store, paths.checkpointsDir);
		reads++;
		newest = checkpoints[checkpoints.length - 1];
		if (!newest) break;
		const path = paths.checkpoint(newest);
		const text = await readIfExists(store, path);
		reads++;
		if (text === null) {
			if (tries < 3) continue;
			throw new StateError(`checkpoint ${path} was listed but cannot be read`, 'unreadable');
		}
		const parsed = await attemptAsync(async () => parseJson(text) as CheckpointJson);
		if (!parsed.ok) throw new StateError(`checkpoint ${path} is not valid JSON: ${parsed.error.message}`, 'unreadable');
		state = fromCheckpoint(parsed.value, path);
		break;
	}
	let due: CheckpointJson | undefined;
	for (let seq = state.head + 1; ; seq++) {
		const record = await readCommit(store, paths, seq);
		reads++;
		if (!record) break;
		fold(state, seq, record);
		if (seq % CHECKPOINT_EVERY === 0) due = toCheckpoint(state);
	}
	state.reads = reads;
	if (due && due.sequence > (newest ?? 0) && !options.readOnly) await writeCheckpoint(store, paths, due, checkpoints);
	return state;
}

/** Write a checkpoint (create-if-absent: its content is determined by the log) and drop old ones. */
async function writeCheckpoint(store: Store, paths: StatePaths, checkpoint: CheckpointJson, existing: number[]): Promise<void> {
	const written = await attemptAsync(() => writeText(store, paths.checkpoint(checkpoint.sequence), stringifyJson(checkpoint)));
	// another reader or the committer wrote the same checkpoint; any other failure only costs reads later
	if (!written.ok) return;
	const older = existing.filter((seq) => seq < checkpoint.sequence);
	for (const seq of older.slice(0, Math.max(0, older.length - (KEEP_CHECKPOINTS - 1)))) {
		await store.delete(paths.checkpoint(seq)).catch(() => undefined);
	}
}

/** After committing `seq`, write its checkpoint when one falls due (best effort: a reader repairs it). */
export async function checkpointIfDue(store: Store, paths: StatePaths, state: DatasetState): Promise<void> {
	if (state.head % CHECKPOINT_EVERY !== 0) return;
	const existing = await attemptAsync(() => sequencesIn(store, paths.checkpointsDir));
	await writeCheckpoint(store, paths, toCheckpoint(state), existing.ok ? existing.value : []);
}

// ---------------------------------------------------------------------------------------------
// Runs in progress: intent and fate

export interface Intent {
	protocol: number;
	runId: string;
	datasetId: string;
	/** The export folder the run writes its files into. */
	folder: string;
	mode: 'incremental' | 'full';
	exportTime: string;
	/** The head the run planned on. */
	base: number;
	/** The writer's clock: cleanup judges age by it (a skewed clock only delays or hastens cleanup; fate decides). */
	startedAt: string;
	/**
	 * The run's own Remove Leftovers After: until it is this old, Verify counts what it wrote as in
	 * progress rather than left behind (absent in intents written before it was recorded: the default).
	 */
	cleanupAfterMs?: number;
}

/** Remove Leftovers After when the request does not say: 24 hours. */
export const DEFAULT_CLEANUP_AFTER_MS = 24 * 3_600_000;

export interface Fate {
	decision: 'commit' | 'abandon';
	/** The run that decided (the run itself for commit, a later run for abandon). */
	by: string;
	at: string;
	/** A commit claim: how long the run tries to commit after claiming, and how long a write sent before then may take to land. */
	windowMs?: number;
	landingMs?: number;
}

/** The commit window a run keeps (COMMIT_WINDOW_MS, LANDING_MARGIN_MS unless a caller of the library chooses shorter, e.g. tests). */
export interface CommitWindow {
	windowMs: number;
	landingMs: number;
}
export const DEFAULT_COMMIT_WINDOW: CommitWindow = { windowMs: COMMIT_WINDOW_MS, landingMs: LANDING_MARGIN_MS };

/**
 * Write an object only this run writes (its name carries the run id): transient failures are
 * retried, and finding it there already means an earlier try of ours landed (a lost reply).
 */
export async function writeOwn(store: Store, path: string, text: string, policy: RetryPolicy, signal?: AbortSignal): Promise<void> {
	const first = Date.now();
	for (let retries = 0; ; retries++) {
		const written = await attemptAsync(() => writeText(store, path, text));
		if (written.ok || (written.error instanceof StoreError && written.error.code === 'exists')) return;
		const wait = written.error instanceof StoreError && written.error.retryable ? nextRetry(policy, retries, first) : undefined;
		if (wait === undefined) throw written.error;
		await sleep(wait, signal);
	}
}

export async function writeIntent(store: Store, paths: StatePaths, intent: Intent, policy: RetryPolicy, signal?: AbortSignal): Promise<void> {
	await writeOwn(store, paths.intent(intent.runId), stringifyJson(intent), policy, signal);
}

/** A run that has not committed and may still be running (see openRun). */
export interface OpenRun {
	runId: string;
	startedAt: string;
	/** Its intent's age: the intent's time at the destination (its start time where the store gives none) against this machine's clock, never below 0. */
	ageMs: number;
	/** The folder it writes into: only files below it are its own (cleanup removes nothing elsewhere). */
	folder: string;
}

/**
 * For Verify: a run of `datasetId` that has not committed and may still be running. Its intent is
 * there, it left no done marker, no later run claimed its abandonment, and it is younger than its
 * own Remove Leftovers After (and than MAX_RUN_MS, after which it can no longer commit). Until then
 * its files are in progress, not left behind: an export running beside the verified one, or one
 * whose process died, whose files the next export removes after that age. Verify has no intent of
 * its own to read the destination's clock from, so the age is against this machine's clock: a skew
 * only moves when its files start to fail verification.
 */
export async function openRun(store: Store, paths: StatePaths, datasetId: string, runId: string, now = Date.now()): Promise<OpenRun | null> {
	const text = await readIfExists(store, paths.intent(runId));
	if (text === null) return null;
	const intent = attemptParse(text) as Intent | undefined;
	if (!intent || intent.runId !== runId || intent.datasetId !== datasetId || typeof intent.startedAt !== 'string' || typeof intent.folder !== 'string') return null;
	if ((await readFate(store, paths, runId))?.decision === 'abandon') return null;
	if (await store.stat(paths.done(runId))) return null;
	const written = (await store.stat(paths.intent(runId)))?.modified?.getTime() ?? Date.parse(intent.startedAt);
	const ageMs = Math.max(0, now - written);
	const own = typeof intent.cleanupAfterMs === 'number' && intent.cleanupAfterMs >= 0 ? intent.cleanupAfterMs : DEFAULT_CLEANUP_AFTER_MS;
	return ageMs < Math.min(own, MAX_RUN_MS) ? { runId, startedAt: intent.startedAt, ageMs, folder: cleanPath(intent.folder) } : null;
}

async function readFate(store: Store, paths: StatePaths, runId: string): Promise<Fate | null> {
	const text = await readIfExists(store, paths.fate(runId));
	if (text === null) return null;
	const parsed = await attemptAsync(async () => parseJson(text) as Fate);
	return parsed.ok && (parsed.value?.decision === 'commit' || parsed.value?.decision === 'abandon') ? parsed.value : null;
}

/**
 * Decide a run's fate once: the run claims `commit` before it commits; a later run that finds it
 * long silent claims `abandon` before it removes its files. Whoever creates the fate object first
 * decides; the other reads the decision. Returns the decision in force.
 */
export async function claimFate(store: Store, paths: StatePaths, runId: string, fate: Fate, policy: RetryPolicy, signal?: AbortSignal): Promise<Fate> {
	const text = stringifyJson(fate);
	const first = Date.now();
	for (let retries = 0; ; retries++) {
		const written = await attemptAsync(() => writeText(store, paths.fate(runId), text));
		if (written.ok) return fate;
		// taken, or a lost reply: whatever is there now is the decision (ours, if our write landed)
		const existing = await attemptAsync(() => readFate(store, paths, runId));
		if (existing.ok && existing.value) return existing.value;
		const retryable = written.error instanceof StoreError && (written.error.retryable || written.error.code === 'exists');
		const wait = retryable ? nextRetry(policy, retries, first) : undefined;
		if (wait === undefined) throw written.error;
		await sleep(wait, signal);
	}
}

// ---------------------------------------------------------------------------------------------
// Committing

export type CommitOutcome =
	| { status: 'committed'; sequence: number; path: string; rebased: number; ambiguous: number }
	| { status: 'superseded'; by: { runId: string; sequence: number; manifestPath: string | null }; overlap: string[]; winner: Manifest };

/** Why `record` cannot be committed after `other`: the batches both hold, or the same full export. */
export function conflict(record: Manifest, other: Manifest): string[] | undefined {
	if (record.mode === 'full') return other.mode === 'full' && other.exportTime === record.exportTime ? [`full export at ${record.exportTime}`] : undefined;
	if (other.mode !== 'incremental') return undefined;
	const theirs = new Set([...(other.adopted?.batches ?? []), ...batchesOf(other)].map((b) => b.id));
	const overlap = batchesOf(record)
		.map((b) => b.id)
		.filter((id) => theirs.has(id));
	return overlap.length ? overlap : undefined;
}

/**
 * Commit `record` after `state.head`: an atomic create-if-absent of the next sequence number. On
 * any failure, what is there is read back before anything else: our own record (a lost reply) is
 * a success; another run's record is folded into the state, and we either commit after it (no
 * batch in common: rebased) or are superseded. A failure whose outcome cannot be read back throws
 * StateError('unknown_outcome'): the caller must then keep its files (a landed commit lists them).
 * `prepare` sets the record's commit fields for a sequence number.
 */
export async function commit(
	store: Store,
	paths: StatePaths,
	state: DatasetState,
	record: Manifest,
	prepare: (record: Manifest, seq: number) => void,
	policy: RetryPolicy,
	signal?: AbortSignal,
	/** True once the run's commit window (from its claim) has closed. */
	expired: () => boolean = () => false,
): Promise<CommitOutcome> {
	let rebased = 0;
	let ambiguous = 0;
	let retries = 0;
	let firstFailure = 0;
	/** Wait before trying again; false once the policy's tries or time are spent. */
	const unknown = (path: string, why: string) =>
		new StateError(`the commit of run ${record.flowRunId} (${path}) may or may not have landed (${why}); its files are kept, and the next run settles it`, 'unknown_outcome');
	let lastPath = '';
	const mayRetry = async () => {
		firstFailure ||= Date.now();
		const wait = nextRetry(policy, retries, firstFailure);
		if (wait === undefined) return false;
		retries++;
		const slept = await attemptAsync(() => sleep(wait, signal));
		// cancelled (n8n's timeout, a stop) after a write whose outcome is unknown: that write may
		// still land and list our files, so this is never a plain failure that removes them
		if (!slept.ok) throw ambiguous ? unknown(lastPath, `cancelled while retrying: ${slept.error.message}`) : slept.error;
		return true;
	};
	for (;;) {
		const seq = state.head + 1;
		prepare(record, seq);
		const path = paths.commit(seq);
		lastPath = path;
		if (expired()) {
			if (ambiguous) throw unknown(path, 'the commit window closed while its outcome was unknown');
			throw new StateError(`run ${record.flowRunId} could not commit within its commit window after claiming it: nothing was committed`, 'deadline');
		}
		const written = await attemptAsync(() => writeText(store, path, stringifyJson(record, 2) + '\n'));
		if (written.ok) return { status: 'committed', sequence: seq, path, rebased, ambiguous };
		const error = written.error;
		const lostRace = error instanceof StoreError && error.code === 'exists';
		// refused outright (credentials, settings): nothing can have landed
		const refused = error instanceof StoreError && (error.code === 'auth' || error.code === 'config' || error.code === 'not_found');
		if (!lostRace && !refused) ambiguous++;
		// find out what is there before doing anything else
		const there = await attemptAsync(() => readCommit(store, paths, seq));
		if (!there.ok) {
			if (refused) throw error;
			if (await mayRetry()) continue;
			throw unknown(path, `${error.message}; reading it back failed: ${there.error.message}`);
		}
		const existing = there.value;
		if (!existing) {
			if (refused) throw error;
			// a timed-out or cut write may still land later: only our own retry of the same record at
			// the same name (which then finds it, or lands itself) or another run's record settles it
			if (await mayRetry()) continue;
			throw unknown(path, error.message);
		}
		// ours: a reply was lost (a retry by the store may then have found the name taken by our own write)
		if (existing.flowRunId === record.flowRunId) return { status: 'committed', sequence: seq, path, rebased, ambiguous: lostRace ? ambiguous + 1 : ambiguous };
		fold(state, seq, existing);
		const overlap = conflict(record, existing);
		if (overlap) return { status: 'superseded', by: { runId: existing.flowRunId, sequence: seq, manifestPath: manifestPathOf(existing) }, overlap, winner: existing };
		// another run took this number but none of our batches: commit after it
		rebased++;
		if (rebased > 1000) throw new StateError(`gave up committing run ${record.flowRunId} after 1,000 other commits landed first`, 'contention');
	}
}

// ---------------------------------------------------------------------------------------------
// The destination's identity

/**
 * The destination's instance id (the `%DESTINATION_INSTANCE_ID%` macro and the manifest names),
 * kept in a marker at the destination so that every spelling of the same place (a symlink, a
 * trailing slash, another endpoint port or host alias) gets the same id. The first use writes it,
 * adopting the id the location's spelling gave before markers existed; `create` false only reads.
 */
export const markerDir = (folderPath: string) => joinPath(folderPath, STATE_DIR);

export async function destinationIdentity(store: Store, folderPath: string, create = true): Promise<string> {
	const path = joinPath(markerDir(folderPath), 'destination.json');
	const fallback = createHash('sha256').update(store.location).digest('hex').slice(0, 12);
	for (let tries = 0; tries < 3; tries++) {
		const text = await readIfExists(store, path);
		if (text !== null) {
			const id = (attemptParse(text) as { id?: unknown } | undefined)?.id;
			if (typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id)) return id;
			throw new StateError(`the destination marker ${path} is malformed; remove it to start a new identity`, 'unreadable');
		}
		if (!create) return fallback;
		const written = await attemptAsync(() => writeText(store, path, stringifyJson({ id: fallback, createdAt: new Date().toISOString(), generator: 'n8n-nodes-dataset-export' })));
		if (written.ok) return fallback;
		if (!(written.error instanceof StoreError && (written.error.code === 'exists' || written.error.retryable))) throw written.error;
	}
	throw new StateError(`the destination marker ${path} cannot be read or written`, 'unreadable');
}

function attemptParse(text: string): unknown {
	try {
		return parseJson(text);
	} catch {
		return undefined;
	}
}

// ---------------------------------------------------------------------------------------------
// Cleaning up after runs that never committed

export interface CleanupReport {
	/** Runs found dead and removed (their files, unfinished uploads, intent). */
	runs: number;
	files: number;
	unfinished: number;
	bytes: number;
	/** Runs that committed but died before finishing up: their manifests were written now. */
	completed: number;
	/** Leftovers too young to remove (maybe still running). */
	pending: number;
	/** Paths removed, for the report. */
	removed: string[];
}

export function emptyCleanup(): CleanupReport {
	return { runs: 0, files: 0, unfinished: 0, bytes: 0, completed: 0, pending: 0, removed: [] };
}

/** Remove a run's data files, temporary files and unfinished uploads in its folder (names carry its run id). */
export async function removeRunFiles(store: Store, folder: string, runId: string, keep: Set<string>, report: CleanupReport): Promise<void> {
	const prefix = folder ? `${folder}/` : '';
	const doomed: Array<{ path: string; size: number }> = [];
	for await (const object of store.list(prefix)) {
		if (runIdIn(object.path) === runId && !keep.has(object.path)) doomed.push(object);
	}
	for (const object of doomed) {
		await store.delete(object.path);
		report.files++;
		report.bytes += object.size;
		report.removed.push(object.path);
	}
	await removeUnfinished(store, folder, runId, report);
}

/** Discard a run's unfinished uploads (temporary files, multipart uploads) in its folder. */
async function removeUnfinished(store: Store, folder: string, runId: string, report: CleanupReport): Promise<void> {
	for await (const unfinished of store.listUnfinished(folder ? `${folder}/` : '')) {
		if (runIdIn(unfinished.path) !== runId) continue;
		await store.discardUnfinished(unfinished);
		report.unfinished++;
		report.bytes += unfinished.size ?? 0;
		report.removed.push(unfinished.detail);
	}
}

export interface CleanupOptions {
	/** Leftovers of runs that started less than this long ago are kept (they may still be running). */
	safetyAgeMs: number;
	now: Date;
	selfRunId: string;
	policy: RetryPolicy;
	/** The folder of the destination marker, whose unfinished writes are removed too. */
	markerDir?: string;
	/** Write a committed run's missing manifest from its commit record. */
	rollForward: (record: Manifest) => Promise<void>;
	signal?: AbortSignal;
}

/**
 * Settle every run of the dataset that left an intent behind.
 *
 * - A run that committed gets its manifest file written if it is missing (it died before
 *   finishing up); once older than the safety age, any file carrying its run id that its commit
 *   does not list (an upload that landed after the run moved on) and its unfinished uploads are
 *   removed, then its intent.
 * - A run older than the safety age that never committed is declared abandoned (its fate, decided
 *   once) and its files, temporary files and unfinished uploads are removed. One that claimed its
 *   commit first is left alone until its commit window has closed by the destination's clock.
 * - Nothing a commit lists is ever removed: before removing anything, the log past the state this
 *   run read is checked for a commit of that run.
 *
 * Ages are judged by the destination's clock (modification times, against this run's own intent,
 * written just before), so the clocks of the machines running exports never decide a removal.
 */
export async function cleanLeftovers(store: Store, paths: StatePaths, state: DatasetState, options: CleanupOptions): Promise<CleanupReport> {
	const report = emptyCleanup();
	const found = new Map<string, Date | undefined>();
	for await (const object of store.list(`${paths.runsDir}/`)) found.set(baseName(object.path), object.modified);
	const names = new Set(found.keys());
	// the destination's "now": our own intent's modification time (the clock that wrote every other one)
	const ownModified = found.get(`${options.selfRunId}.json`) ?? (await store.stat(paths.intent(options.selfRunId)))?.modified;
	const serverNow = ownModified?.getTime();
	/** Age of a state object by the destination's clock, or undefined when it cannot say. */
	const serverAge = (name: string) => {
		const modified = found.get(name);
		return modified && serverNow !== undefined ? serverNow - modified.getTime() : undefined;
	};
	const old = (age: number) => age >= options.safetyAgeMs;
	const intents = [...names].filter((n) => /^[^.]+\.json$/.test(n)).map((n) => n.slice(0, -'.json'.length));
	for (const runId of intents) {
		if (runId === options.selfRunId) continue;
		options.signal?.throwIfAborted();
		const done = names.has(`${runId}.done.json`);
		const seq = state.runs.get(runId);
		let age = serverAge(`${runId}.json`);
		// committed and finished up, and still young: nothing to do yet, nothing to read
		if (seq !== undefined && done && age !== undefined && !old(age)) {
			report.pending++;
			continue;
		}
		const text = await readIfExists(store, paths.intent(runId));
		if (text === null) continue;
		const intent = attemptParse(text) as Intent | undefined;
		if (!intent || typeof intent.folder !== 'string' || typeof intent.startedAt !== 'string') continue; // not ours to judge
		age ??= options.now.getTime() - Date.parse(intent.startedAt);
		const record = seq !== undefined ? await readCommit(store, paths, seq) : await laterCommitOf(store, paths, state, runId);
		if (record) {
			await settleCommitted(store, paths, runId, intent, record, done, old(age), options, report);
			continue;
		}
		if (!old(age)) {
			report.pending++;
			continue;
		}
		const fate = await claimFate(store, paths, runId, { decision: 'abandon', by: options.selfRunId, at: options.now.toISOString() }, options.policy, options.signal);
		if (fate.decision === 'commit') {
			// it claimed its commit and the log does not have it: it may still be committing, until its
			// commit window has closed (and what it sent then has had time to land)
			const claimAge = serverAge(`${runId}.fate.json`) ?? (await stat(store, paths.fate(runId), serverNow));
			const closesAfter = (fate.windowMs ?? COMMIT_WINDOW_MS) + (fate.landingMs ?? LANDING_MARGIN_MS);
			if (claimAge === undefined || claimAge < closesAfter || !old(claimAge)) {
				report.pending++;
				continue;
			}
		}
		// last look: a commit of it may have landed since this run read the log
		const late = await laterCommitOf(store, paths, state, runId);
		if (late) {
			await settleCommitted(store, paths, runId, intent, late, done, false, options, report);
			continue;
		}
		await removeRunFiles(store, intent.folder, runId, new Set(), report);
		// the abandon fate stays: should the run still be alive, it finds it when it tries to commit
		await finishRun(store, paths, runId);
		report.runs++;
	}
	// writes into the state folders that never finished (a run killed while writing its intent,
	// fate, commit record or checkpoint, or the destination marker): old enough, they are dead
	const now = serverNow ?? options.now.getTime();
	for (const [folder, recursive] of [
		[paths.root, true],
		[options.markerDir, false],
	] as const) {
		if (folder === undefined) continue;
		for await (const unfinished of store.listUnfinished(folder ? `${folder}/` : '')) {
			if (!recursive && parentOf(unfinished.path) !== folder) continue;
			const age = unfinished.started ? now - unfinished.started.getTime() : Infinity;
			if (!(age >= options.safetyAgeMs)) continue;
			await store.discardUnfinished(unfinished);
			report.unfinished++;
			report.removed.push(unfinished.detail);
		}
	}
	// fates and done markers whose intent is gone: kept FATE_RETENTION_MS (a commit claim keeps a
	// slower run from abandoning a committed one; an abandon decision outlives its run), then removed
	for (const name of names) {
		const match = /^(.+)\.(fate|done)\.json$/.exec(name);
		if (!match || match[1] === options.selfRunId || names.has(`${match[1]}.json`)) continue;
		const age = serverAge(name) ?? options.now.getTime() - runIdTime(match[1]);
		if (match[2] === 'done' || age > FATE_RETENTION_MS) await store.delete(joinPath(paths.runsDir, name)).catch(() => undefined);
	}
	return report;
}

/** Age by the destination's clock of an object not in the listing (undefined: unknown). */
async function stat(store: Store, path: string, serverNow: number | undefined): Promise<number | undefined> {
	const modified = (await store.stat(path))?.modified;
	return modified && serverNow !== undefined ? serverNow - modified.getTime() : undefined;
}

/** A committed run's leftovers: its manifest file now, its unlisted files and intent once it is old. */
async function settleCommitted(
	store: Store,
	paths: StatePaths,
	runId: string,
	intent: Intent,
	record: Manifest,
	done: boolean,
	old: boolean,
	options: CleanupOptions,
	report: CleanupReport,
): Promise<void> {
	if (!done) {
		await options.rollForward(record);
		await markDone(store, paths, runId, options.policy, options.signal);
		report.completed++;
	}
	if (!old) {
		report.pending++;
		return;
	}
	const keep = new Set(record.exportResults.map((f) => joinPath(f.sinkPath.replace(/^\/+/, ''), f.name)));
	const manifest = manifestPathOf(record);
	if (manifest) keep.add(manifest);
	await removeRunFiles(store, intent.folder, runId, keep, report);
	await finishRun(store, paths, runId);
}

/** A commit of `runId` that landed after `state` was read. */
async function laterCommitOf(store: Store, paths: StatePaths, state: DatasetState, runId: string): Promise<Manifest | undefined> {
	for (let seq = state.head + 1; ; seq++) {
		const record = await readCommit(store, paths, seq);
		if (!record) return undefined;
		if (record.flowRunId === runId) return record;
	}
}

/**
 * A run is settled: it committed nothing (its files are gone), or a later run finished what it
 * left. Its intent and done marker go; a commit claim stays for FATE_RETENTION_MS, so a run that
 * read the state before this one committed can never claim `abandon` over it.
 */
export async function finishRun(store: Store, paths: StatePaths, runId: string): Promise<void> {
	await store.delete(paths.intent(runId));
	await store.delete(paths.done(runId));
}

/**
 * A committed run has written its manifest file: it leaves a done marker beside its intent. The
 * next run after the safety age removes both, and with them any file of the run that its commit does
 * not list (an upload that landed after the run had moved on).
 */
export async function markDone(store: Store, paths: StatePaths, runId: string, policy: RetryPolicy, signal?: AbortSignal): Promise<void> {
	await writeOwn(store, paths.done(runId), '{}', policy, signal);
}
