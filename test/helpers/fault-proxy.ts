/**
 * A loopback fault-injection proxy for tests: it listens on 127.0.0.1, forwards every connection
 * to one real server (Ceph RGW, Azurite, the GCS emulator, sshd...) and injects faults on command,
 * so tests can prove that uploads never hang, retries work and lost replies are handled.
 *
 * Two layers of faults:
 * - TCP (any protocol, e.g. SFTP): refuse connections, cut or stall after N bytes in a direction,
 *   delay every chunk.
 * - HTTP/1.1: each connection's request stream is parsed (head up to CRLFCRLF, then the body by
 *   Content-Length or chunked framing) while it is forwarded, so requests on one keep-alive
 *   connection are told apart; a rule picks requests by method / target / nth and replies in the
 *   server's place, drops or stalls the server's reply, or cuts or stalls the request body.
 *
 * Nothing is buffered beyond one request or response head; bodies stream through. Socket errors
 * are swallowed (and noted in `connections`), never thrown. Only Node built-ins.
 */
import { STATUS_CODES } from 'node:http';
import * as net from 'node:net';

/** `up` = client → server, `down` = server → client. */
export type Direction = 'up' | 'down';

interface RuleBase {
	/** The name recorded in `proxy.faults`; defaults to `<kind>#<n>`. */
	name?: string;
	/** How many times the rule fires before it disarms: default 1, `Infinity` allowed. */
	times?: number;
}

/** Accept each new connection and close it at once (`reset`: with a TCP RST instead of a FIN). */
export interface RefuseRule extends RuleBase {
	kind: 'refuse';
	reset?: boolean;
}

/**
 * Once `afterBytes` bytes have been forwarded in `direction`, forward nothing more and destroy both
 * sockets. Bytes count from when the rule was added, per connection (`scope: 'connection'`, the
 * default) or summed over all connections (`scope: 'proxy'`; the count restarts after each firing).
 * `afterBytes: 0` cuts at the first byte in that direction.
 */
export interface CutRule extends RuleBase {
	kind: 'cut';
	direction: Direction;
	afterBytes: number;
	scope?: 'connection' | 'proxy';
	/**
	 * Reset the client's socket (RST) instead of closing it (FIN). The client reports ECONNRESET only
	 * if it had read everything before the RST came; Linux turns data + RST into data + EOF.
	 */
	reset?: boolean;
}

/**
 * Like `cut`, but the connection goes dead instead: nothing more is forwarded either way, not even
 * a close, and both sockets stay open, so the client can only notice by its own timeout. (Once
 * the client closes its socket, the server's is closed too.)
 */
export interface StallRule extends RuleBase {
	kind: 'stall';
	direction: Direction;
	afterBytes: number;
	scope?: 'connection' | 'proxy';
}

/** Hold every chunk `ms` milliseconds (order kept). `times` counts connections it attaches to. */
export interface DelayRule extends RuleBase {
	kind: 'delay';
	ms: number;
	direction?: Direction | 'both';
}

/** Which HTTP requests a rule applies to; all given fields must match. */
export interface RequestMatch {
	/** e.g. 'PUT' or ['PUT', 'POST'], case-insensitive. */
	method?: string | string[];
	/** Tested against the request target as sent: path plus query. */
	target?: RegExp;
	/** Let the first nth-1 matching requests through, then fire (default 1). */
	nth?: number;
}

/** Answer in the server's place (the request never reaches it), then close the connection. */
export interface ReplyRule extends RuleBase, RequestMatch {
	kind: 'reply';
	status: number;
	headers?: Record<string, string | number>;
	body?: string | Buffer;
	/** Read (and drop) the whole request body before answering; by default the answer goes out right after the head. */
	afterBody?: boolean;
}

/** The lost reply: the server gets the whole request and answers; the client's connection is destroyed as the answer starts. */
export interface DropReplyRule extends RuleBase, RequestMatch {
	kind: 'dropReply';
	reset?: boolean;
}

/** The server gets the whole request and answers; the answer is never forwarded, the sockets stay open. */
export interface StallReplyRule extends RuleBase, RequestMatch {
	kind: 'stallReply';
}

/**
 * Forward the head and `afterBodyBytes` bytes of the body (as on the wire, chunk framing included),
 * then destroy both sockets. Applies only if the body is longer than that; otherwise the rule is not
 * spent and waits for the next matching request.
 */
export interface CutRequestRule extends RuleBase, RequestMatch {
	kind: 'cutRequest';
	afterBodyBytes: number;
	reset?: boolean;
}

/** Like `cutRequest`, but the connection goes dead (see `StallRule`) instead of closing. */
export interface StallRequestRule extends RuleBase, RequestMatch {
	kind: 'stallRequest';
	afterBodyBytes: number;
}

export type TcpRule = RefuseRule | CutRule | StallRule | DelayRule;
export type HttpRule = ReplyRule | DropReplyRule | StallReplyRule | CutRequestRule | StallRequestRule;
export type FaultRule = TcpRule | HttpRule;
export type FaultKind = FaultRule['kind'];

/** A rule as added; live counters. */
export interface RuleHandle {
	readonly name: string;
	readonly rule: Readonly<FaultRule>;
	/** How often it fired so far. */
	readonly fired: number;
	/** How often it may still fire (0 = disarmed). */
	readonly remaining: number;
	remove(): void;
}

