/**
 * The PostgreSQL source (lib/source/postgres) on a real PostgreSQL (scripts/servers/postgres.sh):
 * the source contract with every supported type, incremental ranges committed one after another,
 * the cursor trap (a row committed late with an older cursor value is exported exactly once), two
 * runs at once, and the errors for a wrong password, a closed port and a dropped connection.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runExport, type ExportRequest } from '../../lib/export/run';
import { parseJson, stringifyJson } from '../../lib/json';
import { RequestError } from '../../lib/errors';
import { PostgresSource, type PostgresConnection } from '../../lib/source/postgres';
import { SourceError, type DatasetRecord } from '../../lib/source/types';
import { LocalFolderStore } from '../../lib/storage/local';
import { verifyExport } from '../../lib/verify/verify';
import { Binary, ExactNumber } from '../../lib/values';
import { canonicalRecords, parseLossless, readFiles } from '../helpers/duckdb';
import { FaultProxy } from '../helpers/fault-proxy';
import { tempDir } from '../helpers/fixtures';
import { freshDatabase, sql, sqlClient } from '../helpers/postgres';
import { sourceContract } from './contract';

const TYPES_TABLE = `
CREATE TABLE types (
  id bigint PRIMARY KEY, small smallint, big bigint, price numeric(12,2), huge numeric, ratio float8, flag boolean,
  label text NOT NULL, code varchar(8), tag uuid, at timestamptz, local_at timestamp, day date, doc jsonb, raw bytea,
  nums int8[], tags text[], times timestamptz[], span interval, addr inet
);
INSERT INTO types VALUES
  (1, 32767, 9223372036854775807, 12345678.90, 123456789012345678901234567890.123456789, '-0', true, E'\\u00fcn\\u00ef \\U0001F600 \\u2028', 'ab',
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2026-11-28 10:00:00.123456+00', '2026-11-28 10:00:00', '2026-11-28',
   '{"n": 9007199254740993, "x": [1, "a", null]}', '\\x00ff10', '{1,9007199254740993,NULL}', '{"a b","c,d",NULL}',
   '{"2026-01-01 00:00:00+00"}', '1 day 02:03:04', '192.168.0.1/24'),
  (2, NULL, -9223372036854775808, -0.01, NULL, 1e300, false, 'nulls', NULL, NULL, '1970-01-01 00:00:00.000001+00', NULL, NULL, 'null', '\\x', '{}', NULL, NULL, NULL, NULL);
INSERT INTO types (id, label, ratio) SELECT i, 'row ' || i, i / 10.0 FROM generate_series(3, 12) AS i;
CREATE VIEW types_view AS SELECT id, label FROM types WHERE id >= 3;
CREATE TABLE empty_things (id int PRIMARY KEY);
`;

const base = (id: number, label: string): DatasetRecord => ({
	id,
	small: null,
	big: null,
	price: null,
	huge: null,
	ratio: null,
	flag: null,
	label,
	code: null,
	tag: null,
	at: null,
	local_at: null,
	day: null,
	doc: null,
	raw: null,
	nums: null,
	tags: null,
	times: null,
	span: null,
	addr: null,
});

/** The rows of `types` as the source must give them: every value exactly. */
function typesRows(): DatasetRecord[] {
	return [
		{
			...base(1, 'ünï 😀 \u2028'),
			small: 32767,
			big: 9223372036854775807n,
			price: new ExactNumber('12345678.90'),
			huge: new ExactNumber('123456789012345678901234567890.123456789'),
			ratio: new ExactNumber('-0'),
			flag: true,
			code: 'ab',
			tag: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
			at: '2026-11-28T10:00:00.123456Z',
			local_at: '2026-11-28T10:00:00.000000Z',
			day: '2026-11-28',
			doc: parseJson('{"n": 9007199254740993, "x": [1, "a", null]}'),
			raw: new Binary(new Uint8Array([0, 255, 16])),
			nums: [1, 9007199254740993n, null],
			tags: ['a b', 'c,d', null],
			times: ['2026-01-01T00:00:00.000000Z'],
			span: 'P1DT2H3M4S',
			addr: '192.168.0.1/24',
		},
		{
			...base(2, 'nulls'),
			big: -9223372036854775808n,
			price: new ExactNumber('-0.01'),
			ratio: 1e300,
			flag: false,
			at: '1970-01-01T00:00:00.000001Z',
			doc: null,
			raw: new Binary(new Uint8Array()),
			nums: [],
		},
		...Array.from({ length: 10 }, (_, i) => ({ ...base(i + 3, `row ${i + 3}`), ratio: (i + 3) / 10 })),
	];
}

