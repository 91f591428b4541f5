/** The example workflow exporting to S3 on a real Ceph RADOS Gateway, read back by DuckDB. */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { ICredentialsDecrypted, NodeOperationError } from 'n8n-workflow';
import { generateLake, sampleSchema, SAMPLE_DATASETS } from '../scripts/sample/generator';
import { credentialTest } from '../nodes/shared/methods/credentialTest';

const { googleCloudStorageConnectionTest, amazonS3ConnectionTest: s3ConnectionTest } = credentialTest;
import { canonicalRecords, readFiles } from './helpers/duckdb';
import { lakeFiles, tempDir } from './helpers/fixtures';
import { freshBucket, s3Server } from './helpers/servers';
import { exampleTo, runWorkflow, type WorkflowJson } from './harness/engine';
import { FaultProxy, s3Error } from './helpers/fault-proxy';

const DS = 'ajo_consent_service_dataset';
const server = s3Server();
const admin = new S3Client({ region: server.region, endpoint: server.endpoint, forcePathStyle: true, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
const credential = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, region: server.region, endpoint: server.endpoint, forcePathStyle: true };

function workflowTo(lake: string, bucket: string, destination = 'amazonS3', credentialType = 'datasetExportS3Api'): WorkflowJson {
	return exampleTo({ lake, dataset: DS, destination, credentialType, credentialId: 's3', both: { bucket }, exportOnly: { options: { maxRecordsPerFile: 700 } } });
}

describe('workflows exporting to S3 (Ceph RADOS Gateway on 127.0.0.1)', () => {
	const lake = tempDir('s3-lake');
	before(async () => {
		await generateLake({ dir: lake, records: 10000, seed: 's3', batches: 2, datasets: [DS] });
	});

	it('List → Export (Parquet) → Verify; DuckDB reads back the lake exactly', async () => {
		const bucket = await freshBucket('wf');
		const result = await runWorkflow(workflowTo(lake, bucket), { s3: credential });
		assert.equal(result.error, undefined, result.error?.message);
		const [report] = result.output('Export Dataset');
		assert.equal(report.status, 'committed');
		assert.equal((report.totals as { files: number }).files, 3);
		assert.equal(result.output('Verify Export')[0].ok, true);
		const dir = tempDir('s3-dl');
		mkdirSync(dir, { recursive: true });
		const local: string[] = [];
		for (const [i, file] of (report.files as Array<{ path: string }>).entries()) {
			const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: file.path }));
			const path = join(dir, `${i}.parquet`);
			writeFileSync(path, Buffer.from(await got.Body!.transformToByteArray()));
			local.push(path);
		}
		const schema = sampleSchema(SAMPLE_DATASETS.find((d) => d.id === DS)!);
		assert.deepEqual(canonicalRecords(schema, await readFiles(local)), canonicalRecords(schema, await readFiles(lakeFiles(lake, DS))));
	});

	it("transient faults are retried inside the node, with On Error › Continue (using error output), where n8n's Retry On Fail never runs", async () => {
		const proxy = await FaultProxy.start({ host: new URL(server.endpoint).hostname, port: Number(new URL(server.endpoint).port) });
		try {
			proxy.set({ kind: 'reply', method: 'PUT', target: /part-\d{5}-/, ...s3Error(503, 'SlowDown'), times: 2 }, { kind: 'dropReply', method: 'PUT', target: /\/commits\/\d{20}\.json/ });
			const bucket = await freshBucket('wf-faults');
			const workflow = exampleTo({
				lake,
				dataset: DS,
				destination: 'amazonS3',
				credentialType: 'datasetExportS3Api',
				credentialId: 's3',
				both: { bucket },
				exportOnly: { options: { maxRecordsPerFile: 700, retries: 4 } },
			});
			assert.equal(workflow.nodes.find((n) => n.name === 'Export Dataset')?.onError, 'continueErrorOutput');
			const result = await runWorkflow(workflow, { s3: { ...credential, endpoint: proxy.url } });
			assert.equal(result.error, undefined, result.error?.message);
			assert.deepEqual(result.errors('Export Dataset'), []);
			const [report] = result.output('Export Dataset');
			assert.equal(report.status, 'committed');
			const retries = report.retries as { requests: number; files: number; commit: number };
			// the two refused uploads and the commit whose reply was lost were each tried again (by the store or the engine)
			assert.ok(retries.requests + retries.files + retries.commit >= 3, JSON.stringify(retries));
			assert.equal(proxy.faults.length, 3);
			assert.equal(result.output('Verify Export')[0].ok, true);
		} finally {
			await proxy.stop();
		}
	});

	it('a wrong secret goes to the error output naming the credential; nothing is written', async () => {
		const bucket = await freshBucket('bad');
		const result = await runWorkflow(workflowTo(lake, bucket), { s3: { ...credential, secretAccessKey: 'not'.repeat(12) } });
		const [failed] = result.errors('Export Dataset');
		// AWS says SignatureDoesNotMatch; Ceph with STS enabled falls through to its STS engine and says AccessDenied
		assert.match(String(failed.json.error), /Destination: S3 credential: access denied .*\((SignatureDoesNotMatch|AccessDenied)\); check the Access Key ID, Secret Access Key/);
		assert.match(String((failed.error as NodeOperationError).description), /destination credential/);
		const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
		assert.equal(listed.KeyCount, 0);
	});

	it('a missing bucket is named', async () => {
		const result = await runWorkflow(workflowTo(lake, 'no-such-bucket-here'), { s3: credential });
		assert.match(String(result.errors('Export Dataset')[0].json.error), /bucket "no-such-bucket-here" does not exist/);
	});

	it('Google Cloud Storage with HMAC keys rides the S3 XML API path (exercised on the S3 server)', async () => {
		const bucket = await freshBucket('gcs');
		const hmac = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, endpoint: server.endpoint };
		const result = await runWorkflow(workflowTo(lake, bucket, 'googleCloudStorage', 'datasetExportGoogleCloudStorageApi'), { s3: hmac });
		assert.equal(result.error, undefined, result.error?.message);
		const [report] = result.output('Export Dataset');
		assert.equal((report.destination as { type: string }).type, 'google-cloud-storage');
		assert.equal(result.output('Verify Export')[0].ok, true);
		const test = (data: Record<string, unknown>) => googleCloudStorageConnectionTest.call({} as never, { id: 'x', name: 'x', type: 'x', data } as ICredentialsDecrypted);
		assert.equal((await test(hmac)).status, 'OK');
		assert.match((await test({ ...hmac, secretAccessKey: 'no'.repeat(20) })).message, /Google Cloud Storage credential: access denied/);
	});

	it('with a Role ARN: List → Export → Verify through the assumed role; a wrong role goes to the error output, nothing written', async () => {
		const role = { ...credential, roleArn: server.roleArn, roleSessionName: 'workflow-test' };
		const bucket = await freshBucket('wf-role');
		const result = await runWorkflow(workflowTo(lake, bucket), { s3: role });
		assert.equal(result.error, undefined, result.error?.message);
		const [report] = result.output('Export Dataset');
		assert.equal(report.status, 'committed');
		assert.equal(result.output('Verify Export')[0].ok, true);
		const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
		assert.equal(
			listed.KeyCount,
			(report.totals as { files: number }).files + 6,
			"the data files, the manifest, its commit record, the destination marker, and the run's intent, done marker and commit claim (kept until the next run after the safety age)",
		);

		const other = await freshBucket('wf-role-bad');
		const failed = await runWorkflow(workflowTo(lake, other), { s3: { ...role, roleArn: 'arn:aws:iam:::role/not-a-role' } });
		const [error] = failed.errors('Export Dataset');
		assert.match(String(error.json.error), /Destination: S3 credential: cannot assume the role in Role ARN \(arn:aws:iam:::role\/not-a-role\): no such role/);
		assert.equal((await admin.send(new ListObjectsV2Command({ Bucket: other }))).KeyCount, 0);
	});

	it('the Test button assumes the Role ARN when set: passes with the role, explains a bad one', async () => {
		const test = (data: Record<string, unknown>) => s3ConnectionTest.call({} as never, { id: 'x', name: 'x', type: 'x', data } as ICredentialsDecrypted);
		assert.deepEqual(await test({ ...credential, roleArn: server.roleArn }), { status: 'OK', message: 'The keys are accepted and the role was assumed' });
		const missing = await test({ ...credential, roleArn: 'arn:aws:iam:::role/no-such-role' });
		assert.equal(missing.status, 'Error');
		assert.match(missing.message, /cannot assume the role in Role ARN .*no such role/);
		const untrusted = await test({ ...credential, roleArn: server.externalIdRoleArn, externalId: 'wrong-external-id' });
		assert.equal(untrusted.status, 'Error');
		assert.match(untrusted.message, /access denied while assuming the role in Role ARN .*External ID/);
		const malformed = await test({ ...credential, roleArn: 'not-an-arn' });
		assert.match(malformed.message, /Role ARN must look like arn:aws:iam::/);
		for (const result of [missing, untrusted, malformed]) assert.ok(!result.message.includes(server.secretAccessKey));
	});

	it('the Test button accepts the right keys and explains wrong ones', async () => {
		const test = (data: Record<string, unknown>) => s3ConnectionTest.call({} as never, { id: 'x', name: 'x', type: 'x', data } as ICredentialsDecrypted);
		assert.deepEqual(await test(credential), { status: 'OK', message: 'The keys are accepted' });
		const wrong = await test({ ...credential, secretAccessKey: 'bad'.repeat(10) });
		assert.equal(wrong.status, 'Error');
		assert.match(wrong.message, /access denied/);
	});
});