export interface RequestRecord {
	id: number;
	connection: number;
	method: string;
	target: string;
	/** Lower-case names; repeated headers joined with ', '. */
	headers: Record<string, string>;
	/** Date.now() when the head was complete. */
	time: number;
	/** Body bytes seen so far (as on the wire, chunk framing included). */
	bodyBytes: number;
	/** The whole body went past. */
	complete: boolean;
	/** Name of the rule that fired on this request. */
	fault?: string;
}

export interface FaultRecord {
	rule: string;
	kind: FaultKind;
	connection: number;
	time: number;
	request?: RequestRecord;
	direction?: Direction;
	/** For byte-count faults: bytes forwarded on the connection in that direction when it fired. */
	bytes?: number;
}

export interface ConnectionRecord {
	id: number;
	opened: number;
	closed?: number;
	/** Bytes forwarded client → server and server → client. */
	up: number;
	down: number;
	refused: boolean;
	/** The first socket error seen, for debugging. */
	error?: string;
}

export interface FaultProxyOptions {
	/** The real server. */
	host: string;
	port: number;
	/** Where the proxy listens: 127.0.0.1 and a free port unless given. */
	listenHost?: string;
	listenPort?: number;
	/** 'auto' (default): connections whose first line is an HTTP/1.x request line get HTTP parsing, others are plain TCP. 'tcp': never parse. */
	protocol?: 'auto' | 'tcp';
	/** Rules armed from the start. */
	rules?: FaultRule[];
	/** Keep at most this many of each record kind (oldest dropped); default 10000. */
	maxRecords?: number;
}

const EMPTY: Buffer = Buffer.alloc(0);
/** Above this many delayed bytes the source is paused, so a delay never buffers unbounded. */
const HIGH_WATER = 1024 * 1024;
/** A request or response head longer than this is not HTTP we understand: fall back to plain TCP. */
const HEAD_LIMIT = 64 * 1024;
/** How long a client gets to read our canned reply before its socket is destroyed. */
const LINGER_MS = 2000;
/** A first line still undecided (could be an HTTP request line) after this long is not HTTP: pass it on. */
const SNIFF_MS = 250;
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]";
const REQUEST_LINE = new RegExp(`^(${TOKEN}+) ([\\x21-\\x7e]+) HTTP/1\\.[01]$`);
const HTTP_RULES = new Set<FaultKind>(['reply', 'dropReply', 'stallReply', 'cutRequest', 'stallRequest']);
const noop = () => {};

function isHttpRule(rule: FaultRule): rule is HttpRule {
	return HTTP_RULES.has(rule.kind);
}

class ArmedRule implements RuleHandle {
	fired = 0;
	remaining: number;
	removed = false;
	/** HTTP rules: matching requests seen while armed. */
	seen = 0;
	/** Byte rules with scope 'proxy': bytes counted since the rule was added or last fired. */
	total = 0;
	/** Byte rules with scope 'connection': bytes counted per connection since the rule was added. */
	readonly perLink = new WeakMap<Link, number>();

	constructor(
		readonly rule: FaultRule,
		readonly name: string,
		private readonly detach: (rule: ArmedRule) => void,
	) {
		this.remaining = rule.times ?? 1;
	}

	get armed(): boolean {
		return !this.removed && this.remaining > 0;
	}

	take(): boolean {
		if (!this.armed) return false;
		this.remaining--;
		this.fired++;
		return true;
	}

	/** A rule that matched but could not apply (the body was too short, the server closed first) is not spent. */
	giveBack(): void {
		this.remaining++;
		this.fired--;
	}

	remove(): void {
		this.removed = true;
		this.detach(this);
	}
}

function validate(rule: FaultRule): void {
	const times = rule.times ?? 1;
	if (!(times === Infinity || (Number.isInteger(times) && times >= 1))) throw new TypeError(`fault rule ${rule.kind}: times must be a positive integer or Infinity`);
	const count = (value: number, what: string) => {
		if (!Number.isInteger(value) || value < 0) throw new TypeError(`fault rule ${rule.kind}: ${what} must be a non-negative integer`);
	};
	if (rule.kind === 'cut' || rule.kind === 'stall') {
		count(rule.afterBytes, 'afterBytes');
		if (rule.direction !== 'up' && rule.direction !== 'down') throw new TypeError(`fault rule ${rule.kind}: direction must be 'up' or 'down'`);
	}
	if (rule.kind === 'cutRequest' || rule.kind === 'stallRequest') count(rule.afterBodyBytes, 'afterBodyBytes');
	if (rule.kind === 'delay') count(rule.ms, 'ms');
	if (isHttpRule(rule) && rule.nth !== undefined && !(Number.isInteger(rule.nth) && rule.nth >= 1)) throw new TypeError(`fault rule ${rule.kind}: nth must be a positive integer`);
}

function matches(rule: HttpRule, req: RequestRecord): boolean {
	if (rule.method !== undefined) {
		const methods = Array.isArray(rule.method) ? rule.method : [rule.method];
		if (!methods.some((m) => m.toUpperCase() === req.method.toUpperCase())) return false;
	}
	if (rule.target) {
		rule.target.lastIndex = 0; // a /g or /y RegExp keeps state between tests
		if (!rule.target.test(req.target)) return false;
	}
	return true;
}

