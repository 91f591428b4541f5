import { parquetProblem, type Schema } from '../schema';
import { ndjsonEncoder } from './ndjson';
import { parquetCodecProblem, parquetEncoder } from './parquet';
import { FormatError, type Codec, type Encoder, type FileType } from './types';

export * from './types';

/** Codecs each file type offers, in the order the UI lists them. */
export const CODECS: Record<FileType, Codec[]> = {
	json: ['none', 'gzip'],
	parquet: ['snappy', 'gzip', 'zstd', 'none'],
};

export interface EncoderOptions {
	rowGroupRows?: number;
	maxFileBytes?: number;
	gzipLevel?: number;
	createdBy?: string;
}

/** Why records with this schema cannot be written as this file type and codec, if they cannot. */
export function formatProblem(fileType: FileType, codec: Codec, schema: Schema | undefined): string | undefined {
	if (!CODECS[fileType]) return `unknown file type "${fileType}"`;
	if (!CODECS[fileType].includes(codec)) {
		return `compression "${codec}" is not available for ${fileType === 'json' ? 'JSON' : 'Parquet'} (choose ${CODECS[fileType].join(', ')})`;
	}
	if (fileType === 'parquet') {
		if (!schema) return 'Parquet needs a schema and the dataset has none (and no records to infer one from)';
		return parquetProblem(schema) ?? parquetCodecProblem(codec);
	}
	return undefined;
}

export function createEncoder(fileType: FileType, codec: Codec, schema: Schema | undefined, options: EncoderOptions = {}): Encoder {
	const problem = formatProblem(fileType, codec, schema);
	if (problem) throw new FormatError(problem);
	return fileType === 'json' ? ndjsonEncoder(codec, options) : parquetEncoder(schema as Schema, codec, options);
}
