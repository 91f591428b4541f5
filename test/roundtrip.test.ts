/**
 * Every file type × codec, exported from a lake whose batches use every reader (NDJSON, gzip
 * NDJSON, JSON arrays, CSV, Parquet), read back by DuckDB (and a lossless JSON reader) and
 * compared record for record, exactly, with the independent reading of the lake: types, nulls,
 * nested objects, lists, unicode, timestamps to the µs, dates and 64-bit ids. Then the issue's
 * unusual values (64-bit ints at any depth and in json fields, `…00.123456Z`, year 9999, zone-less
 * timestamps, DECIMAL(18,4) and (38,10), BLOB bytes, null keys, -0.0) through every format ×
 * codec inside n8n-core's engine, with n8n-workflow's BigInt.prototype.toJSON in effect.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { runExport } from '../lib/export/run';
import { parquetCodecProblem } from '../lib/format/parquet';
import type { Field } from '../lib/schema';
import { generateLake, sampleSchema, SAMPLE_DATASETS } from '../scripts/sample/generator';
import { LocalLakeSource } from '../lib/source/local-lake';
import { LocalFolderStore } from '../lib/storage/local';
import { canonicalRecords, query, readFiles } from './helpers/duckdb';
import { everyFormat, filesUnder, lakeFiles, tempDir } from './helpers/fixtures';
import { runWorkflow, type WorkflowJson } from './harness/engine';

// n8n 2 lets nodes use only ~/.n8n-files unless told otherwise: these tests' lakes are temp folders
process.env.N8N_RESTRICT_FILE_ACCESS_TO ??= '';

const DATASETS = ['ajo_message_feedback_event_dataset', 'ajo_email_tracking_experience_event_dataset', 'journeys', 'ajo_consent_service_dataset', 'journey_step_events'];
const COMBOS = everyFormat();

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
			assert.ok(
				files.some((f) => f.endsWith(suffix)),
				`a lake file ends in ${suffix}`,
			);
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
				await assert.rejects(runExport(source, store, { datasetId: DATASETS[0], mode: 'full', fileType, codec, folderPath: `${fileType}-${codec}` }), (error: Error) =>
					/ZSTD needs Node\.js 22\.15/.test(error.message),
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
						assert.deepEqual(
							meta.map((r) => r.compression),
							[codec === 'none' ? 'UNCOMPRESSED' : codec.toUpperCase()],
						);
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
		assert.ok(lakeRows.some((r) => String(r.profileId).length >= 18));
		assert.deepEqual(rows.map((r) => String(r.profileId)).sort(), lakeRows.map((r) => String(r.profileId)).sort());
	});
});

/** The unusual but legal values, declared exactly, in an NDJSON batch and a DuckDB-written Parquet batch. */
const EXACT_SCHEMA = {
	fields: [
		{ name: 'id', type: 'long' },
		{ name: 'ts', type: 'timestamp' },
		{ name: 'd18', type: 'decimal', precision: 18, scale: 4 },
		{ name: 'd38', type: 'decimal', precision: 38, scale: 10 },
		{ name: 'blob', type: 'binary' },
		{ name: 'x', type: 'double' },
		{ name: 'doc', type: 'json' },
		{ name: 'note', type: 'string' },
		{
			name: 'o',
			type: 'object',
			fields: [
				{ name: 'n', type: 'long' },
				{ name: 'l', type: 'array', items: { type: 'long' } },
			],
		},
	],
} as const;

const EXACT_NDJSON = [
	'{"id":9223372036854775807,"ts":"2024-03-10T12:34:00.123456Z","d18":12345678901234.5678,"d38":1234567890123456789012345678.0123456789,"blob":"AP+AYWJj","x":-0.0,"doc":{"big":9223372036854775807,"d":12345678901234.5678},"note":null,"o":{"n":-9223372036854775808,"l":[4611686018427387904,null]}}',
	'{"id":-9223372036854775808,"ts":"9999-12-31T23:59:59.999999Z","d18":-0.0001,"d38":-1,"blob":"","x":1.5,"doc":[9007199254740993],"note":"é\u2028𝄞","o":null}',
	'{"id":null,"ts":"2024-03-10T12:34:56","d18":null,"d38":null,"blob":null,"x":null,"doc":null,"note":null,"o":{"n":null,"l":[]}}',
];

const EXACT_PARQUET_SQL = (path: string) => `COPY (SELECT * FROM (VALUES
	(9223372036854775806::BIGINT, TIMESTAMPTZ '2024-03-10 12:34:00.123456+00', 12345678901234.5678::DECIMAL(18,4), '1234567890123456789012345678.0123456789'::DECIMAL(38,10), '\\x00\\xff\\x80abc'::BLOB, '-0.0'::DOUBLE, '{"big":9223372036854775807}'::JSON, NULL::VARCHAR, {'n': (-9223372036854775807 - 1)::BIGINT, 'l': [1::BIGINT, NULL]}),
	(2::BIGINT, '9999-12-31 23:59:59.999999'::TIMESTAMPTZ, NULL, '-0.0000000001'::DECIMAL(38,10), NULL, NULL, NULL, 'x', NULL)
) t(id, ts, d18, d38, blob, x, doc, note, o)) TO '${path}' (FORMAT parquet)`;