function formatReply(rule: ReplyRule, req: RequestRecord): Buffer {
	const body = rule.body === undefined ? EMPTY : Buffer.isBuffer(rule.body) ? rule.body : Buffer.from(rule.body);
	const given = Object.entries(rule.headers ?? {}).filter(([name]) => !/^(content-length|connection|transfer-encoding)$/i.test(name));
	const lines = [`HTTP/1.1 ${rule.status} ${STATUS_CODES[rule.status] ?? 'Unknown'}`];
	if (body.length && !given.some(([name]) => name.toLowerCase() === 'content-type')) lines.push('Content-Type: text/plain; charset=utf-8');
	for (const [name, value] of given) lines.push(`${name}: ${value}`);
	lines.push(`Content-Length: ${body.length}`, 'Connection: close', `Date: ${new Date().toUTCString()}`, '', '');
	// a HEAD answer announces the body's length but carries none
	return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), req.method === 'HEAD' ? EMPTY : body]);
}

/**
 * Is this the start of an HTTP/1.x request? true / false once the first line is complete, else
 * undefined while the bytes so far could still be one. Decides early for protocols that never
 * send a CRLF first (TLS), so they are not held back waiting for one.
 */
function sniffHttp(bytes: Buffer): boolean | undefined {
	const nl = bytes.indexOf(10);
	const line = bytes.toString('latin1', 0, nl < 0 ? Math.min(bytes.length, 8192) : nl);
	if (nl >= 0) return line.endsWith('\r') && REQUEST_LINE.test(line.slice(0, -1));
	if (bytes.length > 8192) return false;
	const m = new RegExp(`^(${TOKEN}{0,32})(?: ([\\x21-\\x7e]*)(?: ([^]*))?)?$`).exec(line);
	if (!m) return false;
	return m[3] === undefined || 'HTTP/1.1\r'.startsWith(m[3]) || 'HTTP/1.0\r'.startsWith(m[3]) ? undefined : false;
}

/** Shared state of one proxy; Link and RequestParser talk to it. */
class Core {
	readonly rules: ArmedRule[] = [];
	readonly links = new Set<Link>();
	readonly requests: RequestRecord[] = [];
	readonly faults: FaultRecord[] = [];
	readonly connections: ConnectionRecord[] = [];
	private readonly waiters = new Set<{ test: (f: FaultRecord) => boolean; done: (f?: FaultRecord, e?: Error) => void }>();
	private ruleSeq = 0;
	private requestSeq = 0;
	connectionSeq = 0;
	stopped = false;

	constructor(readonly options: FaultProxyOptions) {}

	get maxRecords(): number {
		return this.options.maxRecords ?? 10000;
	}

	keep<T>(list: T[], item: T): void {
		if (list.length >= this.maxRecords) list.shift();
		list.push(item);
	}

	add(rule: FaultRule): ArmedRule {
		validate(rule);
		const armed = new ArmedRule({ ...rule }, rule.name ?? `${rule.kind}#${++this.ruleSeq}`, (r) => {
			const at = this.rules.indexOf(r);
			if (at >= 0) this.rules.splice(at, 1);
		});
		this.rules.push(armed);
		return armed;
	}

	clear(): void {
		for (const rule of [...this.rules]) rule.remove();
	}

	/** The first armed rule of a kind that fires now. */
	take(kind: FaultKind): ArmedRule | undefined {
		return this.rules.find((r) => r.rule.kind === kind && r.take());
	}

	recordRequest(req: Omit<RequestRecord, 'id'>): RequestRecord {
		const record = { id: ++this.requestSeq, ...req };
		this.keep(this.requests, record);
		return record;
	}

	/** The first armed HTTP rule that fires on this request. */
	matchRequest(req: RequestRecord): ArmedRule | undefined {
		for (const r of this.rules) {
			const rule = r.rule;
			if (!r.armed || !isHttpRule(rule) || !matches(rule, req)) continue;
			if (++r.seen >= (rule.nth ?? 1) && r.take()) return r;
		}
		return undefined;
	}

	/**
	 * Byte-count rules (cut, stall) for `len` bytes about to go `dir` on `link`: how many may pass,
	 * and the rule that fires after them, if any. Counters advance by the bytes that pass.
	 */
	bytesGo(link: Link, dir: Direction, len: number): { pass: number; rule?: ArmedRule } {
		const candidates = this.rules.filter((r) => r.armed && (r.rule.kind === 'cut' || r.rule.kind === 'stall') && r.rule.direction === dir);
		let pass = len;
		let hit: ArmedRule | undefined;
		for (const r of candidates) {
			const rule = r.rule as CutRule | StallRule;
			const counted = rule.scope === 'proxy' ? r.total : (r.perLink.get(link) ?? 0);
			const room = Math.max(0, rule.afterBytes - counted);
			if (room <= pass && (!hit || room < pass)) {
				pass = room;
				hit = r;
			}
		}
		for (const r of candidates) {
			if ((r.rule as CutRule).scope === 'proxy') r.total += pass;
			else r.perLink.set(link, (r.perLink.get(link) ?? 0) + pass);
		}
		if (hit) {
			hit.take();
			hit.total = 0;
		}
		return { pass, rule: hit };
	}

