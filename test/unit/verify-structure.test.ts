/**
 * Verify sees everything: real exports written by runExport to a local folder, then damaged.
 * Unlisted objects anywhere below the export prefix; structure checks with Verify Checksums off
 * (every byte of small files flipped in turn); readable messages for unreadable files;
 * reconciliation with the lake's batch counts; schema changes between consecutive exports.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import type { Manifest } from '../../lib/export/manifest';
import { runExport, type ExportRequest } from '../../lib/export/run';
import { statePaths } from '../../lib/export/state';
import { generateLake } from '../../scripts/sample/generator';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { LocalFolderStore } from '../../lib/storage/local';
import { checkNdjson } from '../../lib/format/ndjson';
import { checkParquet } from '../../lib/format/parquet';
import { verifyExport } from '../../lib/verify/verify';
import { tempDir } from '../helpers/fixtures';

const DS = 'ajo_message_feedback_event_dataset';

async function exported(label: string, over: Partial<ExportRequest> = {}, records = 600) {
	const lake = tempDir(`${label}-lake`);
	const out = tempDir(`${label}-out`);
	await generateLake({ dir: lake, records, seed: label, batches: 3, datasets: [DS] });
	const source = new LocalLakeSource(lake);
	const store = new LocalFolderStore(out);
	const request: ExportRequest = { datasetId: DS, mode: 'incremental', fileType: 'json', codec: 'gzip', folderPath: 'x', maxRecordsPerFile: 250, ...over };
	const report = await runExport(source, store, request);
	return { lake, out, source, store, report, request };
}

const manifestOf = (out: string, report: { manifestPath: string | null }): Manifest => JSON.parse(readFileSync(join(out, report.manifestPath!), 'utf8'));

const put = (path: string, content: string | Buffer) => {
	mkdirSync(dirname(path), { recursive: true });
	writeFileSync(path, content);
};

describe('Verify: unlisted objects anywhere below the export', () => {
	it('reports sub-folder files, copies named like a committed run, temp-like names, commit-log junk and links', async () => {
		const { out, store, report } = await exported('unlisted');
		const folder = report.folder;
		const first = report.files[0];
		const runFile = first.path.slice(folder.length + 1);
		const planted = {
			subFolder: `${folder}/extra/data.json`,
			copyInSubFolder: `${folder}/old/${runFile}`,
			lookalike: `${folder}/${runFile.replace('part-00000', 'part-00009')}`,
			backup: `${first.path}.bak`,
			elsewhere: `${folder.slice(0, folder.lastIndexOf('/'))}/notes.txt`,
			tempLike: `${folder}/.incoming-whatever`,
			stateJunk: `${statePaths(report.statePrefix, DS).root}/commits/readme.txt`,
		};
		for (const path of Object.values(planted)) put(join(out, path), 'x');
		// a temporary file of the store's own pattern: an unfinished upload
		const temp = `${folder}/.incoming-${runFile.replace('part-00000', 'part-00003')}-0a1b2c3d`;
		put(join(out, temp), 'half');
		symlinkSync('/etc/hostname', join(out, folder, 'link.json'));

		const verdict = await verifyExport(store, { manifestPath: report.manifestPath!, checksums: false });
		assert.equal(verdict.ok, false);
		const unlisted = new Set(verdict.unlisted.map((u) => u.path));
		for (const [what, path] of Object.entries(planted)) assert.ok(unlisted.has(path), `${what} ${path} not reported: ${[...unlisted].join(', ')}`);
		assert.ok(unlisted.has(`${folder}/link.json`), 'symbolic link reported');
		assert.equal(verdict.unfinished.length, 1);
		assert.ok(verdict.unfinished[0].endsWith(temp.slice(temp.lastIndexOf('/') + 1)));
		const why = Object.fromEntries(verdict.unlisted.map((u) => [u.path, u.why]));
		assert.match(why[planted.copyInSubFolder], /named like a file of the committed run .*, which does not list it/);
		// a name like a temporary file's, but not as the store names them: a file, listed like any other
		assert.match(why[planted.tempLike], /no committed export lists it/);
		assert.match(why[planted.stateJunk], /not a file the commit log uses/);
		assert.ok(verdict.problems.some((p) => p.startsWith(`unlisted file ${planted.lookalike} (named like a file of the committed run`)));
		// the files of the export itself and of the commit log are not reported
		for (const f of report.files) assert.ok(!unlisted.has(f.path));
	});

	it('files of earlier exports in other folders are accounted for by their own commit records', async () => {
		const { lake, store, report, request, source } = await exported('unlisted-chain');
		const { addBatch } = await import('../../scripts/sample/generator');
		await addBatch({ dir: lake, datasetId: DS, records: 10, ingestedAt: new Date('2026-02-01T00:00:00Z'), seed: 'b4' });
		const second = await runExport(source, store, { ...request, exportTime: '2026-11-22T06:00:00Z' });
		assert.notEqual(second.folder, report.folder);
		const verdict = await verifyExport(store, { manifestPath: second.manifestPath! });
		assert.deepEqual(verdict.problems, []);
		assert.deepEqual(verdict.unlisted, []);
	});
});

/** Flip one byte (xor) in a copy of a file, check it with `check`, restore it. */
async function flips(path: string, positions: Iterable<number>, xor: number, caught: () => Promise<boolean>): Promise<number[]> {
	const original = readFileSync(path);
	const missed: number[] = [];
	for (const at of positions) {
		const bytes = Buffer.from(original);
		bytes[at] ^= xor;
		writeFileSync(path, bytes);
		if (!(await caught())) missed.push(at);
	}
	writeFileSync(path, original);
	return missed;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('Verify: structure with Verify Checksums off', () => {
	it('gzip NDJSON: every flipped byte is caught except the six header bytes gzip does not check', async () => {
		const { out, store, report } = await exported('flip-gz', { maxRecordsPerFile: 4 }, 30);
		const file = report.files[0];
		const expected = file.records;
		const missed = await flips(join(out, file.path), range(file.size), 0x01, async () => {
			const result = await checkNdjson(store, file.path, true, false);
			return result.problems.length > 0 || result.records !== expected;
		});
		// byte 3 bit 0 is the FTEXT hint; bytes 4-7 modification time, 8 extra flags, 9 operating system
		assert.deepEqual(
			missed.filter((at) => at < 3 || at > 9),
			[],
		);
		const verdict = await (async () => {
			const bytes = readFileSync(join(out, file.path));
			bytes[Math.floor(bytes.length / 2)] ^= 0x20;
			writeFileSync(join(out, file.path), bytes);
			return verifyExport(store, { manifestPath: report.manifestPath!, checksums: false });
		})();
		assert.equal(verdict.ok, false);
		assert.equal(verdict.files[0].size.actual, verdict.files[0].size.expected, 'same size');
		assert.match(verdict.problems.join('\n'), new RegExp(`^${file.name.replace(/\./g, '\\.')}: not a readable NDJSON file: `, 'm'));
	});

	it('plain NDJSON: a byte whose high bit flips is always caught; a flip that stays valid JSON needs checksums', async () => {
		const { out, store, report } = await exported('flip-plain', { codec: 'none', maxRecordsPerFile: 3 }, 30);
		const file = report.files[0];
		const path = join(out, file.path);
		const missed = await flips(path, range(file.size), 0x80, async () => {
			const result = await checkNdjson(store, file.path, false, false);
			return result.problems.length > 0 || result.records !== file.records;
		});
		assert.deepEqual(missed, []);
		// newline → other byte, a brace, a quote: caught
		const text = readFileSync(path);
		for (const [at, to] of [
			[text.indexOf('\n'), ' '],
			[0, '['],
			[text.indexOf('"'), "'"],
		] as const) {
			const bytes = Buffer.from(text);
			bytes[at] = to.charCodeAt(0);
			writeFileSync(path, bytes);
			const verdict = await verifyExport(store, { manifestPath: report.manifestPath!, checksums: false });
			assert.equal(verdict.files[0].ok, false, `change at ${at} caught`);
		}
		// a letter inside a string value: still valid JSON; only the checksum sees it
		const inString = text.indexOf('":"a') + 3;
		assert.ok(inString > 3);
		const bytes = Buffer.from(text);
		bytes[inString] = 0x62;
		writeFileSync(path, bytes);
		assert.equal((await verifyExport(store, { manifestPath: report.manifestPath!, checksums: false })).files[0].ok, true);
		const withSums = await verifyExport(store, { manifestPath: report.manifestPath! });
		assert.ok(withSums.files[0].problems.some((p) => /^SHA-256 is/.test(p)));
	});

	it('NDJSON line count, a missing last newline and a non-object line are named', async () => {
		const { out, store, report } = await exported('lines', { codec: 'none' });
		const [a, b, c] = report.files;
		const textA = readFileSync(join(out, a.path), 'utf8');
		// one line more (a space became a newline), and the last newline became a space: same size
		const space = textA.indexOf(' ');
		writeFileSync(join(out, a.path), `${textA.slice(0, space)}\n${textA.slice(space + 1, -1)} `);
		const textB = readFileSync(join(out, b.path), 'utf8').split('\n');
		textB[4] = JSON.stringify(textB[4]).slice(0, textB[4].length).padEnd(textB[4].length, ' ');
		writeFileSync(join(out, b.path), textB.join('\n'));
		const textC = readFileSync(join(out, c.path), 'utf8');
		writeFileSync(join(out, c.path), textC.replace('\n', '\r'));
		const verdict = await verifyExport(store, { manifestPath: report.manifestPath!, checksums: false });
		const byName = Object.fromEntries(verdict.files.map((f) => [f.name, f.problems.join('; ')]));
		assert.match(byName[a.name], /the last line \(\d+\) does not end with a newline/);
		assert.match(byName[b.name], /line 5 is not (valid JSON|a JSON object)/);
		assert.match(byName[c.name], /line 1 is not valid JSON|holds \d+ records, the manifest says/);
		for (const f of verdict.files) assert.equal(f.size.actual, f.size.expected);
	});

	it('Parquet: magic bytes, footer length, footer and data damage get readable messages', async () => {
		const { out, store, report } = await exported('pq-damage', { fileType: 'parquet', codec: 'snappy' });
		const messages: string[] = [];
		const file = report.files[0];
		const path = join(out, file.path);
		const original = readFileSync(path);
		const footerLength = original.readUInt32LE(original.length - 8);
		const footerStart = original.length - 8 - footerLength;
		const cases: Array<[string, (b: Buffer) => void, RegExp]> = [
			['start magic', (b) => (b[1] ^= 0xff), /does not start with the Parquet magic bytes "PAR1"/],
			['end magic', (b) => (b[b.length - 1] ^= 0xff), /does not end with the Parquet magic bytes "PAR1"/],
			['footer length', (b) => b.writeUInt32LE(b.length, b.length - 8), /the footer is damaged \(its length field says/],
			['footer start', (b) => b.fill(0xff, footerStart, footerStart + 8), /the footer is damaged/],
			['data page header', (b) => b.fill(0xee, 4, 12), /row group 0 \(rows 1–250\) cannot be decoded: column /],
		];
		for (const [what, damage, expected] of cases) {
			const bytes = Buffer.from(original);
			damage(bytes);
			writeFileSync(path, bytes);
			const verdict = await verifyExport(store, { manifestPath: report.manifestPath!, checksums: false });
			const problem = verdict.problems.find((p) => p.startsWith(file.name)) ?? '';
			messages.push(problem);
			assert.match(problem, new RegExp(`^${file.name.replace(/\./g, '\\.')}: .*not a readable Parquet file: `), what);
			assert.match(problem, expected, `${what}: ${problem}`);
			assert.doesNotMatch(problem, /Cannot read properties|undefined/, what);
		}
		writeFileSync(path, original);
		assert.equal((await verifyExport(store, { manifestPath: report.manifestPath!, checksums: false })).ok, true);
	});

	it('Parquet: single flipped bytes, size unchanged, are caught where the structure shows them', async () => {
		const { out, store, report } = await exported('pq-flip', { fileType: 'parquet', codec: 'snappy', maxRecordsPerFile: 20 }, 60);
		const file = report.files[0];
		const schema = manifestOf(out, report).schema;
		const path = join(out, file.path);
		const size = readFileSync(path).length;
		const footerStart = size - 8 - readFileSync(path).readUInt32LE(size - 8);
		const check = async () => {
			const result = await checkParquet(store, file.path, size, { codec: 'snappy', schema, decodeTimeoutMs: 500 });
			return result.problems.length > 0 || result.records !== file.records;
		};
		// magic bytes and the footer length are always caught
		const ends = [0, 1, 2, 3, size - 8, size - 7, size - 6, size - 5, size - 4, size - 3, size - 2, size - 1];
		assert.deepEqual(await flips(path, ends, 0xff, check), []);
		// every 11th byte (all of them take over a minute: a damaged page can make the decoder loop until the watchdog stops it)
		const sample = range(size).filter((at) => at % 11 === 5);
		const missed = await flips(path, sample, 0xff, check);
		const inData = sample.filter((at) => at >= 4 && at < footerStart);
		const missedData = missed.filter((at) => at < footerStart).length;
		const caughtShare = 1 - missed.length / sample.length;
		console.log(
			`parquet (snappy) single-byte flips, every 11th of ${size} bytes: ${sample.length - missed.length} of ${sample.length} caught (${(caughtShare * 100).toFixed(0)}%); data area ${inData.length - missedData} of ${inData.length}, footer ${sample.length - inData.length - (missed.length - missedData)} of ${sample.length - inData.length}`,
		);
		assert.ok(caughtShare > 0.3, `caught ${caughtShare}`);
	});

	it('a Parquet footer whose row groups disagree with the manifest count is named', async () => {
		const { out, store, report } = await exported('pq-rows', { fileType: 'parquet', codec: 'none' });
		const verdictOk = await verifyExport(store, { manifestPath: report.manifestPath!, checksums: false });
		assert.deepEqual(verdictOk.problems, []);
		const manifestPath = join(out, report.manifestPath!);
		const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
		manifest.exportResults[0].records -= 1;
		writeFileSync(manifestPath, JSON.stringify(manifest));
		const verdict = await verifyExport(store, { manifestPath: report.manifestPath!, checksums: false });
		assert.ok(verdict.files[0].problems.includes('holds 250 records, the manifest says 249'), verdict.files[0].problems.join('; '));
	});
});

describe('Verify: reconciliation with the lake', () => {
	it('every batch the lake can count is compared; a batch it cannot count is listed as not reconciled', async () => {
		const { lake, out, store, report, source } = await exported('reconcile');
		const verdict = await verifyExport(store, { manifestPath: report.manifestPath!, source });
		assert.deepEqual(verdict.problems, []);
		assert.equal(verdict.reconciliation.checked, true);
		assert.equal(verdict.reconciliation.matched, 3);
		assert.equal(verdict.reconciliation.batches.length, 3);
		for (const b of verdict.reconciliation.batches) assert.equal(b.lake, b.exported);

		// the lake's metadata now says another count for one batch, and has none for another
		const batchesDir = join(lake, DS, 'batches');
		const [first, second] = manifestOf(out, report).batches!;
		const meta = (id: string) => join(batchesDir, id, 'batch.json');
		const one = JSON.parse(readFileSync(meta(first.id), 'utf8'));
		writeFileSync(meta(first.id), JSON.stringify({ ...one, recordCount: one.recordCount + 5 }));
		const two = JSON.parse(readFileSync(meta(second.id), 'utf8'));
		delete two.recordCount;
		writeFileSync(meta(second.id), JSON.stringify(two));
		const after = await verifyExport(store, { manifestPath: report.manifestPath!, source: new LocalLakeSource(lake) });
		assert.equal(after.ok, false);
		assert.deepEqual(
			after.reconciliation.batches.map((b) => b.status),
			['differs', 'not reconciled', 'matched'],
		);
		assert.ok(
			after.problems.includes(
				`batch ${first.id} does not reconcile with the lake: the lake holds ${one.recordCount + 5} records (it held ${one.recordCount} when exported: the batch changed in the lake since), the export has ${one.recordCount}`,
			),
			after.problems.join('\n'),
		);
		assert.match(after.warnings.join('\n'), new RegExp(`1 of 3 batch\\(es\\) not reconciled with the lake: ${second.id} \\(the lake's metadata has no record count`));
		// without a source: no reconciliation, nothing claimed
		const plain = await verifyExport(store, { manifestPath: report.manifestPath! });
		assert.equal(plain.reconciliation.checked, false);
		assert.equal(plain.ok, true);
	});

	it('a lake that cannot list the dataset blames Lake Path', async () => {
		const { store, report } = await exported('reconcile-missing');
		const empty = tempDir('empty-lake');
		await assert.rejects(verifyExport(store, { manifestPath: report.manifestPath!, source: new LocalLakeSource(empty) }), (error: Error & { field?: string }) => {
			assert.equal(error.field, 'source');
			assert.match(error.message, /Reconcile With Lake: the lake cannot list the batches of dataset/);
			return true;
		});
	});
});

describe('Verify: schema change between consecutive exports', () => {
	const lakeWith = (dir: string, schema: unknown, batch: number, records: object[]) => {
		const ds = join(dir, 'ds');
		mkdirSync(join(ds, 'batches', `b${batch}`), { recursive: true });
		writeFileSync(join(ds, 'dataset.json'), JSON.stringify({ name: 'ds', kind: 'event', schema }));
		writeFileSync(join(ds, 'batches', `b${batch}`, 'batch.json'), JSON.stringify({ id: `b${batch}`, ingestedAt: `2026-01-0${batch}T00:00:00Z`, recordCount: records.length }));
		writeFileSync(join(ds, 'batches', `b${batch}`, 'part.ndjson'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
	};

	for (const fileType of ['json', 'parquet'] as const) {
		it(`names the fields added, removed and of another type (${fileType})`, async () => {
			const lake = tempDir(`schema-${fileType}-lake`);
			const out = tempDir(`schema-${fileType}-out`);
			const store = new LocalFolderStore(out);
			const request: ExportRequest = { datasetId: 'ds', mode: 'incremental', fileType, codec: fileType === 'json' ? 'none' : 'snappy', folderPath: 'x' };
			lakeWith(
				lake,
				{
					fields: [
						{ name: 'id', type: 'long' },
						{ name: 'n', type: 'int' },
						{ name: 'gone', type: 'string' },
					],
				},
				1,
				[{ id: 1, n: 2, gone: 'a' }],
			);
			const first = await runExport(new LocalLakeSource(lake), store, { ...request, exportTime: '2026-01-01T06:00:00Z' });
			const firstVerdict = await verifyExport(store, { manifestPath: first.manifestPath! });
			assert.deepEqual(firstVerdict.warnings, []);
			assert.equal(firstVerdict.schemaChange.checked, false, 'nothing before the first export');

			lakeWith(
				lake,
				{
					fields: [
						{ name: 'id', type: 'long' },
						{ name: 'n', type: 'long' },
						{ name: 'added', type: 'string' },
					],
				},
				2,
				[{ id: 2, n: 3, added: 'b' }],
			);
			const second = await runExport(new LocalLakeSource(lake), store, { ...request, exportTime: '2026-01-02T06:00:00Z' });
			const verdict = await verifyExport(store, { manifestPath: second.manifestPath! });
			assert.equal(verdict.ok, true, verdict.problems.join('\n'));
			assert.equal(verdict.schemaChange.checked, true);
			assert.equal(verdict.schemaChange.previous?.sequence, 1);
			assert.deepEqual(verdict.schemaChange.added, ['added: string']);
			assert.deepEqual(verdict.schemaChange.removed, ['gone']);
			assert.deepEqual(verdict.schemaChange.changed, ['n: int → long']);
			assert.deepEqual(verdict.warnings, ['the schema changed since the previous export (commit 1, export time 2026-01-01T06:00:00.000Z): added added: string; n: int → long; removed gone']);
		});
	}
});
