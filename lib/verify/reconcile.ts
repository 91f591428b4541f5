/**
 * Reconciliation with the lake: for every batch of an export, the records the lake's batch
 * metadata says the batch holds (counted without reading the data) against the records the export
 * wrote from it (the manifest's per-batch `exported`, plus `skipped` by On Schema Mismatch: Skip
 * Record). A batch whose count the lake cannot give without reading it, a batch no longer in the
 * lake, and a manifest without per-batch counts are listed as not reconciled: never as passed.
 */
import { attemptAsync } from '../errors';
import type { Manifest } from '../export/manifest';
import { batchesOf } from '../export/state';
import type { BatchInfo, Source } from '../source/types';

export interface BatchReconciliation {
	id: string;
	status: 'matched' | 'differs' | 'not reconciled';
	/** Records in the batch by the lake's metadata now (null: the lake cannot count it without reading it). */
	lake: number | null;
	/** Records in the batch by the lake's metadata when it was exported (from the manifest). */
	atExport: number | null;
	/** Records of the batch in the export's files (null: the manifest has no per-batch count). */
	exported: number | null;
	/** Records of the batch left out by On Schema Mismatch: Skip Record. */
	skipped: number;
	/** Why it differs or could not be reconciled. */
	note?: string;
}

export interface Reconciliation {
	checked: boolean;
	/** The source's type (e.g. `local-lake`). */
	source: string | null;
	matched: number;
	differs: number;
	notReconciled: number;
	batches: BatchReconciliation[];
}

export const NOT_RECONCILED: Reconciliation = { checked: false, source: null, matched: 0, differs: 0, notReconciled: 0, batches: [] };

export class ReconcileError extends Error {}

/** Compare the export's per-batch counts with the lake's. Throws ReconcileError when the lake cannot list the dataset's batches. */
export async function reconcile(source: Source, manifest: Manifest): Promise<Reconciliation> {
	const batches = batchesOf(manifest);
	const inLake = new Map<string, Pick<BatchInfo, 'recordCount'>>();
	// a range of a table is counted by the source as it is now; listed batches come from one listing
	const ranges = source.countBatch ? batches.filter((b) => b.position) : [];
	for (const batch of ranges) {
		const counted = await attemptAsync(() => source.countBatch!(manifest.datasetId, batch));
		if (!counted.ok) throw new ReconcileError(`Reconcile With Lake: the source cannot count the range ${batch.id} of dataset "${manifest.datasetId}": ${counted.error.message}`);
		inLake.set(batch.id, { recordCount: counted.value });
	}
	if (ranges.length < batches.length) {
		const listed = await attemptAsync(() => source.listBatches(manifest.datasetId));
		if (!listed.ok) throw new ReconcileError(`Reconcile With Lake: the lake cannot list the batches of dataset "${manifest.datasetId}": ${listed.error.message}`);
		for (const b of listed.value) if (!inLake.has(b.id)) inLake.set(b.id, b);
	}
	const result: Reconciliation = { checked: true, source: source.type, matched: 0, differs: 0, notReconciled: 0, batches: [] };
	for (const batch of batches) {
		const lake = inLake.get(batch.id);
		// exports written before per-batch counts: a single batch's count is the file total
		const exported = typeof batch.exported === 'number' ? batch.exported : batches.length === 1 ? manifest.exportResults.reduce((n, f) => n + (f.records ?? 0), 0) : null;
		const skipped = batch.skipped ?? 0;
		const entry: BatchReconciliation = { id: batch.id, status: 'not reconciled', lake: lake?.recordCount ?? null, atExport: batch.records ?? null, exported, skipped };
		if (!lake) entry.note = 'the batch is no longer in the lake';
		else if (lake.recordCount === null) entry.note = "the lake's metadata has no record count for this batch (counting it would mean reading it)";
		else if (exported === null) entry.note = 'the manifest has no per-batch record count (written by an older version)';
		else if (exported + skipped === lake.recordCount) entry.status = 'matched';
		else {
			entry.status = 'differs';
			const changed = batch.position
				? lake.recordCount > exported + skipped
					? ' (the range holds rows the export does not: rows were missed, or written later with a cursor value inside the range; export them with a full export)'
					: ' (rows updated or deleted since the export leave its range: an update is exported again by a later range)'
				: batch.records !== null && batch.records !== undefined && batch.records !== lake.recordCount
					? ` (it held ${batch.records} when exported: the batch changed in the lake since)`
					: '';
			entry.note = `the lake holds ${lake.recordCount} records${changed}, the export has ${exported}${skipped ? ` and skipped ${skipped}` : ''}`;
		}
		result.batches.push(entry);
		if (entry.status === 'matched') result.matched++;
		else if (entry.status === 'differs') result.differs++;
		else result.notReconciled++;
	}
	return result;
}
