/**
 * Network faults against every backend, through the loopback fault proxy (test/helpers/fault-proxy.ts)
 * in front of the real server: a connection that stalls or is cut in the middle of an upload or a
 * read, a server that stops answering, a lost reply, transient HTTP errors. Every case is bounded:
 * nothing may hang, and failures must come within the idle timeout (1.5 s here) times the tries.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { attemptAsync } from '../../lib/errors';
import { writeTo } from '../../lib/format/types';
import { readAll, writeText } from '../../lib/storage/common';
import { networkPolicy } from '../../lib/storage/network';
import { resilient } from '../../lib/storage/resilient';
import { StoreError, type NetworkPolicy, type Store, type Upload } from '../../lib/storage/types';
import { FaultProxy, type ReplyFields } from '../helpers/fault-proxy';

export const FAULT_NETWORK: Partial<NetworkPolicy> = { idleTimeoutMs: 1500, maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 250, maxRetryMs: 15_000 };
const IDLE = FAULT_NETWORK.idleTimeoutMs as number;
const TRIES = FAULT_NETWORK.maxAttempts as number;

export interface FaultTarget {
	/** The real server the proxy forwards to. */
	server: { host: string; port: number };
	/** The adapter through the proxy (host and port given), on the same location as `direct`, with FAULT_NETWORK. */
	through(proxy: { host: string; port: number; url: string }): Store;
	/** The adapter straight to the server, to see what landed. */
	direct: Store;
	/** Plain TCP (SFTP) rather than HTTP. */
	tcp?: boolean;
	/** S3 and Azure hold each part while sending it: a cut part is sent again, and a reply lost after the server stored the object is recognised. */
	retriesParts: boolean;
	/** The service's error reply for an HTTP status (503 and 429 are retried). */
	errorReply?: (status: number) => ReplyFields;
	/** Mid-upload cut points to try (SFTP: many; once, cuts there never settled). */
	cuts?: number[];
	cleanup?: () => Promise<void>;
}

const elapsed = (since: number) => Date.now() - since;

/** Stream `bytes` into an upload in 256 KiB writes; a write that fails (the upload gave up) stops it. */
async function feed(upload: Upload, bytes: Buffer): Promise<void> {
	for (let i = 0; i < bytes.length; i += 256 * 1024) {
		const wrote = await attemptAsync(() => writeTo(upload.stream, bytes.subarray(i, i + 256 * 1024)));
		if (!wrote.ok) return;
	}
	upload.stream.end();
}

async function upload(store: Store, path: string, bytes: Buffer) {
	const up = await store.openWrite(path);
	const feeding = feed(up, bytes);
	const done = await attemptAsync(() => up.done);
	await feeding;
	return done;
}

async function unfinished(store: Store, prefix: string) {
	const out = [];
	for await (const u of store.listUnfinished(prefix)) out.push(u);
	return out;
}

