/**
 * Self-test of the fault-injection proxy (test/helpers/fault-proxy.ts) against real local servers
 * started here: a node:http server that records what it received, and a TCP echo server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { FaultProxy, jsonError, s3Error } from '../helpers/fault-proxy';

/** Every test's own deadline, so a regression fails fast instead of hanging the suite. */
const TEST_TIMEOUT = 5000;

const listen = (server: net.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
const closeServer = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the HTTP server received, per request. */
interface Seen {
	method: string;
	url: string;
	headers: http.IncomingHttpHeaders;
	body: Buffer;
	complete: boolean;
	aborted: boolean;
	remotePort: number;
}

describe('fault proxy: HTTP', () => {
	const seen: Seen[] = [];
	/** Resolves with the request to that URL once its stream closed (complete or aborted). */
	const finished = new Map<string, (s: Seen) => void>();
	let server: http.Server;
	let proxy: FaultProxy;
	let agent: http.Agent;

	before(async () => {
		server = http.createServer((req, res) => {
			const chunks: Buffer[] = [];
			const entry: Seen = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.alloc(0), complete: false, aborted: false, remotePort: req.socket.remotePort! };
			seen.push(entry);
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('error', () => {});
			req.on('end', () => {
				entry.complete = true;
				entry.body = Buffer.concat(chunks);
				res.setHeader('content-type', 'application/json');
				res.end(JSON.stringify({ method: entry.method, url: entry.url, length: entry.body.length }));
			});
			req.on('close', () => {
				if (!entry.complete) {
					entry.aborted = true;
					entry.body = Buffer.concat(chunks);
				}
				finished.get(entry.url)?.(entry);
			});
		});
		proxy = await FaultProxy.start({ host: '127.0.0.1', port: await listen(server) });
	});

	beforeEach(() => {
		agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	});

	afterEach(() => {
		agent.destroy();
		proxy.clear();
		proxy.resetRecords();
		seen.length = 0;
		finished.clear();
	});

	after(async () => {
		await proxy.stop();
		server.closeAllConnections();
		await closeServer(server);
	});

	const serverDone = (url: string) => new Promise<Seen>((resolve) => finished.set(url, resolve));

	interface Reply {
		status: number;
		headers: http.IncomingHttpHeaders;
		body: string;
		continued: boolean;
		localPort: number;
	}

	/**
	 * One request through the proxy. body: a Buffer (Content-Length), an array of Buffers (sent
	 * chunked, one write each), or nothing. expect: send Expect: 100-continue and the body only
	 * after the 100.
	 */
	function request(method: string, path: string, options: { body?: Buffer | Buffer[]; expect?: boolean; timeoutMs?: number } = {}): Promise<Reply> {
		return new Promise((resolve, reject) => {
			const headers: http.OutgoingHttpHeaders = {};
			const { body } = options;
			if (Buffer.isBuffer(body)) headers['content-length'] = body.length;
			if (options.expect) headers.expect = '100-continue';
			const req = http.request({ host: '127.0.0.1', port: proxy.port, method, path, headers, agent });
			let continued = false;
			let localPort = 0;
			req.on('socket', (socket) => socket.on('connect', () => (localPort = socket.localPort!)));
			req.setTimeout(options.timeoutMs ?? 3000, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
			req.on('error', reject);
			req.on('response', (res) => {
				const chunks: Buffer[] = [];
				res.on('data', (c: Buffer) => chunks.push(c));
				res.on('error', reject);
				res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), continued, localPort: localPort || req.socket?.localPort || 0 }));
			});
			const sendBody = () => {
				if (Array.isArray(body)) {
					for (const part of body) req.write(part);
					req.end();
				} else req.end(body);
			};
			if (options.expect) {
				req.on('continue', () => {
					continued = true;
					sendBody();
				});
				req.flushHeaders();
			} else sendBody();
		});
	}

	it('forwards several requests on one keep-alive connection: Content-Length, chunked, Expect: 100-continue', { timeout: TEST_TIMEOUT }, async () => {
		const fixed = randomBytes(70_000);
		const parts = [randomBytes(10), randomBytes(40_000), randomBytes(3)];
		const expected = randomBytes(5000);

		const a = await request('PUT', '/bucket/a?x=1', { body: fixed });
		const b = await request('POST', '/bucket/b', { body: parts });
		const c = await request('PUT', '/bucket/c', { body: expected, expect: true });
		const d = await request('GET', '/bucket/d');

		assert.deepEqual(
			[a, b, c, d].map((r) => r.status),
			[200, 200, 200, 200],
		);
		assert.deepEqual(JSON.parse(a.body), { method: 'PUT', url: '/bucket/a?x=1', length: 70_000 });
		assert.equal(JSON.parse(b.body).length, 40_013);
		assert.ok(c.continued, 'the 100 Continue reached the client');
		assert.ok(seen[0].body.equals(fixed) && seen[1].body.equals(Buffer.concat(parts)) && seen[2].body.equals(expected), 'bodies arrive byte for byte');
		assert.equal(seen[1].headers['transfer-encoding'], 'chunked');

		assert.equal(proxy.connections.length, 1, 'one client connection');
		assert.equal(new Set(seen.map((s) => s.remotePort)).size, 1, 'one server connection');
		assert.deepEqual(
			proxy.requests.map((r) => [r.method, r.target, r.complete, r.connection]),
			[
				['PUT', '/bucket/a?x=1', true, 1],
				['POST', '/bucket/b', true, 1],
				['PUT', '/bucket/c', true, 1],
				['GET', '/bucket/d', true, 1],
			],
		);
		assert.equal(proxy.requests[0].bodyBytes, 70_000);
		assert.ok(proxy.requests[1].bodyBytes > 40_013, 'chunked bodies count their framing');
		assert.equal(proxy.faults.length, 0);
	});

	it('tells pipelined requests apart even when they share one TCP segment', { timeout: TEST_TIMEOUT }, async () => {
		const socket = net.connect(proxy.port, '127.0.0.1');
		const received: Buffer[] = [];
		socket.on('data', (c: Buffer) => received.push(c));
		socket.write(
			'PUT /p1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
				'POST /p2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
				'GET /p3 HTTP/1.1\r\nHost: x\r\n\r\n',
		);
		while (
			(
				Buffer.concat(received)
					.toString()
					.match(/HTTP\/1\.1 200/g) ?? []
			).length < 3
		)
			await sleep(10);
		socket.destroy();
		assert.deepEqual(
			proxy.requests.map((r) => r.target),
			['/p1', '/p2', '/p3'],
		);
		assert.deepEqual(
			seen.map((s) => [s.url, s.body.toString()]),
			[
				['/p1', 'hello'],
				['/p2', 'abc'],
				['/p3', ''],
			],
		);
	});

	it("replies 503 SlowDown in the server's place on the nth matching request only", { timeout: TEST_TIMEOUT }, async () => {
		const rule = proxy.add({
			name: 'slow-down',
			kind: 'reply',
			method: 'PUT',
			target: /^\/bucket\//,
			nth: 2,
			...s3Error(503, 'SlowDown', 'Please reduce your request rate.'),
			headers: { 'Content-Type': 'application/xml', 'Retry-After': '1' },
		});

		const first = await request('PUT', '/bucket/1', { body: randomBytes(100) });
		const other = await request('GET', '/bucket/x'); // another method: neither counted nor failed
		const failed = await request('PUT', '/bucket/2', { body: randomBytes(300_000) }); // a big body still being sent when the answer comes
		const later = await request('PUT', '/bucket/3', { body: randomBytes(100) });

		assert.deepEqual([first.status, other.status, failed.status, later.status], [200, 200, 503, 200]);
		assert.match(failed.body, /<Error><Code>SlowDown<\/Code><Message>Please reduce your request rate.<\/Message>/);
		assert.equal(failed.headers['retry-after'], '1');
		assert.equal(failed.headers.connection, 'close');
		assert.deepEqual(
			seen.map((s) => s.url),
			['/bucket/1', '/bucket/x', '/bucket/3'],
			'the server never saw the failed request',
		);
		assert.equal(rule.fired, 1);
		assert.equal(rule.remaining, 0);
		assert.equal(proxy.faults.length, 1);
		assert.equal(proxy.faults[0].rule, 'slow-down');
		assert.equal(proxy.faults[0].request?.target, '/bucket/2');
		assert.equal(proxy.requests.find((r) => r.target === '/bucket/2')?.fault, 'slow-down');
	});

	it('replies after reading the whole body with afterBody, JSON error helper', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'reply', method: 'POST', afterBody: true, ...jsonError(429, 'Too many requests', 'rateLimitExceeded') });
		const reply = await request('POST', '/upload', { body: [randomBytes(1000), randomBytes(2000)] });
		assert.equal(reply.status, 429);
		assert.equal(JSON.parse(reply.body).error.errors[0].reason, 'rateLimitExceeded');
		assert.equal(proxy.requests[0].complete, true);
		assert.equal(seen.length, 0);
		assert.equal((await request('POST', '/upload', { body: randomBytes(10) })).status, 200);
	});

	it('drops the reply: the server stored the complete body, the client gets a socket error', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'dropReply', method: 'PUT', target: /\/lost/, times: 2 });
		const body = randomBytes(200_000);

		const stored = serverDone('/lost/1');
		await assert.rejects(request('PUT', '/lost/1', { body }), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
		const entry = await stored;
		assert.ok(entry.complete && entry.body.equals(body), 'the server got and stored the whole body');

		// the same with Expect: 100-continue: the interim 100 passes, the final answer is lost
		const stored2 = serverDone('/lost/2');
		await assert.rejects(request('PUT', '/lost/2', { body, expect: true }), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
		assert.ok((await stored2).body.equals(body));

		const fault = await proxy.waitForFault((f) => f.request?.target === '/lost/2', 1000);
		assert.equal(fault.kind, 'dropReply');
		assert.equal(fault.request?.complete, true);
		assert.equal(proxy.faults.length, 2);
		assert.equal((await request('PUT', '/lost/3', { body })).status, 200, 'spent after twice');
	});

	it('stalls the reply: a client with a 500 ms timeout times out, the server did the work', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'stallReply', target: /^\/stalled$/ });
		const started = Date.now();
		await assert.rejects(request('PUT', '/stalled', { body: randomBytes(1000), timeoutMs: 500 }), (e: NodeJS.ErrnoException) => e.code === 'CLIENT_TIMEOUT');
		const waited = Date.now() - started;
		assert.ok(waited >= 450 && waited < 2000, `timed out after ${waited} ms`);
		assert.equal(seen[0].complete, true);
		assert.equal(proxy.faults[0].kind, 'stallReply');
		// the client gave up and closed: the proxy lets go of both sockets
		for (let i = 0; i < 100 && proxy.openConnections > 0; i++) await sleep(10);
		assert.equal(proxy.openConnections, 0);
	});

	it('cuts the request after N body bytes: the server sees an aborted, incomplete body', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'cutRequest', method: 'PUT', afterBodyBytes: 1000 });
		const body = randomBytes(100_000);
		const aborted = serverDone('/cut');
		await assert.rejects(request('PUT', '/cut', { body }), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET' || e.code === 'EPIPE');
		const entry = await aborted;
		assert.equal(entry.aborted, true);
		assert.equal(entry.body.length, 1000);
		assert.ok(entry.body.equals(body.subarray(0, 1000)));
		assert.equal(proxy.faults[0].bytes, 1000);
		assert.equal(proxy.faults[0].request?.complete, false);
	});

	it('a cutRequest waits for a body long enough; chunked bodies are cut too', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'cutRequest', afterBodyBytes: 500 });
		assert.equal((await request('PUT', '/short', { body: randomBytes(500) })).status, 200, 'a body of exactly N bytes is not cut');
		const aborted = serverDone('/chunked');
		await assert.rejects(request('POST', '/chunked', { body: [randomBytes(400), randomBytes(400)] }));
		const entry = await aborted;
		assert.equal(entry.aborted, true);
		assert.ok(entry.body.length < 500, `got ${entry.body.length} bytes of data`);
		assert.equal(proxy.faults.length, 1);
	});

	it('stalls the request after N body bytes: the client times out, the server holds a partial body', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'stallRequest', afterBodyBytes: 2000 });
		const closed = serverDone('/stall-up');
		await assert.rejects(request('PUT', '/stall-up', { body: randomBytes(50_000), timeoutMs: 400 }), (e: NodeJS.ErrnoException) => e.code === 'CLIENT_TIMEOUT');
		const entry = await closed; // the client's give-up releases the server connection
		assert.equal(entry.aborted, true);
		assert.equal(entry.body.length, 2000);
	});
});

