/**
 * The format registry (lib/format) is the one place a format is declared: the engine, Verify and
 * Export Dataset's File Type and Compression parameters follow it. A throwaway CSV format,
 * registered here through `registerFormat` alone, is exported by runExport and verified by
 * verifyExport: adding a format touches neither lib/export nor lib/verify.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { INodeProperties } from 'n8n-workflow';
import { stringifyJson } from '../../lib/json';
import { RequestError } from '../../lib/errors';
import { runExport } from '../../lib/export/run';
import { endSink, FORMATS, formatOf, formatOfFile, registerFormat, SinkWatch, writeTo, type EncodedFile, type Format } from '../../lib/format';
import { hashFile } from '../../lib/format/read';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { LocalFolderStore } from '../../lib/storage/local';
import { readAll } from '../../lib/storage/common';
import { verifyExport } from '../../lib/verify/verify';
import { codecOf, compressionProperties, fileTypeOf, fileTypeOptions, fileTypeTerms } from '../../nodes/ExportDataset/parameters';
import { generateLake } from '../../scripts/sample/generator';
import { ExportDataset } from '../harness/source-nodes';
import { tempDir } from '../helpers/fixtures';

const DS = 'ajo_message_feedback_event_dataset';
const property = (name: string) => new ExportDataset().description.properties.find((p) => p.name === name) as INodeProperties;
const sorted = (names: string[]) => [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('the format registry', () => {
	it('holds NDJSON and Parquet, each codec with its own extension', () => {
		assert.deepEqual([...FORMATS.keys()], ['json', 'parquet']);
		const extensions = [...FORMATS.values()].flatMap((f) => f.codecs.map((c) => f.extension(c.value)));
		assert.deepEqual(extensions, ['.json', '.json.gz', '.parquet', '.parquet', '.parquet', '.parquet']);
		for (const format of FORMATS.values()) {
			assert.ok(
				format.codecs.some((c) => c.value === format.defaultCodec),
				`${format.id}: the default codec is one of its codecs`,
			);
			for (const codec of format.codecs) assert.match(format.contentType(codec.value), /^application\//);
		}
	});

	it("finds a listed file's format by the manifest's file type, or (none named) by its extension", () => {
		assert.equal(formatOfFile('parquet', 'part-00000-x.json'), formatOf('parquet'), "the manifest's file type wins");
		assert.equal(formatOfFile(undefined, 'part-00000-x.json.gz'), formatOf('json'));
		assert.equal(formatOfFile(undefined, 'part-00000-x.parquet'), formatOf('parquet'));
		assert.equal(formatOfFile(undefined, 'part-00000-x.avro'), undefined);
		assert.equal(formatOfFile('avro', 'part-00000-x.json'), undefined);
	});

	it('refuses a second format with the same id, and a default codec it does not have', () => {
		assert.throws(() => registerFormat(formatOf('json') as Format), /registered already/);
		assert.throws(() => registerFormat({ ...(formatOf('json') as Format), id: 'json2', defaultCodec: 'lz4' }), /default codec "lz4" is not one of its codecs/);
		assert.equal(formatOf('json2'), undefined);
	});

	it("Export Dataset's File Type and Compression parameters are the registry's (its literal default File Type too)", () => {
		const fileType = property('fileType');
		assert.deepEqual(
			fileType.options?.map((o) => ('value' in o ? o.value : undefined)),
			sorted([...FORMATS.values()].map((f) => f.label)).map((label) => [...FORMATS.values()].find((f) => f.label === label)!.id),
		);
		assert.ok(formatOf(fileType.default), `the default File Type "${String(fileType.default)}" is a registered format`);
		for (const format of FORMATS.values()) {
			const compression = property(`${format.id}Compression`);
			assert.ok(compression, `${format.id}Compression exists`);
			assert.deepEqual(compression.displayOptions?.show?.fileType, [format.id]);
			assert.equal(compression.default, format.defaultCodec);
			const values = compression.options?.map((o) => ('value' in o ? o.value : undefined));
			assert.deepEqual(
				values,
				sorted(format.codecs.map((c) => c.name)).map((name) => format.codecs.find((c) => c.name === name)!.value),
				'listed by name, as n8n wants',
			);
			assert.deepEqual(fileTypeTerms(format.id).codecs, values);
		}
	});
});

// ---- a throwaway format: CSV of the schema's top-level fields ----

const cell = (value: unknown) => (value === null || value === undefined ? '' : `"${(typeof value === 'string' ? value : stringifyJson(value)).replace(/"/g, '""')}"`);

/** Cells of one CSV line (quoted cells may hold commas; no newlines inside cells here); throws when it is not CSV. */
function cells(line: string): string[] {
	const out: string[] = [];
	let i = 0;
	while (i <= line.length) {
		if (line[i] === '"') {
			let text = '';
			for (i++; i < line.length; i++) {
				if (line[i] === '"' && line[i + 1] === '"') {
					text += '"';
					i++;
				} else if (line[i] === '"') break;
				else text += line[i];
			}
			if (i >= line.length) throw new Error('a quoted cell does not end');
			if (i + 1 < line.length && line[i + 1] !== ',') throw new Error('a quoted cell is not followed by a comma');
			out.push(text);
			i += 2; // the closing quote and the comma
		} else {
			const comma = line.indexOf(',', i);
			const end = comma < 0 ? line.length : comma;
			out.push(line.slice(i, end));
			i = end + 1;
		}
	}
	return out;
}

