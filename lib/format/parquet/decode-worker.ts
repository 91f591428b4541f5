/**
 * Decoding a Parquet row group off the main thread. A damaged page can send a decoder into a loop
 * or ask for an absurd allocation (a flipped length); on n8n's main thread that would hang or kill
 * the whole instance. Here the row group's bytes (one ranged read) go to a worker thread with a
 * heap limit, and a watchdog terminates it when it takes too long: Verify then names the row
 * group as not decodable in time, and starts a fresh worker for the next file.
 *
 * One worker serves every call in turn (a queue), and does not keep the process alive.
 */
import { Worker } from 'node:worker_threads';
import type { FileMetaData } from 'hyparquet';

/** The worker's heap limit: a row group (10,000 rows by default) decodes in far less. */
const HEAP_MB = 1024;

const WORKER_CODE = `
const { parentPort } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
let libs;
const short = (t) => (t.length > 120 ? t.slice(0, 120) + '…' : t);
parentPort.on('message', async (m) => {
	try {
		libs ??= await Promise.all([import(pathToFileURL(m.hyparquet).href), import(pathToFileURL(m.compressors).href)]);
		const [{ parquetRead }, { compressors }] = libs;
		const bytes = m.bytes;
		const file = {
			byteLength: m.size,
			async slice(s, e) {
				e ??= m.size;
				if (s < m.base || e > m.base + bytes.byteLength) throw new Error('the footer points at bytes ' + s + '–' + e + ', outside the row group');
				return bytes.slice(s - m.base, e - m.base);
			},
		};
		// no onChunk or onComplete: hyparquet decodes every page and skips assembling rows (a third faster)
		const read = (columns) => parquetRead({ file, metadata: m.metadata, rowStart: m.start, rowEnd: m.end, columns, compressors });
		let problem;
		try {
			await read(undefined);
		} catch (error) {
			problem = short(String(error && error.message || error));
			// name the column: decode them one by one
			for (const column of m.columns) {
				const one = await read([column]).then(() => undefined, (e) => e);
				if (one) { problem = 'column ' + JSON.stringify(column) + ': ' + short(String(one && one.message || one)); break; }
			}
		}
		parentPort.postMessage({ problem });
	} catch (error) {
		parentPort.postMessage({ problem: short(String(error && error.message || error)) });
	}
});
`;

let worker: Worker | undefined;
let queue: Promise<unknown> = Promise.resolve();

function startWorker(): Worker {
	const started = new Worker(WORKER_CODE, { eval: true, resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } });
	started.unref();
	return started;
}

export interface DecodeJob {
	metadata: FileMetaData;
	size: number;
	/** File offset of `bytes`. */
	base: number;
	bytes: ArrayBuffer;
	start: number;
	end: number;
	/** Top-level columns, to name the one that fails. */
	columns: string[];
	timeoutMs: number;
}

/** Decode one row group in the worker: what is wrong, in words, or undefined. */
export function decodeRowGroup(job: DecodeJob): Promise<string | undefined> {
	const run = queue.then(() => decodeNow(job));
	queue = run.catch(() => undefined);
	return run;
}

function decodeNow(job: DecodeJob): Promise<string | undefined> {
	const current = (worker ??= startWorker());
	return new Promise((resolve) => {
		const done = (problem: string | undefined, restart = false) => {
			clearTimeout(timer);
			current.off('message', onMessage);
			current.off('error', onError);
			current.off('exit', onExit);
			if (restart) {
				if (worker === current) worker = undefined;
				void current.terminate();
			}
			resolve(problem);
		};
		const onMessage = (message: { problem?: string }) => done(message.problem);
		const onError = (error: Error & { code?: string }) =>
			done(error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `decoding it needs more than ${HEAP_MB} MiB (a damaged length or count)` : `decoding it failed (${error.message})`, true);
		const onExit = () => done('the decoder stopped unexpectedly', true);
		const timer = setTimeout(() => done(`decoding it did not finish within ${Math.round(job.timeoutMs / 1000)} s (damaged data can make a decoder loop)`, true), job.timeoutMs);
		current.on('message', onMessage);
		current.on('error', onError);
		current.on('exit', onExit);
		current.postMessage(
			{
				hyparquet: require.resolve('hyparquet'),
				compressors: require.resolve('hyparquet-compressors'),
				metadata: job.metadata,
				size: job.size,
				base: job.base,
				bytes: job.bytes,
				start: job.start,
				end: job.end,
				columns: job.columns,
			},
			[job.bytes],
		);
	});
}
