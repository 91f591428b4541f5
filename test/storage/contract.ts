/**
 * The storage contract: every Store adapter must pass this suite against a real backend (the
 * local folder here; S3, Azure, GCS and SFTP servers as they arrive). A backend is "done" when
 * it passes. Modelled on rclone's shared fstests.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
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
/** Objects in the long-listing case: more than one production page (1,000 on S3, Azure and GCS). */
const MANY = 1_030;

export interface ContractTarget {
	/** A working store (the adapter, made with TEST_NETWORK and TEST_PAGE_SIZE), scoped to a fresh, empty location. */
	store: Store;
	/** A store whose location does not exist or cannot be reached: check() must fail. */
	broken: Store;
	/**
	 * Another store made from the same configuration as `store` (the same location), but with this
	 * listing page size; undefined: the adapter's production default (no pageSize option).
	 */
	reopen: (pageSize: number | undefined) => Store;
	/** A store on the same server whose credentials are refused (a wrong key, secret or password): `auth`. */
	badCredentials: () => Store;
	/**
	 * A store pointed at an address where nothing listens (127.0.0.1 and a closed port, see
	 * closedPort()): `unreachable`, after the retries. Absent where there is no network (the local folder).
	 */
	unreachable?: () => Store;
	/** The secrets of the test credential (keys, secrets, passwords, SAS signatures, private keys): none may appear in `location`. */
	secrets: string[];
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

/** A port on 127.0.0.1 where nothing listens (one that was free a moment ago). */
export async function closedPort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise((resolve) => server.close(resolve));
	return port;
}