const csvFormat: Format = {
	id: 'csv',
	name: 'CSV',
	label: 'CSV',
	codecs: [{ value: 'none', name: 'None' }],
	defaultCodec: 'none',
	compressionDescription: 'CSV files are not compressed',
	extension: () => '.csv',
	contentType: () => 'text/csv',
	problem: (_codec, schema) => (schema ? undefined : { message: 'CSV needs a schema (its header)', field: 'fileType' }),
	encoder(codec, schema) {
		const fields = schema!.fields.map((f) => f.name);
		return {
			fileType: 'csv',
			codec,
			extension: '.csv',
			contentType: 'text/csv',
			usesJsonText: false,
			open(sink) {
				const watch = new SinkWatch(sink);
				let header = fields.map(cell).join(',') + '\n';
				const file: EncodedFile & { bytesOut: number } = {
					bytesOut: 0,
					get bytesPending() {
						return this.bytesOut;
					},
					async write(records) {
						watch.check();
						const text = header + records.map((r) => fields.map((f) => cell(r[f])).join(',') + '\n').join('');
						header = '';
						const bytes = Buffer.from(text);
						file.bytesOut += bytes.length;
						await writeTo(sink, bytes);
					},
					async finish() {
						if (header) await file.write([]);
						await endSink(sink);
					},
				};
				return file;
			},
		};
	},
	async check(store, path, _size, options) {
		const text = (await readAll(await store.read(path))).toString('utf8');
		const lines = text.split('\n');
		const problems: string[] = [];
		if (lines.pop() !== '') problems.push('not a readable CSV file: the last line does not end with a newline');
		const rows = lines.map((line) => {
			try {
				return cells(line);
			} catch (error) {
				return (error as Error).message;
			}
		});
		const header = rows[0];
		const expected = options.schema?.fields.map((f) => f.name);
		if (expected && (typeof header === 'string' || header.join() !== expected.join())) problems.push("not a readable CSV file: its header is not the manifest's schema");
		const bad = rows.findIndex((row) => typeof row === 'string' || row.length !== header.length);
		if (bad >= 0)
			problems.push(`not a readable CSV file: line ${bad + 1} ${typeof rows[bad] === 'string' ? `is not CSV (${rows[bad]})` : `has ${rows[bad].length} cells, the header ${header.length}`}`);
		const hashed = options.hash ? await hashFile(store, path) : { size: null, sha256: null };
		return { ...hashed, records: Math.max(0, lines.length - 1), readable: problems.length === 0, problems };
	},
};

