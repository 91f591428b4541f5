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
import { readAll, writeText } from '../../lib/storage/common';
import { StoreError, type Store } from '../../lib/storage/types';

export interface ContractTarget {
	/** A working store, scoped to a fresh, empty location. */
	store: Store;
	/** A store whose location does not exist or cannot be reached: check() must fail. */
	broken: Store;
	cleanup?: () => Promise<void>;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

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
			store = target.store;
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

		it('refuses paths that climb out with ..', async () => {
			await assert.rejects(store.openWrite('../escape.txt'), (error: StoreError) => error.code === 'config');
			await assert.rejects(store.stat('a/../../escape.txt'), (error: StoreError) => error.code === 'config');
		});
	});
}
