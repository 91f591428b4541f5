/** Apache Parquet (the `parquet` file type): needs the dataset's schema; codecs inside the file. */
import { parquetProblem, type Schema } from '../../schema';
import { hashFile } from '../read';
import type { Format } from '../types';
import { checkParquet } from './check';
import { PARQUET_CONTENT_TYPE, PARQUET_EXTENSION, parquetCodecProblem, parquetEncoder } from './encoder';

export { checkParquet, type ParquetExpectations } from './check';
export { decimalBytes, isoMicros, parquetCodecProblem, parquetEncoder, parquetSchema, type ParquetOptions } from './encoder';

export const parquetFormat: Format = {
	id: 'parquet',
	name: 'Parquet',
	label: 'Parquet',
	codecs: [
		{ value: 'snappy', name: 'Snappy', description: 'Fast; the usual choice' },
		{ value: 'gzip', name: 'Gzip' },
		{ value: 'zstd', name: 'Zstd', description: 'Smaller files; needs n8n on Node.js 22.15 or newer' },
		{ value: 'none', name: 'None' },
	],
	defaultCodec: 'snappy',
	compressionDescription: 'Codec inside the Parquet files',
	extension: () => PARQUET_EXTENSION,
	contentType: () => PARQUET_CONTENT_TYPE,
	problem(codec, schema) {
		if (!schema) return { message: 'Parquet needs a schema and the dataset has none (and no records to infer one from)', field: 'fileType' };
		const message = parquetProblem(schema) ?? parquetCodecProblem(codec);
		return message ? { message, field: 'codec' } : undefined;
	},
	encoder: (codec, schema, options) => parquetEncoder(schema as Schema, codec, options),
	async check(store, path, size, options) {
		const structure = await checkParquet(store, path, size, { codec: options.codec, schema: options.schema, decode: options.decode, decodeTimeoutMs: options.decodeTimeoutMs });
		if (options.hash) Object.assign(structure, await hashFile(store, path));
		return structure;
	},
};
