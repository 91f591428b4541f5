/**
 * Bad input, as a new user types it (issue 10, items 4 and 5): a table of cases run through
 * n8n-core's engine (test/harness), Export Dataset or List Eligible Datasets set to
 * "Continue (using error output)". Each case asserts
 *   - the item went to the error output (nothing on the main output, the workflow did not fail);
 *   - the error names the field the user typed (message or description; `context.parameter` for
 *     parameters), in the user's units where it has any;
 *   - nothing was committed and the destination is unchanged (every file, size and time the same:
 *     no new data files, nothing new under `_dataset_export/`), and nothing was written outside it;
 *   - no content from outside the lake appears in the error.
 * The destination holds one committed incremental export before the cases run, so a case that got
 * as far as a commit would show as a changed state ("nothing-new" commits a record too).
 */
/* eslint-disable @n8n/community-nodes/no-dangerous-functions -- a test, not node code: it mounts a small tmpfs to fill up */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IDataObject, INode } from 'n8n-workflow';
import { generateLake } from '../scripts/sample/generator';
import { tempDir } from './helpers/fixtures';

// n8n 2's default limits nodes to ~/.n8n-files; these cases set the restriction themselves
process.env.N8N_RESTRICT_FILE_ACCESS_TO ??= '';
process.env.N8N_USER_FOLDER ??= mkdtempSync(join(tmpdir(), 'n8n-user-'));

type Harness = typeof import('./harness/engine');
let harness: Harness;
let security: { restrictFileAccessTo: string };

const DATASET = 'journey_step_events';
const SECRET = 'TOP-SECRET-OUTSIDE-THE-LAKE';
const CREDENTIAL = 'bad-input-local';
const node = (name: string, type: string, parameters: IDataObject, extra: Partial<INode> = {}): INode => ({ id: name, name, type, typeVersion: 1, position: [0, 0], parameters, ...extra }) as INode;

interface Case {
	name: string;
	/** Export Dataset (default) or List Eligible Datasets. */
	nodeType?: 'export' | 'list';
	/** Parameters over the good ones (options merged). */
	params?: IDataObject;
	options?: IDataObject;
	/** Another destination root for the credential. */
	root?: () => string;
	/** Set up before, undone after (e.g. a file-access restriction). */
	around?: () => () => void;
	/** The field the error must name: a label in the message or description. */
	field: string;
	/** The parameter's name in `context.parameter`, when the error is about a parameter. */
	parameter?: string;
	message: RegExp;
	skip?: string;
}

/** Every file below `dir` with its size and modification time (symbolic links not followed). */
function snapshot(dir: string): Map<string, string> {
	const out = new Map<string, string>();
	const walk = (rel: string) => {
		let names: string[];
		try {
			names = readdirSync(join(dir, rel));
		} catch {
			return;
		}
		for (const name of names.sort()) {
			const path = rel ? `${rel}/${name}` : name;
			const info = statSync(join(dir, path), { throwIfNoEntry: false });
			if (!info) continue;
			if (info.isDirectory()) walk(path);
			else out.set(path, `${info.size}:${info.mtimeMs}`);
		}
	};
	walk('');
	return out;
}

