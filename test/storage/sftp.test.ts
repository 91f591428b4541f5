import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { SftpStore, type SftpConfig } from '../../lib/storage/sftp';
import { StoreError } from '../../lib/storage/types';
import { sftpFolder, sftpServer } from '../helpers/servers';
import { storeContract } from './contract';

const server = sftpServer();
const base: SftpConfig = { host: server.host, port: server.port, username: server.username, password: server.password, hostFingerprint: server.hostFingerprint };

storeContract('SFTP (OpenSSH sshd)', async () => ({
	store: new SftpStore({ ...base, rootPath: sftpFolder(server, 'contract') }),
	broken: new SftpStore({ ...base, rootPath: `${server.home}/no-such-folder` }),
}));

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
		await check({ hostFingerprint: server.hostFingerprint.replace('SHA256:', '') + '=' }, );
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

	it('a closed port and an unknown host say they cannot reach the server', async () => {
		await assert.rejects(check({ port: 1 }), refused(/cannot reach 127\.0\.0\.1:1 .*check Host and Port/));
		await assert.rejects(check({ host: 'no-such-host.invalid', timeoutMs: 3000 }), refused(/cannot reach no-such-host\.invalid:\d+/));
	});

	it('missing fields are refused before connecting', () => {
		assert.throws(() => new SftpStore({ ...base, password: undefined }), /give a Password or a Private Key/);
		assert.throws(() => new SftpStore({ ...base, host: ' ' }), /Host is empty/);
	});
});
