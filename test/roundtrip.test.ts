/**
 * Every file type × codec, exported from a lake whose batches use every reader (NDJSON, gzip
 * NDJSON, JSON arrays, CSV, Parquet), read back by DuckDB and compared record for record with
 * DuckDB's own reading of the lake: types, nulls, nested objects, lists, unicode, timestamps,
 * dates and 64-bit ids.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runExport } from '../lib/export/run';
import { parquetCodecProblem } from '../lib/format/parquet';
import type { Codec, FileType } from '../lib/format';
import type { Field } from '../lib/schema';
import { generateLake, sampleSchema, SAMPLE_DATASETS } from '../lib/sample/generator';
import { LocalLakeSource } from '../lib/source/local-lake';
import { LocalFolderStore } from '../lib/storage/local';
import { canonicalRecords, query, readFiles } from './helpers/duckdb';
import { lakeFiles, tempDir } from './helpers/fixtures';

const DATASETS = ['ajo_message_feedback_event_dataset', 'ajo_email_tracking_experience_event_dataset', 'journeys', 'ajo_consent_service_dataset', 'journey_step_events'];
const COMBOS: Array<[FileType, Codec]> = [
	['json', 'none'],
	['json', 'gzip'],
	['parquet', 'none'],
	['parquet', 'snappy'],
	['parquet', 'gzip'],
	['parquet', 'zstd'],
];

describe('DuckDB reads back every format × codec exactly', () => {
	const lake = tempDir('rt-lake');
	const out = tempDir('rt-out');
	const source = new LocalLakeSource(lake);
	const store = new LocalFolderStore(out);
	const expected = new Map<string, string[]>();

	before(async () => {
		await generateLake({ dir: lake, records: 1500, seed: 'roundtrip', batches: 3, datasets: DATASETS, recordsPerFile: 400 });
		for (const id of DATASETS) {
			const schema = sampleSchema(SAMPLE_DATASETS.find((d) => d.id === id)!);
			expected.set(id, canonicalRecords(schema, await readFiles(lakeFiles(lake, id))));
		}
	});

	it('the lake covers every reader and every field type', async () => {
		const files = DATASETS.flatMap((id) => lakeFiles(lake, id));
		for (const suffix of ['.ndjson', '.ndjson.gz', '.json', '.csv', '.csv.gz', '.parquet']) {
			assert.ok(files.some((f) => f.endsWith(suffix)), `a lake file ends in ${suffix}`);
		}
		const types = new Set<string>();
		const walk = (f: Omit<Field, 'name'>) => {
			types.add(f.type);
			f.fields?.forEach(walk);
			if (f.items) walk(f.items);
		};
		for (const id of DATASETS) sampleSchema(SAMPLE_DATASETS.find((d) => d.id === id)!).fields.forEach(walk);
		for (const type of ['string', 'int', 'long', 'double', 'boolean', 'timestamp', 'date', 'object', 'array']) assert.ok(types.has(type), type);
	});

	for (const [fileType, codec] of COMBOS) {
		it(`${fileType} / ${codec}`, async (t) => {
			const problem = fileType === 'parquet' ? parquetCodecProblem(codec) : undefined;
			const [major, minor] = process.versions.node.split('.').map(Number);
			assert.equal(problem === undefined, codec !== 'zstd' || major > 22 || (major === 22 && minor >= 15), 'zstd is offered exactly where node:zlib has it');
			if (problem) {
				// this runtime cannot write it: the export must say so clearly, naming the runtime
				await assert.rejects(
					runExport(source, store, { datasetId: DATASETS[0], mode: 'full', fileType, codec, folderPath: `${fileType}-${codec}` }),
					(error: Error) => /ZSTD needs Node\.js 22\.15/.test(error.message),
				);
				t.diagnostic(`skipped the read-back: ${problem}`);
				return;
			}
			for (const id of DATASETS) {
				const schema = sampleSchema(SAMPLE_DATASETS.find((d) => d.id === id)!);
				const report = await runExport(source, store, { datasetId: id, mode: 'full', fileType, codec, folderPath: `${fileType}-${codec}`, maxRecordsPerFile: 700 });
				assert.equal(report.status, 'committed');
				const paths = report.files.map((f) => join(out, f.path));
				assert.ok(paths.length >= 1);
				for (const f of report.files) assert.ok(f.name.endsWith(fileType === 'json' ? (codec === 'gzip' ? '.json.gz' : '.json') : '.parquet'), f.name);
				const actual = canonicalRecords(schema, await readFiles(paths));
				const want = expected.get(id)!;
				assert.equal(actual.length, want.length, `${id}: record count`);
				assert.deepEqual(actual, want, `${id}: records differ`);
				assert.equal(report.totals.records, want.length);
				if (fileType === 'parquet') {
					// proper logical types, not raw ints or text, and the chosen codec inside
					const types = await query(`SELECT name, type FROM parquet_schema('${paths[0]}')`);
					const typeOf = (name: string) => types.find((r) => r.name === name);
					if (id === 'ajo_message_feedback_event_dataset') {
						const meta = await query(`SELECT DISTINCT compression FROM parquet_metadata('${paths[0]}')`);
						assert.deepEqual(meta.map((r) => r.compression), [codec === 'none' ? 'UNCOMPRESSED' : codec.toUpperCase()]);
						const described = await query(`DESCRIBE SELECT * FROM read_parquet('${paths[0]}')`);
						const columnType = (name: string) => described.find((r) => r.column_name === name)?.column_type;
						assert.equal(columnType('timestamp'), 'TIMESTAMP WITH TIME ZONE');
						assert.equal(columnType('profileId'), 'BIGINT');
						assert.equal(columnType('sizeBytes'), 'INTEGER');
						assert.match(String(columnType('tags')), /^VARCHAR\[\]$/);
						assert.match(String(columnType('_experience')), /^STRUCT\(customerJourneyManagement STRUCT/);
						assert.ok(typeOf('profileId'));
					}
					if (id === 'journeys') {
						const described = await query(`DESCRIBE SELECT * FROM read_parquet('${paths[0]}')`);
						assert.equal(described.find((r) => r.column_name === 'publishedOn')?.column_type, 'DATE');
					}
				}
			}
		});
	}

	it('64-bit ids survive exactly (beyond 2^53)', async () => {
		const report = await runExport(source, store, { datasetId: 'journey_step_events', mode: 'full', fileType: 'json', codec: 'gzip', folderPath: 'ids' });
		const rows = await query(`SELECT profileId FROM read_json('${join(out, report.files[0].path)}')`);
		const big = rows.filter((r) => (r.profileId as bigint) > 9007199254740993n);
		assert.ok(big.length > rows.length / 2, 'most ids are beyond Number precision');
		const lakeRows = await readFiles(lakeFiles(lake, 'journey_step_events'));
		assert.deepEqual(rows.map((r) => String(r.profileId)).sort(), lakeRows.map((r) => String(r.profileId)).sort());
	});
});
