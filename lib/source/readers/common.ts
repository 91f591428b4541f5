/**
 * What every lake-file reader shares: format by name, opening text (gunzipped when gzip), and the
 * two errors a reader raises (unreadable file, malformed record).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream';
import { SourceError } from '../types';

export type FileFormat = 'ndjson' | 'json' | 'csv' | 'parquet';

export const HIGH_WATER_MARK = 1 << 20;

/** Format from the file name (a `.gz` suffix is ignored: gzip is detected from the bytes). */
export function formatFromName(name: string): FileFormat | undefined {
	const base = name.toLowerCase().replace(/\.(gz|gzip)$/, '');
	if (/\.(ndjson|jsonl)$/.test(base)) return 'ndjson';
	if (base.endsWith('.json')) return 'json';
	if (base.endsWith('.csv')) return 'csv';
	if (base.endsWith('.parquet')) return 'parquet';
	return undefined;
}

async function isGzip(path: string): Promise<boolean> {
	const handle = await open(path, 'r');
	try {
		const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
		return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
	} finally {
		await handle.close();
	}
}

/**
 * The file's bytes as a stream, gunzipped when it is gzip. Cancellation is checked between
 * chunks by the callers; `pipeline` owns both streams' errors, so none goes unhandled when the
 * consumer stops early.
 */
export async function openText(path: string): Promise<NodeJS.ReadableStream> {
	const gzip = await isGzip(path);
	const raw = createReadStream(path, { highWaterMark: HIGH_WATER_MARK });
	if (!gzip) return raw;
	const gunzip = createGunzip({ chunkSize: 256 * 1024 });
	pipeline(raw, gunzip, () => undefined);
	return gunzip;
}

export function unreadable(path: string, error: unknown): SourceError {
	if (error instanceof SourceError) return error;
	const message = (error as Error)?.message ?? String(error);
	return new SourceError(`cannot read lake file ${path}: ${message}`, 'unreadable');
}

export function malformed(path: string, line: number, problem: string): SourceError {
	return new SourceError(`malformed record in ${path} at line ${line}: ${problem}`, 'malformed');
}

