/**
 * Workflows run through n8n's own engine (n8n-core WorkflowExecute): the example workflow,
 * an incremental sequence whose exports add up to the lake exactly, full mode, error-output
 * routing, continue-on-fail, node-level parameter errors, and the credential test.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { ICredentialsDecrypted, INode, NodeOperationError } from 'n8n-workflow';
import { addBatch, generateLake, sampleSchema, SAMPLE_DATASETS } from '../scripts/sample/generator';
import { credentialTest } from '../nodes/shared/methods/credentialTest';

const { localFolderConnectionTest } = credentialTest;
import { canonicalRecords, readFiles } from './helpers/duckdb';
import { filesUnder, lakeFiles, tempDir } from './helpers/fixtures';
import { listSearch, runWorkflow, setTriggerTime, type WorkflowJson } from './harness/engine';

const EXAMPLE = JSON.parse(readFileSync(join(__dirname, '..', 'examples', 'scheduled-export.json'), 'utf8')) as WorkflowJson;

/** The example workflow pointed at a lake and a trigger time. */
function example(lake: string, time: string, tweak: (nodes: Record<string, INode>) => void = () => undefined): WorkflowJson {
	const workflow = structuredClone(EXAMPLE);
	const nodes = Object.fromEntries(workflow.nodes.map((n) => [n.name, n]));
	for (const node of workflow.nodes) if ('lakePath' in node.parameters) node.parameters.lakePath = lake;
	setTriggerTime(workflow, time);
	tweak(nodes);
	return workflow;
}

const CREDENTIAL = 'local-exports';

