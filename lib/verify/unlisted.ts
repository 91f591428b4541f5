/**
 * Every object below a dataset's export prefix that no committed export accounts for, wherever it
 * is (the export folders, sub-folders of them, anything else below the prefix):
 *
 * - a file whose name carries a committed run's id must be listed by that run's commit record
 *   (read once per run): a copy, a renamed file or a file put in a sub-folder with the run's id is
 *   not, however much it looks like ours;
 * - any other file must be listed by a committed (or version 1) manifest in its own folder;
 * - manifests never committed are unlisted themselves;
 * - in the commit log folders (`_dataset_export/…`) only the names the protocol writes are expected;
 * - unfinished uploads (temporary files, multipart uploads) as the store shows them;
 * - files and uploads, in its own folder, of a run still in progress (state.ts `openRun`: an export
 *   running beside the verified one, e.g. the same dataset on another queue-mode worker, or one that
 *   died less than its Remove Leftovers After ago) are set apart: not left behind yet, reported as
 *   in progress. Such a run moves on while Verify looks: what seems left behind by a run that is not
 *   in progress is looked at again after the commit log is read again (gone: removed by its run;
 *   listed by a commit that landed meanwhile: committed), and a file the local walk finds that the
 *   listing did not show (written since) goes through the same rules;
 * - on a local folder, what the store's listings do not show at all (`.incoming-` names that are
 *   not one of its temporary files, symbolic links, sockets and other non-files), from a direct
 *   walk of the folder.
 */
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { attemptAsync } from '../errors';
import { isManifestPath, readManifest, type Manifest } from '../export/manifest';
import { openRun, readCommit, readState, runIdIn, STATE_DIR, statePaths, type DatasetState, type OpenRun, type StatePaths } from '../export/state';
import { cleanPath, finalNameOf, joinPath, parentOf, TEMP_PREFIX } from '../storage/common';
import { LocalFolderStore } from '../storage/local';
import type { Store } from '../storage/types';

export interface Unlisted {
	/** Objects no committed export lists, each with why. */
	orphans: Array<{ path: string; why: string }>;
	/** Temporary files and unfinished uploads. */
	unfinished: string[];
	/** Runs that have not committed and may still be running, with what they have written so far. */
	inProgress: RunInProgress[];
}

