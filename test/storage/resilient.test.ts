/**
 * The network plumbing without servers: the upload watchdog (common.ts), the retry loop
 * (network.ts) and the retry layer (resilient.ts) around a scripted store.
 */
import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { writeTo } from '../../lib/format/types';
import { hashedUpload, readAll } from '../../lib/storage/common';
import { backoffDelay, networkPolicy, retrying } from '../../lib/storage/network';
import { resilient } from '../../lib/storage/resilient';
import { StoreError, type ObjectStat, type Store, type StoredObject, type UnfinishedUpload, type Upload } from '../../lib/storage/types';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const IDLE = 300;
const policy = networkPolicy({ idleTimeoutMs: IDLE, maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20, maxRetryMs: 5000 });
const unavailable = (what = 'x') => new StoreError(`${what}: connection reset`, 'unavailable');

/** A backend that takes bytes at its own pace: `take()` resolves per chunk. */
function backend(take: (chunk: Buffer) => Promise<void>) {
	return new Writable({
		highWaterMark: 1024,
		write(chunk: Buffer, _encoding, callback) {
			take(chunk).then(() => callback(), callback);
		},
	});
}

describe('upload watchdog (hashedUpload)', () => {
	it('a slow writer never counts: pauses of several idle timeouts succeed', async () => {
		const upload = hashedUpload(
			'slow/writer.json',
			(counter) =>
				pipeline(
					counter,
					backend(async () => undefined),
				),
			{ idleTimeoutMs: IDLE },
		);
		for (let i = 0; i < 3; i++) {
			await writeTo(upload.stream, Buffer.alloc(10_000, i));
			await sleep(IDLE * 2);
		}
		upload.stream.end();
		assert.equal((await upload.done).size, 30_000);
	});

	it('a backend that stops taking bytes while the writer waits fails with a timeout naming the path', async () => {
		const upload = hashedUpload(
			'stuck/data.bin',
			(counter) =>
				pipeline(
					counter,
					backend(() => new Promise(() => undefined)),
				),
			{ idleTimeoutMs: IDLE },
		);
		const started = Date.now();
		const writing = (async () => {
			for (;;) await writeTo(upload.stream, Buffer.alloc(64 * 1024));
		})();
		await assert.rejects(upload.done, (error: StoreError) => {
			assert.equal(error.code, 'timeout');
			assert.equal(error.retryable, true);
			assert.match(error.message, /upload of stuck\/data\.bin stalled: the destination took no bytes for 0\.3 s/);
			return true;
		});
		assert.ok(Date.now() - started < IDLE * 3, `failed after ${Date.now() - started} ms`);
		await assert.rejects(writing, 'the blocked writer is released with an error');
	});

	it('a final commit that never answers fails with a timeout; the backend is told (signal and abortBackend)', async () => {
		let told: Error | undefined;
		let signalled = false;
		const upload = hashedUpload(
			'commit/never.json',
			async (counter, context) => {
				context.signal.addEventListener('abort', () => (signalled = true));
				await pipeline(
					counter,
					backend(async () => undefined),
				);
				await new Promise(() => undefined); // the commit request that never comes back
			},
			{ idleTimeoutMs: IDLE, abortBackend: (reason) => (told = reason) },
		);
		upload.stream.end(Buffer.from('{}'));
		await assert.rejects(upload.done, /did not confirm the upload for 0\.3 s/);
		assert.ok(signalled && told instanceof StoreError);
	});

	it('guarded work that bounds itself (a part upload with its own timeouts) pauses the watchdog', async () => {
		const upload = hashedUpload(
			'guarded/part.bin',
			async (counter, context) => {
				for await (const chunk of counter) void chunk;
				await context.guard(sleep(IDLE * 3)); // a slow but moving part upload
			},
			{ idleTimeoutMs: IDLE },
		);
		upload.stream.end(Buffer.alloc(100));
		assert.equal((await upload.done).size, 100);
	});
});

describe('retries (network.ts)', () => {
	it('backoff is full jitter: random in [0, min(max, base·2^(n-1))]', () => {
		const p = networkPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
		for (let n = 1; n <= 8; n++) {
			for (let i = 0; i < 50; i++) {
				const delay = backoffDelay(p, n);
				assert.ok(delay >= 0 && delay <= Math.min(1000, 100 * 2 ** (n - 1)), `retry ${n}: ${delay}`);
			}
		}
	});

	it('retryable failures are retried up to maxAttempts and counted; the last error says how many tries', async () => {
		const stats = { retries: 0 };
		let tries = 0;
		await assert.rejects(
			retrying(policy, stats, async () => {
				tries++;
				throw unavailable();
			}),
			(error: StoreError) => error.code === 'unavailable' && /gave up after 4 tries/.test(error.message),
		);
		assert.equal(tries, 4);
		assert.equal(stats.retries, 3);
		assert.equal(await retrying(policy, stats, async (n) => (n < 3 ? Promise.reject(unavailable()) : 'ok')), 'ok');
		assert.equal(stats.retries, 5);
	});

	it('other failures are not retried, and maxRetryMs bounds the total', async () => {
		const stats = { retries: 0 };
		await assert.rejects(
			retrying(policy, stats, async () => Promise.reject(new StoreError('refused', 'auth'))),
			/refused/,
		);
		assert.equal(stats.retries, 0);
		const short = networkPolicy({ maxAttempts: 100, baseDelayMs: 50, maxDelayMs: 50, maxRetryMs: 200 });
		const started = Date.now();
		await assert.rejects(retrying(short, stats, async () => Promise.reject(unavailable())));
		assert.ok(Date.now() - started < 400, `gave up after ${Date.now() - started} ms`);
	});
});