	fault(rule: ArmedRule, link: Link | undefined, extra: Partial<FaultRecord> = {}): void {
		const record: FaultRecord = { rule: rule.name, kind: rule.rule.kind, connection: link?.record.id ?? 0, time: Date.now(), ...extra };
		if (record.request) record.request.fault = rule.name;
		this.keep(this.faults, record);
		for (const waiter of [...this.waiters]) if (waiter.test(record)) waiter.done(record);
	}

	waitForFault(test: (f: FaultRecord) => boolean, timeoutMs: number): Promise<FaultRecord> {
		const seen = this.faults.find(test);
		if (seen) return Promise.resolve(seen);
		if (this.stopped) return Promise.reject(new Error('the fault proxy is stopped'));
		return new Promise((resolve, reject) => {
			const waiter = {
				test,
				done: (f?: FaultRecord, e?: Error) => {
					clearTimeout(timer);
					this.waiters.delete(waiter);
					if (f) resolve(f);
					else reject(e);
				},
			};
			const timer = setTimeout(() => waiter.done(undefined, new Error(`no matching fault within ${timeoutMs} ms (faults so far: ${this.faults.map((f) => f.rule).join(', ') || 'none'})`)), timeoutMs);
			this.waiters.add(waiter);
		});
	}

	stop(): void {
		this.stopped = true;
		for (const waiter of [...this.waiters]) waiter.done(undefined, new Error('the fault proxy stopped'));
		for (const link of [...this.links]) link.destroyAll(false);
	}
}

type Item = { at: number; data?: Buffer; raw?: boolean; fn?: () => void };

/**
 * One direction of a connection: an ordered queue in front of the destination socket, so delayed
 * chunks, end-of-stream and fault actions all happen in the order the bytes arrived.
 */
class Pipe {
	private items: Item[] = [];
	private queued = 0;
	private lastAt = 0;
	private timer: NodeJS.Timeout | undefined;
	private paused = false;
	private awaitingDrain = false;

	constructor(
		private readonly link: Link,
		readonly dir: Direction,
		private readonly src: net.Socket,
		private readonly dst: net.Socket,
	) {}

	/** Queue bytes (raw: our own, not counted by byte rules) or an action. */
	push(what: Buffer | (() => void), raw = false): void {
		const at = Math.max(Date.now() + this.link.delayFor(this.dir), this.lastAt);
		this.lastAt = at;
		if (typeof what === 'function') this.items.push({ at, fn: what });
		else {
			this.items.push({ at, data: what, raw });
			this.queued += what.length;
		}
		this.pump();
	}

	clear(): void {
		this.items = [];
		this.queued = 0;
		clearTimeout(this.timer);
		this.timer = undefined;
		this.flow();
	}

	private pump(): void {
		clearTimeout(this.timer);
		this.timer = undefined;
		while (this.items.length && !this.dst.writableNeedDrain) {
			const item = this.items[0];
			const wait = item.at - Date.now();
			if (wait > 0) {
				this.timer = setTimeout(() => this.pump(), wait).unref(); // the sockets keep the process alive, not the timer
				break;
			}
			this.items.shift();
			if (item.data) {
				this.queued -= item.data.length;
				this.link.forward(this.dir, item.data, item.raw ?? false);
			} else item.fn?.();
		}
		// the destination is full (queue empty or not): go on, and let the source go on, when it drains
		if (this.dst.writableNeedDrain && !this.awaitingDrain && !this.dst.destroyed) {
			this.awaitingDrain = true;
			this.dst.once('drain', () => {
				this.awaitingDrain = false;
				this.pump();
			});
		}
		this.flow();
	}

	/** Backpressure: pause the source while the destination or the delay queue is full. */
	private flow(): void {
		const full = this.link.mode === 'open' && (this.queued > HIGH_WATER || this.dst.writableNeedDrain);
		if (full && !this.paused) {
			this.paused = true;
			this.src.pause();
		} else if (!full && this.paused) {
			this.paused = false;
			this.src.resume();
		}
	}
}

/**
 * Parses one connection's request stream while forwarding it: head up to CRLFCRLF, then the body
 * by Content-Length or chunked framing, then the next head. Only heads are buffered.
 */
class RequestParser {
	private state: 'head' | 'body' | 'passthrough' | 'dead' = 'head';
	private head = EMPTY;
	private first = true;
	private body: 'length' | 'size' | 'data' | 'data-end' | 'trailer' = 'length';
	private remaining = 0;
	private line = '';
	private req: RequestRecord | undefined;
	/** Drop the body instead of forwarding it (we answer in the server's place). */
	private discard = false;
	/** A cutRequest / stallRequest waiting for its byte count. */
	private limit: { rule: ArmedRule; bytes: number } | undefined;
	private onComplete: (() => void) | undefined;
	private sniffTimer: NodeJS.Timeout | undefined;

	constructor(
		private readonly link: Link,
		private readonly core: Core,
	) {}

	feed(buf: Buffer): void {
		let pos = 0;
		while (pos < buf.length) {
			if (this.state === 'dead') return;
			if (this.state === 'passthrough') {
				this.link.up.push(pos ? buf.subarray(pos) : buf);
				return;
			}
			pos = this.state === 'head' ? this.feedHead(buf, pos) : this.feedBody(buf, pos);
		}
	}

