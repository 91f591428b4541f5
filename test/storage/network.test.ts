/**
 * The one classification of network failures every adapter and the retry layer share
 * (networkFailure): what is `unreachable` (no connection made), `timeout` and `unavailable`, and
 * which of them are worth another try. No servers: the errors are built as Node, undici, the AWS
 * SDK and ssh2 build them (the contract suite meets the real ones on every backend).
 */
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { networkFailure, networkPolicy } from '../../lib/storage/network';
import { resilient } from '../../lib/storage/resilient';
import { StoreError, type Store } from '../../lib/storage/types';

const errno = (code: string, syscall: string, message: string) => Object.assign(new Error(message), { code, syscall });

describe('network failures: one classification for every adapter', () => {
	it('no connection made is unreachable: retried, except a host name that does not resolve', () => {
		for (const [error, retryable] of [
			[errno('ECONNREFUSED', 'connect', 'connect ECONNREFUSED 127.0.0.1:1'), true],
			[errno('EHOSTUNREACH', 'connect', 'connect EHOSTUNREACH 10.9.9.9:443'), true],
			[errno('ENETUNREACH', 'connect', 'connect ENETUNREACH 10.9.9.9:443'), true],
			[errno('ETIMEDOUT', 'connect', 'connect ETIMEDOUT 10.9.9.9:443'), true],
			[errno('EAI_AGAIN', 'getaddrinfo', 'getaddrinfo EAI_AGAIN storage.example'), true],
			[errno('ENOTFOUND', 'getaddrinfo', 'getaddrinfo ENOTFOUND no-such-host.invalid'), false],
			// undici (fetch) and the AWS SDK's connection timeout
			[Object.assign(new TypeError('fetch failed'), { cause: errno('ECONNREFUSED', 'connect', 'connect ECONNREFUSED 127.0.0.1:1') }), true],
			[Object.assign(new Error('Connect Timeout Error'), { name: 'ConnectTimeoutError', code: 'UND_ERR_CONNECT_TIMEOUT' }), true],
			[
				Object.assign(new Error('@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 100 ms.'), { name: 'TimeoutError' }),
				true,
			],
			// as some SDKs report it: in words only
			['request to http://127.0.0.1:1/b failed, reason: connect ECONNREFUSED 127.0.0.1:1', true],
		] as const) {
			assert.deepEqual(networkFailure(error), { code: 'unreachable', retryable }, String((error as Error).message ?? error));
		}
	});

	it('connected, then no answer in time, is timeout; connected, then broken, is unavailable; both retried', () => {
		assert.deepEqual(networkFailure(errno('ETIMEDOUT', 'read', 'read ETIMEDOUT')), { code: 'timeout', retryable: true });
		assert.deepEqual(networkFailure(new Error('Keepalive timeout')), { code: 'timeout', retryable: true });
		assert.deepEqual(networkFailure(Object.assign(new Error('Timed out while waiting for handshake'), {})), { code: 'timeout', retryable: true });
		assert.deepEqual(networkFailure(errno('ECONNRESET', 'read', 'read ECONNRESET')), { code: 'unavailable', retryable: true });
		assert.deepEqual(networkFailure(new Error('socket hang up')), { code: 'unavailable', retryable: true });
		assert.deepEqual(networkFailure(errno('EPIPE', 'write', 'write EPIPE')), { code: 'unavailable', retryable: true });
	});

	it('anything else is not a network failure', () => {
		for (const error of [new Error('AccessDenied'), Object.assign(new Error('Not Found'), { statusCode: 404 }), undefined, null, 'PreconditionFailed']) {
			assert.equal(networkFailure(error), undefined, String(error));
		}
	});

	it('a real refused connection (Node) is unreachable', async () => {
		const server = createServer();
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const { port } = server.address() as AddressInfo;
		await new Promise((resolve) => server.close(resolve));
		const error = await new Promise<Error>((resolve) => connect(port, '127.0.0.1').once('error', resolve));
		assert.deepEqual(networkFailure(error), { code: 'unreachable', retryable: true });
	});

	it('the retry layer retries an unreachable store a bounded number of times, and its last error is still unreachable', async () => {
		const policy = networkPolicy({ maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 });
		let tries = 0;
		const down = {
			type: 'x',
			location: 'x:',
			stats: { retries: 0 },
			check: async () => {
				tries++;
				throw new StoreError('cannot reach x (ECONNREFUSED)', 'unreachable');
			},
		} as unknown as Store;
		await assert.rejects(resilient(down, policy).check(), (error: StoreError) => error.code === 'unreachable' && error.retryable && /gave up after 3 tries/.test(error.message));
		assert.equal(tries, 3);
		// an unknown host: not retried
		tries = 0;
		const unknown = {
			...down,
			check: async () => {
				tries++;
				throw new StoreError('cannot reach no-such-host.invalid', 'unreachable', false);
			},
		} as unknown as Store;
		await assert.rejects(resilient(unknown, policy).check(), (error: StoreError) => error.code === 'unreachable' && !error.retryable);
		assert.equal(tries, 1);
		// a raw network error an adapter let through (a listing) is retried and reported the same way
		tries = 0;
		const raw = {
			...down,
			list: () => ({
				[Symbol.asyncIterator]: () => ({
					next: async () => {
						tries++;
						throw errno('ECONNREFUSED', 'connect', 'connect ECONNREFUSED 127.0.0.1:1');
					},
				}),
			}),
		} as unknown as Store;
		await assert.rejects(
			(async () => {
				for await (const o of resilient(raw, policy).list('')) void o;
			})(),
			(error: StoreError) => error instanceof StoreError && error.code === 'unreachable' && error.retryable,
		);
		assert.equal(tries, 3);
	});
});