export function faultSuite(name: string, make: () => Promise<FaultTarget>) {
	describe(`network faults: ${name}`, { timeout: 120_000 }, () => {
		let target: FaultTarget;
		let proxy: FaultProxy;
		let seq = 0;
		const policy = networkPolicy(FAULT_NETWORK);
		/** A fresh store through the proxy (fresh connections), as openStore() hands it out. */
		const through = () => resilient(target.through(proxy), policy);
		const fresh = (label: string) => `${label}/${++seq}.bin`;

		before(async () => {
			target = await make();
			proxy = await FaultProxy.start({ host: target.server.host, port: target.server.port, protocol: target.tcp ? 'tcp' : 'auto' });
		});
		after(async () => {
			await proxy?.stop();
			await target?.direct.close();
			await target?.cleanup?.();
		});

		it('a connection that stalls mid-upload fails the upload within the idle timeout (per try), naming the path', { timeout: 30_000 }, async () => {
			proxy.set({ kind: 'stall', direction: 'up', afterBytes: 256 * 1024, times: Infinity });
			const store = through();
			const path = fresh('stall-up');
			const started = Date.now();
			const result = await upload(store, path, randomBytes(6 * 1024 * 1024));
			const took = elapsed(started);
			proxy.clear();
			assert.ok(!result.ok, 'the upload failed');
			assert.ok(result.error instanceof StoreError, String(result.error));
			assert.equal(result.error.code, 'timeout', result.error.message);
			assert.ok(result.error.retryable);
			assert.ok(result.error.message.includes(path), `the message names the path: ${result.error.message}`);
			// one idle timeout per try of a part (S3, Azure) or one for the whole stream (GCS, SFTP), plus backoff
			assert.ok(took < TRIES * IDLE + 3000, `failed after ${took} ms`);
			assert.ok(took >= IDLE * 0.8, `not before the idle timeout: ${took} ms`);
			await store.close();
			assert.equal(await target.direct.stat(path), null, 'no object appeared');
		});

		it('a slow writer is not a stalled destination: pauses longer than the idle timeout do not fail an upload', { timeout: 30_000 }, async () => {
			proxy.clear();
			const store = through();
			const path = fresh('slow-writer');
			const up = await store.openWrite(path);
			const parts = [randomBytes(100_000), randomBytes(100_000)];
			for (const part of parts) {
				await writeTo(up.stream, part);
				await new Promise((resolve) => setTimeout(resolve, IDLE * 1.5));
			}
			up.stream.end();
			await up.done;
			assert.ok((await readAll(await target.direct.read(path))).equals(Buffer.concat(parts)));
			await store.close();
		});

		it('a connection cut mid-upload never hangs: the parts are sent again, or the upload fails promptly with a retryable error and leaves nothing', { timeout: 90_000 }, async () => {
			const bytes = randomBytes(6 * 1024 * 1024);
			const cuts = target.cuts ?? [64 * 1024, 1024 * 1024, 5 * 1024 * 1024];
			let survived = 0;
			for (const afterBytes of cuts) {
				proxy.set({ kind: 'cut', direction: 'up', afterBytes, times: 1 });
				const store = through();
				const path = fresh('cut-up');
				const started = Date.now();
				const result = await upload(store, path, bytes);
				const took = elapsed(started);
				assert.ok(took < TRIES * IDLE + 3000, `cut after ${afterBytes} bytes: settled after ${took} ms`);
				if (result.ok) {
					survived++;
					assert.equal(result.value.size, bytes.length);
					assert.ok((await readAll(await target.direct.read(path))).equals(bytes), 'the stored bytes are whole');
				} else {
					assert.ok(result.error instanceof StoreError, String(result.error));
					assert.ok(result.error.retryable, `retryable: ${result.error.code} ${result.error.message}`);
					assert.equal(await target.direct.stat(path), null);
				}
				await store.close();
				assert.deepEqual(await unfinished(target.direct, 'cut-up/'), [], 'nothing unfinished left behind');
			}
			if (target.retriesParts) assert.equal(survived, cuts.length, 'every cut part was sent again');
		});

		it('a read that is cut or stalls part-way resumes with a ranged read from where it stopped', { timeout: 30_000 }, async () => {
			const path = fresh('read');
			const expected = randomBytes(3 * 1024 * 1024);
			const stored = await upload(target.direct, path, expected);
			assert.ok(stored.ok, stored.ok ? '' : stored.error.message);
			for (const kind of ['cut', 'stall'] as const) {
				proxy.set({ kind, direction: 'down', afterBytes: 1024 * 1024, times: 1 });
				const store = through();
				const started = Date.now();
				const got = await readAll(await store.read(path));
				const took = elapsed(started);
				assert.ok(got.equals(expected), `${kind}: the bytes read are whole (${got.length} of ${expected.length})`);
				assert.ok(store.stats.retries >= 1, `${kind}: the read was resumed (${store.stats.retries} retries)`);
				assert.equal(proxy.faults.at(-1)?.kind, kind, 'the fault happened');
				if (kind === 'stall') assert.ok(took < 2 * IDLE + 3000, `stall: resumed after ${took} ms`);
				await store.close();
			}
			const ranged = through();
			proxy.set({ kind: 'cut', direction: 'down', afterBytes: 512 * 1024, times: 1 });
			const part = await readAll(await ranged.read(path, { start: 1000, end: 2_000_000 }));
			assert.ok(part.equals(expected.subarray(1000, 2_000_000)), 'a resumed ranged read keeps its end');
			await ranged.close();
		});

		it('a connection cut as the answer starts (the SSH handshake, an HTTP reply) is retried: check() succeeds', { timeout: 30_000 }, async () => {
			proxy.set({ kind: 'cut', direction: 'down', afterBytes: 20, times: 1 });
			const store = through();
			await store.check();
			assert.equal(proxy.faults.at(-1)?.kind, 'cut');
			assert.ok(store.stats.retries >= 1, `retried (${store.stats.retries})`);
			await store.close();
		});

		it('a destination that stops answering fails check, stat and list within the retry budget, with a timeout', { timeout: 60_000 }, async () => {
			proxy.set({ kind: 'stall', direction: 'down', afterBytes: 0, times: Infinity });
			const store = through();
			const operations: Array<[string, () => Promise<unknown>]> = [
				['check', () => store.check()],
				['stat', () => store.stat('x/y.json')],
				[
					'list',
					async () => {
						for await (const _ of store.list('x/')) void _;
					},
				],
			];
			const started = Date.now();
			const results = await Promise.all(operations.map(async ([what, op]) => ({ what, result: await attemptAsync(op), took: elapsed(started) })));
			for (const { what, result, took } of results) {
				assert.ok(!result.ok, `${what} failed`);
				assert.ok(result.error instanceof StoreError, `${what}: ${String(result.error)}`);
				assert.equal(result.error.code, 'timeout', `${what}: ${result.error.message}`);
				// each try is cut by the adapter's idle timeout (the retry layer's 2× deadline is a backstop)
				assert.ok(took < TRIES * 2 * IDLE + 2000, `${what} failed after ${took} ms`);
			}
			assert.ok(store.stats.retries >= 3 * (TRIES - 1), `each operation was retried (${store.stats.retries})`);
			proxy.clear();
			proxy.dropConnections();
			await store.close();
		});

		it('transient HTTP errors (503, 429) on reads and listings are retried', { timeout: 30_000 }, async (t) => {
			if (target.tcp || !target.errorReply) return t.skip('not HTTP');
			const path = fresh('http-errors');
			await writeText(target.direct, path, 'hello');
			const store = through();
			proxy.resetRecords();
			proxy.set({ kind: 'reply', method: ['GET', 'HEAD'], ...target.errorReply(503), times: 1 }, { kind: 'reply', method: ['GET', 'HEAD'], ...target.errorReply(429), times: 1 });
			assert.equal((await store.stat(path))?.size, 5);
			proxy.set({ kind: 'reply', method: 'GET', ...target.errorReply(503), times: 2 });
			const names = [];
			for await (const o of store.list('http-errors/')) names.push(o.path);
			assert.deepEqual(names, [path]);
			assert.ok(store.stats.retries >= 3, `retried (${store.stats.retries})`);
			assert.equal(proxy.faults.length >= 4, true);
			await store.close();
		});
	});
}

