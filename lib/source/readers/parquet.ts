/** Parquet, one row group at a time through ranged reads of the file. */
import { open, stat } from 'node:fs/promises';
import { parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { DatasetRecord } from '../types';
import { unreadable } from './common';

const PARQUET_PARSERS = {
	dateFromDays: (days: number) => new Date(days * 86_400_000).toISOString().slice(0, 10),
};

/** Parquet, one row group at a time through ranged reads of the file. */
export async function* readParquet(path: string, chunkSize: number, signal?: AbortSignal): AsyncGenerator<DatasetRecord[]> {
	let handle;
	try {
		handle = await open(path, 'r');
	} catch (error) {
		throw unreadable(path, error);
	}
	try {
		const { size } = await stat(path);
		const file = {
			byteLength: size,
			async slice(start: number, end?: number): Promise<ArrayBuffer> {
				const stop = end ?? size;
				const buffer = Buffer.allocUnsafe(stop - start);
				let done = 0;
				while (done < buffer.length) {
					const { bytesRead } = await handle!.read(buffer, done, buffer.length - done, start + done);
					if (!bytesRead) throw new Error(`unexpected end of file at byte ${start + done}`);
					done += bytesRead;
				}
				return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length) as ArrayBuffer;
			},
		};
		let metadata;
		try {
			metadata = await parquetMetadataAsync(file);
		} catch (error) {
			throw unreadable(path, new Error(`not a readable Parquet file (${(error as Error).message})`));
		}
		let rowStart = 0;
		for (const group of metadata.row_groups) {
			signal?.throwIfAborted();
			const rows = Number(group.num_rows);
			let records: DatasetRecord[];
			try {
				records = (await parquetReadObjects({
					file,
					metadata,
					rowStart,
					rowEnd: rowStart + rows,
					compressors,
					parsers: PARQUET_PARSERS,
				})) as DatasetRecord[];
			} catch (error) {
				throw unreadable(path, error);
			}
			rowStart += rows;
			for (let i = 0; i < records.length; i += chunkSize) yield records.slice(i, i + chunkSize);
		}
	} finally {
		await handle.close();
	}
}

/** Number of records in a Parquet file, from its footer. */
export async function parquetRowCount(path: string): Promise<number> {
	const handle = await open(path, 'r');
	try {
		const { size } = await stat(path);
		const metadata = await parquetMetadataAsync({
			byteLength: size,
			async slice(start: number, end?: number) {
				const buffer = Buffer.alloc((end ?? size) - start);
				await handle.read(buffer, 0, buffer.length, start);
				return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.length) as ArrayBuffer;
			},
		});
		return Number(metadata.num_rows);
	} finally {
		await handle.close();
	}
}

