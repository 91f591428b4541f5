import assert from 'node:assert/strict';
import { existsSync, lchownSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SftpClient from 'ssh2-sftp-client';
import { SftpStore, type SftpConfig } from '../../lib/storage/sftp';
import { readText, writeText } from '../../lib/storage/common';
import { StoreError } from '../../lib/storage/types';
import { sftpFolder, sftpServer } from '../helpers/servers';
import { closedPort, storeContract, TEST_NETWORK, TEST_PAGE_SIZE } from './contract';
import { FAULT_NETWORK, faultSuite } from './faults';

const server = sftpServer();
const base: SftpConfig = {
	host: server.host,
	port: server.port,
	username: server.username,
	password: server.password,
	hostFingerprint: server.hostFingerprint,
	network: TEST_NETWORK,
	pageSize: TEST_PAGE_SIZE,
};

storeContract('SFTP (OpenSSH sshd)', async () => {
	const rootPath = sftpFolder(server, 'contract');
	const port = await closedPort();
	return {
		store: new SftpStore({ ...base, rootPath }),
		broken: new SftpStore({ ...base, rootPath: `${server.home}/no-such-folder` }),
		reopen: (pageSize) => new SftpStore({ ...base, rootPath, pageSize }),
		badCredentials: () => new SftpStore({ ...base, rootPath, password: 'wrong-password' }),
		unreachable: () => new SftpStore({ ...base, rootPath, port }),
		secrets: [server.password],
		showsUnfinished: true,
	};
});

faultSuite('SFTP (OpenSSH sshd)', async () => {
	const rootPath = sftpFolder(server, 'faults');
	return {
		server: { host: server.host, port: server.port },
		through: (proxy) => new SftpStore({ ...base, host: proxy.host, port: proxy.port, rootPath, network: FAULT_NETWORK }),
		direct: new SftpStore({ ...base, rootPath }),
		tcp: true,
		retriesParts: false,
		// 25 cut points: before the fix, every one of 25 mid-transfer cuts left the upload waiting for ever
		cuts: Array.from({ length: 25 }, (_, i) => 16 * 1024 + i * 200 * 1024),
	};
});

describe('SFTP never goes outside the root through a symbolic link (the server resolves real paths)', () => {
	it('refuses to write or read through a link that leads out, makes no folder out there, and follows one that stays inside', async () => {
		const rootPath = sftpFolder(server, 'links');
		const outside = sftpFolder(server, 'outside');
		writeFileSync(join(outside, 'secret.txt'), 'not yours');
		symlinkSync(outside, join(rootPath, 'out'));
		lchownSync(join(rootPath, 'out'), server.uid, server.gid);
		mkdirSync(join(rootPath, 'real'));
		symlinkSync(join(rootPath, 'real'), join(rootPath, 'inner'));
		for (const p of ['real', 'inner']) lchownSync(join(rootPath, p), server.uid, server.gid);
		const store = new SftpStore({ ...base, rootPath });
		try {
			for (const path of ['out/x.json', 'out/a/b/x.json']) {
				await assert.rejects(writeText(store, path, '{}'), (error: StoreError) => error.code === 'config' && /outside the credential's root folder/.test(error.message), path);
			}
			assert.deepEqual(readdirSync(outside), ['secret.txt'], 'nothing written or made outside the root');
			await assert.rejects(readText(store, 'out/secret.txt'), (error: StoreError) => error.code === 'config' && !error.message.includes('not yours'));
			await writeText(store, 'inner/y.json', '{}');
			assert.ok(existsSync(join(rootPath, 'real', 'y.json')), 'a link that stays inside is followed');
		} finally {
			await store.close();
		}
	});
});

describe('SFTP conditional creates on OpenSSH', () => {
	it("sftp-server's rename fails onto an existing name (link + unlink), and of 8 racing renames exactly one wins", async () => {
		const folder = sftpFolder(server, 'rename');
		const clients = await Promise.all(
			Array.from({ length: 8 }, async () => {
				const client = new SftpClient('rename-test', { error: () => undefined, end: () => undefined, close: () => undefined });
				await client.connect({ host: server.host, port: server.port, username: server.username, password: server.password });
				return client;
			}),
		);
		try {
			const [first] = clients;
			await first.put(Buffer.from('first'), `${folder}/a`);
			await first.put(Buffer.from('second'), `${folder}/b`);
			await first.rename(`${folder}/a`, `${folder}/final`);
			await assert.rejects(first.rename(`${folder}/b`, `${folder}/final`), (e: { code?: number }) => e.code === 4);
			assert.equal((await first.get(`${folder}/final`)).toString(), 'first');
			await Promise.all(clients.map((c, i) => c.put(Buffer.from(`w${i}`), `${folder}/r${i}`)));
			const renames = await Promise.allSettled(clients.map((c, i) => c.rename(`${folder}/r${i}`, `${folder}/race`)));
			const won = renames.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
			assert.equal(won.length, 1);
			assert.equal((await first.get(`${folder}/race`)).toString(), `w${won[0]}`);
		} finally {
			await Promise.all(clients.map((c) => c.end()));
		}
	});
});

describe('SFTP authentication and host keys', () => {
	const check = async (config: Partial<SftpConfig>) => {
		const store = new SftpStore({ ...base, rootPath: server.home, ...config });
		try {
			await store.check();
		} finally {
			await store.close();
		}
	};
	const refused = (pattern: RegExp) => (error: unknown) => {
		assert.ok(error instanceof StoreError, String(error));
		assert.match(error.message, pattern);
		assert.ok(!error.message.includes(server.password), 'the password never appears in errors');
		return true;
	};

	it('password, ed25519 key and passphrase-protected RSA key all log in', async () => {
		await check({});
		await check({ password: undefined, privateKey: readFileSync(server.privateKeyPath, 'utf8') });
		await check({ password: undefined, privateKey: readFileSync(server.rsaKeyPath, 'utf8'), passphrase: server.rsaPassphrase });
		await check({ hostFingerprint: server.hostFingerprint.replace('SHA256:', '') + '=' });
	});

	it('a wrong password is refused, naming the credential fields', async () => {
		await assert.rejects(check({ password: 'wrong-password' }), refused(/SFTP credential: dsxsftp@127\.0\.0\.1:\d+ refused the login .*check Username, Password or Private Key/));
	});

	it('a wrong key passphrase is a clear error', async () => {
		await assert.rejects(check({ password: undefined, privateKey: readFileSync(server.rsaKeyPath, 'utf8'), passphrase: 'nope' }), refused(/Private Key|refused the login/));
	});

	it('a host key other than the pinned fingerprint refuses the connection', async () => {
		await assert.rejects(
			check({ hostFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
			refused(new RegExp(`host key is ${server.hostFingerprint.replace(/[+/]/g, '\\$&')}, but Host Key Fingerprint pins SHA256:AAAA`)),
		);
	});

	it('a closed port and an unknown host say they cannot reach the server (unreachable; only the closed port is worth a retry)', async () => {
		await assert.rejects(check({ port: 1 }), (error: unknown) => {
			refused(/cannot reach 127\.0\.0\.1:1 .*check Host and Port/)(error);
			assert.equal((error as StoreError).code, 'unreachable');
			assert.equal((error as StoreError).retryable, true);
			return true;
		});
		await assert.rejects(check({ host: 'no-such-host.invalid', timeoutMs: 3000 }), (error: unknown) => {
			refused(/cannot reach no-such-host\.invalid:\d+/)(error);
			assert.equal((error as StoreError).code, 'unreachable');
			assert.equal((error as StoreError).retryable, false);
			return true;
		});
	});

	it('missing fields are refused before connecting', () => {
		assert.throws(() => new SftpStore({ ...base, password: undefined }), /give a Password or a Private Key/);
		assert.throws(() => new SftpStore({ ...base, host: ' ' }), /Host is empty/);
	});
});
