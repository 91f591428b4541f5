/**
 * Newline-delimited JSON, one object per line, optionally gzip-compressed with node:zlib (its
 * gzip runs on libuv's thread pool, so compression overlaps with serialising the next chunk).
 */
import type { Writable } from 'node:stream';
import { createGzip, constants as zlibConstants, type ZlibOptions } from 'node:zlib';
import { stringifyLines } from '../../json';
import { RAW_JSON, type RecordChunk } from '../../source/types';
import { endSink, SinkWatch, writeTo, type Codec, type EncodedFile, type Encoder } from '../types';

/**
 * gzip settings shared with the benchmark's floor. The deep input buffer lets gzip (on libuv's
 * thread pool) compress while the main thread reads and validates the next chunks, instead of
 * the two taking turns; zlib accepts stream options although its typings do not list them.
 */
export function gzipOptions(level: number): ZlibOptions {
	return { level, chunkSize: 16 * 1024, flush: zlibConstants.Z_NO_FLUSH, writableHighWaterMark: 16 << 20 } as ZlibOptions;
}

export interface NdjsonOptions {
	/** gzip level 1–9 (default 6, zlib's default). */
	gzipLevel?: number;
}

class NdjsonFile implements EncodedFile {
	bytesOut = 0;
	/** Uncompressed bytes handed to gzip, and the compression ratio seen so far. */
	private rawIn = 0;
	private readonly gzip;
	/** The sink's first failure, kept for every later write() and finish(). */
	private readonly watch: SinkWatch;
	private readonly done: Promise<void> | undefined;

	constructor(
		private readonly sink: Writable,
		codec: Codec,
		options: NdjsonOptions,
		/** Compression ratio learned so far, shared by the files of one export. */
		private readonly learned: { ratio: number; rawIn: number; bytesOut: number },
	) {
		this.watch = new SinkWatch(sink);
		if (codec === 'gzip') {
			const gzip = (this.gzip = createGzip(gzipOptions(options.gzipLevel ?? 6)));
			gzip.on('data', (chunk: Buffer) => {
				this.bytesOut += chunk.length;
				if (!this.learned.rawIn && this.bytesOut >= 64 * 1024) this.learned.ratio = this.bytesOut / gzip.bytesWritten;
				if (!sink.write(chunk)) {
					gzip.pause();
					sink.once('drain', () => gzip.resume());
				}
			});
			this.done = new Promise<void>((resolve, reject) => {
				gzip.once('end', () => endSink(sink).then(resolve, reject));
				gzip.on('error', reject);
				this.watch.failed.catch(reject);
			});
			this.done.catch(() => undefined);
			// A failed sink sends no 'drain': gzip would stay paused, and a write() waiting for gzip's
			// own drain (its input buffer full) would wait for ever. Destroying gzip with the sink's
			// error fails that write, frees what gzip holds, and any later write fails at once.
			this.watch.failed.catch((error: Error) => gzip.destroy(error));
		}
	}

	get bytesPending() {
		// deflate holds back input before it emits output: estimate what it holds from the ratio so far
		return this.gzip ? Math.max(this.bytesOut, Math.round(this.rawIn * this.learned.ratio)) : this.bytesOut;
	}

	async write(records: RecordChunk): Promise<void> {
		this.watch.check();
		if (!records.length) return;
		const raw = records[RAW_JSON];
		const text = raw ? raw.join('\n') + '\n' : stringifyLines(records);
		const bytes = Buffer.from(text, 'utf8');
		if (this.gzip) {
			this.rawIn += bytes.length;
			await writeTo(this.gzip, bytes);
		} else {
			this.bytesOut += bytes.length;
			await writeTo(this.sink, bytes);
		}
	}

	async finish(): Promise<void> {
		this.watch.check();
		if (this.gzip) {
			this.gzip.end();
			await this.done;
			// a finished file gives the exact ratio (no bytes held back): learn from it
			this.learned.rawIn += this.rawIn;
			this.learned.bytesOut += this.bytesOut;
			if (this.learned.rawIn) this.learned.ratio = this.learned.bytesOut / this.learned.rawIn;
		} else {
			await endSink(this.sink);
		}
	}
}

export const ndjsonExtension = (codec: Codec) => (codec === 'gzip' ? '.json.gz' : '.json');
export const ndjsonContentType = (codec: Codec) => (codec === 'gzip' ? 'application/gzip' : 'application/x-ndjson');

export function ndjsonEncoder(codec: Codec, options: NdjsonOptions = {}): Encoder {
	const learned = { ratio: 0.35, rawIn: 0, bytesOut: 0 };
	return {
		fileType: 'json',
		codec,
		extension: ndjsonExtension(codec),
		contentType: ndjsonContentType(codec),
		usesJsonText: true,
		open: (sink) => new NdjsonFile(sink, codec, options, learned),
	};
}