/** A run that may still be running, with its files and unfinished uploads so far. */
export interface RunInProgress extends OpenRun {
	files: string[];
	unfinished: string[];
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** What the commit protocol writes below `_dataset_export/<dataset>/`. */
const STATE_NAME = new RegExp(`^(commits/\\d{20}\\.json|checkpoints/\\d{20}\\.json|runs/${UUID}(\\.fate|\\.done)?\\.json)$`);

/** A version 1 manifest: committed by being written (before the commit log). */
const isLegacy = (manifest: Manifest) => (manifest.manifestVersion ?? 1) < 2 || !manifest.commit;

interface CommittedRun {
	paths: StatePaths;
	seq: number;
}

/** Run ids committed in every commit log below the prefix (other datasets sharing it included). */
async function committedRuns(store: Store, prefix: string, stateRoots: Map<string, { base: string; datasetId: string }>, known: DatasetState): Promise<Map<string, CommittedRun>> {
	const runs = new Map<string, CommittedRun>();
	const own = statePaths(prefix, known.datasetId);
	for (const [runId, seq] of known.runs) runs.set(runId, { paths: own, seq });
	for (const [root, { base, datasetId }] of stateRoots) {
		if (root === own.root) continue;
		const paths = statePaths(base, datasetId);
		const state = await attemptAsync(() => readState(store, paths, datasetId, { readOnly: true }));
		if (!state.ok) continue;
		for (const [runId, seq] of state.value.runs) if (!runs.has(runId)) runs.set(runId, { paths, seq });
	}
	return runs;
}

export async function findUnlisted(store: Store, prefix: string, state: DatasetState, signal?: AbortSignal): Promise<Unlisted> {
	const orphans: Unlisted['orphans'] = [];
	const objects: string[] = [];
	const stateRoots = new Map<string, { base: string; datasetId: string }>();
	const stateDir = `/${STATE_DIR}/`;
	const listed = new Set<string>();
	for await (const object of store.list(prefix ? `${prefix}/` : '')) {
		listed.add(object.path);
		const relative = `/${prefix ? object.path.slice(prefix.length + 1) : object.path}`;
		const at = relative.indexOf(stateDir);
		if (at < 0) {
			objects.push(object.path);
			continue;
		}
		// a commit log below the prefix: <somewhere>/_dataset_export/<dataset>/…
		const rest = relative.slice(at + stateDir.length);
		const slash = rest.indexOf('/');
		if (slash < 0) {
			if (rest !== 'destination.json') orphans.push({ path: object.path, why: 'not a file the commit log uses' });
			continue;
		}
		const segment = rest.slice(0, slash);
		const base = joinPath(prefix, relative.slice(1, at));
		stateRoots.set(joinPath(base, STATE_DIR, segment), { base, datasetId: decodeURIComponent(segment) });
		if (!STATE_NAME.test(rest.slice(slash + 1))) orphans.push({ path: object.path, why: 'not a file the commit log uses' });
	}
	const committed = await committedRuns(store, prefix, stateRoots, state);
	// runs that have not committed, looked up once each in the commit logs below the prefix (own first)
	const inProgress = new Map<string, RunInProgress | null>();
	const roots = [
		{ paths: statePaths(prefix, state.datasetId), datasetId: state.datasetId },
		...[...stateRoots.values()].map(({ base, datasetId }) => ({ paths: statePaths(base, datasetId), datasetId })),
	];
	/** The run in progress that a path (a file, or the final name of an upload) belongs to, if any. */
	const openRunOf = async (path: string): Promise<RunInProgress | null> => {
		const runId = runIdIn(path);
		if (!runId || committed.has(runId)) return null;
		if (!inProgress.has(runId)) {
			let found: RunInProgress | null = null;
			for (const { paths, datasetId } of roots) {
				const open = await attemptAsync(() => openRun(store, paths, datasetId, runId));
				if (open.ok && open.value) {
					found = { ...open.value, files: [], unfinished: [] };
					break;
				}
			}
			inProgress.set(runId, found);
		}
		const open = inProgress.get(runId) ?? null;
		// only what is below its own folder is its own (cleanup removes nothing elsewhere)
		return open && (open.folder === '' || path.startsWith(`${open.folder}/`)) ? open : null;
	};
	/** Seemingly left behind by a run that has not committed: looked at again at the end. */
	const doubtful: Array<{ path: string; runId: string; why: string }> = [];

	// files named with a committed run's id: listed by that run's commit record?
	const byRun = new Map<string, string[]>();
	const rest: string[] = [];
	for (const path of objects) {
		const runId = runIdIn(path);
		if (runId && committed.has(runId)) byRun.set(runId, [...(byRun.get(runId) ?? []), path]);
		else rest.push(path);
	}
	for (const [runId, paths] of byRun) {
		signal?.throwIfAborted();
		const listedByRun = await listedByCommit(store, committed.get(runId) as CommittedRun);
		for (const path of paths) {
			if (listedByRun?.has(path)) continue;
			orphans.push({
				path,
				why: listedByRun ? `named like a file of the committed run ${runId}, which does not list it` : `its run ${runId} has no readable commit record`,
			});
		}
	}

	// everything else: listed by a committed or version 1 manifest in its own folder?
	const folders = new Map<string, string[]>();
	for (const path of rest) folders.set(parentOf(path), [...(folders.get(parentOf(path)) ?? []), path]);
	for (const suspects of folders.values()) {
		signal?.throwIfAborted();
		const listedHere = new Set<string>();
		const goodManifests = new Set<string>();
		for (const path of suspects.filter((p) => isManifestPath(p))) {
			const manifest = await attemptAsync(() => readManifest(store, path));
			// an unreadable manifest, or one never committed, lists nothing (and is itself unlisted)
			if (!manifest.ok || !isLegacy(manifest.value)) continue;
			goodManifests.add(path);
			for (const f of manifest.value.exportResults) listedHere.add(cleanPath(joinPath(f.sinkPath, f.name)));
		}
		for (const path of suspects) {
			if (goodManifests.has(path) || listedHere.has(path)) continue;
			const runId = runIdIn(path);
			const open = await openRunOf(path);
			if (open) {
				open.files.push(path);
				continue;
			}
			const why = isManifestPath(path)
				? 'a manifest no commit holds (its run never committed, or it cannot be read)'
				: runId
					? `left by run ${runId}, which never committed`
					: 'no committed export lists it (written by something else?)';
			if (runId) doubtful.push({ path, runId, why });
			else orphans.push({ path, why });
		}
	}

	const unfinished: string[] = [];
	const temps = new Set<string>();
	for await (const upload of store.listUnfinished(prefix ? `${prefix}/` : '')) {
		temps.add(upload.id);
		const open = await openRunOf(upload.path);
		if (open) open.unfinished.push(upload.detail);
		else unfinished.push(upload.detail);
	}
	if (store instanceof LocalFolderStore) {
		for (const hidden of await hiddenLocalEntries(store, prefix, listed, temps)) {
			if (!hidden.since) {
				orphans.push({ path: hidden.path, why: hidden.why });
				continue;
			}
			// written since the listings: a file (or an upload's temporary file) like any other
			const open = await openRunOf(hidden.since.path);
			const runId = runIdIn(hidden.since.path);
			if (open) (hidden.since.upload ? open.unfinished : open.files).push(hidden.path);
			else if (runId)
				doubtful.push({ path: hidden.path, runId, why: hidden.since.upload ? `an unfinished upload of run ${runId}, which never committed` : `left by run ${runId}, which never committed` });
			else orphans.push({ path: hidden.path, why: hidden.why });
		}
	}
	for (const suspect of await stillLeft(store, prefix, state, stateRoots, doubtful)) orphans.push({ path: suspect.path, why: suspect.why });
	orphans.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
	const open = [...inProgress.values()].filter((r): r is RunInProgress => r !== null && r.files.length + r.unfinished.length > 0);
	return { orphans, unfinished: unfinished.sort(), inProgress: open };
}

/**
 * What seemed left behind by runs that had not committed, looked at once more after reading the
 * commit log again: a run that finished meanwhile either removed its files (superseded, failed) or
 * committed them (its commit landed after the log was read).
 */
async function stillLeft(
	store: Store,
	prefix: string,
	state: DatasetState,
	stateRoots: Map<string, { base: string; datasetId: string }>,
	suspects: Array<{ path: string; runId: string; why: string }>,
): Promise<Array<{ path: string; why: string }>> {
	if (!suspects.length) return [];
	const fresh = await attemptAsync(() => readState(store, statePaths(prefix, state.datasetId), state.datasetId, { readOnly: true }));
	const committed = fresh.ok ? await committedRuns(store, prefix, stateRoots, fresh.value) : new Map<string, CommittedRun>();
	const listedBy = new Map<string, Set<string> | null>();
	const left: Array<{ path: string; why: string }> = [];
	for (const suspect of suspects) {
		if (!(await store.stat(suspect.path))) continue; // removed by its run since the listing
		const run = committed.get(suspect.runId);
		if (run) {
			if (!listedBy.has(suspect.runId)) listedBy.set(suspect.runId, await listedByCommit(store, run));
			if (listedBy.get(suspect.runId)?.has(suspect.path)) continue; // committed since the log was read
		}
		left.push(suspect);
	}
	return left;
}

/** The paths a committed run's commit record lists (its files and manifest), or null when the record cannot be read. */
async function listedByCommit(store: Store, run: CommittedRun): Promise<Set<string> | null> {
	const record = await attemptAsync(() => readCommit(store, run.paths, run.seq));
	if (!record.ok || !record.value) return null;
	const listed = new Set(record.value.exportResults.map((f) => cleanPath(joinPath(f.sinkPath, f.name))));
	if (record.value.commit?.manifestPath) listed.add(cleanPath(record.value.commit.manifestPath));
	return listed;
}

/**
 * What a local folder holds below the prefix that neither `list` nor `listUnfinished` shows: names
 * starting `.incoming-` that are not the store's temporary files, symbolic links (the store never
 * follows them) and anything that is not a file or a folder. Read straight from the file system,
 * after the listings: a regular file or a temporary file of the store's that they did not show was
 * written since (`since`: the path it stands for, and whether it is an upload's temporary file).
 */
async function hiddenLocalEntries(
	store: LocalFolderStore,
	prefix: string,
	listed: Set<string>,
	temps: Set<string>,
): Promise<Array<{ path: string; why: string; since?: { path: string; upload: boolean } }>> {
	const found: Array<{ path: string; why: string; since?: { path: string; upload: boolean } }> = [];
	const top = prefix ? join(store.root, ...prefix.split('/')) : store.root;
	const info = await attemptAsync(() => lstat(top));
	if (!info.ok || !info.value.isDirectory()) return found;
	const walk = async (dir: string, rel: string): Promise<void> => {
		const opened = await attemptAsync(() => opendir(dir));
		if (!opened.ok) return;
		for await (const entry of opened.value) {
			const path = rel ? `${rel}/${entry.name}` : entry.name;
			if (entry.isDirectory()) await walk(join(dir, entry.name), path);
			else if (entry.isSymbolicLink()) found.push({ path, why: 'a symbolic link (the destination never follows links: nothing of ours is one)' });
			else if (!entry.isFile()) found.push({ path, why: 'not a regular file' });
			else if (listed.has(path) || temps.has(path)) continue;
			else if (!entry.name.startsWith(TEMP_PREFIX)) found.push({ path, why: 'written while Verify looked, and no committed export lists it', since: { path, upload: false } });
			else {
				const final = finalNameOf(entry.name);
				if (final) found.push({ path, why: 'an upload started while Verify looked, of no run in progress', since: { path: rel ? `${rel}/${final}` : final, upload: true } });
				else found.push({ path, why: 'a file the destination\'s listing does not show (a name starting ".incoming-" that is not one of its temporary files)' });
			}
		}
	};
	await walk(top, prefix);
	return found;
}