describe('workflows through n8n-core WorkflowExecute', () => {
	const lake = tempDir('wf-lake');
	const out = tempDir('wf-out');
	const credentials = { [CREDENTIAL]: { rootPath: out } };

	before(async () => {
		await generateLake({ dir: lake, records: 400, seed: 'workflow', batches: 2 });
	});

	it('Schedule → List → Export → Verify: every eligible dataset exported and verified', async () => {
		const result = await runWorkflow(example(lake, '2026-11-22T06:00:27.512Z'), credentials);
		assert.equal(result.error, undefined, result.error?.message);
		const listed = result.output('List Eligible Datasets');
		assert.ok(listed.length >= 8);
		assert.ok(
			listed.every((d) => d.eligible === true),
			'onlyEligible filters the rest out',
		);
		assert.ok(!listed.some((d) => d.id === 'ajo_surfaces_dataset'), 'the empty dataset is not listed as eligible');
		assert.equal(listed[0].scheduledTime, '2026-11-22T06:00:27.512+00:00', "the trigger's time rides along");

		const reports = result.output('Export Dataset');
		assert.equal(reports.length, listed.length, 'one output item per dataset');
		for (const report of reports) {
			assert.equal(report.status, 'committed');
			assert.equal(report.exportTime, '2026-11-22T06:00:00.000Z', 'export time is the trigger time floored to the minute');
			assert.match(String(report.folder), /^exports\/[a-z_]+\/exportTime=202611220600$/);
			assert.ok((report.totals as { records: number }).records > 0);
		}
		const items = result.items('Export Dataset');
		assert.deepEqual(
			items.map((i) => i.pairedItem),
			listed.map((_, i) => ({ item: i })),
		);
		const verdicts = result.output('Verify Export');
		assert.equal(verdicts.length, reports.length);
		assert.ok(verdicts.every((v) => v.ok === true));
		// the counts a user sees above the output pane
		const hints = (node: string) => (result.run.data.resultData.runData[node][0].hints ?? []).map((h) => h.message);
		const records = reports.reduce((n, r) => n + (r.totals as { records: number }).records, 0);
		assert.deepEqual(hints('Export Dataset'), [
			`Exported ${reports.length} datasets: ${records.toLocaleString('en-US')} records in ${reports.reduce((n, r) => n + (r.totals as { files: number }).files, 0)} files (${(reports.reduce((n, r) => n + (r.totals as { bytes: number }).bytes, 0) / 1048576).toFixed(1)} MB)`,
		]);
		assert.deepEqual(hints('Verify Export'), [`${verdicts.length} of ${verdicts.length} exports verified`]);
		assert.deepEqual(result.errors('Export Dataset'), []);
		assert.deepEqual(result.errors('Verify Export'), []);
	});

	it("resource locators: Export's dataset list comes from the lake, Verify's from the destination; Verify latest by picked dataset", async () => {
		const nodes = Object.fromEntries(EXAMPLE.nodes.map((n) => [n.name, structuredClone(n)]));
		const exportNode = { ...nodes['Export Dataset'], parameters: { ...nodes['Export Dataset'].parameters, lakePath: lake } };
		const fromLake = await listSearch(exportNode, 'searchDatasets', credentials, 'tracking');
		assert.deepEqual(fromLake.results.map((r) => r.value).sort(), ['ajo_email_tracking_experience_event_dataset', 'ajo_push_tracking_experience_event_dataset']);
		assert.match(String(fromLake.results[0].name), /Tracking Experience Event Dataset \(event, Prime\)/);

		// the first test exported every eligible dataset to out/exports
		const verifyNode = { ...nodes['Verify Export'], parameters: { destination: 'localFolder', verify: 'latest', folderPath: 'exports', options: {} } };
		const exported = await listSearch(verifyNode, 'searchExportedDatasets', credentials);
		assert.ok(exported.results.length >= 8, `found ${exported.results.length}`);
		assert.ok(exported.results.some((r) => r.value === 'journeys' && /^Last incremental export 2026-11-22T06:00:00.000Z$/.test(String(r.description))));
		const filtered = await listSearch(verifyNode, 'searchExportedDatasets', credentials, 'journey');
		assert.deepEqual(filtered.results.map((r) => r.value).sort(), ['journey_step_events', 'journeys']);
		const elsewhere = await listSearch({ ...verifyNode, parameters: { ...verifyNode.parameters, folderPath: 'nothing-here' } }, 'searchExportedDatasets', credentials);
		assert.deepEqual(elsewhere.results, []);

		const picked = await runWorkflow(
			{
				nodes: [
					{ id: '1', name: 'Items', type: 'test.items', typeVersion: 1, position: [0, 0], parameters: { items: '[{}]' } },
					{ ...verifyNode, parameters: { ...verifyNode.parameters, datasetId: { __rl: true, mode: 'list', value: 'journeys' } } },
				],
				connections: { Items: { main: [[{ node: 'Verify Export', type: 'main', index: 0 }]] } },
			},
			credentials,
		);
		assert.equal(picked.error, undefined, picked.error?.message);
		const [verdict] = picked.output('Verify Export');
		assert.equal(verdict.ok, true);
		assert.equal(verdict.datasetId, 'journeys');
	});

	it('List Eligible Datasets gives the reason for every dataset that is not eligible', async () => {
		const result = await runWorkflow(
			example(lake, '2026-11-22T06:00:00Z', (n) => {
				n['List Eligible Datasets'].parameters = { ...n['List Eligible Datasets'].parameters, onlyEligible: false, entitledTier: 'Prime' };
			}),
			credentials,
		);
		const listed = Object.fromEntries(result.output('List Eligible Datasets').map((d) => [d.id, d]));
		assert.equal(listed.ajo_surfaces_dataset.eligible, false);
		assert.equal(listed.ajo_surfaces_dataset.reason, 'the dataset is empty');
		assert.equal(listed.ode_decisionevents_prod_decisioning.eligible, false);
		assert.match(String(listed.ode_decisionevents_prod_decisioning.reason), /tier not entitled: the dataset needs Ultimate, the entitlement is Prime/);
		const feedback = listed.ajo_message_feedback_event_dataset;
		assert.equal(feedback.kind, 'event');
		assert.equal(feedback.tier, 'Prime');
		assert.equal(feedback.recordCount, 400);
		assert.equal(feedback.batchCount, 2);
		assert.equal(feedback.lastIngestedAt, '2026-01-01T06:00:00.000Z');
		assert.match(String(feedback.schemaSummary), /profileId: long/);
		// filters
		const filtered = await runWorkflow(
			example(lake, '2026-11-22T06:00:00Z', (n) => {
				n['List Eligible Datasets'].parameters = { ...n['List Eligible Datasets'].parameters, filters: { match: 'tracking', kinds: ['event'] } };
			}),
			credentials,
		);
		assert.deepEqual(
			filtered
				.output('List Eligible Datasets')
				.map((d) => d.id)
				.sort(),
			['ajo_email_tracking_experience_event_dataset', 'ajo_push_tracking_experience_event_dataset'],
		);
	});

	it('incremental over three added batches: the union of exports equals the lake, no duplicates', async () => {
		const incLake = tempDir('inc-lake');
		const incOut = tempDir('inc-out');
		const DS = 'ajo_email_tracking_experience_event_dataset';
		await generateLake({ dir: incLake, records: 500, seed: 'inc', batches: 2, datasets: [DS] });
		const only = (n: Record<string, INode>) => {
			n['List Eligible Datasets'].parameters.filters = { match: DS };
		};
		const runs = [];
		for (let step = 0; step < 4; step++) {
			if (step > 0) {
				await addBatch({ dir: incLake, datasetId: DS, records: 100 + step, ingestedAt: new Date(Date.UTC(2026, 1, step)), seed: `step${step}`, firstIndex: 1000 * step });
			}
			const result = await runWorkflow(example(incLake, `2026-11-22T${String(step * 6).padStart(2, '0')}:00:00Z`, only), { [CREDENTIAL]: { rootPath: incOut } });
			assert.equal(result.error, undefined);
			const [report] = result.output('Export Dataset');
			runs.push(report);
			assert.equal(result.output('Verify Export')[0].ok, true);
		}
		assert.deepEqual(
			runs.map((r) => (r.totals as { records: number }).records),
			[500, 101, 102, 103],
		);
		assert.deepEqual(
			runs.map((r) => (r.window as { batches: number }).batches),
			[2, 1, 1, 1],
		);
		const exportedFiles = filesUnder(incOut)
			.filter((p) => p.endsWith('.parquet'))
			.map((p) => join(incOut, p));
		const schema = sampleSchema(SAMPLE_DATASETS.find((d) => d.id === DS)!);
		const exported = canonicalRecords(schema, await readFiles(exportedFiles));
		const source = canonicalRecords(schema, await readFiles(lakeFiles(incLake, DS)));
		assert.equal(exported.length, 806);
		assert.equal(new Set(exported).size, exported.length, 'no record exported twice');
		assert.deepEqual(exported, source);
		// a fifth run with nothing new is visible and verifiable
		const idle = await runWorkflow(example(incLake, '2026-11-23T00:00:00Z', only), { [CREDENTIAL]: { rootPath: incOut } });
		assert.equal(idle.output('Export Dataset')[0].status, 'nothing-new');
		const verdict = idle.output('Verify Export')[0];
		assert.equal(verdict.ok, true);
		assert.deepEqual(verdict.commit, { sequence: 5, path: `exports/${DS}/_dataset_export/${DS}/commits/00000000000000000005.json` }, 'the fifth commit in the log');
	});

	it('full mode: every run is a complete snapshot', async () => {
		const fullOut = tempDir('full-out');
		const full = (time: string) =>
			runWorkflow(
				example(lake, time, (n) => {
					n['List Eligible Datasets'].parameters.filters = { match: 'journeys' };
					Object.assign(n['Export Dataset'].parameters, { mode: 'full', fileType: 'json', jsonCompression: 'gzip' });
				}),
				{ [CREDENTIAL]: { rootPath: fullOut } },
			);
		const a = (await full('2026-11-22T00:00:00Z')).output('Export Dataset')[0];
		const b = (await full('2026-11-23T00:00:00Z')).output('Export Dataset')[0];
		assert.equal((a.totals as { records: number }).records, 8);
		assert.equal((b.totals as { records: number }).records, 8);
		assert.notEqual(a.folder, b.folder);
		assert.ok((a.files as Array<{ name: string }>).every((f) => f.name.endsWith('.json.gz')));
	});

	describe('errors', () => {
		const itemsThen = (items: unknown[], exportParams: Record<string, unknown>, onError?: INode['onError']): WorkflowJson => ({
			nodes: [
				{ id: '1', name: 'Items', type: 'test.items', typeVersion: 1, position: [0, 0], parameters: { items: JSON.stringify(items) } },
				{
					id: '2',
					name: 'Export Dataset',
					type: 'n8n-nodes-dataset-export.exportDataset',
					typeVersion: 1,
					position: [200, 0],
					...(onError ? { onError } : {}),
					parameters: {
						lakePath: lake,
						dataset: { __rl: true, mode: 'id', value: '={{ $json.id }}' },
						destination: 'localFolder',
						folderPath: 'errors',
						mode: 'full',
						fileType: 'json',
						jsonCompression: 'gzip',
						includeManifest: true,
						options: {},
						...exportParams,
					},
					credentials: { datasetExportLocalFolderApi: { id: CREDENTIAL, name: 'Local exports' } },
				},
			],
			connections: { Items: { main: [[{ node: 'Export Dataset', type: 'main', index: 0 }]] } },
		});

		it('a failing dataset goes to the error output with the detail on item.error; the others go on', async () => {
			const result = await runWorkflow(itemsThen([{ id: 'journeys' }, { id: 'no_such_dataset' }, { id: 'ajo_push_profile_dataset' }], {}, 'continueErrorOutput'), credentials);
			assert.equal(result.error, undefined);
			const ok = result.output('Export Dataset');
			assert.deepEqual(
				ok.map((r) => r.datasetId),
				['journeys', 'ajo_push_profile_dataset'],
			);
			const failed = result.errors('Export Dataset');
			assert.equal(failed.length, 1);
			assert.match(String(failed[0].json.error), /dataset "no_such_dataset" does not exist/);
			const error = failed[0].error as NodeOperationError;
			assert.match(String(error.description), /Check the parameter "Dataset"/);
			assert.equal(error.context.datasetId, 'no_such_dataset');
			assert.equal(error.context.parameter, 'datasetId');
			assert.equal(error.context.itemIndex, 1);
			assert.deepEqual(failed[0].pairedItem, { item: 1 });
		});

		it('continue (regular output): error items stay in the main output', async () => {
			const result = await runWorkflow(itemsThen([{ id: 'no_such_dataset' }, { id: 'journeys' }], {}, 'continueRegularOutput'), credentials);
			const items = result.output('Export Dataset');
			assert.equal(items.length, 2);
			assert.match(String(items[0].error), /does not exist/);
			assert.equal(items[1].status, 'committed');
		});

		it('without error handling the workflow stops with a NodeOperationError naming the parameter', async () => {
			const cases: Array<[Record<string, unknown>, RegExp, string]> = [
				[{ folderPath: '../outside' }, /Folder Path "\.\.\/outside" must not contain/, 'Folder Path'],
				[{ options: { folderTemplate: '%DATASET_ID%/%WHEN%' } }, /unknown macro %WHEN%/, 'Options › Folder Template'],
				[{ options: { maxRecordsPerFile: -1 } }, /Max Records per File must be a whole number above 0/, 'Options › Max Records per File'],
				[{ options: { startDate: '2026-05-01T00:00:00Z', endDate: '2026-04-01T00:00:00Z' } }, /End Date .* is before Start Date/, 'Options › End Date'],
				[{ dataset: { __rl: true, mode: 'id', value: '={{ $json.nothing ?? "" }}' } }, /Dataset is empty/, 'Dataset'],
				[{ mode: 'incremental', includeManifest: false }, /Include Manifest must be on/, 'Include Manifest'],
			];
			for (const [params, message, parameter] of cases) {
				const before = filesUnder(out);
				const result = await runWorkflow(itemsThen([{ id: 'journeys' }], params), credentials);
				const error = result.error as NodeOperationError | undefined;
				assert.ok(error, `an error for ${JSON.stringify(params)}`);
				assert.match(error.message, message);
				assert.equal(error.description, `Check the parameter "${parameter}".`);
				assert.deepEqual(filesUnder(out), before, 'nothing written');
			}
		});

		it('a malformed line or an unreadable file in the lake: an error naming the dataset, nothing written', async () => {
			const badLake = tempDir('bad-lake');
			mkdirSync(join(badLake, 'orders'));
			writeFileSync(join(badLake, 'orders', '2026-01.ndjson'), '{"id":1}\n{"id":2\n');
			mkdirSync(join(badLake, 'logs'));
			writeFileSync(join(badLake, 'logs', 'a.json.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
			for (const [id, message] of [
				['orders', /malformed record in .*orders\/2026-01\.ndjson at line 2/],
				['logs', /cannot read lake file .*logs\/a\.json\.gz/],
			] as const) {
				const before = filesUnder(out);
				const result = await runWorkflow(itemsThen([{ id }], { lakePath: badLake, mode: 'incremental' }), credentials);
				const error = result.error as NodeOperationError;
				assert.match(error.message, message);
				assert.equal(error.description, 'Check the parameter "Dataset".');
				assert.deepEqual(filesUnder(out), before, 'nothing written, no manifest, watermark unchanged');
			}
		});

		it('a destination folder that does not exist names the credential', async () => {
			const result = await runWorkflow(itemsThen([{ id: 'journeys' }], {}, 'continueErrorOutput'), { [CREDENTIAL]: { rootPath: join(out, 'missing') } });
			const [failed] = result.errors('Export Dataset');
			assert.match(String(failed.json.error), /Destination: the destination folder .*missing does not exist/);
			assert.match(String((failed.error as NodeOperationError).description), /destination credential/);
		});

		it('a failed verification goes to the error output with the verdict', async () => {
			const verifyOut = tempDir('verify-out');
			const first = await runWorkflow(
				example(lake, '2026-11-22T00:00:00Z', (n) => (n['List Eligible Datasets'].parameters.filters = { match: 'journeys' })),
				{ [CREDENTIAL]: { rootPath: verifyOut } },
			);
			const report = first.output('Export Dataset')[0] as { files: Array<{ path: string }>; manifestPath: string };
			writeFileSync(join(verifyOut, report.files[0].path), 'tampered');
			const workflow: WorkflowJson = {
				nodes: [
					{ id: '1', name: 'Items', type: 'test.items', typeVersion: 1, position: [0, 0], parameters: { items: JSON.stringify([{ manifestPath: report.manifestPath }]) } },
					{ ...EXAMPLE.nodes.find((n) => n.name === 'Verify Export')!, position: [200, 0] },
				],
				connections: { Items: { main: [[{ node: 'Verify Export', type: 'main', index: 0 }]] } },
			};
			const result = await runWorkflow(workflow, { [CREDENTIAL]: { rootPath: verifyOut } });
			assert.deepEqual(result.output('Verify Export'), []);
			const [failed] = result.errors('Verify Export');
			const error = failed.error as NodeOperationError;
			assert.match(String(failed.json.error), /Export of journeys failed verification: .*size is 8 bytes/);
			assert.match(String(error.description), /SHA-256 is [0-9a-f]{64}, the manifest says/);
			const verdict = error.context.verdict as { ok: boolean; files: Array<{ ok: boolean }> };
			assert.equal(verdict.ok, false);
			assert.equal(verdict.files[0].ok, false);
		});
	});

	it('the credential test accepts a writable folder and explains a wrong one', async () => {
		const test = (rootPath: string) => localFolderConnectionTest.call({} as never, { id: 'x', name: 'x', type: 'datasetExportLocalFolderApi', data: { rootPath } } as ICredentialsDecrypted);
		assert.deepEqual(await test(out), { status: 'OK', message: 'The folder exists and is writable' });
		const wrong = await test('/nonexistent/folder');
		assert.equal(wrong.status, 'Error');
		assert.match(wrong.message, /does not exist/);
		assert.equal((await test('')).status, 'Error');
	});
});

describe("Source: Input Items, through n8n's engine", () => {
	const out = tempDir('wf-items-out');
	const credentials = { [CREDENTIAL]: { rootPath: out } };
	// records with a `timestamp` of their own (Unix seconds): not the export's time, as a trigger's would be
	const orders = Array.from({ length: 25 }, (_, i) => ({
		id: i,
		name: `order ${i} ünï`,
		amount: i + 0.25,
		tags: ['web', String(i)],
		placed: `2026-11-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z`,
		timestamp: 1_700_000_000 + i,
	}));
	const workflow = (items: unknown[]): WorkflowJson => ({
		nodes: [
			{ id: '1', name: 'Items', type: 'test.items', typeVersion: 1, position: [0, 0], parameters: { items: JSON.stringify(items) } },
			{
				id: '2',
				name: 'Export Dataset',
				type: 'n8n-nodes-dataset-export.exportDataset',
				typeVersion: 1,
				position: [200, 0],
				parameters: {
					source: 'inputItems',
					datasetName: 'orders',
					destination: 'localFolder',
					folderPath: 'items',
					mode: 'incremental',
					fileType: 'parquet',
					parquetCompression: 'snappy',
					includeManifest: true,
					options: {},
				},
				credentials: { datasetExportLocalFolderApi: { id: CREDENTIAL, name: 'Local exports' } },
			},
			{
				id: '3',
				name: 'Verify Export',
				type: 'n8n-nodes-dataset-export.verifyExport',
				typeVersion: 1,
				position: [400, 0],
				parameters: { destination: 'localFolder', verify: 'manifest', manifestPath: '={{ $json.manifestPath }}', options: {} },
				credentials: { datasetExportLocalFolderApi: { id: CREDENTIAL, name: 'Local exports' } },
			},
		],
		connections: {
			Items: { main: [[{ node: 'Export Dataset', type: 'main', index: 0 }]] },
			'Export Dataset': { main: [[{ node: 'Verify Export', type: 'main', index: 0 }]] },
		},
	});

	it('all input items are one export, read back exactly; the same items again export nothing twice; other items are a new batch', async () => {
		const first = await runWorkflow(workflow(orders), credentials);
		assert.equal(first.error, undefined, first.error?.message);
		const reports = first.items('Export Dataset');
		assert.equal(reports.length, 1, 'one export for the 25 items');
		assert.equal(reports[0].json.status, 'committed');
		assert.equal(reports[0].json.datasetId, 'orders');
		assert.equal((reports[0].json.totals as { records: number }).records, 25);
		assert.equal((reports[0].pairedItem as unknown[]).length, 25, 'paired with every input item');
		assert.equal(first.output('Verify Export')[0].ok, true);
		const files = (reports[0].json.files as Array<{ path: string }>).map((f) => join(out, f.path));
		const rows = await readFiles(files);
		// DuckDB's reading of the Parquet files: every item, every value (the timestamps as the instants they name)
		const instant = (text: unknown) => new Date(String(text).replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString();
		assert.deepEqual(
			rows.map((r) => [Number(r.id), r.name, Number(r.amount), r.tags, instant(r.placed)]).sort((a, b) => (a[0] as number) - (b[0] as number)),
			orders.map((o) => [o.id, o.name, o.amount, o.tags, new Date(o.placed).toISOString()]),
		);
		const again = await runWorkflow(workflow(orders), credentials);
		assert.equal(again.output('Export Dataset')[0].status, 'nothing-new', 'a retried execution with the same items exports nothing twice');
		assert.deepEqual(again.output('Export Dataset')[0].warnings, []);

		// the Dataset list in the editor has nothing to offer before a run: the name is typed
		const exportNode = workflow(orders).nodes[1];
		assert.deepEqual((await listSearch(exportNode, 'searchDatasets', credentials)).results, []);

		const changed = orders.map((o) => (o.id === 3 ? { ...o, amount: 99.5 } : o));
		const other = await runWorkflow(workflow(changed), credentials);
		assert.equal(other.output('Export Dataset')[0].status, 'committed');
		assert.equal(other.output('Verify Export')[0].ok, true);
	});
});

describe('Source: Input Items, errors', () => {
	const out = tempDir('wf-items-errors');
	const credentials = { [CREDENTIAL]: { rootPath: out } };
	const exportNode = (parameters: Record<string, unknown>, onError: INode['onError'] = 'continueErrorOutput'): WorkflowJson => ({
		nodes: [
			{ id: '1', name: 'Items', type: 'test.items', typeVersion: 1, position: [0, 0], parameters: { items: JSON.stringify([{ a: 1 }, { a: 2 }]) } },
			{
				id: '2',
				name: 'Export Dataset',
				type: 'n8n-nodes-dataset-export.exportDataset',
				typeVersion: 1,
				position: [200, 0],
				onError,
				parameters: {
					source: 'inputItems',
					datasetName: 'orders',
					destination: 'localFolder',
					folderPath: 'items',
					mode: 'incremental',
					fileType: 'json',
					jsonCompression: 'gzip',
					includeManifest: true,
					options: {},
					...parameters,
				},
				credentials: { datasetExportLocalFolderApi: { id: CREDENTIAL, name: 'Local exports' } },
			},
		],
		connections: { Items: { main: [[{ node: 'Export Dataset', type: 'main', index: 0 }]] } },
	});

	it('an empty or invalid Dataset Name, and a date selection, are errors naming the parameter, paired with every item, nothing written', async () => {
		for (const [parameters, message] of [
			// (left empty in the editor, n8n itself refuses the workflow: the parameter is required)
			[{ datasetName: '={{ $json.missing ?? "" }}' }, /^Dataset Name is empty/],
			[{ datasetName: '../x' }, /^Dataset Name: "..\/x" is not a valid dataset id/],
			[{ options: { startDate: '2026-01-01T00:00:00Z' } }, /^Start Date does not apply to Input Items/],
			[{ options: { lookbackDays: 7 } }, /^Lookback Days does not apply to Input Items/],
		] as const) {
			const result = await runWorkflow(exportNode(parameters), credentials);
			const failed = result.errors('Export Dataset');
			assert.equal(failed.length, 1, JSON.stringify(parameters));
			assert.match(String(failed[0].json.error), message);
			assert.deepEqual(failed[0].pairedItem, [{ item: 0 }, { item: 1 }]);
		}
		assert.deepEqual(filesUnder(out), [], 'nothing written');
	});

	it('List Eligible Datasets and Verify Export do not read Input Items, even when a workflow names it', async () => {
		const verify: WorkflowJson = {
			nodes: [
				{ id: '1', name: 'Items', type: 'test.items', typeVersion: 1, position: [0, 0], parameters: { items: '[{"manifestPath":"x/manifest.json"}]' } },
				{
					id: '2',
					name: 'Verify Export',
					type: 'n8n-nodes-dataset-export.verifyExport',
					typeVersion: 1,
					position: [200, 0],
					onError: 'continueErrorOutput',
					parameters: { source: 'inputItems', reconcile: true, destination: 'localFolder', verify: 'manifest', manifestPath: '={{ $json.manifestPath }}', options: {} },
					credentials: { datasetExportLocalFolderApi: { id: CREDENTIAL, name: 'Local exports' } },
				},
			],
			connections: { Items: { main: [[{ node: 'Verify Export', type: 'main', index: 0 }]] } },
		};
		const result = await runWorkflow(verify, credentials);
		assert.match(String(result.errors('Verify Export')[0]?.json.error), /Source "Input Items" is not offered in Verify Export/);
	});
});