	/** The client closed its sending side: a partial head still goes through. */
	flush(): void {
		clearTimeout(this.sniffTimer);
		if (this.state === 'head' && this.head.length) this.link.up.push(this.head);
		this.head = EMPTY;
		if (this.limit) this.limit.rule.giveBack();
		this.limit = undefined;
		this.state = 'dead';
	}

	private passthrough(): void {
		clearTimeout(this.sniffTimer);
		if (this.head.length) this.link.up.push(this.head);
		this.head = EMPTY;
		this.state = 'passthrough';
	}

	private feedHead(buf: Buffer, pos: number): number {
		if (!this.head.length) {
			// empty lines between requests are allowed (RFC 9112 2.2): pass them on
			let skip = pos;
			while (skip < buf.length && (buf[skip] === 13 || buf[skip] === 10)) skip++;
			if (skip > pos) {
				this.link.up.push(buf.subarray(pos, skip));
				return skip;
			}
		}
		const before = this.head.length;
		this.head = before ? Buffer.concat([this.head, buf.subarray(pos)]) : buf.subarray(pos);
		if (this.first) {
			const http = sniffHttp(this.head);
			if (http === false) {
				this.passthrough();
				return buf.length;
			}
			if (http === undefined) {
				// a client that sends a few letters and waits for the server must not wait forever
				this.sniffTimer ??= setTimeout(() => this.state === 'head' && this.first && this.link.mode === 'open' && this.passthrough(), SNIFF_MS).unref();
				return buf.length;
			}
			clearTimeout(this.sniffTimer);
		}
		const end = this.head.indexOf('\r\n\r\n', Math.max(0, before - 3));
		if (end < 0) {
			if (this.head.length > HEAD_LIMIT) this.passthrough();
			return buf.length;
		}
		const head = this.head.subarray(0, end + 4);
		this.head = EMPTY;
		this.onHead(head);
		return pos + end + 4 - before;
	}

	private onHead(head: Buffer): void {
		const lines = head.toString('latin1').split('\r\n').slice(0, -2);
		const start = REQUEST_LINE.exec(lines[0]);
		if (!start) {
			this.head = head;
			this.passthrough();
			return;
		}
		this.first = false;
		clearTimeout(this.sniffTimer);
		const headers: Record<string, string> = {};
		for (const line of lines.slice(1)) {
			const colon = line.indexOf(':');
			if (colon <= 0) continue;
			const name = line.slice(0, colon).trim().toLowerCase();
			const value = line.slice(colon + 1).trim();
			headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
		}
		const req = this.core.recordRequest({ connection: this.link.record.id, method: start[1], target: start[2], headers, time: Date.now(), bodyBytes: 0, complete: false });
		this.req = req;
		this.discard = false;
		this.limit = undefined;
		this.onComplete = undefined;

		// body framing (RFC 9112 6.3): chunked wins over Content-Length; no framing = no body
		const te = headers['transfer-encoding'];
		const length = headers['content-length'];
		let bodyLength = 0;
		let framed = true;
		if (te !== undefined) {
			this.body = 'size';
			framed = /(^|,)\s*chunked\s*$/i.test(te); // any other coding: the body runs until close
		} else if (length !== undefined) {
			framed = /^\d+$/.test(length.split(',')[0].trim());
			bodyLength = framed ? Number(length.split(',')[0].trim()) : 0;
			this.body = 'length';
			this.remaining = bodyLength;
		} else this.body = 'length';
		this.line = '';
		// after CONNECT or an Upgrade the connection stops being HTTP
		const upgrade = start[1] === 'CONNECT' || (headers.upgrade !== undefined && /\bupgrade\b/i.test(headers.connection ?? ''));

		const rule = this.core.matchRequest(req);
		if (!rule || rule.rule.kind !== 'reply') this.link.up.push(head);
		if (rule) {
			const r = rule.rule;
			if (r.kind === 'reply') {
				this.discard = true;
				const expectsContinue = /100-continue/i.test(headers.expect ?? '');
				const reply = () => this.link.reply(rule, r, req);
				if (r.afterBody && !expectsContinue && (te !== undefined || bodyLength > 0)) this.onComplete = reply;
				else reply();
			} else if (r.kind === 'dropReply' || r.kind === 'stallReply') this.link.watchReply(rule, req);
			else if (r.kind === 'cutRequest' || r.kind === 'stallRequest') this.limit = { rule, bytes: r.afterBodyBytes };
		}
		if (!framed || upgrade) {
			if (this.limit) this.limit.rule.giveBack(); // no body we can count
			this.limit = undefined;
			this.state = 'passthrough';
		} else if (te === undefined && bodyLength === 0) this.finishRequest();
		else this.state = 'body';
	}