describe('bad input: a clear error naming the field, the error output, nothing committed', () => {
	const lake = tempDir('bad-lake');
	const trapLake = tempDir('bad-trap-lake');
	const outside = tempDir('bad-outside');
	const out = tempDir('bad-out');
	const other = tempDir('bad-other-root');
	const fullMount = tempDir('bad-full');
	let fullMounted = false;
	const states: Record<string, Map<string, string>> = {};

	before(async () => {
		harness = await import('./harness/engine');
		// n8n-core's own copies of @n8n/di and @n8n/config (it has them nested): the settings its helpers read
		const fromCore = createRequire(require.resolve('n8n-core'));
		const { Container } = fromCore('@n8n/di') as typeof import('@n8n/di');
		const { SecurityConfig } = fromCore('@n8n/config') as typeof import('@n8n/config');
		security = Container.get(SecurityConfig);
		security.restrictFileAccessTo = '';
		await generateLake({ dir: lake, records: 30, seed: 'bad-input', batches: 1, datasets: [DATASET] });
		writeFileSync(join(lake, 'a-file.txt'), 'not a folder');
		// things outside the lake, and links to them from the trap lake
		mkdirSync(join(outside, 'dataset', 'batches', 'b1'), { recursive: true });
		writeFileSync(join(outside, 'dataset', 'dataset.json'), JSON.stringify({ name: SECRET, description: SECRET }));
		writeFileSync(join(outside, 'dataset', 'batches', 'b1', 'part.ndjson'), `{"secret":"${SECRET}"}\n`);
		writeFileSync(join(outside, 'secret.ndjson'), `{"secret":"${SECRET}"}\nnot json ${SECRET}\n`);
		writeFileSync(join(outside, 'secret.json'), `{"name": "${SECRET}", oops ${SECRET}`);
		symlinkSync(join(outside, 'dataset'), join(trapLake, 'linked_dataset'));
		mkdirSync(join(trapLake, 'linked_batch', 'batches'), { recursive: true });
		symlinkSync(join(outside, 'dataset', 'batches', 'b1'), join(trapLake, 'linked_batch', 'batches', 'b1'));
		mkdirSync(join(trapLake, 'linked_file'));
		symlinkSync(join(outside, 'secret.ndjson'), join(trapLake, 'linked_file', 'data.ndjson'));
		mkdirSync(join(trapLake, 'linked_meta'));
		writeFileSync(join(trapLake, 'linked_meta', 'data.ndjson'), '{"a":1}\n');
		symlinkSync(join(outside, 'secret.json'), join(trapLake, 'linked_meta', 'dataset.json'));
		// a lake inside n8n's own folder
		const n8nLake = join(process.env.N8N_USER_FOLDER!, '.n8n', 'lake');
		mkdirSync(join(n8nLake, DATASET), { recursive: true });
		writeFileSync(join(n8nLake, DATASET, 'data.ndjson'), '{"a":1}\n');
		// the destination: one committed export, and a folder that is a link out of it
		const first = await run({ name: 'baseline', field: '', message: /./ }, false);
		assert.equal(first.error, undefined, first.error?.message);
		const committed = first.output('Export Dataset');
		assert.equal(committed.length, 1, JSON.stringify(first.errors('Export Dataset').map((i) => i.json)));
		assert.equal(committed[0].status, 'committed');
		symlinkSync(outside, join(out, 'linked-out'));
		// a full disk: a tiny tmpfs, filled up (root only)
		if (process.getuid?.() === 0) {
			try {
				execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', fullMount], { stdio: 'ignore' });
				fullMounted = true;
				try {
					execFileSync('dd', ['if=/dev/zero', `of=${join(fullMount, 'filler')}`, 'bs=4k', 'count=100'], { stdio: 'ignore' });
				} catch {
					// dd stops when the disk is full, as wanted
				}
			} catch {
				fullMounted = false;
			}
		}
		for (const dir of [out, outside, other, lake, trapLake]) states[dir] = snapshot(dir);
	});

	after(() => {
		if (fullMounted) execFileSync('umount', [fullMount], { stdio: 'ignore' });
	});

	const goodExport = (): IDataObject => ({
		source: 'localLake',
		lakePath: lake,
		dataset: { __rl: true, mode: 'id', value: DATASET },
		destination: 'localFolder',
		folderPath: 'exports',
		mode: 'incremental',
		fileType: 'json',
		jsonCompression: 'gzip',
		includeManifest: true,
		options: { exportTime: '2026-05-01T00:00:00Z' },
	});

	async function run(c: Case, errorOutput = true) {
		const list = c.nodeType === 'list';
		const base: IDataObject = list ? { source: 'localLake', lakePath: lake, entitledTier: 'Ultimate', fileType: 'json', onlyEligible: false, filters: {} } : goodExport();
		const parameters: IDataObject = { ...base, ...c.params };
		if (!list) parameters.options = { ...(base.options as IDataObject), ...c.options };
		const name = list ? 'List Eligible Datasets' : 'Export Dataset';
		const workflow = {
			nodes: [
				node('Items', 'test.items', { items: JSON.stringify([{ id: DATASET }]) }),
				node(name, `n8n-nodes-dataset-export.${list ? 'listEligibleDatasets' : 'exportDataset'}`, parameters, {
					...(errorOutput ? { onError: 'continueErrorOutput' as const } : {}),
					...(list ? {} : { credentials: { datasetExportLocalFolderApi: { id: CREDENTIAL, name: CREDENTIAL } } }),
				}),
			],
			connections: { Items: { main: [[{ node: name, type: 'main' as const, index: 0 }]] } },
		};
		return harness.runWorkflow(workflow, { [CREDENTIAL]: { rootPath: c.root?.() ?? out } });
	}

	const big = (bytes: number) => 'x'.repeat(bytes);
	const restrictTo = (path: string) => () => {
		security.restrictFileAccessTo = path;
		return () => {
			security.restrictFileAccessTo = '';
		};
	};

	const lakeCases = (nodeType: 'export' | 'list'): Case[] =>
		[
			{ name: 'Lake Path that does not exist', params: { lakePath: join(lake, 'nope') }, field: 'Lake Path', parameter: 'lakePath', message: /^Lake Path: the folder .*nope does not exist$/ },
			{ name: 'Lake Path that is a file', params: { lakePath: join(lake, 'a-file.txt') }, field: 'Lake Path', parameter: 'lakePath', message: /^Lake Path: .*a-file\.txt is a file, not a folder$/ },
			{
				name: 'Lake Path through a file',
				params: { lakePath: join(lake, 'a-file.txt', 'sub') },
				field: 'Lake Path',
				parameter: 'lakePath',
				message: /^Lake Path: .* is not a folder \(a part of the path is a file\)$/,
			},
			{ name: 'Lake Path blank', params: { lakePath: '   ' }, field: 'Lake Path', parameter: 'lakePath', message: /^Lake Path is empty$/ },
			{ name: 'Lake Path with a NUL byte', params: { lakePath: `${lake}\u0000x` }, field: 'Lake Path', parameter: 'lakePath', message: /^Lake Path must not contain a NUL character/ },
			{ name: 'Lake Path a number (expression)', params: { lakePath: '={{ 42 }}' }, field: 'Lake Path', parameter: 'lakePath', message: /^Lake Path must be text \(a folder path\), not 42$/ },
			{
				name: 'Lake Path an object (expression)',
				params: { lakePath: '={{ { a: 1 } }}' },
				field: 'Lake Path',
				parameter: 'lakePath',
				message: /^Lake Path must be text \(a folder path\), not an object$/,
			},
			{
				name: 'Lake Path outside N8N_RESTRICT_FILE_ACCESS_TO',
				around: restrictTo(other),
				field: 'Lake Path',
				parameter: 'lakePath',
				message: /^Lake Path: access to the folder .* is not allowed by n8n's file access settings/,
			},
			{
				name: "Lake Path inside n8n's own folder (N8N_BLOCK_FILE_ACCESS_TO_N8N_FILES)",
				params: { lakePath: join(process.env.N8N_USER_FOLDER ?? '', '.n8n', 'lake') },
				field: 'Lake Path',
				parameter: 'lakePath',
				message: /^Lake Path: access to the folder .* is not allowed by n8n's file access settings/,
			},
			{
				name: 'Lake Path a link to outside N8N_RESTRICT_FILE_ACCESS_TO',
				params: { lakePath: join(trapLake, 'linked_dataset') },
				around: restrictTo(trapLake),
				field: 'Lake Path',
				parameter: 'lakePath',
				message: /^Lake Path: access to the folder .* is not allowed/,
			},
		].map((c) => ({ ...c, nodeType, name: `${nodeType === 'list' ? 'List' : 'Export'}: ${c.name}` }));

	const cases: Case[] = [
		...lakeCases('export'),
		...lakeCases('list'),
		// Dataset
		{
			name: 'Dataset id with a space',
			params: { dataset: { __rl: true, mode: 'id', value: 'my dataset' } },
			field: 'Dataset',
			parameter: 'datasetId',
			message: /"my dataset" is not a valid dataset id: an id starts with a letter or a digit/,
		},
		{
			name: 'Dataset id starting with "-"',
			params: { dataset: { __rl: true, mode: 'id', value: '-events' } },
			field: 'Dataset',
			parameter: 'datasetId',
			message: /"-events" is not a valid dataset id: an id starts with a letter or a digit/,
		},
		{ name: 'Dataset id starting with "."', params: { dataset: { __rl: true, mode: 'id', value: '.hidden' } }, field: 'Dataset', parameter: 'datasetId', message: /is not a valid dataset id/ },
		{
			name: 'Dataset id with ".." and "/"',
			params: { dataset: { __rl: true, mode: 'id', value: '../etc' } },
			field: 'Dataset',
			parameter: 'datasetId',
			message: /"\.\.\/etc" is not a valid dataset id/,
		},
		{ name: 'Dataset id with a NUL byte', params: { dataset: { __rl: true, mode: 'id', value: 'a\u0000b' } }, field: 'Dataset', parameter: 'datasetId', message: /is not a valid dataset id/ },
		{
			name: 'Dataset id of 256 characters',
			params: { dataset: { __rl: true, mode: 'id', value: big(256) } },
			field: 'Dataset',
			parameter: 'datasetId',
			message: /is not a valid dataset id: .*at most 255 characters/,
		},
		{
			name: 'Dataset that does not exist',
			params: { dataset: { __rl: true, mode: 'id', value: 'no_such_dataset' } },
			field: 'Dataset',
			parameter: 'datasetId',
			message: /dataset "no_such_dataset" does not exist in the lake/,
		},
		{ name: 'Dataset blank (expression)', params: { dataset: { __rl: true, mode: 'id', value: '={{ "  " }}' } }, field: 'Dataset', parameter: 'datasetId', message: /Dataset is empty/ },
		// symbolic links out of the lake
		{
			name: 'dataset folder is a link out of the lake',
			params: { lakePath: trapLake, dataset: { __rl: true, mode: 'id', value: 'linked_dataset' } },
			field: 'Lake Path',
			message: /linked_dataset is a symbolic link that leads outside the lake/,
		},
		{
			name: 'batch folder is a link out of the lake',
			params: { lakePath: trapLake, dataset: { __rl: true, mode: 'id', value: 'linked_batch' } },
			field: 'Dataset',
			parameter: 'datasetId',
			message: /batch b1: linked_batch\/batches\/b1 is a symbolic link that leads outside the lake/,
		},
		{
			name: 'data file is a link out of the lake',
			params: { lakePath: trapLake, dataset: { __rl: true, mode: 'id', value: 'linked_file' } },
			field: 'Dataset',
			parameter: 'datasetId',
			message: /linked_file\/data\.ndjson is a symbolic link that leads outside the lake/,
		},
		{
			name: 'dataset.json is a link out of the lake',
			params: { lakePath: trapLake, dataset: { __rl: true, mode: 'id', value: 'linked_meta' } },
			field: 'Dataset',
			parameter: 'datasetId',
			message: /linked_meta\/dataset\.json is a symbolic link that leads outside the lake/,
		},
		// Folder Path
		{ name: 'Folder Path with a NUL byte', params: { folderPath: 'exports\u0000/x' }, field: 'Folder Path', parameter: 'folderPath', message: /^Folder Path must not contain a NUL character/ },
		{
			name: 'Folder Path with a line break',
			params: { folderPath: 'exports\nx' },
			field: 'Folder Path',
			parameter: 'folderPath',
			message: /^Folder Path must not contain a control character \(U\+000A\)/,
		},
		{
			name: 'Folder Path with a folder name of 256 bytes',
			params: { folderPath: `exports/${big(256)}` },
			field: 'Folder Path',
			parameter: 'folderPath',
			message: /^Folder Path has a folder name of 256 bytes .*at most 255 bytes/,
		},
		{
			name: 'Folder Path with a folder name of 150 two-byte characters',
			params: { folderPath: 'é'.repeat(150) },
			field: 'Folder Path',
			parameter: 'folderPath',
			message: /^Folder Path has a folder name of 300 bytes/,
		},
		{
			name: 'Folder Path over 700 bytes',
			params: { folderPath: Array(4).fill(big(200)).join('/') },
			field: 'Folder Path',
			parameter: 'folderPath',
			message: /^Folder Path is 803 bytes long: the export folder may be at most 700 bytes/,
		},
		{ name: 'Folder Path with ".."', params: { folderPath: '../escape' }, field: 'Folder Path', parameter: 'folderPath', message: /must not contain "\.\." segments/ },
		{ name: 'Folder Path with ".." inside', params: { folderPath: 'a/../../b' }, field: 'Folder Path', parameter: 'folderPath', message: /must not contain "\.\." segments/ },
		{ name: 'Folder Path a number (expression)', params: { folderPath: '={{ 42 }}' }, field: 'Folder Path', parameter: 'folderPath', message: /^Folder Path must be text, not 42$/ },
		{ name: 'Folder Path an object (expression)', params: { folderPath: '={{ { a: 1 } }}' }, field: 'Folder Path', parameter: 'folderPath', message: /^Folder Path must be text, not \{"a":1\}$/ },
		{
			name: 'Folder Path through a link out of the destination',
			params: { folderPath: 'linked-out/exports' },
			field: 'destination credential',
			message: /linked-out in the destination folder is a symbolic link: refusing to follow it/,
		},
		// Folder Template (and the values it renders)
		{
			name: 'Folder Template with a NUL byte',
			options: { folderTemplate: '%DATASET_ID%\u0000/x' },
			field: 'Folder Template',
			parameter: 'folderTemplate',
			message: /^Folder Template must not contain a NUL character/,
		},
		{
			name: 'Folder Template with a tab',
			options: { folderTemplate: '%DATASET_ID%\t%EXPORT_TIME%' },
			field: 'Folder Template',
			parameter: 'folderTemplate',
			message: /^Folder Template must not contain a control character \(U\+0009\)/,
		},
		{
			name: 'Folder Template with a folder name of 300 bytes',
			options: { folderTemplate: `%DATASET_ID%/${big(300)}/%EXPORT_TIME%` },
			field: 'Folder Template',
			parameter: 'folderTemplate',
			message: /^Folder Template: the export folder has a folder name of 300 bytes .*at most 255 bytes$/,
		},
		{
			name: 'Folder Template over 700 bytes',
			options: { folderTemplate: `${big(250)}/${big(250)}/${big(250)}/%EXPORT_TIME%` },
			field: 'Folder Template',
			parameter: 'folderTemplate',
			message: /^Folder Template: the export folder is \d+ bytes long: the export folder may be at most 700 bytes/,
		},
		{
			name: 'Folder Template with an unknown macro',
			options: { folderTemplate: '%DATASET%/%EXPORT_TIME%' },
			field: 'Folder Template',
			parameter: 'folderTemplate',
			message: /^Folder Template: unknown macro %DATASET%/,
		},
		{
			name: 'Folder Template with a stray %',
			options: { folderTemplate: '%DATASET_ID%/100%' },
			field: 'Folder Template',
			parameter: 'folderTemplate',
			message: /^Folder Template: .*has a "%" that does not open a known macro/,
		},
		{
			name: 'Folder Template with an empty %DATETIME()%',
			options: { folderTemplate: '%DATETIME()%' },
			field: 'Folder Template',
			parameter: 'folderTemplate',
			message: /%DATETIME\(…\)% needs a format/,
		},
		{ name: 'Folder Template with an unknown date token', options: { folderTemplate: '%DATETIME(YYYYQQ)%' }, field: 'Folder Template', parameter: 'folderTemplate', message: /unknown date token "Q"/ },
		{ name: 'Folder Template with ".."', options: { folderTemplate: '../%DATASET_ID%' }, field: 'Folder Template', parameter: 'folderTemplate', message: /must not (contain|produce) "\.\." segments/ },
		{
			name: 'Folder Template macro with an argument',
			options: { folderTemplate: '%DATASET_ID(x)%' },
			field: 'Folder Template',
			parameter: 'folderTemplate',
			message: /macro %DATASET_ID% takes no argument/,
		},
		{
			name: 'Sandbox Name that makes a 300-byte folder',
			options: { folderTemplate: '%SANDBOX_NAME%/%EXPORT_TIME%', sandboxName: big(300) },
			field: 'Folder Template',
			parameter: 'folderTemplate',
			message: /has a folder name of 300 bytes/,
		},
		{
			name: 'Destination Name with a NUL byte',
			options: { destinationName: 'a\u0000b' },
			field: 'Destination Name',
			parameter: 'destinationName',
			message: /^Destination Name must not contain a NUL character/,
		},
		{
			name: 'Organization Name with a line break',
			options: { organizationName: 'a\nb' },
			field: 'Organization Name',
			parameter: 'organizationName',
			message: /^Organization Name must not contain a control character/,
		},
		// Max File Size (MB): in MB, as typed
		{
			name: 'Max File Size 0',
			options: { maxFileSizeMb: 0 },
			field: 'Max File Size (MB)',
			parameter: 'maxFileSizeMb',
			message: /^Max File Size \(MB\) must be at least 0\.01 MB \(remove the option for no limit\), not 0 MB$/,
		},
		{ name: 'Max File Size negative', options: { maxFileSizeMb: -5 }, field: 'Max File Size (MB)', parameter: 'maxFileSizeMb', message: /not -5 MB$/ },
		{
			name: 'Max File Size below the editor minimum (expression)',
			options: { maxFileSizeMb: '={{ 0.001 }}' },
			field: 'Max File Size (MB)',
			parameter: 'maxFileSizeMb',
			message: /must be at least 0\.01 MB .*not 0 MB|not 0\.001 MB/,
		},
		{
			name: 'Max File Size as text (expression)',
			options: { maxFileSizeMb: '={{ "abc" }}' },
			field: 'Max File Size (MB)',
			parameter: 'maxFileSizeMb',
			message: /^Max File Size \(MB\) must be a number of MB, not the text "abc"$/,
		},
		{ name: 'Max File Size NaN (expression)', options: { maxFileSizeMb: '={{ NaN }}' }, field: 'Max File Size (MB)', parameter: 'maxFileSizeMb', message: /must be a number/ },
		{
			name: 'Max File Size Infinity (expression)',
			options: { maxFileSizeMb: '={{ Infinity }}' },
			field: 'Max File Size (MB)',
			parameter: 'maxFileSizeMb',
			message: /must be (at most 5,242,880 MB|a number)/,
		},
		{ name: 'Max File Size over 5 TiB', options: { maxFileSizeMb: 1e9 }, field: 'Max File Size (MB)', parameter: 'maxFileSizeMb', message: /must be at most 5,242,880 MB, not 1,000,000,000 MB/ },
		{ name: 'Max File Size a boolean (expression)', options: { maxFileSizeMb: '={{ true }}' }, field: 'Max File Size (MB)', parameter: 'maxFileSizeMb', message: /must be a number of MB, not true/ },
		// Max Records per File
		{
			name: 'Max Records per File 0',
			options: { maxRecordsPerFile: 0 },
			field: 'Max Records per File',
			parameter: 'maxRecordsPerFile',
			message: /^Max Records per File must be a whole number above 0/,
		},
		{ name: 'Max Records per File negative', options: { maxRecordsPerFile: -1 }, field: 'Max Records per File', parameter: 'maxRecordsPerFile', message: /whole number above 0/ },
		{ name: 'Max Records per File fractional', options: { maxRecordsPerFile: 1.5 }, field: 'Max Records per File', parameter: 'maxRecordsPerFile', message: /must be a whole number, not 1\.5/ },
		{
			name: 'Max Records per File as text (expression)',
			options: { maxRecordsPerFile: '={{ "many" }}' },
			field: 'Max Records per File',
			parameter: 'maxRecordsPerFile',
			message: /must be a number of records, not the text "many"/,
		},
		// Lookback Days
		{ name: 'Lookback Days 0', options: { lookbackDays: 0 }, field: 'Lookback Days', parameter: 'lookbackDays', message: /^Lookback Days must be at least 1 day .*not 0 days$/ },
		{ name: 'Lookback Days negative', options: { lookbackDays: -1 }, field: 'Lookback Days', parameter: 'lookbackDays', message: /not -1 days$/ },
		{
			name: 'Lookback Days huge',
			options: { lookbackDays: 1e12 },
			field: 'Lookback Days',
			parameter: 'lookbackDays',
			message: /^Lookback Days must be at most 36,500 days, not 1,000,000,000,000 days \(100 years/,
		},
		{ name: 'Lookback Days just over 100 years', options: { lookbackDays: 36501 }, field: 'Lookback Days', parameter: 'lookbackDays', message: /at most 36,500 days/ },
		{ name: 'Lookback Days Infinity (expression)', options: { lookbackDays: '={{ Infinity }}' }, field: 'Lookback Days', parameter: 'lookbackDays', message: /Lookback Days must be/ },
		{
			name: 'Lookback Days as text (expression)',
			options: { lookbackDays: '={{ "365 days" }}' },
			field: 'Lookback Days',
			parameter: 'lookbackDays',
			message: /must be a number of days, not the text "365 days"/,
		},
		{ name: 'Lookback Days NaN (expression)', options: { lookbackDays: '={{ NaN }}' }, field: 'Lookback Days', parameter: 'lookbackDays', message: /must be a number/ },
		// Parquet Row Group Size
		{
			name: 'Row Group Size 0',
			params: { fileType: 'parquet' },
			options: { rowGroupRows: 0 },
			field: 'Parquet Row Group Size',
			parameter: 'rowGroupRows',
			message: /^Parquet Row Group Size must be a whole number above 0, not 0$/,
		},
		{
			name: 'Row Group Size negative',
			params: { fileType: 'parquet' },
			options: { rowGroupRows: -100 },
			field: 'Parquet Row Group Size',
			parameter: 'rowGroupRows',
			message: /whole number above 0, not -100/,
		},
		{
			name: 'Row Group Size NaN (expression)',
			params: { fileType: 'parquet' },
			options: { rowGroupRows: '={{ NaN }}' },
			field: 'Parquet Row Group Size',
			parameter: 'rowGroupRows',
			message: /must be a number/,
		},
		{
			name: 'Row Group Size fractional',
			params: { fileType: 'parquet' },
			options: { rowGroupRows: 2.5 },
			field: 'Parquet Row Group Size',
			parameter: 'rowGroupRows',
			message: /must be a whole number, not 2\.5/,
		},
		{
			name: 'Row Group Size as text (expression)',
			params: { fileType: 'parquet' },
			options: { rowGroupRows: '={{ "big" }}' },
			field: 'Parquet Row Group Size',
			parameter: 'rowGroupRows',
			message: /must be a number of rows, not the text "big"/,
		},
		{
			name: 'Row Group Size too large',
			params: { fileType: 'parquet' },
			options: { rowGroupRows: 1e8 },
			field: 'Parquet Row Group Size',
			parameter: 'rowGroupRows',
			message: /at most 10,000,000 rows/,
		},
		// File Type and Compression through expressions
		{
			name: 'File Type "csv" (expression)',
			params: { fileType: '={{ "csv" }}' },
			field: 'File Type',
			parameter: 'fileType',
			message: /^File Type must be "json" \(JSON, newline-delimited\) or "parquet", not "csv"$/,
		},
		{ name: 'File Type empty (expression)', params: { fileType: '={{ "" }}' }, field: 'File Type', parameter: 'fileType', message: /File Type must be .* not ""$/ },
		{ name: 'File Type "JSON" (expression)', params: { fileType: '={{ "JSON" }}' }, field: 'File Type', parameter: 'fileType', message: /not "JSON"$/ },
		{
			name: 'File Type "parquet" from an expression, compression not stored',
			params: { fileType: '={{ "parquet" }}', jsonCompression: 'gzip' },
			options: { rowGroupRows: 0 },
			field: 'Parquet Row Group Size',
			parameter: 'rowGroupRows',
			message: /whole number above 0/,
		},
		{
			name: 'JSON compression "snappy" (expression)',
			params: { jsonCompression: '={{ "snappy" }}' },
			field: 'Compression',
			parameter: 'jsonCompression',
			message: /^Compression for JSON \(Newline-Delimited\) must be one of "gzip", "none", not "snappy"$/,
		},
		{
			name: 'Parquet compression "brotli" (expression)',
			params: { fileType: 'parquet', parquetCompression: '={{ "brotli" }}' },
			field: 'Compression',
			parameter: 'parquetCompression',
			message: /^Compression for Parquet must be one of .* not "brotli"$/,
		},
		// Mode, manifest, dates
		{ name: 'Mode "delta" (expression)', params: { mode: '={{ "delta" }}' }, field: 'Mode', parameter: 'mode', message: /Mode must be "incremental" or "full", not "delta"/ },
		{
			name: 'Incremental without a manifest',
			params: { includeManifest: false },
			field: 'Include Manifest',
			parameter: 'includeManifest',
			message: /Include Manifest must be on for incremental exports/,
		},
		{ name: 'Start Date day/month', options: { startDate: '03/04/2026' }, field: 'Start Date', parameter: 'startDate', message: /^Start Date: "03\/04\/2026" is ambiguous/ },
		{ name: 'End Date impossible', options: { endDate: '2026-02-30' }, field: 'End Date', parameter: 'endDate', message: /^End Date: "2026-02-30" is not a valid date: February 2026 has 28 days/ },
		{
			name: 'End Date before Start Date',
			options: { startDate: '2026-03-02', endDate: '2026-03-01' },
			field: 'End Date',
			parameter: 'endDate',
			message: /End Date \(2026-03-01T00:00:00\.000Z\) is before Start Date/,
		},
		{ name: 'Export Time as a word', options: { exportTime: 'yesterday' }, field: 'Export Time', parameter: 'exportTime', message: /^Export Time: "yesterday" is not a valid date/ },
		{ name: 'Export Time in seconds (expression)', options: { exportTime: '={{ 1700000000 }}' }, field: 'Export Time', parameter: 'exportTime', message: /looks like seconds/ },
		// leftovers, network, names
		{
			name: 'Remove Leftovers After negative',
			options: { cleanupAfterHours: -1 },
			field: 'Remove Leftovers After (Hours)',
			parameter: 'cleanupAfterHours',
			message: /^Remove Leftovers After \(Hours\) must be at least 0 hours, not -1 hours$/,
		},
		{
			name: 'Remove Leftovers After as text (expression)',
			options: { cleanupAfterHours: '={{ "a day" }}' },
			field: 'Remove Leftovers After (Hours)',
			parameter: 'cleanupAfterHours',
			message: /must be a number of hours, not the text "a day"/,
		},
		{
			name: 'Network Timeout 0',
			options: { timeoutSeconds: 0 },
			field: 'Network Timeout (Seconds)',
			parameter: 'timeoutSeconds',
			message: /^Network Timeout must be a number of seconds above 0 and at most 86,400 \(a day\), not 0$/,
		},
		{ name: 'Network Timeout beyond a timer', options: { timeoutSeconds: 1e9 }, field: 'Network Timeout (Seconds)', parameter: 'timeoutSeconds', message: /at most 86,400 \(a day\), not 1000000000/ },
		{ name: 'Network Timeout as text (expression)', options: { timeoutSeconds: '={{ "slow" }}' }, field: 'Network Timeout (Seconds)', parameter: 'timeoutSeconds', message: /not the text "slow"/ },
		{ name: 'Retries 21', options: { retries: 21 }, field: 'Retries', parameter: 'retries', message: /^Retries must be a whole number from 0 to 20, not 21$/ },
		{ name: 'Retries fractional', options: { retries: 1.5 }, field: 'Retries', parameter: 'retries', message: /not 1\.5$/ },
		{
			name: 'Max Retry Time negative',
			options: { maxRetrySeconds: -1 },
			field: 'Max Retry Time (Seconds)',
			parameter: 'maxRetrySeconds',
			message: /^Max Retry Time must be a number of seconds from 0 to 86,400/,
		},
		{ name: 'File Name Prefix with a slash', options: { fileNamePrefix: 'a/b' }, field: 'File Name Prefix', parameter: 'fileNamePrefix', message: /File Name Prefix may only hold letters, digits/ },
		{
			name: 'File Name Prefix of 101 characters',
			options: { fileNamePrefix: big(101) },
			field: 'File Name Prefix',
			parameter: 'fileNamePrefix',
			message: /File Name Prefix may be at most 100 characters, not 101/,
		},
		{
			name: 'File Name Prefix with a NUL byte',
			options: { fileNamePrefix: 'a\u0000' },
			field: 'File Name Prefix',
			parameter: 'fileNamePrefix',
			message: /^File Name Prefix must not contain a NUL character/,
		},
		{
			name: 'On Schema Mismatch "ignore" (expression)',
			options: { schemaMismatch: '={{ "ignore" }}' },
			field: 'On Schema Mismatch',
			parameter: 'schemaMismatch',
			message: /^On Schema Mismatch must be "fail", "evolve" or "skip", not "ignore"$/,
		},
		// the destination
		{
			name: 'Local Folder root outside N8N_RESTRICT_FILE_ACCESS_TO',
			around: restrictTo(lake),
			field: 'credential',
			message: /^Destination: Local Folder credential: access to the folder .* is not allowed by n8n's file access settings/,
		},
		{ name: 'Local Folder root that does not exist', root: () => join(other, 'missing'), field: 'credential', message: /^Destination: the destination folder .*missing does not exist$/ },
		{
			name: 'a full disk (ENOSPC) at the destination',
			root: () => fullMount,
			field: 'destination',
			message: /^Destination: the destination is full: no space left on the device that holds /,
			skip: process.getuid?.() === 0 ? undefined : 'needs root to mount a small tmpfs',
		},
	];

	it(`has at least 80 cases (${cases.length})`, () => {
		assert.ok(cases.length >= 80, `${cases.length} cases`);
		assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
	});

	for (const c of cases) {
		it(c.name, { skip: c.skip }, async (t) => {
			if (c.name.includes('ENOSPC') && !fullMounted) return t.skip('no tmpfs');
			const undo = c.around?.();
			let result: Awaited<ReturnType<typeof run>>;
			try {
				result = await run(c);
			} finally {
				undo?.();
			}
			const name = c.nodeType === 'list' ? 'List Eligible Datasets' : 'Export Dataset';
			assert.equal(result.error, undefined, `the workflow failed instead of using the error output: ${result.error?.message}`);
			assert.deepEqual(result.output(name), [], 'nothing on the main output');
			const errors = result.errors(name);
			assert.equal(errors.length, 1, 'one item on the error output');
			const item = errors[0];
			const error = item.error as (Error & { description?: string; context?: IDataObject }) | undefined;
			assert.ok(error, 'the error rides on the item');
			const message = String(item.json.error);
			assert.equal(message, error.message);
			assert.match(message, c.message);
			const said = `${message}\n${error.description ?? ''}`;
			assert.ok(said.includes(c.field), `the error names "${c.field}": ${said}`);
			if (c.parameter) assert.equal(error.context?.parameter, c.parameter, `context.parameter: ${said}`);
			assert.ok(!said.includes(SECRET) && !JSON.stringify(item.json).includes(SECRET), 'no content from outside the lake');
			assert.ok(!said.includes(outside), 'no path outside the lake');
			for (const dir of [out, outside, other, lake, trapLake]) assert.deepEqual(snapshot(dir), states[dir], `${dir} unchanged`);
			if (fullMounted) assert.deepEqual([...snapshot(fullMount).keys()], ['filler'], 'nothing left on the full disk');
		});
	}

	it('List Eligible Datasets lists folders that are not valid ids, and links out of the lake, as not eligible with the reason', async () => {
		const odd = tempDir('bad-odd-lake');
		await generateLake({ dir: odd, records: 10, seed: 'odd', batches: 1, datasets: [DATASET] });
		for (const name of ['my dataset', '-dash', 'données', 'a+b']) {
			mkdirSync(join(odd, name));
			writeFileSync(join(odd, name, 'data.ndjson'), '{"a":1}\n');
		}
		mkdirSync(join(odd, '.hidden'));
		mkdirSync(join(odd, '_staging'));
		symlinkSync(join(outside, 'dataset'), join(odd, 'linked_dataset'));
		const result = await run({ name: 'odd', nodeType: 'list', params: { lakePath: odd }, field: '', message: /./ });
		assert.equal(result.error, undefined);
		const listed = result.output('List Eligible Datasets');
		const byId = Object.fromEntries(listed.map((d) => [d.id, d]));
		assert.deepEqual(Object.keys(byId).sort(), ['-dash', 'a+b', 'données', DATASET, 'linked_dataset', 'my dataset'].sort(), 'hidden folders are not datasets; every other folder is listed');
		assert.equal(byId[DATASET].eligible, true);
		for (const name of ['my dataset', '-dash', 'données', 'a+b']) {
			assert.equal(byId[name].eligible, false);
			assert.match(String(byId[name].reason), /^the folder name ".*" is not a valid dataset id: an id starts with a letter or a digit, then holds only letters, digits, "\.", "_" and "-"/);
		}
		assert.equal(byId.linked_dataset.eligible, false);
		assert.match(String(byId.linked_dataset.reason), /linked_dataset is a symbolic link that leads outside the lake/);
		assert.ok(!JSON.stringify(listed).includes(SECRET), 'nothing from outside the lake is listed');
	});

	it(
		'Lake Path unreadable: permission denied, blamed on Lake Path (not "does not exist", not Dataset)',
		{ skip: process.getuid?.() === 0 ? undefined : 'needs root to run a probe as another user' },
		() => {
			// root reads anything: the probe runs as an unprivileged user (uid 1001 if it exists, else nobody)
			const dir = tempDir('bad-perm');
			mkdirSync(join(dir, 'lake', DATASET), { recursive: true });
			execFileSync('chmod', ['755', dir]);
			execFileSync('chmod', ['700', join(dir, 'lake')]);
			const probe = join(dir, 'probe.ts');
			writeFileSync(
				probe,
				`import { LocalLakeSource } from ${JSON.stringify(join(__dirname, '..', 'lib', 'source', 'local-lake'))};
import { toNodeError } from ${JSON.stringify(join(__dirname, '..', 'nodes', 'shared', 'errors'))};
const node = { id: '1', name: 'Export Dataset', type: 't', typeVersion: 1, position: [0, 0], parameters: {} };
async function main() {
	for (const [lake, id] of [[${JSON.stringify(join(dir, 'lake'))}, ${JSON.stringify(DATASET)}], [${JSON.stringify(join(dir, 'lake', DATASET))}, 'x']]) {
		const error = await new LocalLakeSource(lake).getDataset(id).then(() => undefined, (e) => e);
		const n = toNodeError(node as never, error, 0, {}, { source: 'lakePath' });
		console.log(JSON.stringify({ message: n.message, description: n.description, parameter: n.context.parameter }));
	}
}
void main();
`,
			);
			execFileSync('chmod', ['644', probe]);
			const uid = (() => {
				try {
					return Number(execFileSync('id', ['-u', 'dsxsftp'], { encoding: 'utf8' }).trim());
				} catch {
					return 65534;
				}
			})();
			const out = execFileSync(process.execPath, [join(__dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'), probe], {
				uid,
				gid: uid,
				env: { PATH: process.env.PATH, HOME: dir, TSX_CACHE: '0' },
				encoding: 'utf8',
			});
			const [unreadable, unopenable] = out
				.trim()
				.split('\n')
				.map((l) => JSON.parse(l) as { message: string; description: string; parameter: string });
			assert.match(unreadable.message, /^Lake Path: permission denied: the user n8n runs as may not read the folder .*\/lake$/);
			assert.match(unopenable.message, /^Lake Path: permission denied: the user n8n runs as may not open .*\/lake\/journey_step_events \(or a folder above it\)$/);
			for (const e of [unreadable, unopenable]) {
				assert.equal(e.parameter, 'lakePath');
				assert.match(e.description, /Lake Path/);
				assert.doesNotMatch(e.message, /does not exist|Dataset/);
			}
		},
	);

	it('the dataset picker (a list search, no file helpers) follows N8N_RESTRICT_FILE_ACCESS_TO from the environment', async () => {
		const exportNode = node('Export Dataset', 'n8n-nodes-dataset-export.exportDataset', goodExport());
		const open = await harness.listSearch(exportNode, 'searchDatasets');
		assert.deepEqual(
			open.results.map((r) => r.value),
			[DATASET],
		);
		const saved = process.env.N8N_RESTRICT_FILE_ACCESS_TO;
		process.env.N8N_RESTRICT_FILE_ACCESS_TO = other;
		try {
			await assert.rejects(harness.listSearch(exportNode, 'searchDatasets'), /not allowed by n8n's file access settings/);
		} finally {
			process.env.N8N_RESTRICT_FILE_ACCESS_TO = saved;
		}
	});
});