describe('a format registered from outside lib/ is exported and verified end to end', () => {
	before(() => registerFormat(csvFormat));

	it('Export Dataset offers it, with its Compression parameter', () => {
		assert.deepEqual(
			fileTypeOptions().map((o) => o.value),
			['csv', 'json', 'parquet'],
		);
		const compression = compressionProperties().find((p) => p.name === 'csvCompression');
		assert.equal(compression?.default, 'none');
		assert.equal(fileTypeOf('csv'), 'csv');
		assert.equal(codecOf('csv', 'none'), 'none');
		assert.throws(() => fileTypeOf('avro'), { message: 'File Type must be "json" (JSON, newline-delimited), "parquet" or "csv", not "avro"' });
	});

	it("runExport writes it and verifyExport reads it through the registry; damage is its check's to find", async () => {
		const lake = tempDir('csv-lake');
		const out = tempDir('csv-out');
		await generateLake({ dir: lake, records: 300, seed: 'csv', batches: 2, datasets: [DS] });
		const source = new LocalLakeSource(lake);
		const store = new LocalFolderStore(out);
		const report = await runExport(source, store, { datasetId: DS, mode: 'incremental', fileType: 'csv', codec: 'none', folderPath: 'x', maxRecordsPerFile: 120 });
		assert.equal(report.status, 'committed');
		assert.equal(report.totals.records, 300);
		assert.deepEqual(
			report.files.map((f) => f.records),
			[120, 120, 60],
		);
		for (const f of report.files) assert.match(f.name, /^part-\d{5}-[0-9a-f-]+\.csv$/);
		const manifest = JSON.parse(readFileSync(join(out, report.manifestPath as string), 'utf8')) as { format: unknown };
		assert.deepEqual(manifest.format, { fileType: 'csv', codec: 'none', extension: '.csv' });

		const verdict = await verifyExport(store, { manifestPath: report.manifestPath as string });
		assert.equal(verdict.ok, true, verdict.problems.join('\n'));
		assert.deepEqual(
			verdict.files.map((f) => [f.records.actual, f.readable, f.sha256.source]),
			[
				[120, true, 'streamed'],
				[120, true, 'streamed'],
				[60, true, 'streamed'],
			],
		);

		// one cell fewer on a line, the size kept (a comma becomes a space): the CSV check names the line
		const damaged = join(out, report.files[1].path);
		const text = readFileSync(damaged, 'utf8');
		const at = text.indexOf('","', text.indexOf('\n') + 1);
		writeFileSync(damaged, text.slice(0, at + 1) + ' ' + text.slice(at + 2));
		const after = await verifyExport(store, { manifestPath: report.manifestPath as string, checksums: false });
		assert.equal(after.ok, false);
		assert.match(
			after.problems.join('\n'),
			new RegExp(`^${report.files[1].name.replace(/\./g, '\\.')}: not a readable CSV file: line 2 is not CSV \\(a quoted cell is not followed by a comma\\)$`, 'm'),
		);
	});

	it("the format's own problems reach the engine's messages, with the field it names", async () => {
		const source = { getDataset: async () => ({ id: 'd', name: 'd', enabled: true, schema: undefined }) } as never;
		await assert.rejects(runExport(source, new LocalFolderStore(tempDir('csv-none')), { datasetId: 'd', mode: 'full', fileType: 'csv', codec: 'none', folderPath: 'x' }), (error: unknown) => {
			assert.ok(error instanceof RequestError);
			assert.equal(error.field, 'fileType');
			assert.equal(error.message, 'File Type / Compression: CSV needs a schema (its header)');
			return true;
		});
		await assert.rejects(runExport(source, new LocalFolderStore(tempDir('csv-codec')), { datasetId: 'd', mode: 'full', fileType: 'csv', codec: 'gzip', folderPath: 'x' }), {
			name: 'RequestError',
			message: 'Compression "gzip" is not available for CSV (choose none)',
		});
		await assert.rejects(runExport(source, new LocalFolderStore(tempDir('csv-type')), { datasetId: 'd', mode: 'full', fileType: 'avro', codec: 'none', folderPath: 'x' }), {
			name: 'RequestError',
			message: 'File Type must be "json", "parquet" or "csv", not "avro"',
		});
	});
});
