/**
 * The process the crash test SIGKILLs: it exports a dataset again and again until it is killed,
 * printing a line as each run starts and ends. Arguments: one JSON object
 * {lake, datasetId, destination (a DestinationConfig)}.
 */
import { runExport } from '../../lib/export/run';
import { LocalLakeSource } from '../../lib/source/local-lake';
import { openStore, type DestinationConfig } from '../../lib/storage';

const { lake, datasetId, destination } = JSON.parse(process.argv[2]) as { lake: string; datasetId: string; destination: DestinationConfig };

async function main() {
	const store = openStore(destination);
	for (let run = 0; ; run++) {
		process.stdout.write(`start ${run}\n`);
		const report = await runExport(new LocalLakeSource(lake), store, {
			datasetId,
			mode: 'incremental',
			fileType: 'json',
			codec: 'gzip',
			folderPath: 'exports',
			maxRecordsPerFile: 100,
			// short, so the clean run after the kills may remove what a killed committer left
			commitWindow: { windowMs: 3_000, landingMs: 500 },
			exportTime: new Date(Date.UTC(2026, 10, 1) + run * 60_000).toISOString(),
		}).catch((error: Error) => ({ status: `failed: ${error.message}` }));
		process.stdout.write(`end ${run} ${report.status}\n`);
	}
}

void main();