describe('fault proxy: TCP', () => {
	let echo: net.Server;
	let proxy: FaultProxy;
	/** Bytes the echo server received, per connection in accept order. */
	const received: number[] = [];
	/** Echo sockets, so a test can make the server close. */
	const echoSockets: net.Socket[] = [];

	before(async () => {
		echo = net.createServer((socket) => {
			const index = received.push(0) - 1;
			echoSockets.push(socket);
			socket.on('error', () => {});
			socket.on('data', (d: Buffer) => {
				received[index] += d.length;
				socket.write(d);
			});
		});
		proxy = await FaultProxy.start({ host: '127.0.0.1', port: await listen(echo) });
	});

	afterEach(() => {
		proxy.clear();
		proxy.resetRecords();
		received.length = 0;
		echoSockets.length = 0;
	});

	after(async () => {
		await proxy.stop();
		for (const s of echoSockets) s.destroy();
		await closeServer(echo);
	});

	interface Session {
		socket: net.Socket;
		data(): Buffer;
		/** Resolves when the socket closed, with how: the proxy closed it or our own timeout fired. */
		closed: Promise<{ by: 'peer' | 'timeout'; error?: string; at: number }>;
	}

	function connect(timeoutMs = 2000): Promise<Session> {
		return new Promise((resolve, reject) => {
			const chunks: Buffer[] = [];
			const socket = net.connect(proxy.port, '127.0.0.1');
			let error: string | undefined;
			let timedOut = false;
			socket.setTimeout(timeoutMs, () => {
				timedOut = true;
				socket.destroy();
			});
			socket.on('data', (c: Buffer) => chunks.push(c));
			socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
			const closed = new Promise<{ by: 'peer' | 'timeout'; error?: string; at: number }>((done) => socket.on('close', () => done({ by: timedOut ? 'timeout' : 'peer', error, at: Date.now() })));
			socket.once('connect', () => resolve({ socket, data: () => Buffer.concat(chunks), closed }));
			socket.once('error', reject);
		});
	}

	/** Binary, so the proxy's HTTP sniffing sees at once that this is not HTTP. */
	const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 1) % 256));

	it('passes bytes both ways untouched, including text that merely starts like a request line', { timeout: TEST_TIMEOUT }, async () => {
		const s = await connect();
		s.socket.write(bytes(100_000));
		while (s.data().length < 100_000) await sleep(5);
		assert.ok(s.data().equals(bytes(100_000)));
		const t = await connect();
		t.socket.write('hello world'); // could be "METHOD target ..." until a newline: released after a short wait
		while (t.data().length < 11) await sleep(5);
		assert.equal(t.data().toString(), 'hello world');
		s.socket.destroy();
		t.socket.destroy();
	});

	it('cuts after N bytes up: the server got exactly N, both sockets closed', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'cut', direction: 'up', afterBytes: 10 });
		const s = await connect();
		s.socket.write(bytes(100));
		const end = await s.closed;
		assert.equal(end.by, 'peer');
		assert.equal(received[0], 10);
		assert.ok(s.data().length <= 10);
		assert.equal(proxy.faults[0].kind, 'cut');
		assert.equal(proxy.faults[0].bytes, 10);
		const next = await connect(); // times: 1, so the next connection is fine
		next.socket.write(bytes(100));
		while (next.data().length < 100) await sleep(5);
		next.socket.destroy();
	});

	it('cuts after N bytes down: the client got exactly N', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'cut', direction: 'down', afterBytes: 10 });
		const s = await connect();
		s.socket.write(bytes(100));
		const end = await s.closed;
		assert.equal(end.by, 'peer');
		assert.ok(s.data().equals(bytes(10)));
		assert.equal(received[0], 100);
		// reset: true closes with an RST (seen as ECONNRESET when no data was left unread)
		proxy.add({ kind: 'cut', direction: 'down', afterBytes: 0, reset: true });
		const r = await connect();
		r.socket.write(bytes(100));
		assert.equal((await r.closed).error, 'ECONNRESET');
		assert.equal(r.data().length, 0);
	});

	it('counts bytes across connections with scope "proxy"', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'cut', direction: 'up', afterBytes: 150, scope: 'proxy' });
		const a = await connect();
		a.socket.write(bytes(100));
		while (a.data().length < 100) await sleep(5);
		const b = await connect();
		b.socket.write(bytes(100));
		await b.closed;
		assert.deepEqual(received, [100, 50]);
		assert.equal(proxy.faults[0].connection, proxy.connections[1].id);
		a.socket.destroy();
	});

	it('stalls after N bytes: the client gets N bytes, then silence until its own timeout', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'stall', direction: 'down', afterBytes: 5 });
		const s = await connect(400);
		s.socket.write(bytes(50));
		while (received[0] !== 50) await sleep(5);
		echoSockets[0].end(); // the server even closes: the stalled client must not hear it
		const end = await s.closed;
		assert.equal(end.by, 'timeout');
		assert.ok(s.data().equals(bytes(5)));
		for (let i = 0; i < 100 && proxy.openConnections > 0; i++) await sleep(10);
		assert.equal(proxy.openConnections, 0, 'released once the client gave up');
	});

	it('delays every chunk, in order, both ways', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'delay', ms: 150 });
		const s = await connect();
		const started = Date.now();
		for (const part of [bytes(3), bytes(4), bytes(5)]) {
			s.socket.write(part);
			await sleep(5);
		}
		while (s.data().length < 12) await sleep(5);
		const took = Date.now() - started;
		assert.ok(took >= 290 && took < 1500, `round trip took ${took} ms`);
		assert.ok(s.data().equals(Buffer.concat([bytes(3), bytes(4), bytes(5)])));
		s.socket.destroy();
		// times: 1 means one connection: the next is fast
		const t = await connect();
		const t0 = Date.now();
		t.socket.write(bytes(10));
		while (t.data().length < 10) await sleep(2);
		assert.ok(Date.now() - t0 < 100);
		t.socket.destroy();
	});

	it('refuses new connections while armed', { timeout: TEST_TIMEOUT }, async () => {
		proxy.add({ kind: 'refuse', times: 2 });
		for (let i = 0; i < 2; i++) {
			const s = await connect();
			const end = await s.closed;
			assert.equal(end.by, 'peer');
			assert.equal(s.data().length, 0);
		}
		assert.deepEqual(
			proxy.connections.map((c) => c.refused),
			[true, true],
		);
		assert.equal(received.length, 0, 'the server never saw them');
		const s = await connect();
		s.socket.write(bytes(10));
		while (s.data().length < 10) await sleep(5);
		s.socket.destroy();
	});

	it('stop() closes every socket and the listener', { timeout: TEST_TIMEOUT }, async () => {
		const own = await FaultProxy.start({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
		const s = net.connect(own.port, '127.0.0.1');
		s.on('error', () => {});
		const closed = new Promise((resolve) => s.on('close', resolve));
		await new Promise((resolve) => s.once('connect', resolve));
		own.add({ kind: 'stall', direction: 'up', afterBytes: 0 });
		s.write(bytes(10));
		await sleep(20);
		await own.stop();
		await closed;
		await assert.rejects(new Promise((resolve, reject) => net.connect(own.port, '127.0.0.1').on('connect', resolve).on('error', reject)), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
		await assert.rejects(own.waitForFault('never', 100), /stopped/);
	});
});
