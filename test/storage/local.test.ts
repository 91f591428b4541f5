import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { LocalFolderStore } from '../../lib/storage/local';
import { tempDir } from '../helpers/fixtures';
import { storeContract, TEST_NETWORK, TEST_PAGE_SIZE } from './contract';

const options = { network: TEST_NETWORK, pageSize: TEST_PAGE_SIZE };

storeContract('local folder', async () => {
	const root = tempDir('store');
	return {
		store: new LocalFolderStore(root, options),
		broken: new LocalFolderStore(join(root, 'does-not-exist'), options),
		reopen: (pageSize) => new LocalFolderStore(root, { ...options, pageSize }),
		// the folder's "credential" is n8n's file-access rule (the tests run as root: permissions would not refuse)
		badCredentials: () => Object.assign(new LocalFolderStore(root, options), { accessCheck: () => true }),
		// no network: nothing to be unreachable
		secrets: [],
		showsUnfinished: true,
	};
});

describe('local folder: cancellation', () => {
	it('leaves no temporary file when the cancel signal fires while the file is still being opened', async () => {
		const root = tempDir('store-abort');
		const store = new LocalFolderStore(root);
		// the open is asynchronous: an abort right after openWrite used to unlink before the file existed
		// (about 1 in 100 aborts; 1,000 tries leave a broken store a 1-in-20,000 chance to pass)
		for (let i = 0; i < 1000; i++) {
			const controller = new AbortController();
			const upload = await store.openWrite(`x/f${i}.json`, { signal: controller.signal });
			upload.stream.write('hello');
			controller.abort();
			await assert.rejects(upload.done);
		}
		assert.deepEqual(existsSync(join(root, 'x')) ? readdirSync(join(root, 'x')) : [], []);
	});
});
