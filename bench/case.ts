/**
 * One benchmark case in its own process (so peak RSS is this case's): prints a JSON line.
 *   tsx bench/case.ts export <lake> <out> <fileType> <codec> [dataset]
 *   tsx bench/case.ts encode-only <lake> - <fileType> <codec> [dataset]
 *   tsx bench/case.ts export-s3 <lake> <s3 env.json> <fileType> <codec> [dataset]
 *   tsx bench/case.ts floor <records> <seed> - - [dataset]
 */
import { Writable } from 'node:stream';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { runExport } from '../lib/export/run';
import { createEncoder, type Codec, type FileType } from '../lib/format';
import { gzipOptions } from '../lib/format/ndjson';
import { endSink, writeTo } from '../lib/format/types';
import { stringifyLines } from '../lib/json';
import { rng, sampleRecords } from '../scripts/sample/generator';
import { LocalLakeSource } from '../lib/source/local-lake';
import { LocalFolderStore } from '../lib/storage/local';
import { networkPolicy } from '../lib/storage/network';
import { resilient } from '../lib/storage/resilient';
import type { Store } from '../lib/storage/types';

const [kind, a, b, fileType, codec, datasetArg] = process.argv.slice(2);
const dataset = datasetArg || 'ajo_message_feedback_event_dataset';

function report(result: Record<string, unknown>) {
	const rssMb = process.resourceUsage().maxRSS / 1024;
	console.log(JSON.stringify({ ...result, peakRssMb: Math.round(rssMb) }));
}

/** A sink that counts bytes and throws them away. */
class NullSink extends Writable {
	bytes = 0;
	_write(chunk: Buffer, _e: BufferEncoding, cb: () => void) {
		this.bytes += chunk.length;
		cb();
	}
}

async function main() {
	if (kind === 'export' || kind === 'export-s3') {
		let store: Store;
		if (kind === 'export-s3') {
			const env = JSON.parse(readFileSync(b, 'utf8')) as { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
			const bucket = `bench-${process.pid}`;
			const admin = new S3Client({ region: env.region, endpoint: env.endpoint, forcePathStyle: true, credentials: env });
			await admin.send(new CreateBucketCommand({ Bucket: bucket }));
			admin.destroy();
			// only the adapter this case uses is loaded (loading every backend's SDK adds ~50 MB of RSS)
			const { S3Store } = await import('../lib/storage/s3');
			store = resilient(new S3Store({ ...env, forcePathStyle: true, bucket }), networkPolicy());
		} else {
			mkdirSync(b, { recursive: true });
			store = resilient(new LocalFolderStore(b), networkPolicy());
		}
		const started = process.hrtime.bigint();
		const r = await runExport(new LocalLakeSource(a), store, {
			datasetId: dataset,
			// the first incremental run: a backfill, through the whole commit protocol
			mode: 'incremental',
			fileType: fileType as FileType,
			codec: codec as Codec,
			folderPath: `${fileType}-${codec}`,
		});
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		await store.close();
		report({ kind, fileType, codec, records: r.totals.records, bytes: r.totals.bytes, files: r.totals.files, seconds, protocolMs: r.protocolMs, stateReads: r.stateReads });
	} else if (kind === 'encode-only') {
		const source = new LocalLakeSource(a);
		const info = await source.getDataset(dataset);
		const sink = new NullSink();
		const started = process.hrtime.bigint();
		const file = createEncoder(fileType as FileType, codec as Codec, info.schema).open(sink);
		let records = 0;
		for (const batch of await source.listBatches(dataset)) {
			for await (const chunk of source.readBatch(info, batch, { jsonText: fileType === 'json' })) {
				await file.write(chunk);
				records += chunk.length;
			}
		}
		await file.finish();
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		report({ kind, fileType, codec, records, bytes: sink.bytes, seconds });
	} else if (kind === 'floor') {
		// node:zlib NDJSON.gz floor: the same generated rows, serialised and gzipped; the time to
		// generate the rows is measured alone in this process and subtracted.
		const records = Number(a);
		const generateOnly = async () => {
			const started = process.hrtime.bigint();
			for await (const chunk of sampleRecords(dataset, records, rng(b))) void chunk;
			return Number(process.hrtime.bigint() - started) / 1e9;
		};
		const generation = await generateOnly();
		const out = join(process.env.BENCH_TMP ?? '/tmp', `floor-${process.pid}.json.gz`);
		const file = createWriteStream(out);
		const gzip = createGzip(gzipOptions(6));
		gzip.pipe(file);
		let bytes = 0;
		gzip.on('data', (c: Buffer) => (bytes += c.length));
		const started = process.hrtime.bigint();
		for await (const chunk of sampleRecords(dataset, records, rng(b))) {
			await writeTo(gzip, Buffer.from(stringifyLines(chunk)));
		}
		await endSink(gzip);
		await new Promise<void>((resolve) => file.once('close', () => resolve()));
		const total = Number(process.hrtime.bigint() - started) / 1e9;
		report({ kind, fileType: 'json', codec: 'gzip', records, bytes, seconds: total - generation, generationSeconds: generation });
	} else {
		throw new Error(`unknown case ${kind}`);
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
