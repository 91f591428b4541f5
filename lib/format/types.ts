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

/** The error of a sink that was destroyed (closed) before it finished, without an error of its own. */
export function sinkClosedError(): Error {
	return new Error('the destination stream was closed before the file was complete');
}

/** Why a sink can take no more bytes (its error, or a close before it finished), if it cannot. */
function sinkFailure(sink: Writable): Error | undefined {
	if (sink.errored) return sink.errored;
	if (sink.destroyed && !sink.writableFinished) return sinkClosedError();
	return undefined;
}

/**
 * Watches a sink for the whole life of a file, so that its first failure (an 'error', or a
 * 'close' before 'finish': destroyed without an error) is kept and reported to every later call,
 * not only to whoever happened to be waiting for it. It also listens to 'error' for good, so a
 * sink failing between writes never becomes an uncaught exception.
 */
export class SinkWatch {
	/** The sink's first failure, once it has failed. */
	error: Error | undefined;
	/** Rejects with the sink's first failure (never resolves). */
	readonly failed: Promise<never>;
	private reject!: (error: Error) => void;

	constructor(private readonly sink: Writable) {
		this.failed = new Promise<never>((_, reject) => (this.reject = reject));
		this.failed.catch(() => undefined);
		sink.on('error', (error: Error) => this.fail(error));
		sink.once('close', () => {
			if (!sink.writableFinished) this.fail(sink.errored ?? sinkClosedError());
		});
		const already = sinkFailure(sink);
		if (already) this.fail(already);
	}

	private fail(error: Error): void {
		if (this.error) return;
		this.error = error;
		this.reject(error);
	}

	/** Throws the sink's failure, if it has failed (checked synchronously: the event may still be queued). */
	check(): void {
		const error = this.error ?? sinkFailure(this.sink);
		if (error) {
			this.fail(error);
			throw error;
		}
	}
}

/** Write to a sink honouring back-pressure; rejects if the sink fails or closes before it drains. */
export async function writeTo(sink: Writable, chunk: Uint8Array): Promise<void> {
	const failure = sinkFailure(sink);
	if (failure) throw failure;
	if (sink.write(chunk)) return;
	await new Promise<void>((resolve, reject) => {
		const done = (error?: Error) => {
			sink.off('drain', onDrain);
			sink.off('error', onError);
			sink.off('close', onClose);
			if (error) reject(error);
			else resolve();
		};
		const onDrain = () => done();
		const onError = (error: Error) => done(error);
		const onClose = () => done(sink.errored ?? sinkClosedError());
		sink.on('drain', onDrain);
		sink.on('error', onError);
		sink.on('close', onClose);
		// the write itself may have failed the sink synchronously (its 'error' is still queued)
		const now = sinkFailure(sink);
		if (now) done(now);
	});
}

/**
 * End a sink and wait until it has flushed everything. Rejects with the sink's error, or when the
 * sink is (or gets) destroyed before it finished: a destroyed sink never emits 'finish'.
 */
export function endSink(sink: Writable): Promise<void> {
	return new Promise((resolve, reject) => {
		if (sink.writableFinished) return resolve();
		const failure = sinkFailure(sink);
		if (failure) return reject(failure);
		const done = (error?: Error) => {
			sink.off('finish', onFinish);
			sink.off('error', onError);
			sink.off('close', onClose);
			if (error) reject(error);
			else resolve();
		};
		const onFinish = () => done();
		const onError = (error: Error) => done(error);
		const onClose = () => done(sink.writableFinished ? undefined : (sink.errored ?? sinkClosedError()));
		sink.on('finish', onFinish);
		sink.on('error', onError);
		sink.on('close', onClose);
		sink.end();
	});
}
