import type { Writable } from 'node:stream';
import type { Schema } from '../schema';
import type { DatasetRecord } from '../source/types';
import type { Store } from '../storage/types';

/** A registered format's id (lib/format/index.ts FORMATS): `json`, `parquet`. */
export type FileType = string;
/** One of its format's codecs (`Format.codecs`): `none`, `gzip`, `snappy`, `zstd`. */
export type Codec = string;

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

/**
 * Options for encoders. Each format reads the ones it knows (Parquet: `rowGroupRows`; NDJSON:
 * `gzipLevel`) and ignores the rest; the engine passes the request's format options through.
 */
export interface EncoderOptions {
	/** Target file size: formats that buffer (Parquet row groups) flush early so a file can close near it. */
	maxFileBytes?: number;
	/** The writing program, for formats that record one (Parquet's `created_by`). */
	createdBy?: string;
	rowGroupRows?: number;
	gzipLevel?: number;
	[option: string]: unknown;
}

/** What a format says about a file's structure (Verify): read once, never held whole. */
export interface StructureResult {
	/** Bytes read (when the file was streamed through the hash). */
	size: number | null;
	/** SHA-256 of the bytes read (when `hash` was asked), else null. */
	sha256: string | null;
	/** Records found (lines, rows by the footer); null when the file cannot tell. */
	records: number | null;
	/** Whether the file could be read as its format all through. */
	readable: boolean;
	problems: string[];
}

/** What Verify knows about a file it asks a format to check. */
export interface CheckOptions {
	/** The file's name (a format may tell its codec from the extension). */
	name: string;
	/** The codec the manifest names, if it names one. */
	codec?: Codec;
	/** The schema the manifest says the file was written with. */
	schema?: Schema | null;
	/** Decode everything (every page, every value); else the format's quick checks only (default true). */
	decode?: boolean;
	/** Stream the file through SHA-256 and report `size` and `sha256`. */
	hash: boolean;
	/** Time one unit of decoding (a Parquet row group) may take (the format's default when absent). */
	decodeTimeoutMs?: number;
}

/** Why records with a schema cannot be written as a format and codec, and which choice is at fault. */
export interface FormatProblem {
	message: string;
	/** `codec`: another codec would do; `fileType`: the format cannot take this dataset. */
	field: 'fileType' | 'codec';
}

/** A codec as the UI offers it. */
export interface CodecInfo {
	value: Codec;
	/** Its name in the node's Compression list ("Gzip"). */
	name: string;
	description?: string;
}

/**
 * An output format: everything the engine, Verify and the nodes know about it. Registered in
 * lib/format/index.ts (`registerFormat`); nothing else names a format.
 */
export interface Format {
	/** The File Type value (request, manifest, node parameter): `json`, `parquet`. */
	readonly id: FileType;
	/** Its short name in messages: "JSON", "Parquet". */
	readonly name: string;
	/** Its name in the node's File Type list: "JSON (Newline-Delimited)". */
	readonly label: string;
	/** Said beside the id in the node's messages when the id alone is not clear ("JSON, newline-delimited"). */
	readonly aside?: string;
	/** Its codecs, in the order messages list them. */
	readonly codecs: readonly CodecInfo[];
	/** The codec the node starts with. */
	readonly defaultCodec: Codec;
	/** What the node's Compression parameter says about the codecs. */
	readonly compressionDescription: string;
	/** File name suffix for a codec, e.g. `.json.gz`. */
	extension(codec: Codec): string;
	contentType(codec: Codec): string;
	/** Why records with this schema cannot be written with this codec (the codec is one of `codecs`). */
	problem(codec: Codec, schema: Schema | undefined): FormatProblem | undefined;
	/** An encoder (after `problem` said nothing: the schema is there if the format needs one). */
	encoder(codec: Codec, schema: Schema | undefined, options: EncoderOptions): Encoder;
	/** Verify's reading side: the file's structure, its record count, and (`hash`) its SHA-256. */
	check(store: Store, path: string, size: number, options: CheckOptions): Promise<StructureResult>;
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