	/** Walks the body's framing; the bytes stream through as one slice per buffer. */
	private feedBody(buf: Buffer, pos: number): number {
		const from = pos;
		let done = false;
		let bad = false;
		while (pos < buf.length && !done && !bad) {
			switch (this.body) {
				case 'length':
				case 'data': {
					const n = Math.min(this.remaining, buf.length - pos);
					pos += n;
					this.remaining -= n;
					if (this.remaining === 0) {
						if (this.body === 'length') done = true;
						else this.body = 'data-end';
					}
					break;
				}
				case 'size': {
					const c = buf[pos++];
					if (c !== 10) {
						this.line += String.fromCharCode(c);
						bad = this.line.length > 4096;
						break;
					}
					const size = /^\s*([0-9a-fA-F]{1,12})\s*(;.*)?\r?$/s.exec(this.line);
					this.line = '';
					if (!size) bad = true;
					else if ((this.remaining = parseInt(size[1], 16)) === 0) this.body = 'trailer';
					else this.body = 'data';
					break;
				}
				case 'data-end': // the CRLF after a chunk's data
					if (buf[pos++] === 10) this.body = 'size';
					break;
				case 'trailer': {
					// trailer fields, then an empty line
					const c = buf[pos++];
					if (c === 10) {
						if (this.line === '' || this.line === '\r') done = true;
						this.line = '';
					} else this.line = this.line.length < 4096 ? this.line + String.fromCharCode(c) : this.line;
					break;
				}
			}
		}
		if (!this.emitBody(buf.subarray(from, pos))) return buf.length;
		if (bad) {
			// framing we cannot follow: stop parsing, keep forwarding
			if (this.limit) this.limit.rule.giveBack();
			this.limit = undefined;
			this.state = 'passthrough';
		} else if (done) this.finishRequest();
		return pos;
	}

	/** Forwards body bytes, applying a cutRequest / stallRequest limit. false: the request was cut here. */
	private emitBody(slice: Buffer): boolean {
		const req = this.req;
		if (!slice.length || !req) return true;
		const limit = this.limit;
		if (limit && limit.bytes - req.bodyBytes < slice.length) {
			const room = limit.bytes - req.bodyBytes;
			req.bodyBytes += room;
			if (room > 0) this.link.up.push(slice.subarray(0, room));
			this.state = 'dead';
			this.limit = undefined;
			this.link.up.push(() => this.link.requestFault(limit.rule, req));
			return false;
		}
		req.bodyBytes += slice.length;
		if (!this.discard) this.link.up.push(slice);
		return true;
	}

	private finishRequest(): void {
		const req = this.req;
		if (req) req.complete = true;
		if (this.limit) this.limit.rule.giveBack(); // the body ended before the byte count: nothing to cut
		this.limit = undefined;
		this.state = 'head';
		const then = this.onComplete;
		this.onComplete = undefined;
		then?.();
	}
}

/** One proxied connection: the client's socket, ours to the server, and a Pipe each way. */
class Link {
	/** open: forwarding; stalled: dead link, everything dropped; closing: we are tearing it down. */
	mode: 'open' | 'stalled' | 'closing' = 'open';
	readonly up: Pipe;
	readonly down: Pipe;
	private readonly parser: RequestParser | undefined;
	/** A dropReply / stallReply waiting for the server's final (non-1xx) answer. */
	private watch: { rule: ArmedRule; req: RequestRecord; buf: Buffer } | undefined;
	private readonly delays = new Set<ArmedRule>();
	private readonly ended = new Set<net.Socket>();
	private openSockets = 2;
	private linger: NodeJS.Timeout | undefined;

	constructor(
		private readonly core: Core,
		readonly record: ConnectionRecord,
		readonly client: net.Socket,
		readonly server: net.Socket,
	) {
		this.up = new Pipe(this, 'up', client, server);
		this.down = new Pipe(this, 'down', server, client);
		if (core.options.protocol !== 'tcp') this.parser = new RequestParser(this, core);
		for (const [socket, side] of [
			[client, 'client'],
			[server, 'server'],
		] as const) {
			socket.setNoDelay(true);
			socket.on('error', (e) => (record.error ??= `${side}: ${e.message}`));
			socket.on('end', () => this.onEnd(socket));
			socket.on('close', () => this.onClose(socket));
		}
		client.on('data', (b: Buffer) => {
			if (this.mode !== 'open') return;
			if (this.parser) this.parser.feed(b);
			else this.up.push(b);
		});
		server.on('data', (b: Buffer) => {
			if (this.mode !== 'open') return;
			if (this.watch) this.feedWatch(b);
			else this.down.push(b);
		});
	}

	/** The delay for a chunk going `dir` now; a delay rule attaches to a connection on its first chunk. */
	delayFor(dir: Direction): number {
		let ms = 0;
		for (const r of this.core.rules) {
			const rule = r.rule;
			if (rule.kind !== 'delay' || ((rule.direction ?? 'both') !== 'both' && rule.direction !== dir)) continue;
			if (!this.delays.has(r)) {
				if (!r.take()) continue;
				this.delays.add(r);
				this.core.fault(r, this, { direction: dir });
			}
			ms = Math.max(ms, rule.ms);
		}
		return ms;
	}

	/** The last step of a Pipe: byte rules, then the write. */
	forward(dir: Direction, data: Buffer, raw: boolean): void {
		const dst = dir === 'up' ? this.server : this.client;
		if (this.mode === 'stalled' || dst.destroyed || dst.writableEnded) return;
		const { pass, rule } = raw ? { pass: data.length, rule: undefined } : this.core.bytesGo(this, dir, data.length);
		if (pass > 0) {
			dst.write(pass === data.length ? data : data.subarray(0, pass));
			this.record[dir] += pass;
		}
		if (!rule) return;
		this.core.fault(rule, this, { direction: dir, bytes: this.record[dir] });
		if (rule.rule.kind === 'stall') this.stall();
		else this.cutAfterFlush(dst, (rule.rule as CutRule).reset ?? false);
	}

