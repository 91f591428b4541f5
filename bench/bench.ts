/**
 * Benchmark helpers for bench/run.sh:
 *   bench.ts prepare <records> <dataset> <seed>   generate (or reuse) the lake, print its path
 *   bench.ts report <results.jsonl> <dataset>      print the table, ratios and targets
 * Targets: JSON.gz ≥ 80% of the node:zlib floor's rows/s, Parquet ≥ 150k rows/s, peak RSS < 300 MB
 * and within 20% between sizes.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateLake } from '../scripts/sample/generator';

interface Result {
	size: number;
	name: string;
	records: number;
	bytes: number;
	seconds: number;
	peakRssMb: number;
	/** Exports: milliseconds the commit protocol took (state, cleanup, intent, claim, commit, manifest). */
	protocolMs?: number;
	stateReads?: number;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function prepare(records: number, dataset: string, seed: string) {
	const dir = resolve('.tmp/bench', `lake-${dataset}-${records}-${seed}`);
	if (!existsSync(join(dir, '.complete'))) {
		rmSync(dir, { recursive: true, force: true });
		const started = Date.now();
		await generateLake({ dir, records, seed, batches: Math.max(1, Math.round(records / 250_000)), datasets: [dataset], format: 'ndjson.gz' });
		writeFileSync(join(dir, '.complete'), '');
		console.error(`generated ${fmt(records)} records of ${dataset} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
	}
	console.log(dir);
}

function report(file: string, dataset: string) {
	const results = readFileSync(file, 'utf8')
		.trim()
		.split('\n')
		.map((l) => JSON.parse(l) as Result);
	const sizes = [...new Set(results.map((r) => r.size))];
	for (const size of sizes) {
		const rows = results.filter((r) => r.size === size);
		const header = ['case', 'records', 'seconds', 'rows/s', 'out MB/s', 'out MB', 'peak RSS MB'];
		const body = rows.map((r) => [r.name, fmt(r.records), fmt(r.seconds, 2), fmt(r.records / r.seconds), fmt(r.bytes / 1e6 / r.seconds, 1), fmt(r.bytes / 1e6, 1), fmt(r.peakRssMb)]);
		const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
		const line = (cells: string[]) => cells.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
		console.log(`\n${fmt(size)} records of ${dataset} (lake: NDJSON.gz batches), Node ${process.version}, ${new Date().toISOString()}`);
		console.log(line(header));
		console.log(widths.map((w) => '-'.repeat(w)).join('  '));
		for (const b of body) console.log(line(b));
		const get = (prefix: string) => rows.find((r) => r.name.startsWith(prefix))!;
		const floor = get('floor');
		const json = get('export → local folder: json');
		const parquet = get('export → local folder: parquet');
		const ratio = json.records / json.seconds / (floor.records / floor.seconds);
		console.log(`\nJSON.gz export / floor rows/s: ${(ratio * 100).toFixed(0)}% (target ≥ 80%)`);
		console.log(`Parquet/Snappy export: ${fmt(parquet.records / parquet.seconds)} rows/s (target ≥ 150,000)`);
		console.log(`peak RSS: JSON.gz ${json.peakRssMb} MB, Parquet ${parquet.peakRssMb} MB (target < 300 MB)`);
		for (const r of rows.filter((x) => x.protocolMs !== undefined)) {
			console.log(
				`commit protocol in ${r.name}: ${fmt(r.protocolMs!)} ms of ${fmt(r.seconds, 2)} s (${((r.protocolMs! / 1000 / r.seconds) * 100).toFixed(2)}%, target ≤ 2%), ${r.stateReads} state reads`,
			);
		}
		const pgFloor = rows.find((r) => r.name.startsWith('PostgreSQL floor'));
		for (const r of rows.filter((x) => x.name.startsWith('PostgreSQL →'))) {
			const share = pgFloor ? ` (${((r.records / r.seconds / (pgFloor.records / pgFloor.seconds)) * 100).toFixed(0)}% of the COPY + gzip floor's rows/s)` : '';
			console.log(`${r.name}: ${fmt(r.records / r.seconds)} rows/s${share}, peak RSS ${r.peakRssMb} MB`);
		}
		for (const r of rows.filter((x) => x.name.includes('S3'))) {
			console.log(`${r.name}: ${fmt(r.records / r.seconds)} rows/s, ${fmt(r.bytes / 1e6 / r.seconds, 1)} MB/s, peak RSS ${r.peakRssMb} MB`);
		}
	}
	if (sizes.length > 1) {
		console.log('\nPeak RSS across sizes (target: within 20%):');
		for (const name of [...new Set(results.filter((r) => r.name.startsWith('export')).map((r) => r.name))]) {
			const rss = sizes.map((s) => results.find((r) => r.size === s && r.name === name)!.peakRssMb);
			const spread = ((Math.max(...rss) - Math.min(...rss)) / Math.min(...rss)) * 100;
			console.log(`  ${name}: ${rss.map((m, i) => `${fmt(sizes[i])} → ${m} MB`).join(', ')} (spread ${spread.toFixed(0)}%)`);
		}
	}
}

const [command, ...args] = process.argv.slice(2);
if (command === 'prepare') {
	prepare(Number(args[0]), args[1], args[2]).catch((error) => {
		console.error(error);
		process.exit(1);
	});
} else if (command === 'report') {
	report(args[0], args[1]);
} else {
	console.error('usage: bench.ts prepare <records> <dataset> <seed> | report <results.jsonl> <dataset>');
	process.exit(2);
}
