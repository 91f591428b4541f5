/**
 * The lake the source contract runs on: dataset folders with batches (the sample generator's,
 * NDJSON gzip, read back independently) and a plain folder of files (one file = one batch) holding
 * edge values: 64-bit integers beyond 2^53, decimals, -0, exponents, unicode with line separators,
 * nested objects and lists, nulls, empty strings.
 */
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parseJson } from '../../lib/json';
import type { DatasetRecord } from '../../lib/source/types';
import { generateLake } from '../../scripts/sample/generator';
import { tempDir } from '../helpers/fixtures';

const lines = (text: string) => text.split('\n').filter((line) => line.length);
const parsed = (text: string) => lines(text).map((line) => parseJson(line) as DatasetRecord);

const EDGE_LINES = [
	'{"id":9007199254740993,"big":-9223372036854775808,"max":18446744073709551615,"amount":0.1,"tiny":5e-324,"huge":1.7976931348623157e308,"neg":-0,"text":"ünï 😀 \\u2028 line\\nbreak","empty":"","none":null,"nested":{"list":[1,2.5,"x",null,{"deep":[true,false]}]}}',
	'{"id":9007199254740995,"big":9223372036854775807,"max":0,"amount":123456789.123456789,"tiny":1e-7,"huge":1e21,"neg":0,"text":"\\"quoted\\" \\\\ back","empty":"","none":null,"nested":{"list":[]}}',
];

/** The lake of the source contract (both layouts, edge values) in a fresh folder, and the records each batch holds. */
export async function buildLakeFixture(): Promise<{ lake: string; expected: Map<string, DatasetRecord[][]> }> {
	const lake = tempDir('source-contract');
	const expected = new Map<string, DatasetRecord[][]>();

	// dataset folders with batches: the sample generator's, as NDJSON gzip (read back independently)
	const generated = await generateLake({ dir: lake, records: 40, seed: 'source-contract', batches: 3, datasets: ['journey_step_events', 'journeys'], format: 'ndjson.gz', recordsPerFile: 9 });
	for (const { id } of generated) {
		const batchesDir = join(lake, id, 'batches');
		const batches = ['batch-0001', 'batch-0002', 'batch-0003'].filter((b) => {
			try {
				readFileSync(join(batchesDir, b, 'batch.json'));
				return true;
			} catch {
				return false;
			}
		});
		expected.set(
			id,
			batches.map((b) => {
				const meta = JSON.parse(readFileSync(join(batchesDir, b, 'batch.json'), 'utf8')) as { files: string[] };
				return meta.files.flatMap((file) => parsed(gunzipSync(readFileSync(join(batchesDir, b, file))).toString('utf8')));
			}),
		);
	}

	// a plain folder of files: one file = one batch, its modification time = its ingestion time
	mkdirSync(join(lake, 'edge_values'));
	const first = `${EDGE_LINES[0]}\n${EDGE_LINES[1]}\n`;
	const many = Array.from({ length: 23 }, (_, i) => `{"id":${9007199254741000 + i},"n":${i}.5,"s":"row ${i}"}`).join('\n') + '\n';
	writeFileSync(join(lake, 'edge_values', '2026-01.ndjson'), first);
	writeFileSync(join(lake, 'edge_values', '2026-02.ndjson.gz'), gzipSync(many));
	utimesSync(join(lake, 'edge_values', '2026-01.ndjson'), new Date('2026-01-31T00:00:00Z'), new Date('2026-01-31T00:00:00Z'));
	utimesSync(join(lake, 'edge_values', '2026-02.ndjson.gz'), new Date('2026-02-28T00:00:00Z'), new Date('2026-02-28T00:00:00Z'));
	expected.set('edge_values', [parsed(first), parsed(many)]);

	return { lake, expected };
}
