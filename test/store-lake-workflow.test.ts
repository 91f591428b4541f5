/**
 * examples/s3-lake-to-sftp.json as imported, through n8n's engine: a lake in S3 (Ceph) exported to
 * SFTP (OpenSSH) every 6 hours, verified against the lake; the next run exports only a new batch;
 * the files read back by DuckDB against the lake; the lake credential's Test button.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { ICredentialsDecrypted } from 'n8n-workflow';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { credentialTest } from '../nodes/shared/methods/credentialTest';
import { openStore } from '../lib/storage';
import { addBatch, generateLake, sampleSchema, SAMPLE_DATASETS } from '../scripts/sample/generator';
import { canonicalRecords, readFiles } from './helpers/duckdb';
import { lakeFiles, tempDir, uploadFolder } from './helpers/fixtures';
import { s3Server, sftpFolder, sftpServer } from './helpers/servers';
import { runWorkflow, setTriggerTime, type WorkflowJson } from './harness/engine';

const DS = 'ajo_consent_service_dataset';
const s3 = s3Server();
const sftp = sftpServer();
const lakeCredential = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, region: s3.region, endpoint: s3.endpoint, forcePathStyle: true };

/** A local lake written into the bucket below `lake/` (what is there already stays). */
async function uploadLake(dir: string, bucket: string): Promise<void> {
	const store = openStore({ type: 'amazonS3', ...lakeCredential, bucket });
	await uploadFolder(dir, store, 'lake').finally(() => store.close());
}

describe('examples/s3-lake-to-sftp.json through n8n’s engine (S3 lake on Ceph → SFTP)', () => {
	const lake = tempDir('s3-lake-wf');
	const bucket = `data-lake-${Date.now().toString(36)}`;
	before(async () => {
		await generateLake({ dir: lake, records: 3000, seed: 's3-lake-wf', batches: 2, datasets: [DS] });
		const admin = new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
		await admin.send(new CreateBucketCommand({ Bucket: bucket }));
		admin.destroy();
		await uploadLake(lake, bucket);
	});

	function example(): WorkflowJson {
		const workflow = JSON.parse(readFileSync(join(__dirname, '..', 'examples', 's3-lake-to-sftp.json'), 'utf8')) as WorkflowJson;
		for (const node of workflow.nodes) if (node.parameters.lakeBucket) node.parameters.lakeBucket = bucket;
		setTriggerTime(workflow, '2026-11-28T12:00:00Z');
		return workflow;
	}

	it('exports the lake to SFTP as Parquet, verified against the lake; only a new batch next time; DuckDB reads back the lake', async () => {
		const root = sftpFolder(sftp, 's3-lake');
		const credentials = {
			's3-lake': lakeCredential,
			'sftp-backup': { host: sftp.host, port: sftp.port, username: sftp.username, password: sftp.password, hostFingerprint: sftp.hostFingerprint, rootPath: root },
		};
		const first = await runWorkflow(example(), credentials);
		assert.equal(first.error, undefined, first.error?.message);
		assert.deepEqual(first.output('Raise alert'), []);
		const [report] = first.output('Export Dataset');
		assert.equal(report.datasetId, DS);
		assert.equal(report.status, 'committed');
		const inLake = await readFiles(lakeFiles(lake, DS));
		assert.ok(inLake.length > 0);
		assert.equal((report.totals as { records: number }).records, inLake.length);
		const [verdict] = first.output('Verify Export');
		assert.equal(verdict.ok, true, JSON.stringify(verdict));
		assert.equal((verdict.reconciliation as { matched: number }).matched, 2, 'both batches reconciled with the lake in S3');
		const schema = sampleSchema(SAMPLE_DATASETS.find((d) => d.id === DS)!);
		const files = (report.files as Array<{ path: string }>).map((f) => join(root, f.path));
		assert.deepEqual(canonicalRecords(schema, await readFiles(files)), canonicalRecords(schema, inLake));

		await addBatch({ dir: lake, datasetId: DS, records: 40, ingestedAt: new Date('2026-11-28T13:00:00Z'), seed: 's3-lake-wf-2' });
		await uploadLake(lake, bucket);
		const second = await runWorkflow(example(), credentials);
		assert.equal(second.error, undefined, second.error?.message);
		const [next] = second.output('Export Dataset');
		assert.equal((next.totals as { records: number }).records, 40, 'only the new batch');
		assert.equal(second.output('Verify Export')[0].ok, true);
	});

	it("the lake credential's Test button accepts the keys and refuses wrong ones", async () => {
		const test = (data: Record<string, unknown>) => credentialTest.amazonS3LakeConnectionTest.call({} as never, { id: 'x', name: 'x', type: 'datasetExportS3LakeApi', data } as ICredentialsDecrypted);
		assert.equal((await test(lakeCredential)).status, 'OK');
		const refused = await test({ ...lakeCredential, secretAccessKey: `wrong-${'sec'}ret-0123456789abcdef` });
		assert.equal(refused.status, 'Error');
		assert.match(refused.message, /signature|access denied|refused|credential/i);
	});
});