let contractDb: PostgresConnection;
let db: PostgresConnection;

before(async () => {
	contractDb = await freshDatabase('dsx_source_contract');
	await sql(contractDb, TYPES_TABLE);
	db = await freshDatabase('dsx_source_cursor');
});

sourceContract('PostgreSQL', async () => {
	const rows = typesRows();
	return {
		source: new PostgresSource(contractDb, { cursorColumn: 'id' }),
		expected: new Map([
			['public.types', [rows]],
			['public.types_view', [rows.filter((r) => (r.id as number) >= 3).map((r) => ({ id: r.id, label: r.label }))]],
			['public.empty_things', []],
		]),
		broken: new PostgresSource({ ...contractDb, database: 'no_such_database' }),
		badCredentials: new PostgresSource({ ...contractDb, password: `not-the-${'pass'}word` }),
		unreachable: new PostgresSource({ ...contractDb, port: 1, connectAttempts: 2 }),
	};
});

const files = (root: string): string[] =>
	readdirSync(root, { recursive: true, encoding: 'utf8' })
		.map((p) => join(root, p))
		.filter((p) => statSync(p).isFile() && /\.(parquet|json(\.gz)?)$/.test(p) && !p.includes('_dataset_export') && !p.endsWith('manifest.json') && !/manifest-.*\.json$/.test(p));

const request = (datasetId: string, extra: Partial<ExportRequest> = {}): ExportRequest => ({ datasetId, mode: 'incremental', fileType: 'parquet', codec: 'snappy', folderPath: 'out', ...extra });

