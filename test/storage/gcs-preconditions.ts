/**
 * The firebase-tools Storage emulator ignores `ifGenerationMatch` (measured: a second upload with
 * ifGenerationMatch=0 overwrites, and of 8 racing uploads all 8 "succeed", the last one's bytes
 * stay). Google checks it when an upload finalizes and answers 412. This HTTP proxy plays that
 * part in front of the emulator, so the adapter's handling of Google's answer can be tested: it
 * remembers which resumable sessions were opened with ifGenerationMatch=0, and finalizes them one
 * at a time, answering 412 instead when the object already exists. It proves what the adapter
 * sends and how it maps the answer, not that Google is atomic (Google documents that it is).
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Session {
	bucket: string;
	name: string;
}

export interface PreconditionProxy {
	endpoint: string;
	/** Finalizations refused with 412 so far. */
	refused: number;
	close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

export async function preconditionProxy(upstream: string): Promise<PreconditionProxy> {
	const target = new URL(upstream);
	const sessions = new Map<string, Session>();
	/** Finalizations run one at a time: check, then forward, as one step. */
	let queue: Promise<unknown> = Promise.resolve();
	const state = { refused: 0 };

	const forward = (req: IncomingMessage, payload: Buffer) =>
		new Promise<{ status: number; headers: IncomingMessage['headers']; data: Buffer }>((resolve, reject) => {
			const headers = { ...req.headers, 'content-length': String(payload.length) };
			delete headers['transfer-encoding'];
			const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, async (answer) => {
				resolve({ status: answer.statusCode ?? 502, headers: answer.headers, data: await body(answer) });
			});
			out.on('error', reject);
			out.end(payload);
		});

	const exists = (session: Session) =>
		new Promise<boolean>((resolve, reject) => {
			const path = `/storage/v1/b/${encodeURIComponent(session.bucket)}/o/${encodeURIComponent(session.name)}`;
			const out = request({ host: target.hostname, port: target.port, method: 'GET', path }, (answer) => {
				answer.resume();
				resolve(answer.statusCode === 200);
			});
			out.on('error', reject);
			out.end();
		});

	const send = (res: ServerResponse, answer: { status: number; headers: IncomingMessage['headers']; data: Buffer }) => {
		const headers = { ...answer.headers, 'content-length': String(answer.data.length) };
		delete headers['transfer-encoding'];
		res.writeHead(answer.status, headers);
		res.end(answer.data);
	};

	const server: Server = createServer(async (req, res) => {
		try {
			const payload = await body(req);
			const url = new URL(req.url ?? '/', 'http://proxy');
			const uploadId = url.searchParams.get('upload_id');
			const session = uploadId ? sessions.get(uploadId) : undefined;
			if (req.method === 'PUT' && session) {
				const step = queue.then(async () => {
					if (await exists(session)) {
						state.refused++;
						const message = 'At least one of the pre-conditions you specified did not hold.';
						return {
							status: 412,
							headers: { 'content-type': 'application/json' },
							data: Buffer.from(JSON.stringify({ error: { code: 412, message, errors: [{ reason: 'conditionNotMet', message }] } })),
						};
					}
					return forward(req, payload);
				});
				queue = step.catch(() => undefined);
				const answer = await step;
				if (answer.status >= 200 && answer.status < 300 && uploadId) sessions.delete(uploadId);
				return send(res, answer);
			}
			const answer = await forward(req, payload);
			// a new resumable session with the precondition: remember it by its upload id
			if (req.method === 'POST' && url.searchParams.get('uploadType') === 'resumable' && url.searchParams.get('ifGenerationMatch') === '0') {
				const location = String(answer.headers.location ?? '');
				const id = location ? new URL(location).searchParams.get('upload_id') : null;
				const bucket = /\/b\/([^/]+)\/o/.exec(url.pathname)?.[1];
				const name = url.searchParams.get('name');
				if (id && bucket && name) sessions.set(id, { bucket: decodeURIComponent(bucket), name });
			}
			send(res, answer);
		} catch {
			res.destroy();
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		get refused() {
			return state.refused;
		},
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
