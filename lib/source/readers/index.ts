/**
 * Streaming readers for the lake's file formats. Each yields records in chunks and never holds
 * a whole file: text formats are read through a 1 MiB stream (gunzipped when the file starts with
 * gzip's magic bytes), Parquet one row group at a time through ranged reads.
 */
import type { Schema } from '../../schema';
import type { DatasetRecord } from '../types';
import type { FileFormat, LakeInput } from './common';
import { readCsv } from './csv';
import { readJsonOrNdjson, readNdjson } from './json';
import { readParquet } from './parquet';

export { formatFromName, localFile, type FileFormat, type LakeFile, type LakeInput } from './common';
export { readCsv } from './csv';
export { readJsonArray, readNdjson } from './json';
export { parquetFileSchema, parquetRowCount, readParquet } from './parquet';

export function readFile(path: LakeInput, format: FileFormat, schema: Schema | undefined, chunkSize: number, signal?: AbortSignal, jsonText = false): AsyncGenerator<DatasetRecord[]> {
	switch (format) {
		case 'ndjson':
			return readNdjson(path, chunkSize, signal, jsonText);
		case 'csv':
			return readCsv(path, schema, chunkSize, signal);
		case 'parquet':
			return readParquet(path, chunkSize, signal);
		case 'json':
			return readJsonOrNdjson(path, chunkSize, signal, jsonText);
	}
}
