/** A destination credential's Test button (also a lake's in that backend): open the store, check it, close it. */
import type { ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';
import { attemptAsync } from '../../../lib/errors';
import { openStore, StoreError, type Store } from '../../../lib/storage';
import type { Destination } from './types';

export async function testDestination(destination: Destination, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	let store: Store | undefined;
	try {
		store = openStore(destination.config(data, destination.test.probe?.(data) ?? {}));
		const checked = await attemptAsync(() => (store as Store).check());
		// a credential is fine if it authenticates, even where the probe (a bucket named at random) is absent
		const absentIsFine = destination.test.absentIsFine?.(data) === true;
		if (!checked.ok && !(absentIsFine && checked.error instanceof StoreError && checked.error.code === 'not_found')) {
			return { status: 'Error', message: checked.error.message };
		}
		return { status: 'OK', message: destination.test.ok(data) };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	} finally {
		await store?.close();
	}
}
