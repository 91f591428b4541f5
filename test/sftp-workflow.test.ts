/** The example workflow with Export Dataset and Verify Export writing to a real OpenSSH SFTP server. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { NodeOperationError } from 'n8n-workflow';
import { addBatch, generateLake, sampleSchema, SAMPLE_DATASETS } from '../scripts/sample/generator';
import { canonicalRecords, readFiles } from './helpers/duckdb';
import { filesUnder, lakeFiles, tempDir } from './helpers/fixtures';
import { sftpFolder, sftpServer } from './helpers/servers';
import { exampleTo, runWorkflow, type WorkflowJson } from './harness/engine';

const DS = 'journey_step_events';

function toSftp(lake: string, time: string, fileType: 'json' | 'parquet'): WorkflowJson {
	return exampleTo({
		lake,
		dataset: DS,
		time,
		destination: 'sftp',
		credentialType: 'datasetExportSftpApi',
		credentialId: 'sftp',
		exportOnly: { fileType, jsonCompression: 'gzip', parquetCompression: 'snappy', options: { maxRecordsPerFile: 400 } },
	});
}

describe('workflows exporting to SFTP (OpenSSH sshd on 127.0.0.1)', () => {
	const server = sftpServer();
	const lake = tempDir('sftp-lake');
	before(async () => {
		await generateLake({ dir: lake, records: 1000, seed: 'sftp', batches: 2, datasets: [DS] });
	});

	for (const fileType of ['parquet', 'json'] as const) {
		it(`List → Export (${fileType}) → Verify over SFTP, then an incremental run; DuckDB reads back the lake exactly`, async () => {
			const root = sftpFolder(server, `wf-${fileType}`);
			const credentials = { sftp: { host: server.host, port: server.port, username: server.username, password: server.password, hostFingerprint: server.hostFingerprint, rootPath: root } };
			const first = await runWorkflow(toSftp(lake, '2026-11-22T06:00:00Z', fileType), credentials);
			assert.equal(first.error, undefined, first.error?.message);
			const [report] = first.output('Export Dataset');
			assert.equal(report.status, 'committed');
			assert.equal((report.destination as { type: string }).type, 'sftp');
			assert.equal((report.totals as { files: number; records: number }).files, 3);
			assert.equal(first.output('Verify Export')[0].ok, true);

			await addBatch({ dir: lake, datasetId: DS, records: 50, ingestedAt: new Date(Date.UTC(2026, 5, fileType === 'json' ? 2 : 1)), seed: `sftp-${fileType}` });
			const second = await runWorkflow(toSftp(lake, '2026-11-22T12:00:00Z', fileType), credentials);
			const [next] = second.output('Export Dataset');
			assert.equal((next.totals as { records: number }).records, 50);
			const verdict = second.output('Verify Export')[0];
			assert.equal(verdict.ok, true);
			assert.equal((verdict.commit as { sequence: number }).sequence, 2, 'the second commit in the log');
			assert.equal((verdict.continuity as { checked: boolean; ok: boolean }).ok, true);

			// what landed on the server, read by DuckDB, equals the lake (the server's disk is local here)
			const landed = filesUnder(root)
				.filter((p) => /\.(parquet|json\.gz)$/.test(p))
				.map((p) => join(root, p));
			const schema = sampleSchema(SAMPLE_DATASETS.find((d) => d.id === DS)!);
			assert.deepEqual(canonicalRecords(schema, await readFiles(landed)), canonicalRecords(schema, await readFiles(lakeFiles(lake, DS))));
		});
	}

	it('a wrong password goes to the error output naming the credential; nothing is written', async () => {
		const root = sftpFolder(server, 'wf-bad');
		const credentials = { sftp: { host: server.host, port: server.port, username: server.username, password: 'not-the-password', rootPath: root } };
		const result = await runWorkflow(toSftp(lake, '2026-11-22T06:00:00Z', 'json'), credentials);
		assert.deepEqual(result.output('Export Dataset'), []);
		const [failed] = result.errors('Export Dataset');
		assert.match(String(failed.json.error), /Destination: SFTP credential: dsxsftp@127\.0\.0\.1:\d+ refused the login/);
		assert.match(String((failed.error as NodeOperationError).description), /destination credential/);
		assert.ok(!JSON.stringify(failed.json).includes('not-the-password'));
		assert.deepEqual(filesUnder(root), []);
	});
});
