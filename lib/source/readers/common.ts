/**
 * What every lake-file reader shares: format by name, opening text (gunzipped when gzip), decoding
 * it as strict UTF-8, and the two errors a reader raises (unreadable file, malformed record).
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { pipeline, type Readable } from 'node:stream';
import { attempt } from '../../errors';
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

/**
 * A lake file wherever it is: a file on this host, or an object in a store (a lake on S3, Azure,
 * GCS, SFTP), read as a stream or by byte ranges (Parquet: the footer, then row groups).
 */
export interface LakeFile {
	/** The file as messages and records' origin name it. */
	readonly name: string;
	size(): Promise<number>;
	/** Every byte, as a stream. */
	stream(): Promise<NodeJS.ReadableStream>;
	/** Bytes `[start, end)`. */
	range(start: number, end: number): Promise<Uint8Array>;
	close?(): Promise<void>;
}

/** A path on this host (what the local lake reads), or a lake file. */
export type LakeInput = string | LakeFile;

export const nameOf = (input: LakeInput): string => (typeof input === 'string' ? input : input.name);

/** A file on this host as a lake file, read through one file handle for ranges. */
export function localFile(path: string): LakeFile {
	let handle: Promise<Awaited<ReturnType<typeof open>>> | undefined;
	return {
		name: path,
		size: async () => (await stat(path)).size,
		stream: async () => createReadStream(path, { highWaterMark: HIGH_WATER_MARK }),
		async range(start, end) {
			handle ??= open(path, 'r');
			const file = await handle;
			const buffer = Buffer.allocUnsafe(end - start);
			let done = 0;
			while (done < buffer.length) {
				const { bytesRead } = await file.read(buffer, done, buffer.length - done, start + done);
				if (!bytesRead) throw new Error(`unexpected end of file at byte ${start + done}`);
				done += bytesRead;
			}
			return buffer;
		},
		async close() {
			const file = await handle?.catch(() => undefined);
			handle = undefined;
			await file?.close();
		},
	};
}

export const asLakeFile = (input: LakeInput): LakeFile => (typeof input === 'string' ? localFile(input) : input);

async function isGzip(file: LakeFile): Promise<boolean> {
	if ((await file.size()) < 2) return false;
	try {
		const bytes = await file.range(0, 2);
		return bytes[0] === 0x1f && bytes[1] === 0x8b;
	} finally {
		await file.close?.();
	}
}

/**
 * The file's bytes as a stream, gunzipped when it is gzip. Cancellation is checked between
 * chunks by the callers; `pipeline` owns both streams' errors, so none goes unhandled when the
 * consumer stops early.
 */
export async function openText(input: LakeInput): Promise<NodeJS.ReadableStream> {
	const file = asLakeFile(input);
	const gzip = await isGzip(file);
	const raw = (await file.stream()) as Readable;
	if (!gzip) return raw;
	const gunzip = createGunzip({ chunkSize: 256 * 1024 });
	pipeline(raw, gunzip, () => undefined);
	return gunzip;
}

export function unreadable(input: LakeInput, error: unknown): SourceError {
	if (error instanceof SourceError) return error;
	const message = (error as Error)?.message ?? String(error);
	return new SourceError(`cannot read lake file ${nameOf(input)}: ${message}`, 'unreadable');
}

/** The longest excerpt of a lake file's content an error message shows. */
export const EXCERPT_CHARS = 60;

/** A bounded excerpt of text for a message: JSON-quoted, at most EXCERPT_CHARS characters of it. */
export function textExcerpt(text: string, max = EXCERPT_CHARS): string {
	return text.length > max ? JSON.stringify(text.slice(0, max)) + '…' : JSON.stringify(text);
}

/**
 * A problem as a message may show it: parsers quote the input they choke on (V8's JSON.parse
 * quotes the record, csv-parse the field), so quoted runs longer than EXCERPT_CHARS are cut and the
 * whole is bounded. Only the lake file's own text is ever quoted, never anything else.
 */