/**
 * For S3 and Azure: the requests that create the object are retried, and a retry that meets
 * "already exists" because its earlier try landed (the reply was lost) is recognised as a success.
 */
export function lostReplySuite(name: string, make: () => Promise<FaultTarget & { bigCommit: { method: string; target: RegExp }; busy: ReplyFields }>) {
	describe(`lost replies and busy servers: ${name}`, { timeout: 60_000 }, () => {
		let target: Awaited<ReturnType<typeof make>>;
		let proxy: FaultProxy;
		const policy = networkPolicy(FAULT_NETWORK);
		before(async () => {
			target = await make();
			proxy = await FaultProxy.start({ host: target.server.host, port: target.server.port });
		});
		after(async () => {
			await proxy?.stop();
			await target?.direct.close();
			await target?.cleanup?.();
		});

		it('a small write whose reply is lost after the server stored it: retried, recognised as ours, done once', async () => {
			proxy.resetRecords();
			proxy.set({ kind: 'dropReply', method: 'PUT', times: 1 });
			const store = resilient(target.through(proxy), policy);
			const result = await writeText(store, 'lost/_commits/1.json', '{"run":"a"}');
			assert.equal(result.size, 11);
			assert.equal(proxy.faults.length, 1, 'the reply was dropped');
			assert.ok(store.stats.retries >= 1);
			assert.equal((await readAll(await target.direct.read('lost/_commits/1.json'))).toString(), '{"run":"a"}');
			// and a real conflict is still a conflict
			await assert.rejects(writeText(store, 'lost/_commits/1.json', '{"run":"b"}'), (error: StoreError) => error.code === 'exists');
			await store.close();
		});

		it('a large write whose final commit reply is lost: retried, recognised as ours', async () => {
			proxy.resetRecords();
			proxy.set({ kind: 'dropReply', ...target.bigCommit, times: 1 });
			const store = resilient(target.through(proxy), policy);
			const bytes = randomBytes(10 * 1024 * 1024);
			const result = await upload(store, 'lost/big.bin', bytes);
			assert.ok(result.ok, result.ok ? '' : result.error.message);
			assert.equal(proxy.faults.length, 1, 'the reply was dropped');
			assert.ok((await readAll(await target.direct.read('lost/big.bin'))).equals(bytes));
			await store.close();
		});

		it('a busy server (503 on a part or on the create) is retried with backoff, and counted', async () => {
			proxy.resetRecords();
			proxy.set({ kind: 'reply', method: 'PUT', ...target.busy, afterBody: true, times: 2 });
			const store = resilient(target.through(proxy), policy);
			await writeText(store, 'busy/x.json', '{"ok":1}');
			assert.equal(proxy.faults.length, 2);
			assert.equal(store.stats.retries, 2);
			assert.equal((await readAll(await target.direct.read('busy/x.json'))).toString(), '{"ok":1}');
			await store.close();
		});
	});
}