describe('exact values through every format × codec inside n8n-core’s engine', () => {
	const lake = tempDir('exact-lake');
	const out = tempDir('exact-out');
	const dataset = 'exact_values';
	let expected: string[];

	before(async () => {
		const root = join(lake, dataset);
		mkdirSync(join(root, 'batches', 'b1'), { recursive: true });
		mkdirSync(join(root, 'batches', 'b2'), { recursive: true });
		writeFileSync(join(root, 'dataset.json'), JSON.stringify({ id: dataset, name: 'Exact values', kind: 'lookup', tier: 'Prime', schema: EXACT_SCHEMA }));
		writeFileSync(join(root, 'batches', 'b1', 'batch.json'), JSON.stringify({ id: 'b1', ingestedAt: '2026-01-01T00:00:00.000Z', recordCount: 3 }));
		writeFileSync(join(root, 'batches', 'b1', 'part-0.ndjson'), EXACT_NDJSON.join('\n') + '\n');
		writeFileSync(join(root, 'batches', 'b2', 'batch.json'), JSON.stringify({ id: 'b2', ingestedAt: '2026-01-02T00:00:00.000Z', recordCount: 2 }));
		await query(EXACT_PARQUET_SQL(join(root, 'batches', 'b2', 'part-0.parquet')));
		expected = canonicalRecords(EXACT_SCHEMA as never, await readFiles(lakeFiles(lake, dataset)));
	});

	for (const [fileType, codec] of COMBOS) {
		it(`${fileType} / ${codec}`, async (t) => {
			if (fileType === 'parquet' && parquetCodecProblem(codec)) return t.skip(String(parquetCodecProblem(codec)));
			assert.equal(JSON.stringify({ n: 1n }), '{"n":"1"}', "n8n-workflow's BigInt.prototype.toJSON is in effect");
			const folderPath = `exact-${fileType}-${codec}`;
			const workflow: WorkflowJson = {
				nodes: [
					{ id: '1', name: 'Schedule Trigger', type: 'n8n-nodes-base.scheduleTrigger', typeVersion: 1.2, position: [0, 0], parameters: { testTime: '2026-02-01T00:00:00Z' } },
					{
						id: '2',
						name: 'Export Dataset',
						type: 'n8n-nodes-dataset-export.exportDataset',
						typeVersion: 1,
						position: [200, 0],
						parameters: {
							lakePath: lake,
							dataset: { __rl: true, mode: 'id', value: dataset },
							destination: 'localFolder',
							folderPath,
							mode: 'full',
							fileType,
							...(fileType === 'json' ? { jsonCompression: codec } : { parquetCompression: codec }),
							options: {},
						},
						credentials: { datasetExportLocalFolderApi: { id: 'local', name: 'local' } },
					},
				],
				connections: { 'Schedule Trigger': { main: [[{ node: 'Export Dataset', type: 'main', index: 0 }]] } },
			};
			const result = await runWorkflow(workflow, { local: { rootPath: out } });
			assert.equal(result.error, undefined, result.error?.message);
			const [report] = result.output('Export Dataset');
			assert.equal(report.status, 'committed', JSON.stringify(report).slice(0, 500));
			const data = (report.files as Array<{ path: string }>).map((f) => join(out, f.path));
			assert.ok(data.length >= 1 && data.every((f) => filesUnder(out).includes(f.slice(out.length + 1))), `data files were written: ${data.join(', ')}`);
			const rows = await readFiles(data);
			assert.deepEqual(canonicalRecords(EXACT_SCHEMA as never, rows), expected);
			if (fileType === 'json') {
				// NDJSON keeps the literal text of every exact value, nulls included
				const text = rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (v instanceof Object && 'text' in v ? `#${String(v.text)}` : v))).join('\n');
				for (const literal of ['#9223372036854775807', '#12345678901234.5678', '#1234567890123456789012345678.0123456789', '#-0.0', '"note":null', '"AP+AYWJj"', '2024-03-10T12:34:00.123456Z']) {
					assert.ok(text.includes(literal), literal);
				}
			} else {
				// DuckDB reads the logical types and the values exactly
				const path = data[0];
				const described = await query(`DESCRIBE SELECT * FROM read_parquet('${path}')`);
				const type = (name: string) => described.find((r) => r.column_name === name)?.column_type;
				assert.deepEqual([type('d18'), type('d38'), type('blob'), type('ts'), type('doc')], ['DECIMAL(18,4)', 'DECIMAL(38,10)', 'BLOB', 'TIMESTAMP WITH TIME ZONE', 'JSON']);
				const hex = await query(`SELECT hex(blob) h FROM read_parquet('${path}') WHERE blob IS NOT NULL ORDER BY h`);
				assert.ok(hex.some((r) => r.h === '00FF80616263'));
			}
		});
	}
});
