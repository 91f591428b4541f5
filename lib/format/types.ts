import type { Writable } from 'node:stream';
import type { DatasetRecord } from '../source/types';

export type FileType = 'json' | 'parquet';
export type Codec = 'none' | 'gzip' | 'snappy' | 'zstd';

/** One output file being encoded into a byte sink. */
export interface EncodedFile {
	/** Encode a chunk of records; resolves once the sink has taken the bytes (back-pressure). */
	write(records: DatasetRecord[]): Promise<void>;
	/** Bytes handed to the sink so far. */
	readonly bytesOut: number;
	/** Bytes the file will reach when what it buffers is flushed (an estimate for Parquet). */
	readonly bytesPending: number;
	/** Flush everything, end the sink, and resolve when the sink has the last byte. */
	finish(): Promise<void>;
}

/** An encoder: records in, bytes out. Knows nothing about where the bytes go. */
export interface Encoder {
	readonly fileType: FileType;
	readonly codec: Codec;
	/** File name suffix, e.g. `.json.gz` or `.parquet`. */
	readonly extension: string;
	readonly contentType: string;
	/** The encoder writes a chunk's RAW_JSON text when it has one (see ReadOptions.jsonText). */
	readonly usesJsonText: boolean;
	/** Records per chunk the encoder wants from the source (the source's default when absent). */
	readonly chunkRecords?: number;
	open(sink: Writable): EncodedFile;
}

export class FormatError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'FormatError';
	}
}

/** Write to a sink honouring back-pressure. */
export async function writeTo(sink: Writable, chunk: Uint8Array): Promise<void> {
	if (sink.destroyed) throw sink.errored ?? new Error('the destination stream was closed');
	if (sink.write(chunk)) return;
	await new Promise<void>((resolve, reject) => {
		const onDrain = () => {
			sink.off('error', onError);
			sink.off('close', onClose);
			resolve();
		};
		const onError = (error: Error) => {
			sink.off('drain', onDrain);
			sink.off('close', onClose);
			reject(error);
		};
		const onClose = () => {
			sink.off('drain', onDrain);
			sink.off('error', onError);
			reject(sink.errored ?? new Error('the destination stream was closed'));
		};
		sink.once('drain', onDrain);
		sink.once('error', onError);
		sink.once('close', onClose);
	});
}

/** End a sink and wait until it has flushed everything. */
export function endSink(sink: Writable): Promise<void> {
	return new Promise((resolve, reject) => {
		if (sink.writableFinished) return resolve();
		sink.once('finish', resolve);
		sink.once('error', reject);
		sink.end();
	});
}