	private onEnd(socket: net.Socket): void {
		this.ended.add(socket);
		if (this.mode !== 'open') {
			// the client hung up on a dead link: let both sockets go (with allowHalfOpen they would
			// otherwise stay half-open for ever); the server's end stays hidden from the client
			if (socket === this.client && this.mode === 'stalled') this.destroyAll(false);
			return;
		}
		// a half-close travels on, in order behind the bytes before it
		if (socket === this.client) {
			this.parser?.flush();
			this.up.push(() => this.server.end());
		} else {
			if (this.watch) this.unwatch();
			this.down.push(() => this.client.end());
		}
	}

	private onClose(socket: net.Socket): void {
		const other = socket === this.client ? this.server : this.client;
		if (this.mode === 'open') {
			// a clean close already sent its FIN through the pipe; an abortive one travels on at once
			if (!this.ended.has(socket)) this.destroyAll(false);
		} else if (socket === this.client) other.destroy(); // the client gave up: release the server too; a stalled client never hears the server
		if (--this.openSockets === 0) {
			this.up.clear();
			this.down.clear();
			clearTimeout(this.linger);
			this.record.closed = Date.now();
			this.core.links.delete(this);
		}
	}

	destroyAll(reset: boolean): void {
		this.mode = 'closing';
		this.up.clear();
		this.down.clear();
		if (reset && !this.client.destroyed) {
			try {
				this.client.resetAndDestroy();
			} catch {
				this.client.destroy();
			}
		} else this.client.destroy();
		this.server.destroy();
	}

	/** Cut: nothing more is forwarded; what was already written to `dst` still reaches it. */
	private cutAfterFlush(dst: net.Socket, reset: boolean): void {
		this.mode = 'closing';
		this.up.clear();
		this.down.clear();
		if (dst.destroyed || dst.writableLength === 0) this.destroyAll(reset);
		else dst.write(EMPTY, () => this.destroyAll(reset));
	}

	/** Stall: the link goes dead; we keep reading both sockets only to drop the bytes (and see closes). */
	private stall(): void {
		this.mode = 'stalled';
		this.up.clear();
		this.down.clear();
		this.client.resume();
		this.server.resume();
	}

	/** ReplyRule: answer, half-close, and give the client a moment to read before its socket goes. */
	reply(rule: ArmedRule, r: ReplyRule, req: RequestRecord): void {
		this.core.fault(rule, this, { request: req });
		this.mode = 'closing';
		this.up.clear();
		this.server.destroy();
		this.client.resume();
		this.down.push(formatReply(r, req), true);
		this.down.push(() => {
			// end() rather than destroy(): the client may still be sending the body, and a close with
			// unread bytes turns into an RST that can wipe the answer before the client reads it
			this.client.end();
			this.linger = setTimeout(() => this.client.destroy(), LINGER_MS).unref();
		});
	}

	/** cutRequest / stallRequest reached its byte count (run in order, after those bytes were written). */
	requestFault(rule: ArmedRule, req: RequestRecord): void {
		this.core.fault(rule, this, { request: req, direction: 'up', bytes: req.bodyBytes });
		if (rule.rule.kind === 'stallRequest') this.stall();
		else this.cutAfterFlush(this.server, (rule.rule as CutRequestRule).reset ?? false);
	}

	watchReply(rule: ArmedRule, req: RequestRecord): void {
		this.watch = { rule, req, buf: EMPTY };
	}

	/** The server closed before answering: the reply fault did not happen. */
	private unwatch(): void {
		const watch = this.watch;
		this.watch = undefined;
		if (!watch) return;
		watch.rule.giveBack();
		if (watch.buf.length) this.down.push(watch.buf);
	}

	/** Server bytes while a reply fault waits: interim 1xx answers (100 Continue) pass, the final answer triggers it. */
	private feedWatch(b: Buffer): void {
		const watch = this.watch!;
		let buf = watch.buf.length ? Buffer.concat([watch.buf, b]) : b;
		for (;;) {
			const nl = buf.indexOf('\r\n');
			if (nl < 0 && buf.length <= 8192) break;
			const status = /^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1', 0, Math.max(nl, 0)));
			const code = status ? Number(status[1]) : 0;
			if (code < 100 || code >= 200 || code === 101) return this.replyFault(watch);
			const end = buf.indexOf('\r\n\r\n');
			if (end < 0) {
				if (buf.length > HEAD_LIMIT) return this.replyFault(watch);
				break;
			}
			this.down.push(buf.subarray(0, end + 4));
			buf = buf.subarray(end + 4);
		}
		watch.buf = buf;
	}

	private replyFault(watch: { rule: ArmedRule; req: RequestRecord }): void {
		this.watch = undefined;
		this.core.fault(watch.rule, this, { request: watch.req, direction: 'down' });
		if (watch.rule.rule.kind === 'stallReply') return this.stall();
		// the 100 Continue still queued goes out first, then the connection drops
		this.mode = 'closing';
		const reset = (watch.rule.rule as DropReplyRule).reset ?? false;
		this.down.push(() => this.destroyAll(reset));
	}
}

export class FaultProxy {
	private readonly core: Core;

	/** Kept so host / port / url still answer after stop(). */
	private readonly address: net.AddressInfo;

