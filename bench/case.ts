/**
 * One benchmark case in its own process (so peak RSS is this case's): prints a JSON line.
 *   tsx bench/case.ts export <lake> <out> <fileType> <codec> [dataset]
 *   tsx bench/case.ts encode-only <lake> - <fileType> <codec> [dataset]
 *   tsx bench/case.ts export-s3 <lake> <s3 env.json> <fileType> <codec> [dataset]
 *   tsx bench/case.ts floor <records> <seed> - - [dataset]
 *   tsx bench/case.ts s3-lake <lake> <s3 env.json> <fileType> <codec> [dataset]  the lake copied to a bucket once, exported from there to a local folder
 *   tsx bench/case.ts pg-prepare <records> <postgres env.json>
 *   tsx bench/case.ts pg-floor <records> <postgres env.json>       COPY … TO STDOUT (psql) through node:zlib gzip
 *   tsx bench/case.ts pg-export <records> <postgres env.json> <fileType> <codec> <out>
 */
import { Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { join, sep } from 'node:path';
import { createGzip } from 'node:zlib';
import { runExport } from '../lib/export/run';
import { createEncoder, type Codec, type FileType } from '../lib/format';
import { gzipOptions } from '../lib/format/ndjson';
import { endSink, writeTo } from '../lib/format/types';
import { stringifyLines } from '../lib/json';
import { rng, sampleRecords } from '../scripts/sample/generator';
import { LocalLakeSource } from '../lib/source/local-lake';
import type { Source } from '../lib/source/types';
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

/**
 * One timed export, the first incremental run (a backfill, through the whole commit protocol), into
 * a folder named by the format; reports its figures.
 */
async function timedExport(source: Source, store: Store, datasetId: string, folderPrefix = '') {
	const started = process.hrtime.bigint();
	const r = await runExport(source, store, { datasetId, mode: 'incremental', fileType: fileType as FileType, codec: codec as Codec, folderPath: `${folderPrefix}${fileType}-${codec}` });
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	await store.close();
	report({ kind, fileType, codec, records: r.totals.records, bytes: r.totals.bytes, files: r.totals.files, seconds, protocolMs: r.protocolMs, stateReads: r.stateReads });
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
		await timedExport(new LocalLakeSource(a), store, dataset);
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
	} else if (kind === 's3-lake') {
		const env = JSON.parse(readFileSync(b, 'utf8')) as { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
		// one bucket per lake (its name from the lake's folder), filled once
		const bucket = `bench-lake-${createHash('sha256').update(a).digest('hex').slice(0, 12)}`;
		const { S3Store } = await import('../lib/storage/s3');
		const store = resilient(new S3Store({ ...env, forcePathStyle: true, bucket }), networkPolicy());
		const admin = new S3Client({ region: env.region, endpoint: env.endpoint, forcePathStyle: true, credentials: env });
		await admin.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
		admin.destroy();
		if (!(await store.stat('lake/.complete'))) {
			for (const name of readdirSync(a, { recursive: true, encoding: 'utf8' }).sort()) {
				const path = join(a, name);
				const key = `lake/${name.split(sep).join('/')}`;
				if (!statSync(path).isFile() || name.startsWith('.') || (await store.stat(key))) continue;
				const write = await store.openWrite(key);
				createReadStream(path).pipe(write.stream);
				await write.done;
			}
			const marker = await store.openWrite('lake/.complete');
			marker.stream.end('');
			await marker.done;
		}
		const { StoreLakeSource } = await import('../lib/source/store-lake');
		const out = join(process.env.BENCH_TMP ?? '/tmp', `s3-lake-out-${process.pid}`);
		mkdirSync(out, { recursive: true });
		await timedExport(new StoreLakeSource(store, 'lake'), resilient(new LocalFolderStore(out), networkPolicy()), dataset);
		await store.close();
		rmSync(out, { recursive: true, force: true });
	} else if (kind === 'pg-prepare' || kind === 'pg-floor' || kind === 'pg-export') {
		await postgresCase(Number(a), b);
	} else {
		throw new Error(`unknown case ${kind}`);
	}
}

/** The PostgreSQL cases: a table of `records` rows of mixed types in database dsx_bench. */
async function postgresCase(records: number, envFile: string) {
	const env = JSON.parse(readFileSync(envFile, 'utf8')) as { host: string; port: number; user: string; password: string; superuser: string; superuserPassword: string };
	const connection = { host: env.host, port: env.port, database: 'dsx_bench', user: env.user, password: env.password };
	const table = `events_${records}`;
	if (kind === 'pg-prepare') {
		const { Client } = await import('pg');
		const admin = new Client({ host: env.host, port: env.port, database: 'postgres', user: env.superuser, password: env.superuserPassword });
		await admin.connect();
		if (!(await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'dsx_bench'`)).rowCount) await admin.query(`CREATE DATABASE dsx_bench OWNER "${env.user}"`);
		await admin.end();
		const client = new Client(connection);
		await client.connect();
		const exists = (await client.query(`SELECT to_regclass($1) AS t`, [`public.${table}`])).rows[0].t;
		if (!exists) {
			const started = Date.now();
			await client.query(
				`CREATE TABLE ${table} (id bigint PRIMARY KEY, user_id bigint NOT NULL, amount numeric(12,2), score float8, kind text, at timestamptz NOT NULL,
				   payload jsonb, tags text[])`,
			);
			await client.query(
				`INSERT INTO ${table} SELECT i, (i * 7919) % 100000, round((i % 10000) * 1.37, 2), i / 7.0, (ARRAY['view','click','purchase','signup'])[1 + i % 4],
				        timestamptz '2026-01-01 00:00:00+00' + i * interval '1.5 second', jsonb_build_object('session', md5(i::text), 'n', i),
				        ARRAY['tag' || (i % 13), 'web']
				   FROM generate_series(1::bigint, $1::bigint) AS i`,
				[records],
			);
			await client.query(`ANALYZE ${table}`);
			console.error(`created ${table} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
		}
		await client.end();
		return;
	}
	if (kind === 'pg-floor') {
		const { spawn } = await import('node:child_process');
		const out = join(process.env.BENCH_TMP ?? '/tmp', `pg-floor-${process.pid}.tsv.gz`);
		const started = process.hrtime.bigint();
		const psql = spawn('psql', ['-X', '-q', '-h', env.host, '-p', String(env.port), '-U', env.user, '-d', 'dsx_bench', '-c', `COPY ${table} TO STDOUT`], {
			env: { ...process.env, PGPASSWORD: env.password },
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		const gzip = createGzip(gzipOptions(6));
		const file = createWriteStream(out);
		let bytes = 0;
		gzip.on('data', (c: Buffer) => (bytes += c.length));
		psql.stdout.pipe(gzip).pipe(file);
		await new Promise<void>((resolve, reject) => {
			psql.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`psql exited ${code}`))));
			file.once('close', () => resolve());
		});
		const seconds = Number(process.hrtime.bigint() - started) / 1e9;
		report({ kind, fileType: 'tsv', codec: 'gzip', records, bytes, seconds });
		return;
	}
	const { PostgresSource } = await import('../lib/source/postgres');
	const out = datasetArg;
	mkdirSync(out, { recursive: true });
	await timedExport(new PostgresSource(connection), new LocalFolderStore(out), `public.${table}`, 'pg-');
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
