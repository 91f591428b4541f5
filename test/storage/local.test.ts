import { join } from 'node:path';
import { LocalFolderStore } from '../../lib/storage/local';
import { tempDir } from '../helpers/fixtures';
import { storeContract } from './contract';

storeContract('local folder', async () => {
	const root = tempDir('store');
	return { store: new LocalFolderStore(root), broken: new LocalFolderStore(join(root, 'does-not-exist')) };
});
