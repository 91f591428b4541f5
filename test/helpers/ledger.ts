/**
 * The exactly-once ledger: every record id in the lake against every record id in the committed
 * exports at a destination (read through the dataset's commit log, every file read back in full
 * and checked against its commit record's size and SHA-256). Used by the commit-protocol, fault
 * and crash tests: "the union of committed exports equals the lake, 0 missing, 0 duplicated".
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { Manifest } from '../../lib/export/manifest';
import { readCommit, statePaths } from '../../lib/export/state';
import { parseJson } from '../../lib/json';
import type { Source } from '../../lib/source/types';
import { joinPath, readAll } from '../../lib/storage/common';
import type { Store } from '../../lib/storage/types';

export interface Ledger {
	/** Record id → times it appears in committed incremental exports. */
	exported: Map<string, number>;
	commits: Manifest[];
	/** Problems with committed files: missing, wrong size, wrong checksum, unreadable. */
	incomplete: string[];
}

async function recordsOf(bytes: Buffer, name: string): Promise<Record<string, unknown>[]> {
	if (name.endsWith('.parquet')) {
		const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
		return (await parquetReadObjects({ file: buffer, compressors })) as Record<string, unknown>[];
	}
	const text = (name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
	return text
		.split('\n')
		.filter((line) => line.length)
		.map((line) => parseJson(line) as Record<string, unknown>);
}

/** Read every committed export of a dataset (incremental ones count towards `exported`). */
export async function committedLedger(store: Store, statePrefix: string, datasetId: string, idField = '_id'): Promise<Ledger> {
	const paths = statePaths(statePrefix, datasetId);
	const ledger: Ledger = { exported: new Map(), commits: [], incomplete: [] };
	for (let seq = 1; ; seq++) {
		const record = await readCommit(store, paths, seq);
		if (!record) break;
		ledger.commits.push(record);
		for (const file of record.exportResults) {
			const path = joinPath(file.sinkPath, file.name);
			const read = await store.read(path).then(readAll, (error: Error) => error);
			if (read instanceof Error) {
				ledger.incomplete.push(`${path}: ${read.message}`);
				continue;
			}
			if (read.length !== file.size) ledger.incomplete.push(`${path}: ${read.length} bytes, the commit says ${file.size}`);
			if (createHash('sha256').update(read).digest('hex') !== file.sha256) ledger.incomplete.push(`${path}: SHA-256 differs from the commit's`);
			const records = await recordsOf(read, file.name).catch((error: Error) => (ledger.incomplete.push(`${path}: ${error.message}`), []));
			if (records.length !== file.records) ledger.incomplete.push(`${path}: ${records.length} records, the commit says ${file.records}`);
			if (record.mode !== 'incremental') continue;
			for (const r of records) {
				const id = String(r[idField]);
				ledger.exported.set(id, (ledger.exported.get(id) ?? 0) + 1);
			}
		}
	}
	return ledger;
}

/** Every record id in the lake's dataset. */
export async function lakeIds(source: Source, datasetId: string, idField = '_id'): Promise<Set<string>> {
	const dataset = await source.getDataset(datasetId);
	const ids = new Set<string>();
	for (const batch of await source.listBatches(datasetId)) {
		for await (const chunk of source.readBatch(dataset, batch)) for (const r of chunk) ids.add(String(r[idField]));
	}
	return ids;
}

/** Missing and duplicated ids, and ids exported that the lake does not hold. */
export function reconcile(lake: Set<string>, ledger: Ledger): { missing: number; duplicated: number; foreign: number } {
	let missing = 0;
	let duplicated = 0;
	let foreign = 0;
	for (const id of lake) if (!ledger.exported.has(id)) missing++;
	for (const [id, times] of ledger.exported) {
		if (times > 1) duplicated++;
		if (!lake.has(id)) foreign++;
	}
	return { missing, duplicated, foreign };
}