/** `work` on each item, at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(limit, items.length) }, async () => {
			while (next < items.length) await work(items[next++]);
		}),
	);
}

const failsWith = (code: StoreError['code'], retryable?: boolean) => (error: unknown) => {
	assert.ok(error instanceof StoreError, `a StoreError, got ${String(error)}`);
	assert.equal(error.code, code, error.message);
	if (retryable !== undefined) assert.equal(error.retryable, retryable, `retryable: ${error.message}`);
	return true;
};

async function paths(store: Store, prefix: string) {
	const out: Array<[string, number]> = [];
	for await (const o of store.list(prefix)) out.push([o.path, o.size]);
	return out.sort();
}

export function storeContract(name: string, make: () => Promise<ContractTarget>) {
	describe(`storage contract: ${name}`, () => {
		let target: ContractTarget;
		let store: Store;
		let locationAtStart: string;
		// as openStore() hands stores out: behind the retry layer
		const policy = networkPolicy(TEST_NETWORK);
		/** A store the case makes, behind the retry layer, closed when the case ends. */
		const opened: Store[] = [];
		const open = (adapter: Store) => {
			const wrapped = resilient(adapter, policy);
			opened.push(wrapped);
			return wrapped;
		};
		const closeOpened = async () => {
			for (const s of opened.splice(0)) await s.close();
		};
		before(async () => {
			target = await make();
			target.store = store = resilient(target.store, policy);
			target.broken = resilient(target.broken, policy);
			locationAtStart = store.location;
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
			assert.deepEqual(
				(await paths(store, 'tree/a/b')).map(([p]) => p),
				['tree/a/b/2.txt'],
			);
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
			assert.deepEqual(
				(await paths(store, 'signal/')).map(([p]) => p),
				['signal/done.txt'],
			);
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
			assert.deepEqual(
				(await listed(store, 'race/')).map((o) => o.path),
				['race/_commits/00000000000000000001.json'],
			);
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
				const found = await eventually(
					() => unfinished(store, 'unfinished/'),
					(list) => list.length > 0,
				);
				assert.deepEqual(
					found.map((u) => u.path),
					['unfinished/a/data.bin'],
				);
				const [upload] = found;
				assert.ok(upload.id && upload.detail, 'an id and a detail');
				assert.ok(upload.started instanceof Date && Math.abs(upload.started.getTime() - Date.now()) < 3600_000, `started: ${String(upload.started)}`);
				assert.deepEqual(
					(await unfinished(store, 'unfinished/a/da')).map((u) => u.path),
					['unfinished/a/data.bin'],
					'a name prefix finds it by its final name',
				);
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
			assert.deepEqual(
				(await listed(store, 'paged/n/0')).map((o) => o.path),
				names.slice(-9),
			);
			assert.equal(typeof store.stats.retries, 'number');
		});

		it('refuses paths that climb out with ..', async () => {
			await assert.rejects(store.openWrite('../escape.txt'), (error: StoreError) => error.code === 'config');
			await assert.rejects(store.stat('a/../../escape.txt'), (error: StoreError) => error.code === 'config');
		});

		it('lists more than 1,000 objects written concurrently: all of them, once each, sorted, with the production page size and a smaller one', { timeout: 180_000 }, async () => {
			try {
				const names = Array.from({ length: MANY }, (_, i) => `many/${String(i).padStart(4, '0')}.json`);
				// bounded concurrency: a few dozen writes in flight, as a busy export has
				await pool(names, 32, (name) => writeText(store, name, name));
				const production = open(target.reopen(undefined));
				// (the whole listing in pages of TEST_PAGE_SIZE would take 258 requests: 13 s on Ceph; the
				// case above covers small pages, and a name prefix below takes eight of them)
				for (const [label, lister] of [
					['the production page size', production],
					['pages of 100', open(target.reopen(100))],
				] as const) {
					const found = await listed(lister, 'many/');
					assert.equal(found.length, names.length, `${label}: ${found.length} listed`);
					assert.deepEqual(
						found.map((o) => o.path),
						names,
						`${label}: every object once, in order`,
					);
					for (const o of found) assert.equal(o.size, Buffer.byteLength(o.path), `${label}: ${o.path}`);
				}
				// a name prefix inside the folder (many/10xx: the objects from 1,000 up)
				const tail = names.filter((n) => n.startsWith('many/10'));
				assert.equal(tail.length, MANY - 1000);
				for (const lister of [store, production])
					assert.deepEqual(
						(await listed(lister, 'many/10')).map((o) => o.path),
						tail,
					);
			} finally {
				await closeOpened();
			}
		});

		it("nothing is visible (list, stat, read) before the upload's done resolves; all of it after", async () => {
			const small = await store.openWrite('pending/small.json');
			await writeTo(small.stream, Buffer.from('{"half":'));
			// past two S3 parts and several Azure blocks: parts are sent, nothing is committed
			const bytes = randomBytes(17 * 1024 * 1024 + 5);
			const large = await store.openWrite('pending/large.bin');
			await writeTo(large.stream, bytes.subarray(0, bytes.length - 1000));
			await new Promise((resolve) => setTimeout(resolve, 300));
			for (const reader of [store, open(target.reopen(TEST_PAGE_SIZE))]) {
				assert.deepEqual(await listed(reader, 'pending/'), [], 'nothing listed');
				assert.deepEqual(await listed(reader, 'pending'), [], 'nothing listed by a name prefix either');
				for (const path of ['pending/small.json', 'pending/large.bin']) {
					assert.equal(await reader.stat(path), null, `stat ${path}`);
					await assert.rejects(reader.read(path), failsWith('not_found'), `read ${path}`);
				}
			}
			await closeOpened();
			await writeTo(small.stream, Buffer.from('1}'));
			await endSink(small.stream);
			await writeTo(large.stream, bytes.subarray(bytes.length - 1000));
			await endSink(large.stream);
			assert.equal((await small.done).size, 10);
			assert.equal((await large.done).sha256, sha256(bytes));
			assert.deepEqual(await paths(store, 'pending/'), [
				['pending/large.bin', bytes.length],
				['pending/small.json', 10],
			]);
			assert.equal((await store.stat('pending/large.bin'))?.size, bytes.length);
			assert.equal((await readAll(await store.read('pending/small.json'))).toString(), '{"half":1}');
			assert.ok((await readAll(await store.read('pending/large.bin'))).equals(bytes));
		});

		it('two writers of one name: the one that finishes first wins, also over a large upload opened before it; the other gets "exists" and leaves nothing', async () => {
			const large = randomBytes(9 * 1024 * 1024); // a multipart upload on S3, staged blocks on Azure
			const first = await store.openWrite('late/_commits/00000000000000000001.json');
			await writeTo(first.stream, large.subarray(0, 5 * 1024 * 1024));
			const second = Buffer.from('{"writer":"second"}');
			await writeText(store, 'late/_commits/00000000000000000001.json', second.toString());
			await writeTo(first.stream, large.subarray(5 * 1024 * 1024));
			await endSink(first.stream);
			await assert.rejects(first.done, failsWith('exists'));
			assert.ok((await readAll(await store.read('late/_commits/00000000000000000001.json'))).equals(second), "the winner's bytes are stored");
			assert.deepEqual(await paths(store, 'late/'), [['late/_commits/00000000000000000001.json', second.length]]);
			assert.deepEqual(await unfinished(store, 'late/'), [], 'the loser left nothing behind');
		});

		it('error codes: a missing object is not_found; refused credentials are auth (not retried); an address where nothing listens is unreachable (retried, then given up)', async () => {
			try {
				assert.equal(await store.stat('missing/deep/x.json'), null);
				for (const path of ['missing/x', 'no/such/folder/x.json']) {
					await assert.rejects(store.read(path), failsWith('not_found'), path);
					await assert.rejects(store.read(path, { start: 0, end: 10 }), failsWith('not_found'), `${path}, a range`);
				}
				const refused = open(target.badCredentials());
				await assert.rejects(refused.check(), failsWith('auth', false), 'check');
				await assert.rejects(refused.stat('x.json'), failsWith('auth', false), 'stat');
				await assert.rejects(writeText(refused, 'x.json', '{}'), failsWith('auth', false), 'write');
				assert.equal(refused.stats.retries, 0, 'a refusal is not retried');
				if (!target.unreachable) return;
				const down = open(target.unreachable());
				await assert.rejects(down.check(), failsWith('unreachable', true), 'check');
				assert.ok(down.stats.retries >= 1, `retried (${down.stats.retries})`);
				await assert.rejects(down.stat('x.json'), failsWith('unreachable', true), 'stat');
				await assert.rejects(
					(async () => {
						for await (const o of down.list('')) void o;
					})(),
					failsWith('unreachable', true),
					'list',
				);
			} finally {
				await closeOpened();
			}
		});

		it("stat gives an object's size and time, never a stored checksum (no backend keeps a SHA-256 of the whole object: Verify hashes what it reads)", async () => {
			const bytes = randomBytes(1000);
			await upload(store, 'checksum/x.bin', bytes);
			const stat = await store.stat('checksum/x.bin');
			assert.ok(stat);
			assert.equal(stat.size, bytes.length);
			assert.deepEqual(
				Object.keys(stat)
					.filter((key) => (stat as unknown as Record<string, unknown>)[key] !== undefined)
					.sort(),
				['modified', 'size'],
			);
		});

		it('location is stable (the same for two stores of one configuration, unchanged by use) and free of secrets', async () => {
			try {
				assert.ok(store.location.startsWith(`${store.type}:`) || store.location.startsWith('sftp://'), store.location);
				assert.equal(store.location, locationAtStart, 'unchanged after every case above');
				assert.equal(open(target.reopen(TEST_PAGE_SIZE)).location, store.location, 'the same configuration, the same location');
				assert.equal(open(target.reopen(undefined)).location, store.location, 'the page size is not part of it');
				const stores = [store, target.broken, open(target.badCredentials()), ...(target.unreachable ? [open(target.unreachable())] : [])];
				for (const s of stores) {
					for (const [i, secret] of target.secrets.entries()) assert.ok(!s.location.includes(secret), `secret #${i} appears in ${s.location.replace(secret, '***')}`);
					assert.doesNotMatch(s.location, /[?&](sig|se|sp)=|AccountKey=|PRIVATE KEY|password|passphrase|secret|token|X-Amz-|\bBearer\b/i);
				}
			} finally {
				await closeOpened();
			}
		});
	});
}