export function boundedProblem(problem: string): string {
	// V8: `Unexpected token 'x', "<the input>" is not valid JSON`: the input is shown by the caller
	let text = problem.replace(/, ".*"(?:\.\.\.)? is not valid JSON$/s, ' (not valid JSON)');
	text = text.replace(/"([^"\n]|\\.){61,}"/g, (quoted) => quoted.slice(0, EXCERPT_CHARS + 1) + '…"');
	const max = 200 + EXCERPT_CHARS;
	return text.length > max ? text.slice(0, max) + '…' : text;
}

export function malformed(input: LakeInput, line: number, problem: string): SourceError {
	return new SourceError(`malformed record in ${nameOf(input)} at line ${line}: ${boundedProblem(problem)}`, 'malformed');
}

/**
 * Why a JSON text did not parse, with a bounded excerpt of it: where V8 gives a position, the
 * excerpt starts a few characters before it.
 */
export function jsonProblem(error: Error, text: string): string {
	const message = boundedProblem(error.message);
	const at = /at position (\d+)/.exec(error.message);
	const start = at ? Math.max(0, Number(at[1]) - 20) : 0;
	const shown = text.slice(start, start + EXCERPT_CHARS);
	return `${message}; the record ${start ? `near character ${start + 1}` : 'starts'}: ${JSON.stringify(shown)}${start + EXCERPT_CHARS < text.length ? '…' : ''}`;
}

/** Invalid UTF-8 in a text file: `newlines` is the count of line feeds before it in the bytes decoded since the error's chunk began. */
export class InvalidUtf8 extends Error {
	constructor(
		readonly newlines: number,
		readonly byte: number | undefined,
	) {
		super(byte === undefined ? 'the file ends inside a UTF-8 character' : `byte 0x${byte.toString(16).padStart(2, '0')} is not valid UTF-8`);
		this.name = 'InvalidUtf8';
	}
}

/** The malformed-file error for invalid UTF-8 at a line. */
export function invalidUtf8(input: LakeInput, line: number, error: InvalidUtf8): SourceError {
	return malformed(input, line, `${error.message} (the file must be UTF-8 text)`);
}

/** Length of a UTF-8 sequence from its lead byte (0 for a byte that cannot start one). */
function sequenceLength(b: number): number {
	if (b < 0x80) return 1;
	if (b >= 0xc2 && b <= 0xdf) return 2;
	if (b >= 0xe0 && b <= 0xef) return 3;
	if (b >= 0xf0 && b <= 0xf4) return 4;
	return 0;
}

/** Offset of the first byte that starts no valid UTF-8 sequence, -1 when none, or `bytes.length` when it ends inside one. */
function firstInvalid(bytes: Uint8Array): number {
	for (let i = 0; i < bytes.length; ) {
		const b = bytes[i];
		const n = sequenceLength(b);
		if (n === 0) return i;
		if (n === 1) {
			i++;
			continue;
		}
		if (i + n > bytes.length) {
			// the available continuation bytes must still be valid
			for (let k = 1; i + k < bytes.length; k++) if (!continues(bytes, i, k)) return i;
			return bytes.length;
		}
		for (let k = 1; k < n; k++) if (!continues(bytes, i, k)) return i;
		i += n;
	}
	return -1;
}

/** Whether byte k of the sequence starting at i is a valid continuation (second-byte limits of RFC 3629 included). */
function continues(bytes: Uint8Array, i: number, k: number): boolean {
	const c = bytes[i + k];
	if (c < 0x80 || c > 0xbf) return false;
	if (k !== 1) return true;
	const lead = bytes[i];
	if (lead === 0xe0) return c >= 0xa0;
	if (lead === 0xed) return c <= 0x9f; // no surrogates
	if (lead === 0xf0) return c >= 0x90;
	if (lead === 0xf4) return c <= 0x8f;
	return true;
}