	private constructor(
		options: FaultProxyOptions,
		private readonly server: net.Server,
	) {
		this.address = server.address() as net.AddressInfo;
		this.core = new Core(options);
		for (const rule of options.rules ?? []) this.core.add(rule);
		server.on('connection', (client) => this.accept(client));
		server.on('error', noop); // listen errors surface from start(); later ones (EMFILE...) must not throw
	}

	/** Starts listening (127.0.0.1, a free port unless options say otherwise) in front of options.host:options.port. */
	static async start(options: FaultProxyOptions): Promise<FaultProxy> {
		const server = net.createServer({ allowHalfOpen: true });
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(options.listenPort ?? 0, options.listenHost ?? '127.0.0.1', () => {
				server.off('error', reject);
				resolve();
			});
		});
		return new FaultProxy(options, server);
	}

	get host(): string {
		return this.address.address;
	}

	get port(): number {
		return this.address.port;
	}

	/** http://127.0.0.1:PORT */
	get url(): string {
		return `http://${this.host}:${this.port}`;
	}

	/** Requests seen, oldest first (HTTP connections only). */
	get requests(): readonly RequestRecord[] {
		return this.core.requests;
	}

	/** Faults that fired, oldest first. */
	get faults(): readonly FaultRecord[] {
		return this.core.faults;
	}

	/** Connections accepted, oldest first, with byte counts. */
	get connections(): readonly ConnectionRecord[] {
		return this.core.connections;
	}

	/** Connections open right now. */
	get openConnections(): number {
		return this.core.links.size;
	}

	/** The rules in force (armed or spent but not removed), in order. */
	get rules(): readonly RuleHandle[] {
		return this.core.rules;
	}

	/** Adds a rule after the others; rules are tried in order and the first that fires wins. */
	add(rule: FaultRule): RuleHandle {
		return this.core.add(rule);
	}

	/** Replaces all rules. */
	set(...rules: FaultRule[]): RuleHandle[] {
		this.core.clear();
		return rules.map((rule) => this.core.add(rule));
	}

	/** Removes all rules (delays attached to open connections stop too). */
	clear(): void {
		this.core.clear();
	}

	/** Forgets the recorded requests, faults and connections. */
	resetRecords(): void {
		this.core.requests.length = 0;
		this.core.faults.length = 0;
		this.core.connections.length = 0;
	}

	/** Destroys every open connection (the listener stays). */
	dropConnections(): void {
		for (const link of [...this.core.links]) link.destroyAll(false);
	}

	/** Resolves with the first fault (already recorded or still to come) of that rule name / matching the test; rejects after timeoutMs. */
	waitForFault(which?: string | ((fault: FaultRecord) => boolean), timeoutMs = 5000): Promise<FaultRecord> {
		const test = typeof which === 'function' ? which : (f: FaultRecord) => which === undefined || f.rule === which;
		return this.core.waitForFault(test, timeoutMs);
	}

	/** Destroys every socket and closes the listener. */
	async stop(): Promise<void> {
		if (this.core.stopped) return;
		this.core.stop();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}

	private accept(client: net.Socket): void {
		client.on('error', noop);
		if (this.core.stopped) {
			client.destroy();
			return;
		}
		const record: ConnectionRecord = { id: ++this.core.connectionSeq, opened: Date.now(), up: 0, down: 0, refused: false };
		this.core.keep(this.core.connections, record);
		const refuse = this.core.take('refuse');
		if (refuse) {
			record.refused = true;
			record.closed = Date.now();
			this.core.fault(refuse, undefined, { connection: record.id });
			if ((refuse.rule as RefuseRule).reset) client.resetAndDestroy();
			else client.destroy();
			return;
		}
		const upstream = net.connect({ host: this.core.options.host, port: this.core.options.port, allowHalfOpen: true });
		this.core.links.add(new Link(this.core, record, client, upstream));
	}
}

export interface ReplyFields {
	status: number;
	headers: Record<string, string>;
	body: string;
}

const xml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** An S3 error document, e.g. s3ErrorBody('SlowDown', 'Please reduce your request rate.'). */
export function s3ErrorBody(code: string, message = code): string {
	return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message><RequestId>fault-proxy</RequestId><HostId>fault-proxy</HostId></Error>`;
}

/** A Google-style JSON error document (what the GCS JSON API sends). */
export function jsonErrorBody(status: number, message: string, reason = 'backendError'): string {
	return JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
}

/** Spread into a reply rule: `proxy.add({ kind: 'reply', method: 'PUT', ...s3Error(503, 'SlowDown') })`. */
export function s3Error(status: number, code: string, message?: string): ReplyFields {
	return { status, headers: { 'Content-Type': 'application/xml' }, body: s3ErrorBody(code, message) };
}

/** An Azure Storage error reply: the XML document plus the x-ms-error-code header the SDK reads. */
export function azureError(status: number, code: string, message = code): ReplyFields {
	const body = `\ufeff<?xml version="1.0" encoding="utf-8"?><Error><Code>${xml(code)}</Code><Message>${xml(message)}</Message></Error>`;
	return { status, headers: { 'Content-Type': 'application/xml', 'x-ms-error-code': code }, body };
}

/** A JSON error reply in the GCS shape. */
export function jsonError(status: number, message: string, reason?: string): ReplyFields {
	return { status, headers: { 'Content-Type': 'application/json; charset=UTF-8' }, body: jsonErrorBody(status, message, reason) };
}
