/**
 * Schema changes between consecutive exports of a dataset: the schema this export wrote (its
 * manifest's `schema`) against the one the previous commit in the dataset's commit log wrote, as
 * fields added, removed or of another type. A change is a warning, not a failure: it is legal
 * (On Schema Mismatch: Evolve, or a new declared schema), but whoever reads the files must know.
 */
import { attemptAsync } from '../errors';
import type { Manifest } from '../export/manifest';
import { readCommit, type StatePaths } from '../export/state';
import { describeDiff, diffSchemas } from '../schema-diff';
import type { Store } from '../storage/types';

/** Commits looked back through for the previous export that wrote a schema (exports of nothing write none). */
const LOOK_BACK = 50;

export interface SchemaChange {
	/** Whether a previous export with a schema was found to compare with. */
	checked: boolean;
	previous: { sequence: number; runId: string; manifestPath: string | null; exportTime: string } | null;
	added: string[];
	removed: string[];
	/** `path: old → new`. */
	changed: string[];
	/** Changes made during this export (On Schema Mismatch: Evolve), as the manifest records them. */
	duringExport: string[];
}

export async function schemaChange(store: Store, paths: StatePaths, manifest: Manifest): Promise<{ change: SchemaChange; warnings: string[] }> {
	const change: SchemaChange = { checked: false, previous: null, added: [], removed: [], changed: [], duringExport: [] };
	const warnings: string[] = [];
	for (const evolution of manifest.schemaEvolution ?? []) {
		change.duringExport.push(...evolution.changes);
		warnings.push(`the schema changed during this export (On Schema Mismatch: Evolve)${evolution.file ? ` from file ${evolution.file}` : ''}: ${evolution.changes.join('; ')}`);
	}
	const sequence = manifest.commit?.sequence;
	if (!sequence || !manifest.schema) return { change, warnings };
	for (let seq = sequence - 1; seq >= 1 && seq >= sequence - LOOK_BACK; seq--) {
		const record = await attemptAsync(() => readCommit(store, paths, seq));
		if (!record.ok || !record.value) continue;
		if (!record.value.schema) continue;
		const diff = diffSchemas(record.value.schema, manifest.schema);
		change.checked = true;
		change.previous = { sequence: seq, runId: record.value.flowRunId, manifestPath: record.value.commit?.manifestPath ?? null, exportTime: record.value.exportTime };
		Object.assign(change, diff);
		const words = describeDiff(diff);
		if (words.length) warnings.push(`the schema changed since the previous export (commit ${seq}, export time ${record.value.exportTime}): ${words.join('; ')}`);
		break;
	}
	return { change, warnings };
}
