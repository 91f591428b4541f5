import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateLake, SAMPLE_DATASETS } from '../../scripts/sample/generator';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { filesUnder, tempDir } from '../helpers/fixtures';

const digest = (dir: string) =>
	filesUnder(dir)
		.filter((p) => !p.endsWith('.parquet')) // Parquet embeds no time, but compare the readable formats byte for byte
		.map(
			(p) =>
				`${p}:${createHash('sha256')
					.update(readFileSync(join(dir, p)))
					.digest('hex')}`,
		);

describe('sample lake generator', () => {
	it('is deterministic by seed and differs across seeds', async () => {
		const [a, b, c] = [tempDir('gen-a'), tempDir('gen-b'), tempDir('gen-c')];
		await generateLake({ dir: a, records: 300, seed: 's1', batches: 2 });
		await generateLake({ dir: b, records: 300, seed: 's1', batches: 2 });
		await generateLake({ dir: c, records: 300, seed: 's2', batches: 2 });
		assert.deepEqual(digest(a), digest(b));
		assert.notDeepEqual(digest(a), digest(c));
		for (const p of filesUnder(a).filter((p) => p.endsWith('.parquet'))) {
			assert.ok(readFileSync(join(a, p)).equals(readFileSync(join(b, p))), `${p} identical`);
		}
	});

	it('builds every named dataset with its tier and kind, and any size', async () => {
		const dir = tempDir('gen-all');
		const made = await generateLake({ dir, records: 1000, seed: 'x', batches: 4, recordsPerFile: 100 });
		const datasets = await new LocalLakeSource(dir).listDatasets();
		assert.equal(datasets.length, SAMPLE_DATASETS.length);
		for (const spec of SAMPLE_DATASETS) {
			const d = datasets.find((x) => x.id === spec.id)!;
			assert.equal(d.name, spec.name);
			assert.equal(d.tier, spec.tier);
			assert.equal(d.kind, spec.kind);
			assert.equal(d.recordCount, made.find((m) => m.id === spec.id)!.records);
		}
		const feedback = datasets.find((d) => d.id === 'ajo_message_feedback_event_dataset')!;
		assert.equal(feedback.batchCount, 4);
		assert.equal(feedback.recordCount, 1000);
		assert.ok(filesUnder(join(dir, feedback.id)).filter((p) => /part-\d+\./.test(p)).length >= 10, 'batches split into files');
		assert.ok(['Prime', 'Ultimate'].every((t) => datasets.some((d) => d.tier === t)));
	});
});
