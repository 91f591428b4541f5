/** The credentials' Test buttons, one per destination in the registry: open the store, check it, close it. */
import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { attemptAsync } from '../../../lib/errors';
import { credentialTestName, DESTINATIONS } from '../destinations';
import { testDestination } from '../destinations/connectionTest';
import { sourceCredentialTestName, SOURCES } from '../sources';

export type CredentialTest = (this: ICredentialTestFunctions, credential: ICredentialsDecrypted) => Promise<INodeCredentialTestResult>;

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
