/**
 * A destination that fails while a file is being encoded (a full disk, a dropped connection, an
 * aborted upload) must fail the export promptly, whatever the encoder and codec: the pending
 * write() or finish() and every later one reject with the destination's error, and nothing
 * waits for a 'drain' or 'finish' that will never come.
 */
import assert from 'node:assert/strict';
/* eslint-disable @n8n/community-nodes/no-dangerous-functions --
   a test, not node code: it mounts (and unmounts) a 1 MB tmpfs to fill a real disk */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { createEncoder, type Codec, type EncodedFile, type Encoder, type FileType } from '../../lib/format';
import type { Schema } from '../../lib/schema';
import type { DatasetRecord } from '../../lib/source/types';
import { LocalFolderStore } from '../../lib/storage/local';

const schema: Schema = {
	fields: [
		{ name: 'id', type: 'long', nullable: false },
		{ name: 'text', type: 'string' },
		{ name: 'score', type: 'double' },
		{ name: 'at', type: 'timestamp' },
		{ name: 'tags', type: 'array', items: { type: 'string' } },
	],
};

/** Records that barely compress (base64 of random bytes), ~250 bytes each as JSON. */
function records(count: number, start = 0): DatasetRecord[] {
	const out: DatasetRecord[] = [];
	for (let i = 0; i < count; i++) {
		out.push({
			id: BigInt(start + i),
			text: randomBytes(120).toString('base64'),
			score: Math.random(),
			at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
			tags: [randomBytes(6).toString('hex'), null],
		});
	}
	return out;
}

/** One chunk reused for every write: the bytes are random, re-encoding them costs little. */
const CHUNK = records(500);
/**
 * Raw bytes the drivers below write at most: more than any limit used here, and more than gzip's
 * 16 MB input buffer, so a gzip that stopped compressing would make write() wait (the hang seen).
 */
const MAX_RAW = 40 << 20;

const CASES: [FileType, Codec][] = [
	['json', 'none'],
	['json', 'gzip'],
	['parquet', 'none'],
	['parquet', 'snappy'],
	['parquet', 'gzip'],
];

const encoderFor = (fileType: FileType, codec: Codec): Encoder => createEncoder(fileType, codec, schema, { rowGroupRows: 2000 });

const enospc = (): NodeJS.ErrnoException => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });

/** A sink that takes `limit` bytes, then fails every write with ENOSPC (as fs.WriteStream does on a full disk). */
function fullSink(limit: number): Writable & { received: number } {
	const sink = new Writable({
		write(chunk: Buffer, _encoding, callback) {
			sink.received += chunk.length;
			// fail asynchronously, like the file system does
			setImmediate(() => callback(sink.received > limit ? enospc() : null));
		},
	}) as Writable & { received: number };
	sink.received = 0;
	return sink;
}

/** A sink that takes `limit` bytes, then stops calling back and is destroyed without an error (an aborted upload). */
function destroyedSink(limit: number): Writable & { received: number } {
	const sink = new Writable({
		write(chunk: Buffer, _encoding, callback) {
			sink.received += chunk.length;
			if (sink.received <= limit) setImmediate(callback);
			else setTimeout(() => sink.destroy(), 20); // the write never completes
		},
	}) as Writable & { received: number };
	sink.received = 0;
	return sink;
}

/** A sink that takes every byte but fails (or is destroyed) while the file is being finished. */
function failingAtEndSink(how: 'error' | 'destroy'): Writable {
	const sink: Writable = new Writable({
		write(_chunk, _encoding, callback) {
			setImmediate(callback);
		},
		final(callback) {
			if (how === 'error') setTimeout(() => callback(enospc()), 20);
			else setTimeout(() => sink.destroy(), 20); // final never calls back
		},
	});
	return sink;
}

/** Rejects when `promise` has not settled within `ms`: a hang fails the test instead of the run. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (hung)`)), ms);
	});
	try {
		return await Promise.race([promise, timeout]);
	} finally {
		clearTimeout(timer);
	}
}

/** Writes chunks until `MAX_RAW` bytes (or the file fails), then finishes: the file's first error. */
async function drive(file: EncodedFile, rawLimit = MAX_RAW): Promise<void> {
	let raw = 0;
	let id = 0;
	while (raw < rawLimit) {
		await file.write(CHUNK.map((r) => ({ ...r, id: BigInt(id++) })));
		raw += 250 * CHUNK.length;
	}
	await file.finish();
}

/**
 * Drives a file into `sink` and expects it to fail with `expected` within the time limit, then
 * expects a later write() and finish() to fail at once as well.
 */
