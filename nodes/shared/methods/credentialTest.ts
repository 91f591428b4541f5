/** The credentials' Test buttons, one per destination in the registry: open the store, check it, close it. */
import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { attemptAsync } from '../../../lib/errors';
import { StoreError, type Store } from '../../../lib/storage';
import { credentialTestName, DESTINATIONS, type Destination } from '../destinations';
import { openDestination } from '../transport';
import { sourceCredentialTestName, SOURCES } from '../sources';

export type CredentialTest = (this: ICredentialTestFunctions, credential: ICredentialsDecrypted) => Promise<INodeCredentialTestResult>;

async function testDestination(destination: Destination, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const data = credential.data ?? {};
	let store: Store | undefined;
	try {
		store = openDestination(destination, data, destination.test.probe?.(data) ?? {});
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

/** `methods.credentialTest` of the nodes: `<destination>ConnectionTest` for each destination, `<source>ConnectionTest` for each source with a credential. */
export const credentialTest: Record<string, CredentialTest> = Object.fromEntries([
	...DESTINATIONS.map((destination) => [
		credentialTestName(destination),
		async function (this: ICredentialTestFunctions, credential: ICredentialsDecrypted) {
			return testDestination(destination, credential);
		},
	]),
	...SOURCES.filter((source) => source.test).map((source) => [
		sourceCredentialTestName(source),
		async function (this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
			const tested = await attemptAsync(() => source.test!(credential.data ?? {}));
			return tested.ok ? { status: 'OK', message: tested.value } : { status: 'Error', message: tested.error.message };
		},
	]),
]);
