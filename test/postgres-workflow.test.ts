/**
 * Source PostgreSQL through n8n's own engine (n8n-core's WorkflowExecute), on the test PostgreSQL
 * (scripts/servers/postgres.sh): List Eligible Datasets → Export Dataset (incremental Parquet, by a
 * cursor column) → Verify Export reconciling each range with the table; the export read back by
 * DuckDB; the Dataset picker and the credential's Test button as the editor runs them.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { ICredentialsDecrypted, NodeOperationError } from 'n8n-workflow';
import { credentialTest } from '../nodes/shared/methods/credentialTest';
import type { PostgresConnection } from '../lib/source/postgres';
import { readFiles } from './helpers/duckdb';
import { tempDir } from './helpers/fixtures';
import { freshDatabase, sql } from './helpers/postgres';
import { listSearch, runWorkflow, setTriggerTime, type WorkflowJson } from './harness/engine';
import { freshBucket, s3Server } from './helpers/servers';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

const LOCAL = 'local-exports';
const PG = 'pg-source';
let db: PostgresConnection;

before(async () => {
	db = await freshDatabase('dsx_source_workflow');
	await sql(
		db,
		`CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2) NOT NULL, big bigint, placed timestamptz NOT NULL,
		                      updated_at timestamptz NOT NULL DEFAULT now(), tags text[]);
		 CREATE TABLE notes (body text);
		 CREATE VIEW big_orders AS SELECT id, amount, updated_at FROM orders WHERE amount > 100;
		 INSERT INTO orders (customer, amount, big, placed, tags)
		   SELECT 'c' || (i % 17), i * 1.25, 9007199254740993 + i, timestamptz '2026-11-01 00:00:00.000001+00' + i * interval '1 minute', ARRAY['web', i::text]
		     FROM generate_series(1, 2000) AS i;`,
	);
});

const pgCredential = () => ({ ...db, ssl: 'disable' });

function workflow(out: string): WorkflowJson {
	const credentials = { datasetExportPostgresApi: { id: PG, name: 'Warehouse' } };
	const local = { datasetExportLocalFolderApi: { id: LOCAL, name: 'Local exports' } };
	return {
		nodes: [
			{ id: '0', name: 'Schedule Trigger', type: 'n8n-nodes-base.scheduleTrigger', typeVersion: 1.2, position: [0, 0], parameters: { rule: { interval: [{ field: 'hours' }] } } },
			{
				id: '1',
				name: 'List Eligible Datasets',
				type: 'n8n-nodes-dataset-export.listEligibleDatasets',
				typeVersion: 1,
				position: [200, 0],
				parameters: { source: 'postgres', onlyEligible: true, filters: { match: 'orders' } },
				credentials,
			},
			{
				id: '2',
				name: 'Export Dataset',
				type: 'n8n-nodes-dataset-export.exportDataset',
				typeVersion: 1,
				position: [400, 0],
				parameters: {
					source: 'postgres',
					dataset: { __rl: true, mode: 'id', value: '={{ $json.id }}' },
					cursorColumn: 'updated_at',
					destination: 'localFolder',
					folderPath: out,
					mode: 'incremental',
					fileType: 'parquet',
					parquetCompression: 'snappy',
					includeManifest: true,
					options: {},
				},
				credentials: { ...credentials, ...local },
			},
			{
				id: '3',
				name: 'Verify Export',
				type: 'n8n-nodes-dataset-export.verifyExport',
				typeVersion: 1,
				position: [600, 0],
				parameters: { destination: 'localFolder', verify: 'manifest', manifestPath: '={{ $json.manifestPath }}', reconcile: true, source: 'postgres', options: {} },
				credentials: { ...credentials, ...local },
			},
		],
		connections: {
			'Schedule Trigger': { main: [[{ node: 'List Eligible Datasets', type: 'main', index: 0 }]] },
			'List Eligible Datasets': { main: [[{ node: 'Export Dataset', type: 'main', index: 0 }]] },
			'Export Dataset': { main: [[{ node: 'Verify Export', type: 'main', index: 0 }]] },
		},
	};
}

describe("Source: PostgreSQL, through n8n's engine", () => {
	it('examples/postgres-to-s3.json as imported: the tables every hour to S3 (Ceph) as Parquet, verified against the table, read back by DuckDB', async () => {
		const example = JSON.parse(readFileSync(join(__dirname, '..', 'examples', 'postgres-to-s3.json'), 'utf8')) as WorkflowJson;
		const bucket = await freshBucket('pg-example');
		for (const node of example.nodes) if (node.parameters.bucket) node.parameters.bucket = bucket;
		setTriggerTime(example, '2026-11-28T10:00:00Z');
		const s3 = s3Server();
		const credentials = {
			'postgres-warehouse': pgCredential(),
			's3-exports': { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true },
		};
		const result = await runWorkflow(example, credentials);
		assert.equal(result.error, undefined, result.error?.message);
		assert.deepEqual(result.output('Raise alert'), [], 'no alert');
		const reports = result.output('Export Dataset');
		assert.deepEqual(reports.map((r) => [r.datasetId, r.status]).sort(), [
			['public.big_orders', 'committed'],
			['public.orders', 'committed'],
		]);
		// (public.notes has no rows, so List Eligible Datasets leaves it out: with rows and no updated_at it would go to the alert)
		const verdicts = result.output('Verify Export');
		assert.ok(verdicts.length === 2 && verdicts.every((v) => v.ok === true && (v.reconciliation as { matched: number }).matched === 1), JSON.stringify(verdicts));
		const orders = reports.find((r) => r.datasetId === 'public.orders')!;
		const admin = new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
		const dir = tempDir('pg-example-dl');
		const local: string[] = [];
		for (const [i, file] of (orders.files as Array<{ path: string }>).entries()) {
			const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: file.path }));
			local.push(join(dir, `${i}.parquet`));
			writeFileSync(local[i], Buffer.from(await got.Body!.transformToByteArray()));
		}
		const rows = await readFiles(local);
		const table = await sql(db, `SELECT id::text, amount::text FROM orders ORDER BY id`);
		assert.deepEqual(rows.map((r) => [String(r.id), String(r.amount)]).sort(), table.map((r) => [r.id, r.amount]).sort(), 'every row of the table, every amount exact');
	});

	it('lists the tables, exports the rows after the last export as Parquet, and Verify reconciles each range with the table', async () => {
		const root = tempDir('wf-pg');
		const credentials = { [LOCAL]: { rootPath: root }, [PG]: pgCredential() };
		const first = await runWorkflow(workflow('pg'), credentials);
		assert.equal(first.error, undefined, first.error?.message);
		const listed = first.output('List Eligible Datasets');
		assert.deepEqual(
			listed.map((d) => d.id),
			['public.big_orders', 'public.orders'],
		);
		const orders = listed.find((d) => d.id === 'public.orders')!;
		assert.equal(orders.eligible, true);
		assert.match(String(orders.schemaSummary), /amount: decimal, big: long, placed: timestamp, updated_at: timestamp, tags: array<string>/);
		const reports = first.output('Export Dataset');
		assert.equal(reports.length, 2);
		const ordersReport = reports.find((r) => r.datasetId === 'public.orders')!;
		assert.equal(ordersReport.status, 'committed');
		assert.equal((ordersReport.totals as { records: number }).records, 2000);
		assert.equal((reports.find((r) => r.datasetId === 'public.big_orders')!.totals as { records: number }).records, 1920, 'the view, by the same cursor');
		const verdicts = first.output('Verify Export');
		assert.equal(verdicts.length, reports.filter((r) => r.manifestPath).length);
		for (const verdict of verdicts) {
			assert.equal(verdict.ok, true, JSON.stringify(verdict));
			assert.equal((verdict.reconciliation as { matched: number }).matched, 1);
		}
		// DuckDB's reading of the Parquet files, against the table
		const files = (ordersReport.files as Array<{ path: string }>).map((f) => join(root, f.path));
		const rows = await readFiles(files);
		assert.equal(rows.length, 2000);
		const sample = rows.find((r) => String(r.id) === '7')!;
		assert.equal(String(sample.amount), '8.75');
		assert.equal(String(sample.big), '9007199254741000');
		assert.equal(String(sample.placed).replace(' ', 'T').replace(/\+00$/, 'Z'), '2026-11-01T00:07:00.000001Z');
		assert.deepEqual(sample.tags, ['web', '7']);

		// new and changed rows: the next run exports only those
		await sql(db, `INSERT INTO orders (customer, amount, placed) VALUES ('late', 1.00, now()); UPDATE orders SET amount = 0.01, updated_at = now() WHERE id = 3`);
		const second = await runWorkflow(workflow('pg'), credentials);
		assert.equal(second.error, undefined, second.error?.message);
		const next = second.output('Export Dataset').find((r) => r.datasetId === 'public.orders')!;
		assert.equal((next.totals as { records: number }).records, 2);
		assert.ok(second.output('Verify Export').every((v) => v.ok === true));
		const third = await runWorkflow(workflow('pg'), credentials);
		assert.equal(third.output('Export Dataset').find((r) => r.datasetId === 'public.orders')!.status, 'nothing-new');
	});

	it('the Dataset picker lists the tables; Start Date is refused naming it; a wrong password is explained without the password', async () => {
		const root = tempDir('wf-pg-errors');
		const credentials = { [LOCAL]: { rootPath: root }, [PG]: pgCredential() };
		const exportNode = workflow('x').nodes[2];
		const found = await listSearch(exportNode, 'searchDatasets', credentials, 'order');
		assert.deepEqual(
			found.results.map((r) => r.value),
			['public.big_orders', 'public.orders'],
		);
		const dated = workflow('x');
		dated.nodes[2].parameters.options = { startDate: '2026-11-01T00:00:00Z' };
		dated.nodes[2].onError = 'continueErrorOutput';
		const refused = await runWorkflow(dated, credentials);
		const error = refused.errors('Export Dataset')[0];
		assert.match(String(error.json.error), /Start Date does not apply to PostgreSQL/);

		const secret = `wrong-${'pass'}word-41`;
		const wrong = await runWorkflow(dated, { ...credentials, [PG]: { ...pgCredential(), password: secret } });
		assert.ok(wrong.error, 'the run fails');
		const message = `${wrong.error!.message} ${(wrong.error as NodeOperationError).description ?? ''}`;
		assert.match(message, /password authentication failed/);
		assert.match(message, /check the user and password in the source credential/);
		assert.ok(!message.includes(secret));
	});

	it('Read: SQL Query: the rows of a SELECT exported as the dataset the Dataset field names, verified by running it again', async () => {
		const root = tempDir('wf-pg-query');
		const credentials = { [LOCAL]: { rootPath: root }, [PG]: pgCredential() };
		const wf = workflow('q');
		const query = { postgresRead: 'query', query: `SELECT id, customer, amount, updated_at FROM orders WHERE customer = 'c3'` };
		wf.nodes.splice(1, 1);
		wf.connections = { 'Schedule Trigger': { main: [[{ node: 'Export Dataset', type: 'main', index: 0 }]] }, 'Export Dataset': { main: [[{ node: 'Verify Export', type: 'main', index: 0 }]] } };
		Object.assign(wf.nodes[1].parameters, query, { dataset: { __rl: true, mode: 'id', value: 'c3_orders' } });
		Object.assign(wf.nodes[2].parameters, query);
		const result = await runWorkflow(wf, credentials);
		assert.equal(result.error, undefined, result.error?.message);
		const [report] = result.output('Export Dataset');
		assert.equal(report.datasetId, 'c3_orders');
		const expected = await sql(db, `SELECT count(*)::int AS n FROM orders WHERE customer = 'c3'`);
		assert.equal((report.totals as { records: number }).records, expected[0].n);
		const [verdict] = result.output('Verify Export');
		assert.equal(verdict.ok, true, JSON.stringify(verdict));
		assert.equal((verdict.reconciliation as { matched: number }).matched, 1);
	});

	it("the credential's Test button logs in and counts what the user may read, or says why not", async () => {
		const test = (data: Record<string, unknown>) => credentialTest.postgresConnectionTest.call({} as never, { id: 'x', name: 'x', type: 'datasetExportPostgresApi', data } as ICredentialsDecrypted);
		const ok = await test(pgCredential());
		assert.equal(ok.status, 'OK');
		assert.match(ok.message, /^Connected to PostgreSQL \d+\.\d+ as n8n: database dsx_source_workflow has 3 table\(s\) and view\(s\)/);
		const refused = await test({ ...pgCredential(), port: 1 });
		assert.equal(refused.status, 'Error');
		assert.match(refused.message, /connection refused|ECONNREFUSED/i);
		const noDb = await test({ ...pgCredential(), database: 'nope_db' });
		assert.equal(noDb.status, 'Error');
		assert.match(noDb.message, /database "nope_db" does not exist/);
	});
});
