/**
 * npm run generate-lake -- [--records N] [--out DIR] [--seed S] [--batches N] [--datasets a,b] [--format ndjson.gz|parquet|…] [--copies N]
 * Builds the sample Journey Optimizer lake (deterministic by seed).
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { generateLake, type BatchFileFormat } from './sample/generator';

const { values } = parseArgs({
	options: {
		records: { type: 'string', default: '10000' },
		out: { type: 'string', default: 'lake' },
		seed: { type: 'string', default: 'n8n' },
		batches: { type: 'string', default: '3' },
		datasets: { type: 'string' },
		format: { type: 'string' },
		'records-per-file': { type: 'string' },
		copies: { type: 'string' },
	},
});

async function main() {
	const records = Number(values.records);
	if (!Number.isInteger(records) || records < 0) throw new Error(`--records must be a whole number, not "${values.records}"`);
	const copies = values.copies === undefined ? undefined : Number(values.copies);
	if (copies !== undefined && (!Number.isInteger(copies) || copies < 1)) throw new Error(`--copies must be a whole number of at least 1, not "${values.copies}"`);
	const started = Date.now();
	const result = await generateLake({
		dir: resolve(values.out!),
		records,
		seed: values.seed,
		batches: Number(values.batches),
		datasets: values.datasets?.split(',').map((s) => s.trim()),
		format: values.format as BatchFileFormat | undefined,
		recordsPerFile: values['records-per-file'] ? Number(values['records-per-file']) : undefined,
		copies,
	});
	for (const d of result) console.log(`${d.id.padEnd(50)} ${String(d.records).padStart(10)} records in ${d.batches} batches`);
	console.log(`lake written to ${resolve(values.out!)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error) => {
	console.error(error.message);
	process.exit(1);
});
