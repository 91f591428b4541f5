/**
 * The storage contract: every Store adapter must pass this suite against a real backend (the
 * local folder here; S3, Azure, GCS and SFTP servers as they arrive). A backend is "done" when
 * it passes. Modelled on rclone's shared fstests.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { endSink, writeTo } from '../../lib/format/types';
import { comparePaths, readAll, writeText } from '../../lib/storage/common';
import { networkPolicy } from '../../lib/storage/network';
import { resilient } from '../../lib/storage/resilient';
import { StoreError, type NetworkPolicy, type Store, type UnfinishedUpload, type Upload } from '../../lib/storage/types';

/**
 * The network policy of the contract's stores: the production defaults, but short backoffs (a
 * broken store's check() is retried) and a 20 s idle timeout.
 */
export const TEST_NETWORK: Partial<NetworkPolicy> = { idleTimeoutMs: 20_000, baseDelayMs: 50, maxDelayMs: 400, maxRetryMs: 10_000 };
/** Listing page size of the contract's stores: small, so that every listing spans pages. */
export const TEST_PAGE_SIZE = 4;

export interface ContractTarget {
	/** A working store (the adapter, made with TEST_NETWORK and TEST_PAGE_SIZE), scoped to a fresh, empty location. */
	store: Store;
	/** A store whose location does not exist or cannot be reached: check() must fail. */
	broken: Store;
	cleanup?: () => Promise<void>;
	/** Whether the backend shows unfinished uploads (Azure and GCS do not: they expire on their own). */
	showsUnfinished: boolean;
	/**
	 * Leave an unfinished upload of `path` behind, as a crash would (the default: start an upload,
	 * write some bytes, and drop it without ending or aborting it); returns a clean-up for the end.
	 */
	abandon?: (path: string) => Promise<() => Promise<void>>;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The objects under a prefix, in the order the store lists them. */
async function listed(store: Store, prefix: string) {
	const out = [];
	for await (const o of store.list(prefix)) out.push(o);
	return out;
}

async function unfinished(store: Store, prefix: string) {
	const out: UnfinishedUpload[] = [];
	for await (const u of store.listUnfinished(prefix)) out.push(u);
	return out;
}

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, ms = 5000): Promise<T> {
	const deadline = Date.now() + ms;
	for (;;) {
		const value = await probe();
		if (ok(value) || Date.now() > deadline) return value;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** A crash in the middle of an upload: bytes written, never ended nor aborted. */
async function dropUpload(store: Store, path: string): Promise<() => Promise<void>> {
	const up: Upload = await store.openWrite(path);
	await writeTo(up.stream, randomBytes(100 * 1024));
	return () => up.abort(new Error('test over'));
}

async function upload(store: Store, path: string, bytes: Buffer, chunk = 256 * 1024) {
	const up = await store.openWrite(path);
	for (let i = 0; i < bytes.length; i += chunk) await writeTo(up.stream, bytes.subarray(i, i + chunk));
	await endSink(up.stream);
	return up.done;
}

async function paths(store: Store, prefix: string) {
	const out: Array<[string, number]> = [];
	for await (const o of store.list(prefix)) out.push([o.path, o.size]);
	return out.sort();
}

export function storeContract(name: string, make: () => Promise<ContractTarget>) {
	describe(`storage contract: ${name}`, () => {
		let target: ContractTarget;
		let store: Store;
		before(async () => {
			target = await make();
			// as openStore() hands stores out: behind the retry layer
			const policy = networkPolicy(TEST_NETWORK);
			target.store = store = resilient(target.store, policy);
			target.broken = resilient(target.broken, policy);
		});
		after(async () => {
			await target?.store.close();
			await target?.broken.close();
			await target?.cleanup?.();
		});

		it('check() accepts a good location and explains a bad one', async () => {
			await store.check();
			await assert.rejects(target.broken.check(), (error: unknown) => {
				assert.ok(error instanceof StoreError, `a StoreError, got ${(error as Error)?.name}`);
				assert.ok(error.message.length > 10);
				return true;
			});
		});

		it('streams a multi-part object (17 MiB): size and SHA-256 computed while streaming', async () => {
			const bytes = randomBytes(17 * 1024 * 1024 + 123); // more than two 8 MiB multipart parts
			const result = await upload(store, 'big/data.bin', bytes);
			assert.deepEqual(result, { path: 'big/data.bin', size: bytes.length, sha256: sha256(bytes) });
			assert.equal((await store.stat('big/data.bin'))?.size, bytes.length);
			assert.ok((await readAll(await store.read('big/data.bin'))).equals(bytes));
			const range = await readAll(await store.read('big/data.bin', { start: 1000, end: 5000 }));
			assert.ok(range.equals(bytes.subarray(1000, 5000)), 'ranged read, end exclusive');
			const tail = await readAll(await store.read('big/data.bin', { start: bytes.length - 8 }));
			assert.ok(tail.equals(bytes.subarray(bytes.length - 8)));
		});

		it('writes empty objects and unicode names', async () => {
			const empty = await upload(store, 'misc/empty.json', Buffer.alloc(0));
			assert.equal(empty.size, 0);
			assert.equal(empty.sha256, sha256(Buffer.alloc(0)));
			await writeText(store, 'misc/exportTime=202601010000/Zoë 李.json', '{"ok":true}');
			assert.equal((await readAll(await store.read('misc/exportTime=202601010000/Zoë 李.json'))).toString(), '{"ok":true}');
		});

		it('never overwrites an existing object', async () => {
			await writeText(store, 'once/file.txt', 'first');
			await assert.rejects(writeText(store, 'once/file.txt', 'second'), (error: StoreError) => error.code === 'exists');
			assert.equal((await readAll(await store.read('once/file.txt'))).toString(), 'first');
		});

		it('lists recursively below a folder prefix, and by name prefix', async () => {
			await writeText(store, 'tree/a/1.txt', '1');
			await writeText(store, 'tree/a/b/2.txt', '22');
			await writeText(store, 'tree/c.txt', '333');
			await writeText(store, 'treetop.txt', 'x');
			assert.deepEqual(await paths(store, 'tree/'), [
				['tree/a/1.txt', 1],
				['tree/a/b/2.txt', 2],
				['tree/c.txt', 3],
			]);
			assert.deepEqual((await paths(store, 'tree/a/b')).map(([p]) => p), ['tree/a/b/2.txt']);
			assert.deepEqual(await paths(store, 'nothing-here/'), []);
		});

		it('an aborted upload leaves nothing behind', async () => {
			const up = await store.openWrite('aborted/part.bin');
			await writeTo(up.stream, randomBytes(300 * 1024));
			await up.abort(new Error('cancelled'));
			await assert.rejects(up.done);
			assert.equal(await store.stat('aborted/part.bin'), null);
			assert.deepEqual(await paths(store, 'aborted/'), []);
		});

		it("the execution's cancel signal aborts an upload; finished uploads let go of the signal", async () => {
			const controller = new AbortController();
			const listeners = () => getEventListeners(controller.signal, 'abort').length;
			const finished = await store.openWrite('signal/done.txt', { signal: controller.signal });
			finished.stream.end(Buffer.from('kept'));
			await finished.done;
			assert.equal(listeners(), 0, 'a settled upload no longer listens');
			const cancelled = await store.openWrite('signal/cancelled.bin', { signal: controller.signal });
			await writeTo(cancelled.stream, randomBytes(200 * 1024));
			assert.ok(listeners() >= 1, 'a running upload listens');
			controller.abort();
			await assert.rejects(cancelled.done);
			assert.equal(await store.stat('signal/cancelled.bin'), null);
			assert.deepEqual((await paths(store, 'signal/')).map(([p]) => p), ['signal/done.txt']);
			assert.equal(listeners(), 0);
		});

		it('stat and read of a missing object; delete is idempotent', async () => {
			assert.equal(await store.stat('missing/x'), null);
			await assert.rejects(store.read('missing/x'), (error: StoreError) => error.code === 'not_found');
			await writeText(store, 'del/x.txt', 'x');
			await store.delete('del/x.txt');
			assert.equal(await store.stat('del/x.txt'), null);
			await store.delete('del/x.txt');
		});

		it('8 writers race for one name with different bytes: exactly one wins, the others get "exists", the winner\'s bytes are stored', async () => {
			const bodies = Array.from({ length: 8 }, (_, i) => Buffer.concat([Buffer.from(`{"writer":${i}}`), randomBytes(20_000 + i * 1000)]));
			const uploads = await Promise.all(bodies.map(() => store.openWrite('race/_commits/00000000000000000001.json')));
			// every writer has sent its bytes; then all finish at the same moment
			await Promise.all(uploads.map((up, i) => writeTo(up.stream, bodies[i])));
			for (const up of uploads) up.stream.end();
			const outcomes = await Promise.allSettled(uploads.map((up) => up.done));
			const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
			assert.equal(winners.length, 1, `exactly one winner: ${outcomes.map((o) => (o.status === 'fulfilled' ? 'won' : (o.reason as StoreError).code)).join(', ')}`);
			for (const outcome of outcomes) {
				if (outcome.status === 'rejected') {
					assert.ok(outcome.reason instanceof StoreError, String(outcome.reason));
					assert.equal(outcome.reason.code, 'exists', outcome.reason.message);
				}
			}
			const winner = bodies[winners[0]];
			assert.equal((outcomes[winners[0]] as PromiseFulfilledResult<{ sha256: string }>).value.sha256, sha256(winner));
			assert.ok((await readAll(await store.read('race/_commits/00000000000000000001.json'))).equals(winner), "the winner's bytes are stored");
			assert.deepEqual((await listed(store, 'race/')).map((o) => o.path), ['race/_commits/00000000000000000001.json']);
			assert.deepEqual(await unfinished(store, 'race/'), [], 'the losers left nothing behind');
		});

		it('an upload abandoned without abort (a crash) is listed by listUnfinished() under its final path, never by list(); discardUnfinished() removes it', async () => {
			const cleanup = await (target.abandon ?? ((path: string) => dropUpload(store, path)))('unfinished/a/data.bin');
			try {
				if (!target.showsUnfinished) {
					assert.deepEqual(await unfinished(store, 'unfinished/'), []);
					assert.deepEqual(await listed(store, 'unfinished/'), []);
					return;
				}
				const found = await eventually(() => unfinished(store, 'unfinished/'), (list) => list.length > 0);
				assert.deepEqual(
					found.map((u) => u.path),
					['unfinished/a/data.bin'],
				);
				const [upload] = found;
				assert.ok(upload.id && upload.detail, 'an id and a detail');
				assert.ok(upload.started instanceof Date && Math.abs(upload.started.getTime() - Date.now()) < 3600_000, `started: ${String(upload.started)}`);
				assert.deepEqual((await unfinished(store, 'unfinished/a/da')).map((u) => u.path), ['unfinished/a/data.bin'], 'a name prefix finds it by its final name');
				assert.deepEqual(await unfinished(store, 'unfinished/b'), []);
				assert.deepEqual(await listed(store, 'unfinished/'), [], 'list() never shows temporary names');
				await store.discardUnfinished(upload);
				await store.discardUnfinished(upload); // idempotent
				assert.deepEqual(await unfinished(store, 'unfinished/'), []);
			} finally {
				await cleanup();
			}
			assert.deepEqual(await listed(store, 'unfinished/'), []);
		});

		it('an upload aborted after it sent parts leaves no unfinished upload either', async () => {
			const up = await store.openWrite('aborted-big/data.bin');
			const chunk = randomBytes(1024 * 1024);
			for (let i = 0; i < 10; i++) await writeTo(up.stream, chunk); // beyond one S3 part and several Azure blocks
			await new Promise((resolve) => setTimeout(resolve, 200));
			await up.abort(new Error('cancelled'));
			await assert.rejects(up.done);
			assert.equal(await store.stat('aborted-big/data.bin'), null);
			assert.deepEqual(await unfinished(store, 'aborted-big/'), []);
		});

		it('lists every object across listing pages, sorted by path (a folder sorts as "name/"), with when it was written', async () => {
			const names = [
				'paged/a.txt',
				'paged/a/x.txt',
				'paged/a-b.txt',
				'paged/b/c/d.txt',
				'paged/Zoë.txt',
				'paged/z.txt',
				'paged/\uff5e.txt',
				'paged/\u{1f600}.txt',
				...Array.from({ length: 9 }, (_, i) => `paged/n/${String(i).padStart(2, '0')}.json`),
			];
			const started = Date.now();
			for (let i = 0; i < names.length; i += 6) await Promise.all(names.slice(i, i + 6).map((name) => writeText(store, name, name)));
			const found = await listed(store, 'paged/');
			// by UTF-8 bytes (S3, GCS, the folder adapters) or by UTF-16 units (Azurite): they differ only beyond U+FFFF
			const utf16 = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
			const order = found.map((o) => o.path);
			assert.ok(
				[comparePaths, utf16].some((compare) => JSON.stringify([...names].sort(compare)) === JSON.stringify(order)),
				`complete and sorted: ${order.join(' ')}`,
			);
			for (const o of found) {
				assert.equal(o.size, Buffer.byteLength(o.path));
				assert.ok(o.modified instanceof Date && Math.abs(o.modified.getTime() - started) < 600_000, `${o.path} modified ${String(o.modified)}`);
			}
			const stat = await store.stat('paged/a.txt');
			assert.ok(stat?.modified instanceof Date && Math.abs(stat.modified.getTime() - started) < 600_000, `stat modified ${String(stat?.modified)}`);
			assert.deepEqual((await listed(store, 'paged/n/0')).map((o) => o.path), names.slice(-9));
			assert.equal(typeof store.stats.retries, 'number');
		});

		it('refuses paths that climb out with ..', async () => {
			await assert.rejects(store.openWrite('../escape.txt'), (error: StoreError) => error.code === 'config');
			await assert.rejects(store.stat('a/../../escape.txt'), (error: StoreError) => error.code === 'config');
		});
	});
}