async function expectFailure(file: EncodedFile, expected: RegExp, label: string, rawLimit?: number): Promise<void> {
	const failed = await within(
		4000,
		drive(file, rawLimit).then(
			() => undefined,
			(error: Error) => error,
		),
		label,
	);
	assert.ok(failed, `${label}: the export should have failed`);
	assert.match(String(failed.message), expected, `${label}: ${failed.message}`);
	await assert.rejects(within(500, file.write(CHUNK.slice(0, 10)), `${label}: a later write()`), expected);
	await assert.rejects(within(500, file.finish(), `${label}: a later finish()`), expected);
}

const DESTROYED = /destination stream was closed/;

describe('encoders fail promptly when the destination fails', { timeout: 60_000 }, () => {
	for (const [fileType, codec] of CASES) {
		const label = `${fileType}/${codec}`;

		it(`${label}: a sink failing with ENOSPC after 300 kB rejects with ENOSPC`, { timeout: 5000 }, async () => {
			const sink = fullSink(300 << 10);
			await expectFailure(encoderFor(fileType, codec).open(sink), /ENOSPC/, label);
			assert.ok(sink.received > 300 << 10, 'the sink did fill up');
		});

		it(`${label}: a sink destroyed mid-way (no error) rejects`, { timeout: 5000 }, async () => {
			const sink = destroyedSink(300 << 10);
			await expectFailure(encoderFor(fileType, codec).open(sink), DESTROYED, label);
		});

		it(`${label}: a sink that fails while finish() waits rejects with its error`, { timeout: 5000 }, async () => {
			await expectFailure(encoderFor(fileType, codec).open(failingAtEndSink('error')), /ENOSPC/, label, 200 << 10);
		});

		it(`${label}: a sink destroyed while finish() waits rejects`, { timeout: 5000 }, async () => {
			await expectFailure(encoderFor(fileType, codec).open(failingAtEndSink('destroy')), DESTROYED, label, 200 << 10);
		});

		it(`${label}: a sink destroyed before anything is written rejects the first write`, { timeout: 5000 }, async () => {
			const sink = fullSink(Infinity);
			const file = encoderFor(fileType, codec).open(sink);
			sink.destroy(enospc());
			await expectFailure(file, /ENOSPC/, label);
		});
	}

	it('json/gzip still writes a complete file to a sink that applies back-pressure', { timeout: 10_000 }, async () => {
		const parts: Buffer[] = [];
		const sink = new Writable({
			highWaterMark: 1024,
			write(chunk: Buffer, _encoding, callback) {
				parts.push(chunk);
				setImmediate(callback);
			},
		});
		const file = encoderFor('json', 'gzip').open(sink);
		for (let i = 0; i < 8; i++) await file.write(CHUNK);
		await within(5000, file.finish(), 'finish');
		const lines = gunzipSync(Buffer.concat(parts)).toString('utf8').trimEnd().split('\n');
		assert.equal(lines.length, 8 * CHUNK.length);
		assert.equal(JSON.parse(lines[0]).text, CHUNK[0].text);
		assert.equal(file.bytesOut, Buffer.concat(parts).length);
	});
});

describe('a full disk (1 MB tmpfs) through LocalFolderStore', { timeout: 60_000 }, () => {
	let dir: string | undefined;
	let mounted = false;
	let skip: string | false = false;

	before(() => {
		dir = mkdtempSync(join(tmpdir(), 'format-full-disk-'));
		if (process.getuid?.() !== 0) {
			skip = 'needs root to mount a 1 MB tmpfs';
			return;
		}
		try {
			execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'pipe' });
			mounted = true;
		} catch (error) {
			skip = `cannot mount a 1 MB tmpfs (${String((error as Error).message).split('\n')[0]})`;
		}
	});

	after(() => {
		if (mounted && dir) execFileSync('umount', [dir], { stdio: 'pipe' });
		if (dir) rmSync(dir, { recursive: true, force: true });
	});

	for (const [fileType, codec] of CASES) {
		const label = `${fileType}/${codec}`;
		it(`${label}: the export rejects with ENOSPC and leaves nothing behind`, { timeout: 8000 }, async (t) => {
			if (skip) return t.skip(skip);
			const store = new LocalFolderStore(dir as string);
			const encoder = encoderFor(fileType, codec);
			const upload = await store.openWrite(`out/${codec}-part${encoder.extension}`, { contentType: encoder.contentType });
			await expectFailure(encoder.open(upload.stream), /ENOSPC/, label);
			// the upload fails too (its message is the store's business), and abort() leaves nothing
			await assert.rejects(within(2000, upload.done, 'upload.done'));
			await within(2000, upload.abort(new Error('export failed')), 'upload.abort');
			assert.deepEqual(readdirSync(join(dir as string, 'out')), [], 'no temporary file left on the full disk');
		});
	}
});
