/**
 * NDJSON's reading side (Verify), streaming the file once (never held whole): the gzip stream
 * decodes to its end (gzip's own CRC-32 and length trailer checked by zlib), every line is valid
 * UTF-8 and parses as one JSON object, the file ends with a newline, and the line count is what
 * the manifest says.
 *
 * What only a checksum catches: a byte inside a string or number that stays valid JSON and UTF-8
 * (`a` → `c`, `1` → `3`); in gzip, the six header bytes zlib does not check (modification time,
 * extra flags, OS).
 */
import { createGunzip } from 'node:zlib';
import { HashingCounter } from '../../storage/common';
import type { Store } from '../../storage/types';
import { short } from '../read';
import type { StructureResult } from '../types';

/** A line longer than this is not parsed (it cannot be one of our records): the line count goes on. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A zlib failure in words. */
function gzipProblem(error: Error): string {
	const message = error.message;
	if (/unexpected end of file/i.test(message)) return 'the gzip stream ends before its end marker (the file is truncated, or bytes in it were changed)';
	if (/incorrect header check|unknown compression method|not in gzip format/i.test(message)) return `it does not start as a gzip stream (${message})`;
	if (/incorrect data check|incorrect length check/i.test(message)) return `the gzip checksum does not match the data (bytes changed: ${message})`;
	return `the gzip stream is damaged (${message})`;
}

/**
 * Stream an NDJSON file once: hash it (when `hash`), gunzip it (`gzip`), and check every line.
 * Reports the first bad line only (a damaged file usually has one), with its number.
 */
export async function checkNdjson(store: Store, path: string, gzip: boolean, hash: boolean): Promise<StructureResult> {
	const problems: string[] = [];
	const input = await store.read(path);
	const counter = new HashingCounter();
	const hashed = input.pipe(counter);
	input.on('error', (error) => counter.destroy(error));
	let gzipError: Error | undefined;
	const text = gzip ? hashed.pipe(createGunzip()) : hashed;
	if (gzip) {
		hashed.on('error', (error) => text.destroy(error));
		text.on('error', (error) => (gzipError ??= error));
	}
	let lines = 0;
	let pending: Buffer[] = [];
	let pendingBytes = 0;
	let tooLong = false;
	let firstBad: string | undefined;
	const check = (line: Buffer) => {
		lines++;
		if (firstBad) return;
		let decoded: string;
		try {
			decoded = utf8.decode(line);
		} catch {
			firstBad = `line ${lines} is not valid UTF-8 (a byte was changed or the file is not text)`;
			return;
		}
		let value: unknown;
		try {
			value = JSON.parse(decoded);
		} catch (error) {
			firstBad = `line ${lines} is not valid JSON (${short((error as Error).message)})`;
			return;
		}
		if (!value || typeof value !== 'object' || Array.isArray(value)) firstBad = `line ${lines} is not a JSON object (a record is one object per line)`;
	};
	let streamError: Error | undefined;
	try {
		for await (const chunk of text as AsyncIterable<Buffer>) {
			let start = 0;
			for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
				if (tooLong) {
					lines++;
					if (!firstBad) firstBad = `line ${lines} is longer than ${MAX_LINE_BYTES / 1048576} MiB (a newline is missing, or the file is not NDJSON)`;
				} else if (pending.length) {
					pending.push(chunk.subarray(start, nl));
					check(Buffer.concat(pending));
				} else check(chunk.subarray(start, nl));
				pending = [];
				pendingBytes = 0;
				tooLong = false;
				start = nl + 1;
			}
			if (start < chunk.length && !tooLong) {
				pendingBytes += chunk.length - start;
				if (pendingBytes > MAX_LINE_BYTES) {
					tooLong = true;
					pending = [];
				} else pending.push(Buffer.from(chunk.subarray(start)));
			}
		}
	} catch (error) {
		streamError = error as Error;
	}
	// drain what is left so the hash and size cover the whole object
	let drained = true;
	try {
		for await (const chunk of hashed) void chunk;
	} catch (error) {
		drained = false;
		streamError ??= error as Error;
	}
	const fromGzip = gzip && gzipError && (!streamError || streamError === gzipError);
	if (streamError || gzipError) {
		problems.push(`not a readable NDJSON file: ${fromGzip ? gzipProblem(gzipError as Error) : `it cannot be read to the end (${(streamError ?? gzipError)!.message})`}`);
	} else {
		if (pendingBytes || tooLong) problems.push(`not a readable NDJSON file: the last line (${lines + 1}) does not end with a newline (the file is truncated, or a newline was changed)`);
		if (firstBad) problems.push(`not a readable NDJSON file: ${firstBad}`);
	}
	const readable = problems.length === 0;
	return { size: counter.bytes, sha256: hash && drained ? counter.digest() : null, records: streamError || gzipError ? null : lines, readable, problems };
}