describe('PostgreSQL source', () => {
	it('describes each table: declared schema with the exact types, what is kept as text', async () => {
		const info = await new PostgresSource(contractDb).getDataset('public.types');
		const byName = new Map(info.schema!.fields.map((f) => [f.name, f]));
		assert.deepEqual(byName.get('price'), { name: 'price', type: 'decimal', precision: 12, scale: 2 });
		assert.equal(byName.get('huge')!.type, 'json', 'an unconstrained numeric keeps its exact literal');
		assert.deepEqual(byName.get('nums'), { name: 'nums', type: 'array', items: { type: 'long' } });
		assert.equal(byName.get('label')!.nullable, false);
		assert.equal(byName.get('at')!.type, 'timestamp');
		assert.equal(byName.get('raw')!.type, 'binary');
		assert.match(info.description, /kept as text: span \(interval\), addr \(inet\)/);
		assert.match(info.description, /primary key id/);
	});

	it('exports a table as Parquet that DuckDB reads back value for value', async () => {
		const out = tempDir('pg-parquet');
		const source = new PostgresSource(contractDb, { cursorColumn: 'id' });
		const report = await runExport(source, new LocalFolderStore(out), request('public.types', { mode: 'full' }));
		assert.equal(report.status, 'committed');
		assert.equal(report.totals.records, 12);
		const schema = (await source.getDataset('public.types')).schema!;
		const back = await readFiles(files(out));
		const want = parseLossless(stringifyJson(typesRows())) as Record<string, unknown>[];
		assert.deepEqual(canonicalRecords(schema, back), canonicalRecords(schema, want));
	});

	it('incremental: each run commits the range after the last one; nothing twice, nothing missed', async () => {
		await sql(db, `CREATE TABLE orders (id bigserial PRIMARY KEY, amount numeric(10,2) NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
		await sql(db, `INSERT INTO orders (amount) SELECT i / 100.0 FROM generate_series(1, 1000) AS i`);
		const out = tempDir('pg-incremental');
		const store = new LocalFolderStore(out);
		const source = new PostgresSource(db, { cursorColumn: 'updated_at' });
		const first = await runExport(source, store, request('public.orders', { fileType: 'json', codec: 'gzip' }));
		assert.equal(first.status, 'committed');
		assert.equal(first.totals.records, 1000);
		await sql(db, `INSERT INTO orders (amount) SELECT i FROM generate_series(1, 500) AS i`);
		await sql(db, `UPDATE orders SET amount = amount + 1, updated_at = clock_timestamp() WHERE id = 7`);
		const second = await runExport(source, store, request('public.orders', { fileType: 'json', codec: 'gzip' }));
		assert.equal(second.totals.records, 501, '500 new rows and the updated one');
		const third = await runExport(source, store, request('public.orders', { fileType: 'json', codec: 'gzip' }));
		assert.equal(third.status, 'nothing-new');
		// the commits chain: the second range starts where the first ended
		const manifests = [first, second].map((r) => JSON.parse(readFileSync(join(out, r.manifestPath!), 'utf8')));
		assert.equal(manifests[0].batches[0].position.from, null);
		assert.deepEqual(manifests[1].batches[0].position.from, manifests[0].batches[0].position.to);
		const rows = await readFiles(files(out));
		const versions = rows.map((r) => `${r.id}`);
		assert.equal(versions.length, 1501);
		assert.equal(new Set(versions).size, 1500, 'each row once, and the updated row once more');
		assert.equal(versions.filter((v) => v === '7').length, 2);
		const verified = await verifyExport(store, { manifestPath: second.manifestPath!, source });
		assert.equal(verified.ok, true, JSON.stringify(verified));
		assert.equal(verified.reconciliation.matched, 1, 'the range counted again in the table: 501 rows');
	});

	it('the position survives the checkpoints of the commit log (30 runs)', async () => {
		await sql(db, `CREATE TABLE steady (id bigserial PRIMARY KEY, label text)`);
		const out = tempDir('pg-steady');
		const store = new LocalFolderStore(out);
		const source = new PostgresSource(db);
		for (let run = 0; run < 30; run++) {
			await sql(db, `INSERT INTO steady (label) VALUES ('r${run}a'), ('r${run}b')`);
			const report = await runExport(source, store, request('public.steady', { fileType: 'json', codec: 'gzip' }));
			assert.equal(report.totals.records, 2, `run ${run}`);
		}
		assert.ok(
			readdirSync(join(out, 'out'), { recursive: true, encoding: 'utf8' }).some((p) => /checkpoints/.test(p)),
			'a checkpoint was written',
		);
		const ids = (await readFiles(files(out))).map((r) => Number(r.id));
		assert.deepEqual(
			ids.sort((a, b) => a - b),
			Array.from({ length: 60 }, (_, i) => i + 1),
		);
	});

	it('the cursor trap: a row written before the export but committed after its snapshot is exported exactly once', async () => {
		for (const [table, cursor, ddl] of [
			['late_ts', 'updated_at', 'id bigserial PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now(), label text'],
			['late_seq', 'id', 'id bigserial PRIMARY KEY, label text'],
		] as const) {
			await sql(db, `CREATE TABLE ${table} (${ddl})`);
			await sql(db, `INSERT INTO ${table} (label) VALUES ('a'), ('b')`);
			// a transaction takes its cursor value (now() is its start; the sequence is drawn now) and stays open
			const late = await sqlClient(db);
			await late.query('BEGIN');
			await late.query(`INSERT INTO ${table} (label) VALUES ('late')`);
			await new Promise((r) => setTimeout(r, 20));
			// a later row commits first, with a larger cursor value
			await sql(db, `INSERT INTO ${table} (label) VALUES ('after')`);
			const out = tempDir(`pg-trap-${table}`);
			const store = new LocalFolderStore(out);
			const source = new PostgresSource(db, { cursorColumn: cursor, waitForTransactionsMs: 20_000 });
			const exporting = runExport(source, store, request(`public.${table}`, { fileType: 'json', codec: 'gzip' }));
			// the late row commits while the export waits
			await new Promise((r) => setTimeout(r, 700));
			await late.query('COMMIT');
			await late.end();
			const first = await exporting;
			assert.equal(first.status, 'committed');
			await sql(db, `INSERT INTO ${table} (label) VALUES ('next')`);
			const second = await runExport(source, store, request(`public.${table}`, { fileType: 'json', codec: 'gzip' }));
			assert.equal(second.status, 'committed');
			const labels = (await readFiles(files(out))).map((r) => r.label).sort();
			assert.deepEqual(labels, ['a', 'after', 'b', 'late', 'next'], `${table}: every row exactly once`);
			assert.equal(first.totals.records, 4, `${table}: the late row in the range its cursor value belongs to`);
		}
	});

	it('a transaction still open after the wait fails the run (busy), naming it; nothing is committed and the next run exports every row once', async () => {
		await sql(db, `CREATE TABLE busy (id bigserial PRIMARY KEY, label text)`);
		await sql(db, `INSERT INTO busy (label) VALUES ('a')`);
		const open = await sqlClient(db);
		await open.query('BEGIN');
		await open.query(`INSERT INTO busy (label) VALUES ('held')`);
		await sql(db, `INSERT INTO busy (label) VALUES ('b')`);
		const out = tempDir('pg-busy');
		const store = new LocalFolderStore(out);
		const source = new PostgresSource(db, { waitForTransactionsMs: 300 });
		await assert.rejects(runExport(source, store, request('public.busy', { fileType: 'json', codec: 'gzip' })), (error: unknown) => {
			assert.ok(error instanceof SourceError, String(error));
			assert.equal(error.code, 'busy');
			assert.match(error.message, /still running after 0 s: pid \d+ \(idle in transaction/);
			return true;
		});
		assert.deepEqual(files(out), [], 'no file written');
		await open.query('COMMIT');
		await open.end();
		const next = await runExport(source, store, request('public.busy', { fileType: 'json', codec: 'gzip' }));
		assert.equal(next.totals.records, 3);
		assert.deepEqual((await readFiles(files(out))).map((r) => r.label).sort(), ['a', 'b', 'held']);
	});

	it('two runs at once on the same table: one commits, the other is superseded; every row once', async () => {
		await sql(db, `CREATE TABLE raced (id bigserial PRIMARY KEY, label text)`);
		await sql(db, `INSERT INTO raced (label) SELECT 'r' || i FROM generate_series(1, 3000) AS i`);
		const out = tempDir('pg-race');
		const store = new LocalFolderStore(out);
		const source = new PostgresSource(db);
		const reports = await Promise.all([0, 1].map(() => runExport(source, store, request('public.raced', { fileType: 'json', codec: 'gzip', maxRecordsPerFile: 500 }))));
		assert.deepEqual(reports.map((r) => r.status).sort(), ['committed', 'superseded']);
		const ids = (await readFiles(files(out))).map((r) => Number(r.id));
		assert.equal(ids.length, 3000);
		assert.equal(new Set(ids).size, 3000);
	});

	it('rows with no cursor value are reported, not silently left out', async () => {
		await sql(db, `CREATE TABLE nullable (id int PRIMARY KEY, changed timestamptz)`);
		await sql(db, `INSERT INTO nullable VALUES (1, now()), (2, NULL), (3, NULL)`);
		const report = await runExport(new PostgresSource(db, { cursorColumn: 'changed' }), new LocalFolderStore(tempDir('pg-null')), request('public.nullable', { fileType: 'json', codec: 'gzip' }));
		assert.equal(report.totals.records, 1);
		assert.ok(
			report.warnings.some((w) => /2 row\(s\) of public.nullable have no changed \(NULL\)/.test(w)),
			report.warnings.join('; '),
		);
	});

	it('a cursor column that is missing, of the wrong type, or changed since the last export is a clear error naming Cursor Column', async () => {
		const store = new LocalFolderStore(tempDir('pg-cursor-errors'));
		await assert.rejects(
			runExport(new PostgresSource(db, { cursorColumn: 'nope' }), store, request('public.raced')),
			(e: unknown) => e instanceof RequestError && e.field === 'cursorColumn' && /Cursor Column: public.raced has no column "nope" \(its columns: id, label\)/.test(e.message),
		);
		await sql(db, `CREATE TABLE docs (id int, body jsonb)`);
		await assert.rejects(runExport(new PostgresSource(db, { cursorColumn: 'body' }), store, request('public.docs')), /Cursor Column: "body" of public.docs is jsonb/);
		await assert.rejects(runExport(new PostgresSource(db), store, request('public.docs')), /Cursor Column: public.docs needs a column that grows/);
		assert.equal((await runExport(new PostgresSource(db), store, request('public.raced'))).status, 'committed');
		await assert.rejects(runExport(new PostgresSource(db, { cursorColumn: 'label' }), store, request('public.raced')), /continue by "id", not "label"/);
	});

	it('cursor values are taken only once settled: today and yesterday wait for a date cursor, the last second for timestamptz(0), the newest value for text', async () => {
		await sql(
			db,
			`CREATE TABLE by_day (id serial PRIMARY KEY, day date NOT NULL);
			 INSERT INTO by_day (day) VALUES (current_date - 5), (current_date - 5), (current_date - 1), (current_date);
			 CREATE TABLE by_second (id serial PRIMARY KEY, at timestamptz(0) NOT NULL DEFAULT now());
			 CREATE TABLE by_code (code text PRIMARY KEY);
			 INSERT INTO by_code VALUES ('a'), ('b'), ('c');`,
		);
		const store = new LocalFolderStore(tempDir('pg-settled'));
		const days = await runExport(new PostgresSource(db, { cursorColumn: 'day' }), store, request('public.by_day', { fileType: 'json', codec: 'gzip' }));
		assert.equal(days.totals.records, 2, 'the two rows of 5 days ago; yesterday and today wait');
		await sql(db, `INSERT INTO by_second DEFAULT VALUES`);
		const now = await runExport(new PostgresSource(db, { cursorColumn: 'at' }), store, request('public.by_second', { fileType: 'json', codec: 'gzip' }));
		assert.equal(now.status, 'nothing-new', 'a row of this second waits: a later transaction may still round to it');
		await new Promise((r) => setTimeout(r, 1600));
		assert.equal((await runExport(new PostgresSource(db, { cursorColumn: 'at' }), store, request('public.by_second', { fileType: 'json', codec: 'gzip' }))).totals.records, 1);
		// a text key is no default cursor (it need not grow); named, its newest value waits
		await assert.rejects(runExport(new PostgresSource(db), store, request('public.by_code')), /Cursor Column: public.by_code needs a column that grows/);
		const codes = await runExport(new PostgresSource(db, { cursorColumn: 'code' }), store, request('public.by_code', { fileType: 'json', codec: 'gzip' }));
		assert.equal(codes.totals.records, 2, "'c' waits: a row written later with the same code is not split off");
		await sql(db, `INSERT INTO by_code VALUES ('d')`);
		assert.equal((await runExport(new PostgresSource(db, { cursorColumn: 'code' }), store, request('public.by_code', { fileType: 'json', codec: 'gzip' }))).totals.records, 1);
	});

	it('rows a cursor cannot reach (NULL, infinity, NaN) are reported even when nothing else is new', async () => {
		await sql(
			db,
			`CREATE TABLE unreachable (id int PRIMARY KEY, changed timestamptz, score numeric);
			 INSERT INTO unreachable VALUES (1, NULL, 1), (2, NULL, 'NaN'), (3, 'infinity', 2), (4, '2026-01-01', 3);`,
		);
		const store = new LocalFolderStore(tempDir('pg-unreachable'));
		const first = await runExport(new PostgresSource(db, { cursorColumn: 'changed' }), store, request('public.unreachable', { fileType: 'json', codec: 'gzip' }));
		assert.equal(first.totals.records, 1);
		const again = await runExport(new PostgresSource(db, { cursorColumn: 'changed' }), store, request('public.unreachable', { fileType: 'json', codec: 'gzip' }));
		assert.equal(again.status, 'nothing-new');
		assert.match(again.warnings.join(' '), /2 row\(s\) of public.unreachable have no changed \(NULL\)/);
		assert.match(again.warnings.join(' '), /1 row\(s\) of public.unreachable have a changed that is not a finite value/);
		await sql(db, `INSERT INTO unreachable VALUES (5, '2026-02-01', 4)`);
		assert.equal(
			(await runExport(new PostgresSource(db, { cursorColumn: 'changed' }), store, request('public.unreachable', { fileType: 'json', codec: 'gzip' }))).totals.records,
			1,
			'infinity does not block later rows',
		);
		// by score: 1, 2, 3 (4, the newest, waits; NaN is reported); the row of score 2 has an infinite time, which JSON cannot hold: skipped, counted
		const numeric = await runExport(
			new PostgresSource(db, { cursorColumn: 'score' }),
			new LocalFolderStore(tempDir('pg-nan')),
			request('public.unreachable', { fileType: 'json', codec: 'gzip', schemaMismatch: 'skip' }),
		);
		assert.equal(numeric.totals.records, 2);
		assert.equal(numeric.skipped.records, 1);
		assert.match(numeric.warnings.join(' '), /1 row\(s\) of public.unreachable have a score that is not a finite value/);
	});

	it('values the output cannot hold (NaN, infinity) are schema mismatches, never changed: On Schema Mismatch decides', async () => {
		await sql(db, `CREATE TABLE odd_values (id int PRIMARY KEY, ratio float8, at timestamptz); INSERT INTO odd_values VALUES (1, 0.5, '2026-01-01'), (2, 'NaN', 'infinity')`);
		const store = new LocalFolderStore(tempDir('pg-odd'));
		await assert.rejects(runExport(new PostgresSource(db), store, request('public.odd_values', { mode: 'full', fileType: 'json', codec: 'gzip' })), /NaN/);
		const skipped = await runExport(new PostgresSource(db), store, request('public.odd_values', { mode: 'full', fileType: 'json', codec: 'gzip', schemaMismatch: 'skip' }));
		assert.equal(skipped.totals.records, 1);
		assert.equal(skipped.skipped.records, 1);
	});

	it('row-level security that would hide rows fails the export, naming it; domains inside arrays keep their exact type', async () => {
		await sql(
			db,
			`CREATE TABLE secret_rows (id int PRIMARY KEY); INSERT INTO secret_rows SELECT generate_series(1, 10);
			 ALTER TABLE secret_rows ENABLE ROW LEVEL SECURITY; ALTER TABLE secret_rows FORCE ROW LEVEL SECURITY;
			 CREATE POLICY evens ON secret_rows USING (id % 2 = 0);
			 CREATE DOMAIN money2 AS numeric(10,2); CREATE TABLE prices (id int PRIMARY KEY, amounts money2[]); INSERT INTO prices VALUES (1, '{12.50,1.10}');`,
		);
		await assert.rejects(
			runExport(new PostgresSource(db), new LocalFolderStore(tempDir('pg-rls')), request('public.secret_rows', { mode: 'full' })),
			(e: unknown) => e instanceof SourceError && e.code === 'auth' && /row-level security .*BYPASSRLS/.test(e.message),
		);
		const info = await new PostgresSource(db).getDataset('public.prices');
		assert.deepEqual(info.schema!.fields[1], { name: 'amounts', type: 'array', items: { type: 'decimal', precision: 10, scale: 2 } });
	});

	it('a read slower than the query timeout in all is not cut: each fetch is bounded, not the whole read', async () => {
		await sql(db, `CREATE TABLE slow_read (id int PRIMARY KEY); INSERT INTO slow_read SELECT generate_series(1, 400)`);
		const source = new PostgresSource({ ...db, queryTimeoutMs: 1000 });
		const dataset = await source.getDataset('public.slow_read');
		const [batch] = await source.listBatches('public.slow_read', { mode: 'full' });
		let read = 0;
		for await (const chunk of source.readBatch(dataset, batch, { chunkSize: 100 })) {
			read += chunk.length;
			await new Promise((r) => setTimeout(r, 400));
		}
		assert.equal(read, 400);
	});

	it('a transaction open in another database is not waited for', async () => {
		await sql(db, `CREATE TABLE other_db (id serial PRIMARY KEY)`);
		await sql(db, `INSERT INTO other_db DEFAULT VALUES`);
		const elsewhere = await sqlClient({ ...db, database: 'postgres' });
		await elsewhere.query('BEGIN');
		await elsewhere.query('SELECT txid_current()');
		try {
			const report = await runExport(
				new PostgresSource(db, { waitForTransactionsMs: 300 }),
				new LocalFolderStore(tempDir('pg-other-db')),
				request('public.other_db', { fileType: 'json', codec: 'gzip' }),
			);
			assert.equal(report.totals.records, 1);
		} finally {
			await elsewhere.query('ROLLBACK');
			await elsewhere.end();
		}
	});

	it('a SQL query as a dataset: full and incremental by a cursor among its columns, run read-only; a bad query names SQL Query', async () => {
		await sql(db, `CREATE TABLE q_orders (id bigserial PRIMARY KEY, amount numeric(10,2) NOT NULL, region text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
		await sql(db, `INSERT INTO q_orders (amount, region) SELECT i, CASE WHEN i % 2 = 0 THEN 'EU' ELSE 'US' END FROM generate_series(1, 100) AS i`);
		const query = `SELECT id, amount * 2 AS doubled, updated_at FROM q_orders WHERE region = 'EU';`;
		const source = new PostgresSource(db, { query, cursorColumn: 'updated_at' });
		const info = await source.getDataset('eu_orders');
		assert.deepEqual(
			info.schema!.fields.map((f) => [f.name, f.type]),
			[
				['id', 'long'],
				// numeric without a precision (an expression): its exact literal, in a json field
				['doubled', 'json'],
				['updated_at', 'timestamp'],
			],
		);
		assert.deepEqual(await source.listDatasets(), [], 'a query is named where it is used, not listed');
		const out = tempDir('pg-query');
		const store = new LocalFolderStore(out);
		const first = await runExport(source, store, request('eu_orders', { fileType: 'json', codec: 'gzip' }));
		assert.equal(first.totals.records, 50);
		await sql(db, `INSERT INTO q_orders (amount, region) VALUES (7, 'EU'), (8, 'US')`);
		const second = await runExport(source, store, request('eu_orders', { fileType: 'json', codec: 'gzip' }));
		assert.equal(second.totals.records, 1);
		const rows = await readFiles(files(out));
		assert.equal(rows.length, 51);
		assert.ok(
			rows.some((r) => Number(String(r.doubled)) === 14 && String(r.doubled) === '14.00'),
			'the exact literal 14.00',
		);
		const verified = await verifyExport(store, { manifestPath: second.manifestPath!, source });
		assert.equal(verified.ok, true);
		// read-only: a query that writes is refused by the server
		await sql(db, `CREATE SEQUENCE q_seq`);
		await assert.rejects(runExport(new PostgresSource(db, { query: `SELECT nextval('q_seq') AS n` }), store, request('writes', { mode: 'full' })), /read-only/);
		await assert.rejects(
			runExport(new PostgresSource(db, { query: 'SELEC id FROM q_orders' }), store, request('bad', { mode: 'full' })),
			(e: unknown) => e instanceof RequestError && e.field === 'query' && /SQL Query: syntax error/.test(e.message),
		);
		await assert.rejects(
			runExport(new PostgresSource(db, { query: 'SELECT id, id FROM q_orders' }), store, request('twice', { mode: 'full' })),
			(e: unknown) => e instanceof RequestError && e.field === 'query' && /the column "id" appears twice/.test(e.message),
		);
	});

	it('a wrong password is auth, a closed port unreachable (after bounded retries); the password never appears', async () => {
		const wrongSecret = `not-the-${'password'}-x7`;
		const wrong = new PostgresSource({ ...db, password: wrongSecret });
		await assert.rejects(wrong.listDatasets(), (e: unknown) => e instanceof SourceError && e.code === 'auth' && !e.message.includes(wrongSecret));
		const started = Date.now();
		const closed = new PostgresSource({ ...db, port: 1, connectTimeoutMs: 2000 });
		await assert.rejects(closed.getDataset('public.raced'), (e: unknown) => e instanceof SourceError && e.code === 'unreachable' && /connection refused|ECONNREFUSED/i.test(e.message));
		assert.ok(Date.now() - started < 30_000);
	});

	it('a connection dropped mid-read fails the run with nothing committed; the next run exports every row once', async () => {
		await sql(db, `CREATE TABLE dropped (id bigserial PRIMARY KEY, body text)`);
		await sql(db, `INSERT INTO dropped (body) SELECT repeat('x', 200) || i FROM generate_series(1, 20000) AS i`);
		const proxy = await FaultProxy.start({ host: db.host, port: db.port! });
		try {
			const source = new PostgresSource({ ...db, host: proxy.host, port: proxy.port, connectAttempts: 1 });
			const out = tempDir('pg-dropped');
			const store = new LocalFolderStore(out);
			// the read's connection is cut after 1 MB from the server
			proxy.add({ kind: 'cut', direction: 'down', afterBytes: 1_000_000, times: 1 });
			await assert.rejects(runExport(source, store, request('public.dropped', { fileType: 'json', codec: 'gzip' })));
			const next = await runExport(source, store, request('public.dropped', { fileType: 'json', codec: 'gzip', cleanupAfterMs: 0 }));
			assert.equal(next.status, 'committed');
			const ids = (await readFiles(files(out))).map((r) => Number(r.id));
			assert.equal(ids.length, 20000);
			assert.equal(new Set(ids).size, 20000);
		} finally {
			await proxy.stop();
		}
	});
});