function countNewlines(bytes: Uint8Array, end: number): number {
	let n = 0;
	for (let i = 0; i < end; i++) if (bytes[i] === 10) n++;
	return n;
}

/**
 * Strict streaming UTF-8: a byte order mark at the start is dropped, and invalid bytes throw
 * InvalidUtf8 (never U+FFFD). The fast path is the platform's fatal TextDecoder; only on an error
 * are the bytes scanned again to say where.
 */
export class Utf8Text {
	private readonly decoder = new TextDecoder('utf-8', { fatal: true });
	/** The bytes of the previous chunk's unfinished character (0–3), kept only to locate an error. */
	private previous: Uint8Array = new Uint8Array(0);

	write(chunk: Uint8Array): string {
		const text = attempt(() => this.decoder.decode(chunk, { stream: true }));
		if (!text.ok) throw this.locate(chunk);
		this.previous = chunk;
		return text.value;
	}

	end(): string {
		const text = attempt(() => this.decoder.decode());
		if (!text.ok) throw new InvalidUtf8(0, undefined);
		return text.value;
	}

	private locate(chunk: Uint8Array): InvalidUtf8 {
		// the previous chunk's unfinished character, if any, goes with this one
		const prev = this.previous;
		return locateInvalid(prev.subarray(incompleteTail(prev, Math.max(0, prev.length - 3))), chunk);
	}
}

/** Where the bytes end with an unfinished character (looking at most 3 bytes back from `from`), or their length. */
function incompleteTail(bytes: Uint8Array, from: number): number {
	for (let p = bytes.length - 1; p >= from && p >= bytes.length - 3; p--) {
		const b = bytes[p];
		if (b < 0x80) break;
		if (b >= 0xc0) return p + sequenceLength(b) > bytes.length && sequenceLength(b) > 0 ? p : bytes.length;
	}
	return bytes.length;
}

/** The error for the first invalid byte of `carry` + `chunk` (carry: an unfinished character from before). */
function locateInvalid(carry: Uint8Array, chunk: Uint8Array): InvalidUtf8 {
	const bytes = new Uint8Array(carry.length + chunk.length);
	bytes.set(carry, 0);
	bytes.set(chunk, carry.length);
	const at = firstInvalid(bytes);
	const offset = at < 0 || at >= bytes.length ? bytes.length : at;
	return new InvalidUtf8(countNewlines(bytes, offset), offset < bytes.length ? bytes[offset] : undefined);
}

/**
 * Strict UTF-8 validation of a byte stream that is passed on as bytes (for parsers that decode
 * themselves): `check` throws InvalidUtf8 at the first invalid byte; a character split between
 * chunks is checked when its end arrives. Native (isUtf8) on the fast path.
 */
export class Utf8Check {
	/** The previous chunk's unfinished character (0–3 bytes). */
	private carry: Uint8Array = new Uint8Array(0);

	check(chunk: Uint8Array): void {
		let start = 0;
		if (this.carry.length) {
			const need = sequenceLength(this.carry[0]) - this.carry.length;
			const joined = new Uint8Array(this.carry.length + Math.min(need, chunk.length));
			joined.set(this.carry, 0);
			joined.set(chunk.subarray(0, need), this.carry.length);
			if (chunk.length < need) {
				if (firstInvalid(joined) !== joined.length) throw locateInvalid(this.carry, chunk);
				this.carry = joined;
				return;
			}
			if (!isUtf8(joined)) throw locateInvalid(this.carry, chunk);
			start = need;
		}
		const cut = incompleteTail(chunk, start);
		if (!isUtf8(chunk.subarray(start, cut))) throw locateInvalid(this.carry, chunk);
		this.carry = chunk.slice(cut);
	}

	end(): void {
		if (this.carry.length) throw new InvalidUtf8(0, undefined);
	}
}