/** A store whose answers the test scripts. */
class ScriptedStore implements Store {
	readonly type = 'scripted';
	readonly location = 'scripted:';
	readonly stats = { retries: 0 };
	objects: StoredObject[] = [];
	/** List calls: fail the n-th listing after `after` items (once). */
	failList?: { call: number; after: number; error?: Error };
	listCalls = 0;
	statAnswers: Array<() => Promise<ObjectStat | null>> = [];
	reads: Array<{ range?: { start: number; end?: number } }> = [];
	content = Buffer.alloc(0);
	/** Reads: the stream of read n fails after this many bytes (undefined: whole). */
	readFailures: Array<number | 'stall' | undefined> = [];

	async check() {}
	async openWrite(): Promise<Upload> {
		throw new Error('not used');
	}
	async *list(): AsyncGenerator<StoredObject> {
		const call = ++this.listCalls;
		for (let i = 0; i < this.objects.length; i++) {
			if (this.failList?.call === call && i === this.failList.after) throw this.failList.error ?? unavailable('listing');
			await sleep(1);
			yield this.objects[i];
		}
	}
	async *listUnfinished(): AsyncGenerator<UnfinishedUpload> {}
	async discardUnfinished() {}
	async stat(): Promise<ObjectStat | null> {
		const answer = this.statAnswers.shift();
		return answer ? answer() : null;
	}
	async read(_path: string, range?: { start: number; end?: number }): Promise<Readable> {
		this.reads.push({ range });
		const start = range?.start ?? 0;
		const end = range?.end ?? this.content.length;
		const failure = this.readFailures.shift();
		const bytes = this.content.subarray(start, end);
		if (failure === undefined) {
			const chunks = [];
			for (let i = 0; i < bytes.length; i += 64 * 1024) chunks.push(bytes.subarray(i, i + 64 * 1024));
			return Readable.from(chunks, { objectMode: false });
		}
		const out = new PassThrough();
		if (failure === 'stall') {
			out.write(bytes.subarray(0, 1000));
			return out; // never ends
		}
		out.write(bytes.subarray(0, failure));
		setTimeout(() => out.destroy(new Error('read ECONNRESET')), 10);
		return out;
	}
	async delete() {}
	async close() {}
}

async function paths(store: Store, prefix = '') {
	const out: string[] = [];
	for await (const o of store.list(prefix)) out.push(o.path);
	return out;
}

describe('the retry layer (resilient.ts)', () => {
	it('a listing that fails part-way restarts and skips what it already yielded, in the order the backend keeps (bytes)', async () => {
		const inner = new ScriptedStore();
		inner.objects = ['a', 'b/c', 'b-d', 'z', '\uff5e', '\u{1f600}'].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))).map((path) => ({ path, size: 1 }));
		inner.failList = { call: 1, after: 4 };
		const store = resilient(inner, policy);
		assert.deepEqual(
			await paths(store),
			inner.objects.map((o) => o.path),
		);
		assert.equal(inner.listCalls, 2);
		assert.equal(store.stats.retries, 1);
	});

	it('…and in UTF-16 order (Azurite), where characters beyond U+FFFF sort apart', async () => {
		const inner = new ScriptedStore();
		inner.objects = ['a', 'z', '\u{1f600}', '\uff5e', '\uff5f'].sort().map((path) => ({ path, size: 1 }));
		inner.failList = { call: 1, after: 4 };
		const store = resilient(inner, policy);
		assert.deepEqual(
			await paths(store),
			inner.objects.map((o) => o.path),
		);
	});

	it('a listing that fails for good, or with a non-transient error, fails', async () => {
		const inner = new ScriptedStore();
		inner.objects = [{ path: 'a', size: 1 }];
		inner.failList = { call: 1, after: 0, error: new StoreError('denied', 'auth') };
		await assert.rejects(paths(resilient(inner, policy)), /denied/);
	});

	it('stat is retried on transient failures and gets a deadline when the adapter never answers', async () => {
		const inner = new ScriptedStore();
		inner.statAnswers = [async () => Promise.reject(unavailable()), async () => ({ size: 7 })];
		const store = resilient(inner, policy);
		assert.deepEqual(await store.stat('x'), { size: 7 });
		inner.statAnswers = Array.from({ length: 4 }, () => () => new Promise<never>(() => undefined));
		const started = Date.now();
		await assert.rejects(store.stat('x'), (error: StoreError) => error.code === 'timeout' && /no answer from the destination within 0\.6 s/.test(error.message));
		assert.ok(Date.now() - started < 4 * 2 * IDLE + 500);
	});

	it('a read that fails part-way resumes with a ranged read from where it stopped; a stalled one too', async () => {
		const inner = new ScriptedStore();
		inner.content = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 251));
		inner.readFailures = [20_000, 'stall', undefined];
		const store = resilient(inner, policy);
		const got = await readAll(await store.read('x', { start: 100, end: 40_100 }));
		assert.ok(got.equals(inner.content.subarray(100, 40_100)));
		assert.deepEqual(
			inner.reads.map((r) => r.range),
			[
				{ start: 100, end: 40_100 },
				{ start: 20_100, end: 40_100 },
				{ start: 21_100, end: 40_100 },
			],
		);
		assert.equal(store.stats.retries, 2);
	});

	it('a slow reader is not a stalled source', async () => {
		const inner = new ScriptedStore();
		inner.content = Buffer.alloc(3 << 20, 1);
		const store = resilient(inner, policy);
		const stream = await store.read('x');
		let chunks = 0;
		for await (const chunk of stream) {
			void chunk;
			await sleep(IDLE * 1.5); // the consumer is slow; the source always has bytes ready
			if (++chunks === 4) break;
		}
		assert.equal(store.stats.retries, 0, 'never taken for a stall');
		assert.equal(inner.reads.length, 1);
	});
});
